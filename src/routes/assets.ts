// The pages' static files (one stylesheet), read once and served with a validator.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { VIEWS_DIR } from '../views/render.ts';

const FILES: Record<string, string> = { 'tessera.css': 'text/css; charset=utf-8' };

export function assetRoutes(): Router {
  const router = new Router({ prefix: '/assets' });
  const loaded = new Map(
    Object.entries(FILES).map(([name, type]) => {
      const body = readFileSync(`${VIEWS_DIR}assets/${name}`);
      return [name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` }];
    }),
  );
  router.get('/:name', (ctx) => {
    const file = loaded.get(ctx.params.name!);
    if (!file) return;
    ctx.set('ETag', file.etag);
    // An hour: a re-branded stylesheet reaches browsers soon, and revalidation is cheap.
    ctx.set('Cache-Control', 'public, max-age=3600');
    if (ctx.get('if-none-match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = file.type;
    ctx.body = file.body;
  });
  return router;
}
