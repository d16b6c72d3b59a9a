// A back-end service calling the orders API with the Client Credentials grant (RFC 6749 §4.4),
// through openid-client. It keeps its token until shortly before it expires.
//
//   ISSUER=http://localhost:3000 CLIENT_ID=orders-service CLIENT_SECRET=… API_URL=http://localhost:4000 \
//     node examples/service/call-api.ts
import * as client from 'openid-client';

const ISSUER = process.env.ISSUER ?? 'http://localhost:3000';
const CLIENT_ID = process.env.CLIENT_ID ?? 'orders-service';
const CLIENT_SECRET = process.env.CLIENT_SECRET;
const API_URL = process.env.API_URL ?? 'http://localhost:4000';
const SCOPE = process.env.SCOPE ?? 'orders:read orders:write';
if (!CLIENT_SECRET) {
  console.error('CLIENT_SECRET is not set');
  process.exit(2);
}

// openid-client refuses plain HTTP, except where we allow it: a Tessera on this machine.
const local = ['localhost', '127.0.0.1'].includes(new URL(ISSUER).hostname);
const config = await client.discovery(
  new URL(ISSUER),
  CLIENT_ID,
  CLIENT_SECRET,
  client.ClientSecretBasic(CLIENT_SECRET),
  local ? { execute: [client.allowInsecureRequests] } : undefined,
);

let cached: { token: string; until: number } | undefined;
// Renew 30 s early, so that a token never expires on its way to the API.
async function accessToken(): Promise<string> {
  if (cached && cached.until > Date.now()) return cached.token;
  const tokens = await client.clientCredentialsGrant(config, { scope: SCOPE });
  cached = { token: tokens.access_token, until: Date.now() + ((tokens.expires_in ?? 60) - 30) * 1000 };
  console.log(`got an access token for "${tokens.scope}", valid ${tokens.expires_in} s`);
  return cached.token;
}

async function callApi(method: string, path: string): Promise<boolean> {
  const res = await fetch(`${API_URL}${path}`, { method, headers: { authorization: `Bearer ${await accessToken()}` } });
  console.log(`${method} ${path} → ${res.status} ${await res.text()}`);
  return res.ok;
}

const ok = (await callApi('GET', '/orders')) && (await callApi('POST', '/orders')) && (await callApi('GET', '/orders'));
process.exit(ok ? 0 : 1);
