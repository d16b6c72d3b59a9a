// What bench/run.ts and bench/authorization.ts share: Tessera's set-up for a benchmark (a migrated
// database with the APIs, clients, user, roles and API key the scenarios use), and the server
// processes they start, load and stop.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_NODE_FLAGS } from '../src/node-flags.ts';
import { createScratchDatabase, startPostgres } from '../test/setup/postgres.ts';
import type { FlowTarget } from './flows.ts';
import type { Load } from './wrk.ts';

export const root = new URL('..', import.meta.url).pathname;

export const AUDIENCE = 'https://api.bench.test';
// An API that enforces roles (README "Roles and permissions"), with its own clients: the RBAC
// scenarios are the plain ones against it, so that their ratio is the cost of RBAC.
export const RBAC_AUDIENCE = 'https://rbac.bench.test';
export const REDIRECT_URI = 'http://127.0.0.1:9/callback';
// Lets the benchmark read Tessera's statement and commit counters from /metrics on its main port.
export const METRICS_TOKEN = randomBytes(16).toString('hex');
export const USER = { email: 'bench@example.test', password: `bench-${randomBytes(8).toString('hex')}` };

export interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  readyMs: number;
  /** Highest resident memory of one server process (a worker, in a cluster), and of all together. */
  peakRssMb: number;
  peakTotalRssMb: number;
  /** Per scenario: the highest resident memory of one server process, and of its anonymous part. */
  peaks: Record<string, { rssMb: number; anonMb: number }>;
}

export interface Credentials {
  /** Basic authorization of the client-credentials client. */
  auth: string;
  flow: FlowTarget;
  /** The same against the API that enforces roles; absent (the library): the plain ones. */
  rbac?: { auth: string; flow: FlowTarget };
  /** Tessera only: the API's own client (it serves AUDIENCE) and an API key for AUDIENCE. */
  api?: { auth: string; key: string };
}

export function ensureWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk --version exits 1 but prints; only a missing binary throws ENOENT.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
    if (process.getuid?.() !== 0) throw new Error('the benchmark needs wrk: apt-get install wrk');
    console.log('installing wrk from Debian…');
    execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
  }
}

export async function database(): Promise<{ url: string; drop(): Promise<void> }> {
  const postgres = await startPostgres(process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL);
  const database = await createScratchDatabase(postgres.adminUrl, 'tessera_bench');
  return {
    url: database.url,
    async drop() {
      await database.drop();
      await postgres.stop();
    },
  };
}

