// The key lifecycle on a schedule, with the clock passed in: next is published a delay before
// the current key is due, takes over when due, and the old key retires for the retention time.
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../src/db/client.ts';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { createQueries } from '../../src/db/queries/index.ts';
import { advanceKeys, type KeyPolicy } from '../../src/keys/lifecycle.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';

let scratch: ScratchDatabase | undefined;
afterAll(async () => scratch?.drop());

describe('scheduled key rotation', () => {
  it('publishes, promotes, retires and removes keys as time passes, and only once when raced', async () => {
    scratch = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_lifecycle');
    const pool = new pg.Pool({ connectionString: scratch.url, max: 1 });
    await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
    await pool.end();
    const db = createDatabase({ url: scratch.url, poolMax: 4 });
    const { signingKeys } = createQueries(db);
    const kek = Buffer.alloc(32, 3);
    const policy: KeyPolicy = {
      kek,
      keks: [kek],
      rsaBits: 2048,
      algs: ['RS256'],
      rotationPeriod: 100,
      publicationDelay: 10,
      retention: async () => 50,
    };
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);
    const states = async () =>
      (await signingKeys.list())
        .map((k) => k.state)
        .sort()
        .join(' ');

    // Two processes starting at once create one key.
    await Promise.all([advanceKeys(signingKeys, policy, at(0)), advanceKeys(signingKeys, policy, at(0))]);
    expect(await states()).toBe('current');
    const first = (await signingKeys.list())[0]!.kid;

    expect(await advanceKeys(signingKeys, policy, at(89))).toBe(false);
    expect(await advanceKeys(signingKeys, policy, at(90))).toBe(true); // due at 100, published 10 s ahead
    expect(await states()).toBe('current next');
    expect(await advanceKeys(signingKeys, policy, at(95))).toBe(false);
    expect(await advanceKeys(signingKeys, policy, at(100))).toBe(true);
    expect(await states()).toBe('current retired');
    const retired = (await signingKeys.list()).find((k) => k.kid === first)!;
    expect(retired).toMatchObject({ state: 'retired', retiredAt: at(100), unpublishAt: at(150) });
    expect((await signingKeys.listPublished(at(149))).map((k) => k.kid)).toContain(first);

    await advanceKeys(signingKeys, policy, at(150));
    expect((await signingKeys.list()).map((k) => k.kid)).not.toContain(first);
    await db.close();
  });
});
