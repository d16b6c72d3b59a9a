// A server-side web app signing its users in with Authorization Code + PKCE (RFC 6749 §4.1,
// RFC 7636) through openid-client, then calling the orders API on their behalf. The tokens stay
// on the server; the browser holds only a random session id in an HttpOnly cookie.
//
//   ISSUER=http://localhost:3000 CLIENT_ID=orders-web CLIENT_SECRET=… API_URL=http://localhost:4000 \
//     node examples/web-app/server.ts          # then open http://localhost:5000
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import * as client from 'openid-client';

const ISSUER = process.env.ISSUER ?? 'http://localhost:3000';
const CLIENT_ID = process.env.CLIENT_ID ?? 'orders-web';
const CLIENT_SECRET = process.env.CLIENT_SECRET;
const PORT = Number(process.env.PORT ?? 5000);
const APP_URL = process.env.APP_URL ?? `http://localhost:${PORT}`;
const API_URL = process.env.API_URL ?? 'http://localhost:4000';
// No offline_access: this app uses its access token only while the user is here.
const SCOPE = process.env.SCOPE ?? 'openid profile email orders:read';
if (!CLIENT_SECRET) {
  console.error('CLIENT_SECRET is not set');
  process.exit(2);
}
const REDIRECT_URI = `${APP_URL}/callback`;

const local = ['localhost', '127.0.0.1'].includes(new URL(ISSUER).hostname);
const config = await client.discovery(
  new URL(ISSUER),
  CLIENT_ID,
  CLIENT_SECRET,
  client.ClientSecretBasic(CLIENT_SECRET),
  local ? { execute: [client.allowInsecureRequests] } : undefined,
);

interface Session {
  /** While signing in: what the callback must match (RFC 7636 verifier, RFC 6749 §10.12 state, OIDC nonce). */
  pending?: { verifier: string; state: string; nonce: string };
  user?: { sub: string; name?: string; email?: string };
  tokens?: client.TokenEndpointResponse;
}
// In memory, for the example: a real app keeps sessions in its database or Redis.
const sessions = new Map<string, Session>();

function session(cookie: string | undefined, res: ServerResponse): Session {
  const id = /(?:^|;\s*)sid=([\w-]+)/.exec(cookie ?? '')?.[1];
  if (id && sessions.has(id)) return sessions.get(id)!;
  const fresh = randomBytes(24).toString('base64url');
  const s: Session = {};
  sessions.set(fresh, s);
  // SameSite=Lax: the cookie comes back on Tessera's top-level redirect to /callback.
  res.setHeader(
    'set-cookie',
    `sid=${fresh}; Path=/; HttpOnly; SameSite=Lax${APP_URL.startsWith('https:') ? '; Secure' : ''}`,
  );
  return s;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (res: ServerResponse, body: string, status = 200) =>
  res
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
    .end(`<!doctype html><meta charset="utf-8"><title>Orders web</title><h1>Orders web</h1>${body}`);

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', APP_URL);
  const s = session(req.headers.cookie, res);
  try {
    if (url.pathname === '/login') {
      const verifier = client.randomPKCECodeVerifier();
      s.pending = { verifier, state: client.randomState(), nonce: client.randomNonce() };
      const target = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: SCOPE,
        state: s.pending.state,
        nonce: s.pending.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      res.writeHead(303, { location: target.href }).end();
    } else if (url.pathname === '/callback') {
      const pending = s.pending;
      if (!pending) return page(res, '<p>No sign-in in progress. <a href="/login">Sign in</a></p>', 400);
      delete s.pending;
      // Checks state, the code's exchange with the PKCE verifier, the ID token and its nonce.
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
      // Who signed in: the verified ID token's claims (Tessera puts the profile and email claims
      // there). The access token is for the API, not for userinfo.
      const claims = tokens.claims()!;
      s.tokens = tokens;
      s.user = {
        sub: claims.sub,
        ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
        ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
      };
      res.writeHead(303, { location: '/' }).end();
    } else if (url.pathname === '/logout') {
      for (const [k, v] of sessions) if (v === s) sessions.delete(k);
      res.writeHead(303, { location: '/' }).end();
    } else if (url.pathname === '/') {
      if (!s.user || !s.tokens) return page(res, '<p>You are not signed in.</p><p><a href="/login">Sign in</a></p>');
      const api = await fetch(`${API_URL}/orders`, { headers: { authorization: `Bearer ${s.tokens.access_token}` } });
      page(
        res,
        `<p id="user">Signed in as ${escapeHtml(s.user.name ?? s.user.sub)} (${escapeHtml(s.user.email ?? 'no email')})</p>
        <h2>Your orders</h2><pre id="orders">${api.status} ${escapeHtml(await api.text())}</pre><p><a href="/logout">Sign out</a></p>`,
      );
    } else {
      res.writeHead(404).end();
    }
  } catch (err) {
    // An error from Tessera (say access_denied) or a failed check: say so, never the stack.
    const message =
      err instanceof client.AuthorizationResponseError || err instanceof client.ResponseBodyError
        ? `${err.error}: ${err.error_description ?? ''}`
        : `${(err as Error).name}: ${(err as Error).message}`;
    console.error(`sign-in failed: ${message}`);
    page(res, `<p id="error">Sign-in failed (${escapeHtml(message)}). <a href="/login">Try again</a></p>`, 400);
  }
}).listen(PORT, () => console.log(`orders web app listening on ${APP_URL}`));