export async function startProcess(
  name: string,
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
  /** The checkout to run (bench/tracing.ts's baseline is another one). */
  cwd = root,
): Promise<Server> {
  const started = performance.now();
  // Cluster workers inherit the flags, so each process writes a profile of its own.
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_PROFILE, name.replace(/\W+/g, '-'))}`]
    : [];
  // Node's flags: Tessera's (src/node-flags.ts) for every server, the library included (the same
  // runtime for both), unless BENCH_NODE_FLAGS (space-separated; "" for none) says otherwise, for
  // all servers or, in a server's own environment, for that one.
  const { BENCH_NODE_FLAGS: ownFlags, ...serverEnv } = env;
  const flagsSetting = ownFlags ?? process.env.BENCH_NODE_FLAGS;
  const flags = flagsSetting === undefined ? SERVER_NODE_FLAGS : flagsSetting.split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, ...profile, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...serverEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
    try {
      if ((await fetch(readyUrl)).ok) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    name,
    url: new URL(readyUrl).origin,
    child,
    readyMs: Math.round(performance.now() - started),
    peakRssMb: 0,
    peakTotalRssMb: 0,
    peaks: {},
  };
}

export async function stopProcess(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
}

/** A process's resident memory, and the part of it that is its own (anonymous: heap, not files). */
export function residentMb(pid: number): { rss: number; anon: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rss: Math.round(kb('VmRSS') / 1024), anon: Math.round(kb('RssAnon') / 1024) };
  } catch {
    return { rss: 0, anon: 0 };
  }
}

/** The server's processes: the process itself, or a cluster primary's workers. */
export function serverPids(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  const children = existsSync(file) ? readFileSync(file, 'utf8').split(' ').filter(Boolean).map(Number) : [];
  return children.length ? children : [pid];
}

/** Runs `run` while sampling the server's memory: its peaks overall, and under `label` if given. */
export async function sampled<T>(server: Server, run: () => Promise<T>, label?: string): Promise<T> {
  const sample = () => {
    const mem = serverPids(server.child.pid!).map(residentMb);
    const rss = Math.max(...mem.map((m) => m.rss));
    server.peakRssMb = Math.max(server.peakRssMb, rss);
    server.peakTotalRssMb = Math.max(
      server.peakTotalRssMb,
      mem.reduce((a, m) => a + m.rss, 0),
    );
    if (label) {
      server.peaks[label] ??= { rssMb: 0, anonMb: 0 };
      const peak = server.peaks[label];
      peak.rssMb = Math.max(peak.rssMb, rss);
      peak.anonMb = Math.max(peak.anonMb, ...mem.map((m) => m.anon));
    }
  };
  const sampler = setInterval(sample, 250);
  try {
    return await run();
  } finally {
    clearInterval(sampler);
  }
}

export const form = (auth: string, body: string): Omit<Load, 'url'> => ({
  method: 'POST',
  body,
  headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
});

export async function clientCredentialsToken(url: string, auth: string, resource?: string): Promise<string> {
  const res = await fetch(`${url}/token`, {
    method: 'POST',
    ...form(
      auth,
      `grant_type=client_credentials&scope=a:read${resource ? `&resource=${encodeURIComponent(resource)}` : ''}`,
    ),
  } as RequestInit);
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token from ${url}: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Tessera's environment for a benchmark on `databaseUrl` (each server adds its PORT and ISSUER). */
export function benchEnv(databaseUrl: string, secrets: Record<string, string>): Record<string, string> {
  return {
    // ISSUER and PORT are each server's own; this ISSUER only satisfies the CLI's configuration.
    ...secrets,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    ISSUER: 'http://127.0.0.1',
    LOG_LEVEL: 'info',
    // Plain HTTP on loopback, as production behind a TLS proxy would see it; TLS is not measured.
    ALLOW_INSECURE_ISSUER: 'true',
    // The limiters still run on every request (their cost is measured), but the benchmark's
    // one client and one address must not be refused: refusals are not throughput.
    RATE_LIMIT_TOKEN_PER_MINUTE: '1000000000',
    RATE_LIMIT_LOGIN_PER_IP: '1000000000',
    RATE_LIMIT_LOGIN_FAILURES: '1000000000',
    METRICS_TOKEN,
    // More settings for every Tessera of the run, as JSON (e.g. '{"DATABASE_PREPARED_STATEMENTS":"off"}').
    ...(process.env.BENCH_TESSERA_ENV ? (JSON.parse(process.env.BENCH_TESSERA_ENV) as Record<string, string>) : {}),
  };
}

/** Fresh secrets for one benchmark run (every server of the run shares them). */
export function benchSecrets(): Record<string, string> {
  return {
    COOKIE_KEYS: randomBytes(32).toString('base64url'),
    KEYS_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    CLIENT_SECRET_PEPPER: randomBytes(32).toString('base64url'),
  };
}

/**
 * Migrates the database of `env` and registers what the scenarios use, with Tessera's own CLI:
 * the credentials for a server at `issuer` (the flows' targets name their issuer).
 */
export function provision(env: Record<string, string>): (issuer: string) => Credentials {
  const cli = (args: string[], input?: string) =>
    JSON.parse(
      execFileSync(process.execPath, ['src/cli/main.ts', '--json', ...args], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', ...env },
        input,
      }).toString(),
    );
  cli(['migrate']);
  cli(['apis', 'create', '--audience', AUDIENCE, '--scope', 'a:read']);
  const service = cli([
    'clients',
    'create',
    '--name',
    'bench',
    '--grant-types',
    'client_credentials',
    '--api',
    AUDIENCE,
    '--scope',
    'a:read',
  ]);
  const web = cli([
    'clients',
    'create',
    '--name',
    'bench web',
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT_URI,
    '--api',
    AUDIENCE,
    '--scope',
    'openid offline_access a:read',
  ]);
  cli(['users', 'create', '--email', USER.email, '--password-stdin'], USER.password);
  // RBAC: an API that enforces roles, a role granting a:read (of a:read a:write), given to the
  // user and to a client-credentials client of its own.
  cli(['apis', 'create', '--audience', RBAC_AUDIENCE, '--scope', 'a:read a:write']);
  cli(['apis', 'update', RBAC_AUDIENCE, '--rbac', 'enforce', '--token-claims', 'roles,permissions']);
  cli(['roles', 'create', 'bench-reader', '--api', RBAC_AUDIENCE, '--scope', 'a:read']);
  const rbacService = cli([
    'clients',
    'create',
    '--name',
    'bench rbac',
    '--grant-types',
    'client_credentials',
    '--api',
    RBAC_AUDIENCE,
    '--scope',
    'a:read a:write',
  ]);
  cli(['clients', 'assign-role', rbacService.client_id, '--role', 'bench-reader']);
  const rbacWeb = cli([
    'clients',
    'create',
    '--name',
    'bench rbac web',
    '--grant-types',
    'authorization_code,refresh_token',
    '--first-party',
    '--redirect-uri',
    REDIRECT_URI,
    '--api',
    RBAC_AUDIENCE,
    '--scope',
    'openid offline_access a:read a:write',
  ]);
  cli(['users', 'assign-role', USER.email, '--role', 'bench-reader']);
  const rbacAuth = `Basic ${Buffer.from(`${rbacService.client_id}:${rbacService.client_secret}`).toString('base64')}`;
  const rbacFlow = {
    clientId: rbacWeb.client_id,
    clientSecret: rbacWeb.client_secret,
    redirectUri: REDIRECT_URI,
    user: USER,
  };
  const apiClient = cli([
    'clients',
    'create',
    '--name',
    'bench api',
    '--grant-types',
    'client_credentials',
    '--api',
    AUDIENCE,
    '--serves',
    AUDIENCE,
  ]);
  const apiKey = cli(['api-keys', 'create', '--name', 'bench', '--api', AUDIENCE, '--scope', 'a:read']);
  const tApi = {
    auth: `Basic ${Buffer.from(`${apiClient.client_id}:${apiClient.client_secret}`).toString('base64')}`,
    key: apiKey.value as string,
  };
  const tAuth = `Basic ${Buffer.from(`${service.client_id}:${service.client_secret}`).toString('base64')}`;
  const tFlow = { clientId: web.client_id, clientSecret: web.client_secret, redirectUri: REDIRECT_URI, user: USER };
  return (issuer) => ({
    auth: tAuth,
    flow: { ...tFlow, issuer },
    rbac: { auth: rbacAuth, flow: { ...rbacFlow, issuer } },
    api: tApi,
  });
}
