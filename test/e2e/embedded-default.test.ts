// The zero-set-up path: `npm start` with no DATABASE_URL runs on the embedded PostgreSQL in the
// data directory, generates its development secrets once, and keeps everything across restarts.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-embedded-'));
let port: number;
let server: ChildProcess | undefined;

const env = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });

async function start(): Promise<string> {
  const child = spawn(process.execPath, ['src/main.ts'], { cwd: root, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  const issuer = `http://localhost:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`tessera exited: ${output}`);
    try {
      const res = await fetch(`${issuer}/.well-known/openid-configuration`);
      if (res.ok) return output;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tessera did not start: ${output}`);
}

async function stop(): Promise<number | null> {
  const child = server!;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  server = undefined;
  return child.exitCode;
}

const cli = async (args: string[]) =>
  JSON.parse((await promisify(execFile)(process.execPath, ['src/cli/main.ts', '--json', ...args], { cwd: root, env: env() })).stdout);

afterAll(async () => {
  if (server) await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the embedded default database', () => {
  it('serves discovery at http://localhost:PORT with no configuration, and survives a restart', async () => {
    port = await freePort();
    const firstOutput = await start();
    expect(firstOutput).toContain('using the embedded PostgreSQL');
    expect(firstOutput).toContain('generated development secrets');
    expect(existsSync(join(dataDir, 'secrets.json'))).toBe(true);
    const issuer = `http://localhost:${port}`;

    // The CLI shares the running server's embedded database.
    await cli(['apis', 'create', '--audience', 'https://api.example.test', '--scope', 'orders:read orders:write']);
    const { client_id: id, client_secret: secret } = await cli([
      'clients', 'create', '--name', 'billing', '--grant-types', 'client_credentials', '--api', 'https://api.example.test', '--scope', 'orders:read',
    ]);

    const getToken = async () => {
      const config = await oidc.discovery(new URL(issuer), id, secret, oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] });
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'orders:read' });
      const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), {
        issuer, audience: 'https://api.example.test', typ: 'at+jwt', algorithms: ['RS256'],
      });
      return { config, tokens, payload };
    };

    const before = await getToken();
    expect(before.payload.scope).toBe('orders:read');
    const introspected = await oidc.tokenIntrospection(before.config, before.tokens.access_token);
    expect(introspected.active).toBe(true);
    await oidc.tokenRevocation(before.config, before.tokens.access_token);
    expect((await oidc.tokenIntrospection(before.config, before.tokens.access_token)).active).toBe(false);

    expect(await stop()).toBe(0);
    const secondOutput = await start();
    expect(secondOutput).not.toContain('generated development secrets');

    // Same client, same secret, same signing key and the revocation remembered.
    const after = await getToken();
    expect(after.payload.iss).toBe(issuer);
    expect((await oidc.tokenIntrospection(after.config, before.tokens.access_token)).active).toBe(false);
  }, 120_000);
});
