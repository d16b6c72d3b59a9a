// Liveness and readiness for orchestrators: cheap, unauthenticated, no details beyond a word.
// /healthz: the process answers. /readyz: the database answers, every migration is applied and
// signing keys are loaded; the migration check is cached, since migrations change only at deploy.
// It also says whether the change listener is connected: without it the process stays correct
// but reads every client and revocation from the database (src/cache/), so it is not a failure.
import Router from '@koa/router';
import type pg from 'pg';
import { pendingMigrations } from '../db/migrate.ts';

// Once the migrations are found applied they stay applied; re-checked at most this often.
const MIGRATIONS_RECHECK_MS = 60_000;

export function healthRoutes(deps: { pool: pg.Pool; migrationsDir: string; keysLoaded: () => boolean; listening: () => boolean }): Router {
  const router = new Router();
  let migrationsCheckedAt = 0;

  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const unavailable = (reason: string) => {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', reason };
    };
    try {
      await deps.pool.query('SELECT 1');
    } catch {
      return unavailable('database unreachable');
    }
    if (Date.now() - migrationsCheckedAt > MIGRATIONS_RECHECK_MS) {
      try {
        if ((await pendingMigrations(deps.pool, deps.migrationsDir)).length) return unavailable('database migrations pending');
      } catch {
        return unavailable('database unreachable');
      }
      migrationsCheckedAt = Date.now();
    }
    if (!deps.keysLoaded()) return unavailable('signing keys not loaded');
    ctx.body = { status: 'ready', change_listener: deps.listening() ? 'connected' : 'reconnecting' };
  });
  return router;
}
