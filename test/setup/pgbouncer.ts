// PgBouncer for tests: Debian's /usr/sbin/pgbouncer in transaction-pooling mode in front of a
// PostgreSQL, on a free loopback port, as a managed-PostgreSQL deployment runs it. Every client
// transaction may land on a different server connection, so anything that relies on a session
// (LISTEN, session advisory locks, SET) breaks through it, as it would in production.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/db/embedded.ts';

export const PGBOUNCER = '/usr/sbin/pgbouncer';

export interface PgBouncer {
  /** The target's URL with host and port replaced by PgBouncer's. */
  url: string;
  stop(): Promise<void>;
}

/** A libpq connection-string value, quoted. */
const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export async function startPgBouncer(options: {
  targetUrl: string;
  /** Server connections per database and user; small, so that clients really share them. */
  poolSize?: number;
}): Promise<PgBouncer> {
  const target = new URL(options.targetUrl);
  const database = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pgbouncer-'));
  // PgBouncer refuses to run as root; as root it runs as `postgres`, which must read this.
  chmodSync(dir, 0o755);
  const server = [
    `host=${quote(target.hostname)}`,
    `port=${target.port || '5432'}`,
    `dbname=${quote(database)}`,
    `user=${quote(decodeURIComponent(target.username || 'postgres'))}`,
    target.password ? `password=${quote(decodeURIComponent(target.password))}` : '',
  ].join(' ');
  const ini = [
    '[databases]',
    // Every database name a client asks for goes to the target database, as one user: with
    // auth_type = any PgBouncer takes the client's word for who it is (loopback, tests only).
    `* = ${server}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = any',
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 5}`,
    'max_client_conn = 500',
    // node-postgres sends none of these by default; listed so that a client that does is not refused.
    'ignore_startup_parameters = extra_float_digits,options,search_path',
    'log_connections = 0',
    'log_disconnections = 0',
  ].join('\n');
  const config = join(dir, 'pgbouncer.ini');
  writeFileSync(config, `${ini}\n`, { mode: 0o644 });

  const args = process.getuid?.() === 0 ? ['-u', 'postgres', config] : [config];
  const child: ChildProcess = spawn(PGBOUNCER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk) => {
    output = (output + String(chunk)).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = new URL(options.targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // PgBouncer's immediate shutdown
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready once a query passes through it.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`pgbouncer exited with ${child.exitCode}: ${output}`);
    }
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 1_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      break;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`pgbouncer did not answer: ${(err as Error).message}: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url: url.toString(), stop };
}
