// The soak's short form for CI (bench/soak.ts runs it for minutes): 25 s of steady mixed load on
// a Tessera process of its own, on a database of its own. It fails on any 5xx or unexpected
// answer, and on memory growth beyond the soak's bounds. Latency is reported but not judged here:
// a CI machine's neighbours move it more than Tessera does.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runSoak } from '../../bench/soak-load.ts';
import { verdict } from '../../bench/soak.ts';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { createScratchDatabase, type ScratchDatabase } from '../setup/postgres.ts';

let database: ScratchDatabase;

beforeAll(async () => {
  database = await createScratchDatabase(inject('adminDatabaseUrl'), 'tessera_soak');
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
  await pool.end();
});
afterAll(() => database?.drop());

describe('a short soak', () => {
  it('25 s of mixed load: no 5xx, nothing unexpected, memory flat', async () => {
    const result = await runSoak({ databaseUrl: database.url, seconds: 25, rate: 8, windowSeconds: 5 });
    console.info(
      result.windows
        .map(
          (w) =>
            `${w.fromSecond}s: ${w.perSecond}/s p50 ${w.p50ms} ms p99 ${w.p99ms} ms rss ${w.rssMb.min}-${w.rssMb.max} MB heap ${w.heapMb.min}-${w.heapMb.max} MB`,
        )
        .join('\n'),
    );
    expect(result.totals.requests).toBeGreaterThan(100);
    expect(result.problems).toEqual([]);
    expect(verdict(result, { rssGrowthMb: 64, heapGrowthMb: 32, p99Factor: Infinity })).toEqual([]);
  }, 120_000);
});
