// A per-key quota shared by every Tessera process, counted in memory and synchronised with
// PostgreSQL in batches: the token endpoint's limit, which must cost no database round trip per
// request yet hold across replicas.
//
// Each process spends locally and, every FLUSH_MS, adds what it spent to the shared counters in
// one statement, reading back the totals (only keys with something pending are written, so an
// idle process commits nothing); the totals of keys decided on within the window and with nothing
// to send are read (no commit) at the same pace, so that they are never more than FLUSH_MS old.
// A decision is made from those totals plus the local spend, without waiting; from EXACT_FROM of
// the limit on, the key is synchronised before every decision (one statement per key however
// many requests wait for it). A key this process has not seen before is decided on its local
// spend alone, and read at the next flush. What other replicas spent and have not yet sent (at most their last FLUSH_MS) is
// unknown: the limit can be overshot by at most what the other replicas serve in that time.
//
// The counters live in the rate_limits table, shared with the login and device-code limits; the
// statement is db/queries/rate-limits.ts's.
import type pg from 'pg';
import { type Clock, systemClock } from '../clock.ts';
import { quotaCounterQueries } from '../db/queries/rate-limits.ts';

// Synchronisation period: 10 statements a second per process at most, whatever the load.
const FLUSH_MS = 100;
// From this share of the limit on, every decision is made on fresh totals.
const EXACT_FROM = 0.8;

export interface QuotaOptions {
  /** Distinguishes this quota's counters from others' in the shared table. */
  name: string;
  points: number;
  windowSeconds: number;
  /** The clock that ages totals and windows (src/clock.ts); tests pass one they move. */
  now?: Clock;
}

export interface Quota {
  readonly points: number;
  /** Milliseconds until every one of these keys has quota again; 0 when all have it now. */
  wait(keys: string[]): Promise<number>;
  /** Spends one point under `key`. */
  spend(key: string): void;
  /**
   * Decides and spends in one step: 0 when one point was spent under `key` (whose limit is
   * `points`, default the quota's), else the milliseconds until it has quota again. Nothing else
   * runs in this process between the decision and the spend, so concurrent requests here never
   * overspend; across processes the bound of the header holds.
   */
  take(key: string, points?: number): Promise<number>;
  /** Sends what is pending and reads the totals back now (what the timer does every FLUSH_MS). */
  flush(): Promise<void>;
  /** Writes out what is still unsent. */
  stop(): Promise<void>;
}

interface Counter {
  /** The shared total as of the last synchronisation. */
  consumed: number;
  /** When the shared window ends (ms since the epoch). */
  expire: number;
  /** Spent here and not yet sent. */
  pending: number;
  /**
   * Sent and not yet answered: counted by every estimate meanwhile, so that requests deciding
   * while a synchronisation is in flight do not see the points vanish (neither pending nor in
   * `consumed` yet) and pass when they should not.
   */
  sending?: number;
  /** When `consumed` was read (ms since the epoch). */
  syncedAt: number;
  /** When this process last decided on the key (ms since the epoch). */
  usedAt: number;
}

