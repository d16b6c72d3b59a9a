// A command-line tool signing its user in with the Device Authorization Grant (RFC 8628),
// through openid-client, then calling the orders API as that user.
//
//   ISSUER=http://localhost:3000 CLIENT_ID=orders-cli API_URL=http://localhost:4000 node examples/cli/device-login.ts
//
// The tokens stay in memory: a real CLI would keep the refresh token in the OS keychain.
import * as client from 'openid-client';

const ISSUER = process.env.ISSUER ?? 'http://localhost:3000';
const CLIENT_ID = process.env.CLIENT_ID ?? 'orders-cli';
const API_URL = process.env.API_URL ?? 'http://localhost:4000';
const SCOPE = process.env.SCOPE ?? 'openid offline_access orders:read';

const local = ['localhost', '127.0.0.1'].includes(new URL(ISSUER).hostname);
// A public client: no secret (a CLI cannot keep one), client_id in the body.
const config = await client.discovery(
  new URL(ISSUER),
  CLIENT_ID,
  undefined,
  client.None(),
  local ? { execute: [client.allowInsecureRequests] } : undefined,
);

const started = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
console.log(`To sign in, open ${started.verification_uri} and enter the code ${started.user_code}`);
if (started.verification_uri_complete) console.log(`(or open ${started.verification_uri_complete})`);

// Polls at the server's interval, slowing down when told to (RFC 8628 §3.5).
const tokens = await client.pollDeviceAuthorizationGrant(config, started);
const claims = tokens.claims();
console.log(`signed in as ${claims?.sub}`);

const res = await fetch(`${API_URL}/orders`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
console.log(`GET /orders → ${res.status} ${await res.text()}`);
process.exit(res.ok ? 0 : 1);
