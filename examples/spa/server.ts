// Serves the single-page app (index.html, app.js) and its configuration. The app itself runs
// in the browser: Authorization Code + PKCE as a public client with oauth4webapi, tokens in
// memory only, renewed silently through refresh-token rotation.
//
//   ISSUER=http://localhost:3000 CLIENT_ID=orders-spa API_URL=http://localhost:4000 node examples/spa/server.ts
//   # then open http://localhost:5173 (the API needs CORS_ORIGINS=http://localhost:5173)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const ISSUER = process.env.ISSUER ?? 'http://localhost:3000';
const CLIENT_ID = process.env.CLIENT_ID ?? 'orders-spa';
const PORT = Number(process.env.PORT ?? 5173);
const APP_URL = process.env.APP_URL ?? `http://localhost:${PORT}`;
const API_URL = process.env.API_URL ?? 'http://localhost:4000';
const SCOPE = process.env.SCOPE ?? 'openid offline_access orders:read';
// Seconds after which the app renews its access token; by default three quarters of its life.
// Set low to watch a renewal happen.
const RENEW_AFTER = process.env.RENEW_AFTER ? Number(process.env.RENEW_AFTER) : undefined;

const here = new URL('.', import.meta.url);
const files: Record<string, { type: string; body: string | Buffer }> = {
  '/': { type: 'text/html; charset=utf-8', body: readFileSync(new URL('index.html', here)) },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('app.js', here)) },
  // oauth4webapi is one dependency-free ES module that runs in browsers as it is.
  '/vendor/oauth4webapi.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL(import.meta.resolve('oauth4webapi'))),
  },
  '/config.json': {
    type: 'application/json',
    body: JSON.stringify({
      issuer: ISSUER,
      clientId: CLIENT_ID,
      redirectUri: `${APP_URL}/`,
      apiUrl: API_URL,
      scope: SCOPE,
      renewAfter: RENEW_AFTER,
    }),
  },
};

// No inline script, and the page talks only to itself, Tessera and the API: an injected script
// (the way tokens in a SPA get stolen) has nowhere to send them.
const CSP = `default-src 'self'; connect-src 'self' ${new URL(ISSUER).origin} ${new URL(API_URL).origin}; frame-ancestors 'none'`;

createServer((req, res) => {
  const file = files[new URL(req.url ?? '/', APP_URL).pathname];
  if (!file) return void res.writeHead(404).end();
  res
    .writeHead(200, {
      'content-type': file.type,
      'content-security-policy': CSP,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    })
    .end(file.body);
}).listen(PORT, () => console.log(`orders SPA listening on ${APP_URL}`));
