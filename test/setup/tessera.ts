// Test servers: a real Tessera on the shared test database, listening on a free loopback
// port, with real HTTP. The CLI runs as a child process on the same configuration.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { startTessera, type RunningTessera, type StartOptions } from '../../src/server.ts';

const run = promisify(execFile);

// Fixed secrets shared by every test server and CLI call in the run (a client secret hashed by
// the CLI must verify at the server). They are test values, nothing else uses them.
export const TEST_SECRETS = {
  COOKIE_KEYS: 'test-cookie-key-0123456789abcdef0123456789abcdef',
  KEYS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64url'),
  CLIENT_SECRET_PEPPER: Buffer.alloc(32, 9).toString('base64url'),
};

export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'test',
    DATABASE_URL: inject('databaseUrl'),
    ...TEST_SECRETS,
    // Test processes stopped with SIGTERM stop at once; graceful-shutdown.test.ts and the fleet
    // test set their own drain window.
    SHUTDOWN_DRAIN_MS: '0',
    // Every file's sign-ins come from 127.0.0.1 and count in the run's one database, so the
    // address's default budget (100 in 15 minutes) would be the whole suite's, and whichever
    // file came late got a 429 (in-process servers and server processes alike). The tests of
    // that limit set their own.
    RATE_LIMIT_LOGIN_PER_IP: '1000000',
    ...extra,
  };
}

export interface TestServer extends RunningTessera {
  issuer: string;
  config: Config;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
}

export async function startTestServer(
  extra: Record<string, string> = {},
  /** issuerHost: ISSUER's host name (the server listens on 127.0.0.1 whatever it is). */
  { issuerHost = '127.0.0.1', ...options }: StartOptions & { issuerHost?: string } = {},
): Promise<TestServer> {
  const port = await freePort();
  const issuer = `http://${issuerHost}:${port}`;
  const config = loadConfig(
    testEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      MIGRATE_ON_START: 'false',
      ...extra,
    }),
  );
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink as never });
  const running = await startTessera(config, logger, options);
  return { ...running, issuer, config, logs };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tessera <args>` as the admin would, against the test database. */
export async function tessera(
  args: string[],
  options: { env?: Record<string, string>; input?: string; root?: string } = {},
): Promise<CliResult> {
  try {
    const child = run(process.execPath, ['src/cli/main.ts', ...args], {
      env: testEnv(options.env),
      // Another checkout's CLI (test/setup/previous-release.ts), or this one's.
      cwd: options.root ?? new URL('../..', import.meta.url).pathname,
    });
    child.child.stdin?.end(options.input ?? '');
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `tessera ... --json`, parsed; fails the test with the CLI's stderr when it exits non-zero. */
export async function tesseraJson<T = Record<string, unknown>>(
  args: string[],
  env?: Record<string, string>,
  root?: string,
): Promise<T> {
  const result = await tessera(['--json', ...args], { ...(env ? { env } : {}), ...(root ? { root } : {}) });
  if (result.code !== 0) throw new Error(`tessera ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export const randomId = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;
