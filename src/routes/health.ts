// Liveness and readiness for orchestrators: cheap, unauthenticated, no details beyond a word.
// /healthz: the process answers. /readyz: the database answers, every migration is applied (a
// database that a later release migrated further is fine: `schema: newer`) and signing keys are loaded; the migration check is cached, since migrations change only at deploy.
// It also says whether the change listener is connected. Reconnecting is not a failure (the
// process reads every client and revocation from the database meanwhile, src/cache/), but a
// listener that has not answered its heartbeat for seconds is (db/notifications.ts): it is how a
// silently dead connection shows, and the orchestrator should know. A replica shutting down
// answers 503 first, while it still serves, so the balancer stops sending to it (server.ts).
import Router from '@koa/router';
import type pg from 'pg';
import { schemaState } from '../db/migrate.ts';
import type { ListenerHealth } from '../db/notifications.ts';

// Once the migrations are found applied they stay applied; re-checked at most this often.
const MIGRATIONS_RECHECK_MS = 60_000;

export function healthRoutes(deps: {
  pool: pg.Pool;
  migrationsDir: string;
  keysLoaded: () => boolean;
  listener: () => ListenerHealth;
  /** True from SIGTERM on: the replica is draining and wants no new traffic. */
  draining?: () => boolean;
}): Router {
  const router = new Router();
  let migrationsCheckedAt = 0;
  let schema: 'current' | 'newer' = 'current';

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
    if (deps.draining?.()) return unavailable('shutting down');
    try {
      await deps.pool.query('SELECT 1');
    } catch {
      return unavailable('database unreachable');
    }
    if (Date.now() - migrationsCheckedAt > MIGRATIONS_RECHECK_MS) {
      try {
        const state = await schemaState(deps.pool, deps.migrationsDir);
        // Older: this code may need what the pending migrations add. Newer: the next release has
        // migrated during a rolling upgrade; its migrations only add (expand/contract,
        // scripts/lint-migrations.ts), so this code still works on it, and stays ready.
        if (state === 'older') return unavailable('database schema older than this release (migrations pending)');
        schema = state;
      } catch {
        return unavailable('database unreachable');
      }
      migrationsCheckedAt = Date.now();
    }
    if (!deps.keysLoaded()) return unavailable('signing keys not loaded');
    const listener = deps.listener();
    if (listener === 'not answering') return unavailable('change listener not answering');
    ctx.body = { status: 'ready', change_listener: listener, schema };
  });
  return router;
}
