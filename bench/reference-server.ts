// The reference the benchmark compares Tessera with: the bare oidc-provider library with its
// in-memory adapter, a static client and the same token format (RS256 JWT access tokens per
// RFC 9068 for one resource). Started as its own process by bench/run.ts.
//   node bench/reference-server.ts PORT CLIENT_ID CLIENT_SECRET AUDIENCE
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, audience] = process.argv.slice(2) as [string, string, string, string];
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const OPAQUE_AUDIENCE = 'urn:bench:opaque';

const provider = new Provider(issuer, {
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' } as never] },
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  }],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
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

createServer(provider.callback()).listen(Number(port), '127.0.0.1', () => console.log('ready'));
