// The pages' static files (the stylesheet, the passkey pages' scripts), read once and served
// with a validator. @simplewebauthn/browser is served from Tessera's own origin (its bundled
// build, from the installed package), so that the pages' CSP trusts no other origin's code.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Router from '@koa/router';
import { VIEWS_DIR } from '../views/render.ts';

const JS = 'text/javascript; charset=utf-8';
// The package's export map names only its module entries; the browser bundle sits beside them.
const WEBAUTHN_BUNDLE = new URL(
  '../dist/bundle/index.umd.min.js',
  `file://${createRequire(import.meta.url).resolve('@simplewebauthn/browser')}`,
).pathname;

const FILES: Record<string, { type: string; path: string }> = {
  'tessera.css': { type: 'text/css; charset=utf-8', path: `${VIEWS_DIR}assets/tessera.css` },
  'admin.css': { type: 'text/css; charset=utf-8', path: `${VIEWS_DIR}assets/admin.css` },
  'passkeys.js': { type: JS, path: `${VIEWS_DIR}assets/passkeys.js` },
  'simplewebauthn-browser.js': { type: JS, path: WEBAUTHN_BUNDLE },
};

export function assetRoutes(): Router {
  const router = new Router({ prefix: '/assets' });
  const loaded = new Map(
    Object.entries(FILES).map(([name, { type, path }]) => {
      const body = readFileSync(path);
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
