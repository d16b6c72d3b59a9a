// The administrative queries over oidc_payloads (src/db/queries/oidc-payloads.ts) against real
// Postgres: ending a grant with everything issued from it.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../src/db/client.ts';
import { createQueries } from '../../src/db/queries/index.ts';

const db = createDatabase({ url: inject('databaseUrl'), poolMax: 10 });
const queries = createQueries(db);
const id = () => randomBytes(16).toString('base64url');

afterAll(() => db.close());

/** A grant and what was issued from it: a refresh token, an access token, a code. */
async function grantWithFamily() {
  const grantId = id();
  await queries.payloads.upsert('Grant', grantId, { kind: 'Grant', accountId: 'a', clientId: 'c' }, 60);
  const family = [
    ['RefreshToken', id()],
    ['AccessToken', id()],
    ['AuthorizationCode', id()],
  ] as const;
  for (const [model, key] of family) await queries.payloads.upsert(model, key, { kind: model, grantId }, 60);
  return { grantId, family };
}

/** Counts the statements sent on every connection checked out of the pool while `run` runs. */
async function statementsSent(run: () => Promise<unknown>): Promise<number> {
  let sent = 0;
  const counted = new WeakSet<pg.PoolClient>();
  const onAcquire = (client: pg.PoolClient) => {
    if (counted.has(client)) return;
    counted.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (counting) sent++;
      return query(...args);
    };
  };
  let counting = true;
  db.pool.on('acquire', onAcquire);
  try {
    await run();
  } finally {
    counting = false;
    db.pool.off('acquire', onAcquire);
  }
  return sent;
}

describe('revokeGrant', () => {
  it('deletes the grant and everything issued from it, and nothing else', async () => {
    const ended = await grantWithFamily();
    const kept = await grantWithFamily();
    expect(await queries.payloads.revokeGrant(ended.grantId)).toBe(true);
    expect(await queries.payloads.find('Grant', ended.grantId)).toBeUndefined();
    for (const [model, key] of ended.family) expect(await queries.payloads.find(model, key)).toBeUndefined();
    expect(await queries.payloads.find('Grant', kept.grantId)).toBeDefined();
    for (const [model, key] of kept.family) expect(await queries.payloads.find(model, key)).toBeDefined();
    expect(await queries.payloads.revokeGrant(ended.grantId)).toBe(false);
  });

  it('is one statement: one round trip, one snapshot for the grant and its family', async () => {
    const { grantId } = await grantWithFamily();
    expect(await statementsSent(() => queries.payloads.revokeGrant(grantId))).toBe(1);
  });

  it('of concurrent revocations of one grant, exactly one reports it ended', async () => {
    const { grantId, family } = await grantWithFamily();
    const results = await Promise.all(Array.from({ length: 8 }, () => queries.payloads.revokeGrant(grantId)));
    expect(results.filter(Boolean)).toHaveLength(1);
    for (const [model, key] of family) expect(await queries.payloads.find(model, key)).toBeUndefined();
  });
});
