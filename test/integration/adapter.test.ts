// The oidc-provider adapter contract, against real Postgres: every method, expiry, atomic
// consumption, revocation by grant, and the read-only Client model.
import { randomBytes } from 'node:crypto';
import { errors } from 'oidc-provider';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../src/db/client.ts';
import { createQueries } from '../../src/db/queries/index.ts';
import { createAdapterClass } from '../../src/oidc/adapter.ts';
import { clientCatalog } from '../../src/cache/client-catalog.ts';

const db = createDatabase({ url: inject('databaseUrl'), poolMax: 10 });
// Tessera's clock (src/clock.ts), moved on by the expiry test instead of waiting.
let clockOffset = 0;
const queries = createQueries(db, () => Date.now() + clockOffset);
const Adapter = createAdapterClass({ payloads: queries.payloads, clients: clientCatalog(queries.clients) });
const id = () => randomBytes(16).toString('base64url');

afterAll(() => db.close());

describe('adapter', () => {
  it('upserts, finds and destroys; an update replaces the payload', async () => {
    const sessions = new Adapter('Session');
    const key = id();
    await sessions.upsert(key, { uid: 'u1', accountId: 'a1', kind: 'Session' } as never, 60);
    expect(await sessions.find(key)).toEqual({ uid: 'u1', accountId: 'a1', kind: 'Session' });
    expect(await sessions.findByUid('u1')).toEqual({ uid: 'u1', accountId: 'a1', kind: 'Session' });
    await sessions.upsert(key, { uid: 'u1', accountId: 'a2', kind: 'Session' } as never, 60);
    expect((await sessions.find(key))?.accountId).toBe('a2');
    await sessions.destroy(key);
    expect(await sessions.find(key)).toBeUndefined();
    expect(await sessions.findByUid('u1')).toBeUndefined();
  });

  it('keeps models apart: the same id in two models is two rows', async () => {
    const key = id();
    await new Adapter('AuthorizationCode').upsert(key, { kind: 'AuthorizationCode' } as never, 60);
    expect(await new Adapter('RefreshToken').find(key)).toBeUndefined();
  });

  it('finds a device code by its user code', async () => {
    const codes = new Adapter('DeviceCode');
    const key = id();
    const userCode = `UC${randomBytes(4).toString('hex')}`;
    await codes.upsert(key, { userCode, kind: 'DeviceCode' } as never, 60);
    expect(await codes.findByUserCode(userCode)).toEqual({ userCode, kind: 'DeviceCode' });
    expect(await codes.findByUserCode('nope')).toBeUndefined();
  });

  it('honours expiry on read', async () => {
    const codes = new Adapter('AuthorizationCode');
    const key = id();
    await codes.upsert(key, { kind: 'AuthorizationCode', uid: `uid-${key}` } as never, 1);
    expect(await codes.find(key)).toBeDefined();
    clockOffset += 1_001;
    try {
      expect(await codes.find(key)).toBeUndefined();
      expect(await codes.findByUid(`uid-${key}`)).toBeUndefined();
    } finally {
      clockOffset -= 1_001;
    }
  });

  it('consumes once: the payload then says when, and a second consume fails', async () => {
    const codes = new Adapter('AuthorizationCode');
    const key = id();
    await codes.upsert(key, { kind: 'AuthorizationCode' } as never, 60);
    await codes.consume(key);
    const found = await codes.find(key);
    expect(found?.consumed).toEqual(expect.any(Number));
    expect(Math.abs((found!.consumed as number) - Date.now() / 1000)).toBeLessThan(5);
    await expect(codes.consume(key)).rejects.toBeInstanceOf(errors.InvalidGrant);
  });

  it('lets exactly one of many concurrent consumers win', async () => {
    const tokens = new Adapter('RefreshToken');
    const key = id();
    await tokens.upsert(key, { kind: 'RefreshToken' } as never, 60);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => tokens.consume(key)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(9);
  });

  it('revokes every row of a grant, in batches larger than one batch, and nothing else', async () => {
    const tokens = new Adapter('RefreshToken');
    const grantId = id();
    const keys = Array.from({ length: 1203 }, id);
    await db.pool.query(
      `INSERT INTO oidc_payloads (model, id, payload, grant_id, expires_at)
       SELECT 'RefreshToken', k, jsonb_build_object('grantId', $1::text), $1, now() + interval '1 hour' FROM unnest($2::text[]) AS k`,
      [grantId, keys],
    );
    const other = id();
    await tokens.upsert(other, { grantId: id(), kind: 'RefreshToken' } as never, 60);
    await tokens.revokeByGrantId(grantId);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM oidc_payloads WHERE grant_id = $1', [grantId]);
    expect(rows[0].n).toBe(0);
    expect(await tokens.find(other)).toBeDefined();
  });

  it('reads clients from the clients table and refuses to write them', async () => {
    const clients = new Adapter('Client');
    const clientId = `adapter-${id()}`;
    await db.prisma.client.create({
      data: {
        id: clientId,
        name: 'n',
        grantTypes: ['client_credentials'],
        responseTypes: [],
        redirectUris: [],
        postLogoutRedirectUris: [],
        tokenEndpointAuthMethod: 'client_secret_basic',
      },
    });
    const found = await clients.find(clientId);
    expect(found).toMatchObject({
      client_id: clientId,
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    expect(found!.client_secret).toEqual(expect.any(String));
    expect(await clients.find('no-such-client')).toBeUndefined();
    await expect(clients.upsert(clientId, {} as never, 0)).rejects.toThrow('managed with the tessera CLI');
    await expect(clients.destroy(clientId)).rejects.toThrow('managed with the tessera CLI');
  });
});
