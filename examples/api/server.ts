// An orders API protected by tessera/resource-server, on Koa.
//
//   ISSUER=http://localhost:3000 AUDIENCE=https://orders.example.test node examples/api/server.ts
//
// GET /orders needs orders:read; POST /orders needs orders:write and, when the API has its own
// client credentials (API_CLIENT_ID, API_CLIENT_SECRET: a client created with `--serves`), asks
// Tessera whether the token is still active, so that a revoked token cannot write.
// CORS_ORIGINS (comma-separated) lets single-page apps on those origins call it.
import Router from '@koa/router';
import Koa from 'koa';
import { createResourceServer, requireTokenKoa } from 'tessera/resource-server';

const ISSUER = process.env.ISSUER ?? 'http://localhost:3000';
const AUDIENCE = process.env.AUDIENCE ?? 'https://orders.example.test';
const PORT = Number(process.env.PORT ?? 4000);
const CORS_ORIGINS = (process.env.CORS_ORIGINS ?? '').split(',').filter(Boolean);
const introspection =
  process.env.API_CLIENT_ID && process.env.API_CLIENT_SECRET
    ? { clientId: process.env.API_CLIENT_ID, clientSecret: process.env.API_CLIENT_SECRET }
    : undefined;

const rs = createResourceServer({
  issuer: ISSUER,
  audience: AUDIENCE,
  ...(introspection ? { introspection } : undefined),
});

const orders = [{ id: 1, item: 'tessera tiles', quantity: 40 }];
const router = new Router();

router.get('/orders', requireTokenKoa(rs, { scopes: ['orders:read'] }), (ctx) => {
  const { claims } = ctx.state.accessToken;
  ctx.body = { orders, caller: { sub: claims.sub, client_id: claims.client_id } };
});

router.post(
  '/orders',
  requireTokenKoa(rs, { scopes: ['orders:write'], introspect: introspection !== undefined }),
  (ctx) => {
    const order = { id: orders.length + 1, item: 'grout', quantity: 1 };
    orders.push(order);
    ctx.status = 201;
    ctx.body = order;
  },
);

const app = new Koa();
// CORS for the listed browser origins only. Authorization and DPoP are not CORS-safelisted, so
// browsers ask first (preflight); WWW-Authenticate is exposed so that a SPA can read why it was refused.
app.use(async (ctx, next) => {
  const origin = ctx.get('Origin');
  if (origin && CORS_ORIGINS.includes(origin)) {
    ctx.vary('Origin');
    ctx.set('Access-Control-Allow-Origin', origin);
    ctx.set('Access-Control-Expose-Headers', 'WWW-Authenticate');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'GET, POST');
      ctx.set('Access-Control-Allow-Headers', 'Authorization, DPoP, Content-Type');
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      return;
    }
  }
  await next();
});
app.use(router.routes()).use(router.allowedMethods());

const server = app.listen(PORT, () => {
  console.log(
    `orders API listening on http://localhost:${PORT} (issuer ${ISSUER}, audience ${AUDIENCE}${introspection ? ', writes introspected' : ''})`,
  );
});
process.on('SIGTERM', () => server.close());
process.on('SIGINT', () => server.close());