export function batchedQuota(pool: pg.Pool, options: QuotaOptions): Quota {
  const counters = new Map<string, Counter>();
  const queries = quotaCounterQueries(pool);
  const prefix = `${options.name}:`;
  const windowMs = options.windowSeconds * 1000;
  const clock = options.now ?? systemClock;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let flushing: Promise<void> | undefined;
  const refreshing = new Map<string, Promise<void>>();

  /**
   * Adds the pending spend of these keys to the shared counters and reads the totals back; keys
   * with nothing pending are only read (no write, no commit).
   */
  async function sync(keys: string[]): Promise<void> {
    const sent = keys.map((k) => {
      const c = counters.get(k);
      const points = c?.pending ?? 0;
      if (c) {
        c.pending = 0;
        c.sending = (c.sending ?? 0) + points;
      }
      return points;
    });
    const now = clock();
    try {
      const adding = keys.filter((_, i) => sent[i]! > 0);
      const reading = keys.filter((_, i) => sent[i] === 0);
      const totals = [
        ...(adding.length
          ? await queries.add(
              adding.map((k) => prefix + k),
              sent.filter((p) => p > 0),
              now + windowMs,
              now,
            )
          : []),
        ...(reading.length ? await queries.read(reading.map((k) => prefix + k)) : []),
      ];
      keys.forEach((key, i) => {
        const c = counters.get(key);
        if (!c) return;
        c.syncedAt = now;
        // In `consumed` from now on (the totals read back include them).
        c.sending = (c.sending ?? 0) - sent[i]!;
      });
      for (const row of totals) {
        const key = row.key.slice(prefix.length);
        const c = counters.get(key) ?? { consumed: 0, expire: 0, pending: 0, syncedAt: now, usedAt: 0 };
        c.consumed = row.points;
        c.expire = row.expire;
        c.syncedAt = now;
        counters.set(key, c);
      }
    } catch (err) {
      // Nothing was counted: keep it for the next try.
      keys.forEach((k, i) => {
        const c = counters.get(k);
        if (!c) return;
        c.pending += sent[i]!;
        c.sending = (c.sending ?? 0) - sent[i]!;
      });
      throw err;
    }
  }

  // A key decided on within this long is kept fresh by the timer (a read every FLUSH_MS while it
  // has nothing to send), so that its next decision needs no wait: one window.
  const activeMs = windowMs;

  function flush(): Promise<void> {
    timer = undefined;
    const now = clock();
    const due: string[] = [];
    for (const [key, c] of counters) {
      if (c.pending > 0 || (now - c.usedAt < activeMs && now - c.syncedAt >= FLUSH_MS)) due.push(key);
      else if (c.expire <= now && now - c.usedAt >= activeMs) counters.delete(key); // finished, idle
    }
    if (!due.length) {
      schedule();
      return Promise.resolve();
    }
    flushing = sync(due)
      .catch(() => {
        /* retried at the next flush */
      })
      .finally(() => {
        flushing = undefined;
        schedule();
      });
    return flushing;
  }

  function schedule() {
    const now = clock();
    if (stopped || timer || ![...counters.values()].some((c) => c.pending > 0 || now - c.usedAt < activeMs)) return;
    timer = setTimeout(() => void flush(), FLUSH_MS);
    timer.unref();
  }

  const estimate = (c: Counter, now: number) => (c.expire > now ? c.consumed : 0) + c.pending + (c.sending ?? 0);

  /** Fresh totals for one key; concurrent requests for it share one statement. */
  function refresh(key: string): Promise<void> {
    let p = refreshing.get(key);
    if (!p) {
      // A database that cannot be reached leaves the decision to what this process knows: the
      // limit protects, it does not authenticate (and without a database, authentication fails).
      // After a flush in flight: its points are taken out of `pending` already and not yet in the
      // table, and a read (which takes no row lock) would not see them.
      p = Promise.resolve(flushing)
        .then(() => sync([key]))
        .catch(() => {})
        .finally(() => refreshing.delete(key));
      refreshing.set(key, p);
    }
    return p;
  }

  async function waitFor(key: string, points = options.points, spend = false): Promise<number> {
    let c = counters.get(key);
    const before = clock();
    // Only near the limit does a decision wait for fresh totals. Below it, a request decides on
    // what this process knows (totals at most FLUSH_MS old, plus its own spend, or nothing yet for
    // a key it has not seen): its spend is sent, and the totals read back, by the next flush,
    // which writes only keys with something pending. What this costs is the overshoot the header
    // describes, for a key's first FLUSH_MS in this process as for any other FLUSH_MS.
    if (!c) {
      c = { consumed: 0, expire: 0, pending: 0, syncedAt: 0, usedAt: before };
      counters.set(key, c);
      schedule();
    }
    c.usedAt = before;
    // Near the limit: from EXACT_FROM of it, or when one more request would reach it (for a small
    // limit, where 80% and the last point are the same request).
    const estimated = estimate(c, before);
    if (estimated >= points * EXACT_FROM || points - estimated <= 1) {
      await refresh(key);
      c = counters.get(key);
    }
    const now = clock();
    if (c && estimate(c, now) >= points) return Math.max(1, c.expire - now);
    // Synchronously after the decision: no other request of this process decides in between.
    if (spend) spendOn(key);
    return 0;
  }

  function spendOn(key: string) {
    const c = counters.get(key) ?? { consumed: 0, expire: 0, pending: 0, syncedAt: 0, usedAt: clock() };
    c.pending++;
    counters.set(key, c);
    schedule();
  }

  return {
    points: options.points,
    async wait(keys) {
      return Math.max(0, ...(await Promise.all(keys.map((key) => waitFor(key)))));
    },
    spend: spendOn,
    take: (key, points) => waitFor(key, points, true),
    async flush() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await flushing;
      await flush();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await flushing;
      await flush();
    },
  };
}
