// The server's front door: someone who opens the issuer's address in a browser (the README's
// first step) learns what answers there and where its discovery document is, instead of a JSON
// 404. In development the page also points at the README. Nothing on it comes from the request.
import Router from '@koa/router';
import { DISCOVERY_PATH } from '../oidc/provider-config.ts';
import { sendPage } from '../views/page.ts';
import { type Brand, renderView } from '../views/render.ts';

export function homeRoutes(deps: { issuer: string; brand: Brand; development: boolean }): Router {
  const router = new Router();
  const html = renderView('home', deps.brand, {
    issuer: deps.issuer,
    discovery: `${deps.issuer}${DISCOVERY_PATH}`,
    development: deps.development,
  });
  router.get('/', (ctx) => sendPage(ctx, html));
  return router;
}
