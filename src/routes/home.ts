// The server's front door: someone who opens the issuer's address in a browser (the README's
// first step) learns what answers there and where its discovery document is, instead of a JSON
// 404. In development the page also points at the README. Nothing on it comes from the request
// but its language (Accept-Language): one page per locale, rendered once.
import Router from '@koa/router';
import { localeOf } from '../i18n/locale.ts';
import { LOCALES, type Locale } from '../i18n/messages.ts';
import { DISCOVERY_PATH } from '../oidc/provider-config.ts';
import { sendPage } from '../views/page.ts';
import { type Brand, renderView } from '../views/render.ts';

export function homeRoutes(deps: { issuer: string; brand: Brand; development: boolean }): Router {
  const router = new Router();
  const data = {
    issuer: deps.issuer,
    discovery: `${deps.issuer}${DISCOVERY_PATH}`,
    development: deps.development,
  };
  const pages = new Map<Locale, string>(LOCALES.map((l) => [l, renderView('home', deps.brand, data, l)]));
  router.get('/', (ctx) => sendPage(ctx, pages.get(localeOf(ctx))!));
  return router;
}
