// Debian's haproxy in front of Tessera replicas, as README "Running as a fleet" configures it:
// health checks on /readyz, X-Forwarded-For set by the balancer, and retries of requests that
// never reached a replica (a refused connection, or a connection closed before any response
// byte). The test reads the balancer's own counters (its stats socket) for 5xx and for each
// replica's state.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { eventually } from './eventually.ts';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Backend {
  name: string;
  port: number;
}

export interface ServerStat {
  /** UP, DOWN, MAINT, or a transition such as "UP 1/2". */
  status: string;
}

export interface Haproxy {
  /** The balancer's URL: every replica's ISSUER. */
  url: string;
  port: number;
  /** Each backend server's state, by name. */
  servers(): Promise<Record<string, ServerStat>>;
  /** Requests the balancer's frontend received, health checks aside. */
  requests(): Promise<number>;
  /** Responses with a 5xx status that the balancer sent to clients (its frontend counter). */
  frontend5xx(): Promise<number>;
  /** Waits until the named server is in this state in the balancer's eyes. */
  waitFor(name: string, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  /** The frontend's port; a free one when left out (a restart reuses the old one). */
  port?: number;
  /** Health-check period while the server is steady, in ms. 250 keeps the fleet test short. */
  interMs?: number;
  /** Failed checks before a server is taken out, and passed ones before it is put back. */
  fall?: number;
  rise?: number;
}

/**
 * The configuration README.md shows, with the test's timings. Retries: `retry-on conn-failure
 * empty-response` resends a request only when no replica answered it (the connection was
 * refused or reset, or closed before a byte of response): a killed or stopping replica. A
 * replica that was killed while handling a request may have acted on it; what makes even that
 * retry safe is Tessera's own rule for it (a refresh token reused within
 * REFRESH_TOKEN_REUSE_GRACE gets the same answer instead of revoking the family). `option
 * redispatch 1` sends every retry to another replica.
 */
export function haproxyConfig(
  port: number,
  backends: Backend[],
  o: Required<Omit<HaproxyOptions, 'port'>>,
  statsSocket: string,
) {
  return `global
  maxconn 4096
  stats socket ${statsSocket} level admin

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout queue 30s
  # A check's own time limit (by default the check interval): /readyz makes a database round
  # trip, which on a busy machine can take longer than a fast interval; a dead replica still
  # shows at once, as a refused connection.
  timeout check 2s
  # Longer than a client keeps an idle connection (Node's fetch: 4 s), so the client closes
  # first and never sends a request on a connection the balancer is closing.
  timeout http-keep-alive 30s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response

frontend tessera
  bind 127.0.0.1:${port}
  # The client's address, for Tessera's TRUSTED_PROXIES (whatever the client sent is dropped).
  http-request del-header X-Forwarded-For
  option forwardfor
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk
  http-check send meth GET uri /readyz
  http-check expect status 200
  # Which replica answered, for the test's counts (a real deployment would not say).
  http-response set-header X-Replica %s
  default-server check inter ${o.interMs} fastinter ${Math.max(50, Math.floor(o.interMs / 2))} downinter ${o.interMs} fall ${o.fall} rise ${o.rise}
${backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port}`).join('\n')}
`;
}

export async function startHaproxy(backends: Backend[], options: HaproxyOptions = {}): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-haproxy-'));
  const socket = join(dir, 'stats.sock');
  const port = options.port ?? (await freePort());
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(port, backends, { interMs: 250, fall: 2, rise: 2, ...options }, socket));
  // -db: stay in the foreground, so the test owns the process; -W is not needed for one process.
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });

  const command = (line: string) =>
    new Promise<string>((resolve, reject) => {
      const c = connect(socket);
      let text = '';
      c.on('data', (d) => {
        text += d;
      });
      c.on('end', () => resolve(text));
      c.on('error', reject);
      c.end(`${line}\n`);
    });
  const stats = async () => {
    const [header, ...rows] = (await command('show stat')).trim().split('\n');
    const names = header!.replace(/^# /, '').split(',');
    return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [names[i], v])) as Record<string, string>);
  };
  const frontend = async () => (await stats()).find((r) => r.pxname === 'tessera' && r.svname === 'FRONTEND')!;
  const servers = async () => {
    const out: Record<string, ServerStat> = {};
    for (const row of await stats())
      if (row.pxname === 'replicas' && row.svname !== 'BACKEND') out[row.svname!] = { status: row.status! };
    return out;
  };

  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited: ${output}`);
      await command('show info');
      return true;
    },
    { timeoutMs: 10_000 },
  );

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    servers,
    requests: async () => Number((await frontend()).req_tot),
    frontend5xx: async () => Number((await frontend()).hrsp_5xx),
    async waitFor(name, status, timeoutMs = 30_000) {
      await eventually(async () => (await servers())[name]?.status === status, { timeoutMs, intervalMs: 20 });
    },
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
