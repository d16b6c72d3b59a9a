// The outbox against real PostgreSQL: several workers on one database (replicas) handle each
// row exactly once, a failing handler's row comes back after its backoff, a row whose worker
// stopped mid-way is taken over after its lease, and another issuer's rows are left alone.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../src/db/client.ts';
import { createQueries } from '../../src/db/queries/index.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { outbox } from '../../src/outbox/outbox.ts';
import { backoffMs, LEASE_MS, startOutboxWorker, type OutboxWorker } from '../../src/outbox/worker.ts';
import { eventually } from '../setup/eventually.ts';

const db = createDatabase({ url: inject('databaseUrl'), poolMax: 8 });
const key = randomBytes(32);
const keys = { current: key, all: [key] };
const logger = createLogger({ level: 'silent' });
let skew = 0;
const queries = createQueries(db, () => Date.now() + skew);
const workers: OutboxWorker[] = [];
afterAll(async () => {
  for (const w of workers) await w.stop();
  await db.close();
});

function worker(issuer: string, handle: (payload: unknown) => Promise<void>) {
  const w = startOutboxWorker({
    queries: queries.outbox,
    issuer,
    keys,
    handlers: { test: handle },
    logger,
    pollMs: 20,
  });
  workers.push(w);
  return w;
}

describe('the outbox', () => {
  it('with four workers on one database, handles each of 200 rows exactly once', async () => {
    const issuer = `https://${randomUUID()}.example.test`;
    const handled: number[] = [];
    for (let i = 0; i < 4; i++)
      worker(issuer, async (payload) => {
        handled.push((payload as { n: number }).n);
      });
    const box = outbox(queries.outbox, issuer, keys);
    await Promise.all(Array.from({ length: 200 }, (_, n) => box.enqueue('test', { n })));
    await eventually(() => handled.length >= 200, { timeoutMs: 30_000 });
    await eventually(
      async () =>
        (await db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE issuer = $1', [issuer])).rows[0].n === 0,
    );
    expect(handled.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, n) => n));
  }, 60_000);

  it('retries a failed row after its backoff, and leaves other issuers rows alone', async () => {
    const issuer = `https://${randomUUID()}.example.test`;
    const other = `https://${randomUUID()}.example.test`;
    let failing = true;
    const seen: string[] = [];
    worker(issuer, async (payload) => {
      seen.push((payload as { id: string }).id);
      if (failing) throw new Error('SMTP says 451');
    });
    await outbox(queries.outbox, other, keys).enqueue('test', { id: 'theirs' });
    await outbox(queries.outbox, issuer, keys).enqueue('test', { id: 'mine' });
    const row = await eventually(async () => {
      const { rows } = await db.pool.query(
        'SELECT attempts, last_error, available_at FROM outbox WHERE issuer = $1 AND attempts = 1 AND lease_id IS NULL',
        [issuer],
      );
      return rows[0] ?? false;
    });
    expect(row.last_error).toBe('SMTP says 451');
    // Not before its backoff (10 s ± 20 %).
    expect(row.available_at.getTime() - Date.now()).toBeGreaterThan(backoffMs(1, () => 0) - 2_000);
    failing = false;
    skew += 60_000;
    await eventually(
      async () => (await db.pool.query('SELECT 1 FROM outbox WHERE issuer = $1', [issuer])).rowCount === 0,
    );
    expect(seen).toEqual(['mine', 'mine']);
    const theirs = await db.pool.query('SELECT attempts FROM outbox WHERE issuer = $1', [other]);
    expect(theirs.rows).toEqual([{ attempts: 0 }]);
  });

  it("takes over a row whose worker's lease ended", async () => {
    const issuer = `https://${randomUUID()}.example.test`;
    await outbox(queries.outbox, issuer, keys).enqueue('test', { id: 'stuck' });
    // A worker claims it and never finishes (a process that died mid-send).
    const [claimed] = await queries.outbox.claim(issuer, ['test'], 1, LEASE_MS);
    expect(claimed).toBeDefined();
    const seen: string[] = [];
    worker(issuer, async (payload) => {
      seen.push((payload as { id: string }).id);
    });
    skew += LEASE_MS + 1_000;
    await eventually(() => seen.length === 1);
    expect(seen).toEqual(['stuck']);
    // The dead worker's late completion does not delete anything it no longer holds.
    expect(await queries.outbox.complete(claimed!.id, claimed!.leaseId)).toBe(false);
  });
});

describe('cleanup of mailed links and dead outbox rows', () => {
  it('deletes expired links and rows dead for 30 days, and nothing else', async () => {
    const issuer = `https://${randomUUID()}.example.test`;
    const email = `${randomUUID()}@example.test`;
    const { rows } = await db.pool.query(
      'INSERT INTO users (id, email, email_normalized, updated_at) VALUES (gen_random_uuid(), $1, $1, now()) RETURNING id',
      [email],
    );
    const [live, expired] = [randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO user_tokens (token_hash, purpose, user_id, bound_to, expires_at) VALUES
       ($1, 'password_reset', $3, '', now() + interval '1 hour'), ($2, 'password_reset', $3, '', now() - interval '1 second')`,
      [live, expired, rows[0].id],
    );
    await db.pool.query(
      `INSERT INTO outbox (issuer, kind, payload, dead_at) VALUES
       ($1, 'old', '\\x00', now() - interval '31 days'), ($1, 'recent', '\\x00', now() - interval '1 day'), ($1, 'alive', '\\x00', NULL)`,
      [issuer],
    );
    // Another replica's cleaner may hold the lock for a moment: ask until this one ran.
    await eventually(async () => (await queries.cleanup.batch('user_tokens')) !== undefined);
    await eventually(async () => (await queries.cleanup.batch('outbox')) !== undefined);
    const tokens = await db.pool.query('SELECT token_hash FROM user_tokens WHERE token_hash IN ($1, $2)', [
      live,
      expired,
    ]);
    expect(tokens.rows).toEqual([{ token_hash: live }]);
    const left = await db.pool.query('SELECT kind FROM outbox WHERE issuer = $1 ORDER BY kind', [issuer]);
    expect(left.rows).toEqual([{ kind: 'alive' }, { kind: 'recent' }]);
  });
});
