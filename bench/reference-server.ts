// The reference the benchmark compares Tessera with: the bare oidc-provider library with its
// in-memory adapter, static clients and the same token format (RS256 JWT access tokens per
// RFC 9068 for one resource). Its interaction signs in a fixed account and grants what was asked
// at once (no page, no password): the library's own cost of the authorization-code flow.
// Started as its own process by bench/run.ts.
//   node bench/reference-server.ts PORT CLIENT_ID CLIENT_SECRET AUDIENCE REDIRECT_URI
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, audience, redirectUri] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const OPAQUE_AUDIENCE = 'urn:bench:opaque';
const ACCOUNT = 'bench-account';

const provider = new Provider(issuer, {
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' } as never] },
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: `${clientId}-web`,
      client_secret: clientSecret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
    },
  ],
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  scopes: ['openid', 'offline_access'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      // The JWT resource matches Tessera's tokens; the opaque one gives the library something it
      // can introspect (it refuses JWTs there), the baseline for Tessera's JWT introspection.
      getResourceServerInfo: (_ctx, indicator) => ({
        scope: 'a:read',
        audience: indicator,
        accessTokenTTL: 3600,
        accessTokenFormat: indicator === OPAQUE_AUDIENCE ? 'opaque' : 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  ttl: { ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600 },
});

const callback = provider.callback();
createServer(async (req, res) => {
  if (!req.url?.startsWith('/interaction/')) return callback(req, res);
  // Sign in ACCOUNT and grant every requested scope, in one step.
  const details = await provider.interactionDetails(req, res);
  const scopes = String(details.params.scope ?? '').split(' ');
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: String(details.params.client_id) });
  grant.addOIDCScope(scopes.filter((s) => s === 'openid' || s === 'offline_access').join(' '));
  grant.addResourceScope(audience, scopes.filter((s) => s === 'a:read').join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: ACCOUNT }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
// A normal exit on SIGTERM, so that a CPU profile (BENCH_PROFILE) is written.
process.on('SIGTERM', () => process.exit(0));
