// What one request (or one flow) costs besides time: the statements and write commits Tessera
// sent (its tessera_db_statements_total / tessera_db_commits_total metrics, db/statement-count.ts)
// and the CPU spent by the server's processes and by the PostgreSQL backends serving the
// benchmark's database (utime + stime from /proc, so PostgreSQL must run on this machine and
// this user must be able to read its processes; otherwise its CPU reads as unknown).
import { readFileSync } from 'node:fs';
import pg from 'pg';

export interface Costs {
  statements?: number;
  commits?: number;
  /** CPU milliseconds of the server's processes. */
  nodeCpuMs: number;
  /** CPU milliseconds of the database's backends (undefined when they cannot be read). */
  pgCpuMs?: number;
}

/** A reading: the counters, and each backend's CPU (a backend that starts between two readings counts from 0). */
export interface Reading extends Omit<Costs, 'pgCpuMs'> {
  backends?: Map<number, number>;
}

// Linux reports process times in clock ticks; 100 per second on every architecture it runs on here.
const TICK_MS = 10;

function cpuMs(pid: number): number | undefined {
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

export interface CostMeter {
  read(pids: number[], metricsUrl?: string, metricsToken?: string): Promise<Reading>;
  close(): Promise<void>;
}

/** Reads the counters; take one reading before a load and one after, and divide the difference. */
export function costMeter(databaseUrl: string): CostMeter {
  const client = new pg.Client({ connectionString: databaseUrl });
  const connected = client.connect();
  return {
    async read(pids, metricsUrl, metricsToken) {
      const nodeCpuMs = pids.reduce((a, p) => a + (cpuMs(p) ?? 0), 0);
      let statements: number | undefined;
      let commits: number | undefined;
      if (metricsUrl) {
        const text = await (await fetch(metricsUrl, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
        const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
        statements = value('tessera_db_statements_total');
        commits = value('tessera_db_commits_total');
      }
      await connected;
      const { rows } = await client.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      const backends = new Map<number, number>();
      for (const { pid } of rows) {
        const ms = cpuMs(pid);
        if (ms === undefined) return { statements, commits, nodeCpuMs };
        backends.set(pid, ms);
      }
      return { statements, commits, nodeCpuMs, backends };
    },
    close: () => client.end(),
  };
}

/** Per request: the difference of two readings divided by the requests served between them. */
export function perRequest(before: Reading, after: Reading, requests: number): Costs {
  const per = (a?: number, b?: number) =>
    a === undefined || b === undefined || !requests ? undefined : Math.round(((b - a) / requests) * 100) / 100;
  return {
    statements: per(before.statements, after.statements),
    commits: per(before.commits, after.commits),
    nodeCpuMs: per(before.nodeCpuMs, after.nodeCpuMs) ?? 0,
    pgCpuMs:
      before.backends && after.backends
        ? per(
            0,
            [...after.backends].reduce((a, [pid, ms]) => a + ms - (before.backends!.get(pid) ?? 0), 0),
          )
        : undefined,
  };
}
