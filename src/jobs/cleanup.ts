// The cleanup job: expired rows (codes, sessions, grants, refresh tokens, interactions, revoked
// JWT ids, device polls, rate-limit counters) are deleted in bounded batches, so the tables do
// not grow without bound. Runs inside every server on a timer (one replica at a time, by
// advisory lock) and as `tessera cleanup`.
import { CLEANUP_BATCH, type CleanedTable, type CleanupQueries } from '../db/queries/cleanup.ts';
import type { Logger } from '../logging/logger.ts';

export async function cleanExpired(queries: CleanupQueries): Promise<Partial<Record<CleanedTable, number>>> {
  const deleted: Partial<Record<CleanedTable, number>> = {};
  for (const table of queries.tables) {
    for (;;) {
      const n = await queries.batch(table);
      if (n === undefined) return deleted; // another replica is cleaning
      if (n > 0) deleted[table] = (deleted[table] ?? 0) + n;
      if (n < CLEANUP_BATCH) break;
    }
  }
  return deleted;
}

export function scheduleCleanup(queries: CleanupQueries, intervalSeconds: number, logger: Logger): { stop(): void } {
  const timer = setInterval(() => {
    cleanExpired(queries).then(
      (deleted) => {
        if (Object.keys(deleted).length) logger.info({ deleted }, 'deleted expired rows');
      },
      (err: unknown) => logger.warn({ err }, 'cleanup failed; it runs again later'),
    );
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
