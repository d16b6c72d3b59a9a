// The zero-set-up path: `npm start` with no DATABASE_URL runs on the embedded PostgreSQL in the
// data directory, generates its development secrets once, and keeps everything across restarts.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { startServerProcess, type ServerProcess } from '../setup/server-process.ts';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-embedded-'));
let port: number;
let server: ServerProcess | undefined;

const env = () => ({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });

async function start(): Promise<string> {
  server = await startServerProcess(env(), `http://localhost:${port}`);
  return server.output();
}

async function stop(): Promise<number | null> {
  const code = await server!.stop();
  server = undefined;
  return code;
}

const cli = async (args: string[]) =>
  JSON.parse(
    (
      await promisify(execFile)(process.execPath, ['src/cli/main.ts', '--json', ...args], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env() },
      })
    ).stdout,
  );

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
      'clients',
      'create',
      '--name',
      'billing',
      '--grant-types',
      'client_credentials',
      '--api',
      'https://api.example.test',
      '--scope',
      'orders:read',
    ]);

    const getToken = async () => {
      const config = await oidc.discovery(new URL(issuer), id, secret, oidc.ClientSecretBasic(secret), {
        execute: [oidc.allowInsecureRequests],
      });
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'orders:read' });
      const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), {
        issuer,
        audience: 'https://api.example.test',
        typ: 'at+jwt',
        algorithms: ['RS256'],
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
