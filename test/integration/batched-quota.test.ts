// The token endpoint's quota (src/rate-limit/batched-quota.ts): counted in memory, shared through
// PostgreSQL in batches. One process enforces its limit exactly; processes together overshoot it
// by at most what the others spent within one synchronisation period.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { batchedQuota, type Quota } from '../../src/rate-limit/batched-quota.ts';

const pools: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

// The quotas' clock, which the shared-quota test moves (the flush timer stays real: it only makes
// the totals fresher than the moved clock asks for).
let now = Date.now();

function replica(points: number, name: string): Quota {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 4 });
  pools.push(pool);
  return batchedQuota(pool, { name, points, windowSeconds: 60, now: () => now });
}

/** One request: allowed (and spent) when the key has quota. */
async function attempt(quota: Quota, key: string): Promise<boolean> {
  if ((await quota.wait([key])) > 0) return false;
  quota.spend(key);
  return true;
}

describe('batched quota', () => {
  it('lets exactly `points` requests through in one process, then answers how long to wait', async () => {
    const name = `q${randomBytes(4).toString('hex')}`;
    const quota = replica(20, name);
    let allowed = 0;
    for (let i = 0; i < 60; i++) if (await attempt(quota, 'client-a')) allowed++;
    expect(allowed).toBe(20);
    const wait = await quota.wait(['client-a']);
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    // Another key has its own quota.
    expect(await attempt(quota, 'client-b')).toBe(true);
    await quota.stop();
  });

  it('take: concurrent requests in one process never overspend, even while a flush is in flight', async () => {
    const name = `q${randomBytes(4).toString('hex')}`;
    const quota = replica(1, name);
    // Per-key limits (API keys): each decision names its own.
    const decisions = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        // Some requests start while the flushes below are sending what the first ones spent.
        if (i % 8 === 0) void quota.flush();
        await new Promise((r) => setImmediate(r));
        return quota.take('key-a', 7);
      }),
    );
    expect(decisions.filter((w) => w === 0)).toHaveLength(7);
    expect(await quota.take('key-b', 2)).toBe(0);
    await quota.stop();
  });

  it('shares the quota between processes: requests spread over two stay within the limit', async () => {
    const name = `q${randomBytes(4).toString('hex')}`;
    const [one, two] = [replica(30, name), replica(30, name)];
    let allowed = 0;
    // Alternating, 20 ms apart on the quotas' clock, each process flushing every 0.1 s of it as
    // its timer does (no decision waits for that): each process's totals are never more than
    // 0.1 s old.
    for (let i = 0; i < 80; i++) {
      if (await attempt(i % 2 ? one : two, 'shared')) allowed++;
      now += 20;
      if (i % 5 === 4) await Promise.all([one.flush(), two.flush()]);
    }
    // The exact zone (from 80 % of the limit) refreshes before every decision; what the other
    // process spent since its last send (at most 0.1 s: here 5 requests) may be missing.
    expect(allowed).toBeGreaterThanOrEqual(30);
    expect(allowed).toBeLessThanOrEqual(30 + 5);
    await Promise.all([one.stop(), two.stop()]);
    // What both sent is in the table.
    const { rows } = await pools[0]!.query('SELECT points FROM rate_limits WHERE key = $1', [`${name}:shared`]);
    expect(rows[0].points).toBe(allowed);
  });
});
