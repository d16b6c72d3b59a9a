// Shared by the hardening suites: a PostgreSQL of the test's own (to stop and start without
// disturbing the other test files), users and clients made with the CLI, a client address of a
// file's own, and sign-in with extra headers.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import pg from 'pg';
import { freePort, loadEmbeddedPostgres } from '../../src/db/embedded.ts';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { authorize, get, type Jar } from '../setup/sign-in.ts';
import { randomId, tessera, tesseraJson } from '../setup/tessera.ts';

import { form } from './device-approval.ts';

export { approveDevice, form } from './device-approval.ts';

export const PASSWORD = 'correct horse battery';

export interface OwnPostgres {
  /** A migrated database, as Tessera's DATABASE_URL. */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** A throw-away embedded PostgreSQL that the test may stop and start at will. */
export async function ownPostgres(): Promise<OwnPostgres> {
  const Postgres = await loadEmbeddedPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-fault-pg-'));
  chmodSync(dir, 0o711); // as root, PostgreSQL runs as `postgres` and must reach data/
  const port = await freePort();
  const server = new Postgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'faults',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
    postgresFlags: ['-c', 'max_connections=100'],
  });
  await server.initialise();
  await server.start();
  const url = `postgresql://postgres:faults@127.0.0.1:${port}/postgres`;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  await pool.end();
  let running = true;
  return {
    url,
    async stop() {
      if (running) await server.stop();
      running = false;
    },
    async start() {
      if (!running) await server.start();
      running = true;
    },
    async destroy() {
      if (running) await server.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CLI against another database than the shared test one. */
export function cliEnv(databaseUrl?: string): Record<string, string> | undefined {
  return databaseUrl ? { DATABASE_URL: databaseUrl } : undefined;
}

export async function createUser(databaseUrl?: string): Promise<{ email: string; password: string }> {
  const email = `${randomId('hard')}@example.test`;
  const env = cliEnv(databaseUrl);
  const created = await tessera(['users', 'create', '--email', email, '--password-stdin'], {
    input: PASSWORD,
    ...(env ? { env } : {}),
  });
  if (created.code !== 0) throw new Error(`users create: ${created.stderr}`);
  return { email, password: PASSWORD };
}

export async function createApi(scope: string, databaseUrl?: string): Promise<string> {
  const audience = `https://${randomId('api')}.example.test`;
  await tesseraJson(['apis', 'create', '--audience', audience, '--scope', scope], cliEnv(databaseUrl));
  return audience;
}

export interface Registered {
  client_id: string;
  client_secret?: string;
}

export function createClient(args: string[], databaseUrl?: string): Promise<Registered> {
  return tesseraJson<Registered>(['clients', 'create', '--name', randomId('app'), ...args], cliEnv(databaseUrl));
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/**
 * A client address of the file's own, for servers started with TRUSTED_PROXIES=127.0.0.1: the sign-in limits
 * count per address in the shared database, and test files that sign in many times must not
 * spend the budget of the others, which all come from 127.0.0.1. (198.18.0.0/15 is for tests.)
 */
export function ownAddress(): Record<string, string> {
  const octet = () => Math.floor(Math.random() * 254) + 1;
  return { 'x-forwarded-for': `198.18.${octet()}.${octet()}` };
}

/** sign-in.ts's `get`, with extra headers on every request. */
export function getWith(headers: Record<string, string>) {
  return (jar: Jar, url: string, init: RequestInit = {}) =>
    get(jar, url, { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } });
}

/** sign-in.ts's `authorize`, with extra headers on every request. */
export function authorizeWith(
  headers: Record<string, string>,
  authUrl: URL,
  user: { email: string; password: string },
  jar: Jar,
): Promise<URL> {
  return authorize(authUrl, user, jar, headers);
}

/**
 * Signs `user` in to a confidential `app` through the authorization endpoint with `jar` (the
 * browser's cookies), asks for consent again, and redeems the code: the app's tokens.
 */
export async function signInForTokens(
  issuer: string,
  app: { client_id: string; client_secret?: string; redirect: string; scope: string; resource?: string },
  user: { email: string; password: string },
  jar: Jar,
): Promise<{ url: URL; tokens: { access_token: string; refresh_token: string } }> {
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: app.client_id,
    response_type: 'code',
    redirect_uri: app.redirect,
    scope: app.scope,
    ...(app.resource ? { resource: app.resource } : {}),
    prompt: 'consent',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const code = (await authorize(url, user, jar)).searchParams.get('code')!;
  const res = await fetch(`${issuer}/token`, {
    ...form({ grant_type: 'authorization_code', code, redirect_uri: app.redirect, code_verifier: verifier }),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(app.client_id, app.client_secret!),
    },
  });
  if (res.status !== 200) throw new Error(`token answered ${res.status}: ${await res.text()}`);
  return { url, tokens: (await res.json()) as { access_token: string; refresh_token: string } };
}

/** A refresh at the token endpoint: its status and RFC 6749 §5.2 error, if any. */
export async function refresh(
  issuer: string,
  app: { client_id: string; client_secret?: string },
  refreshToken: string,
): Promise<{ status: number; error?: string }> {
  const res = await fetch(`${issuer}/token`, {
    ...form({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(app.client_id, app.client_secret!),
    },
  });
  const body = (await res.json()) as { error?: string };
  return { status: res.status, ...(body.error ? { error: body.error } : {}) };
}
