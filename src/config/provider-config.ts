// oidc-provider's configuration, as a pure function of Tessera's parts. Everything the
// provider should not do is switched off here; what is left is what Tessera supports.
import type { Configuration, JWKS, SigningAlgorithm } from 'oidc-provider';
import { renderView } from '../views/render.ts';

export interface ProviderParts {
  adapter: Configuration['adapter'];
  jwks: JWKS;
  cookieKeys: string[];
  resourceIndicators: NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;
  /** Whether `client` may see or revoke `token`: one policy for every token type. */
  introspectionPolicy: (ctx: unknown, client: { clientId: string }, token: { clientId?: string; aud?: unknown }) => Promise<boolean>;
  revocationPolicy: (ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => Promise<boolean>;
  findAccount: Configuration['findAccount'];
}

// The provider's endpoints; Tessera's middleware refers to some of them by path.
export const ROUTES = {
  authorization: '/auth',
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  jwks: '/jwks',
  userinfo: '/me',
  end_session: '/session/end',
  code_verification: '/device',
  device_authorization: '/device/auth',
} as const;
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

// Asymmetric algorithms only: a symmetric (HS*) one would key on client_secret, which Tessera
// does not have in clear, and `none` is never acceptable.
const SIGNING_ALGS: SigningAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

export function providerConfiguration(parts: ProviderParts): Configuration {
  return {
    adapter: parts.adapter,
    jwks: parts.jwks,
    findAccount: parts.findAccount,
    routes: ROUTES,
    cookies: { keys: parts.cookieKeys },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: SIGNING_ALGS,
      idTokenSigningAlgValues: ['RS256'],
      userinfoSigningAlgValues: ['RS256'],
      introspectionSigningAlgValues: ['RS256'],
      authorizationSigningAlgValues: ['RS256'],
      requestObjectSigningAlgValues: SIGNING_ALGS,
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: 'RS256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    extraClientMetadata: { properties: ['first_party'] },
    responseTypes: ['code'],
    ttl: {
      // Client Credentials tokens live as long as their API says (resource-servers.ts); 600 s
      // is only reached for a token without an API, which Tessera does not issue.
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
    },
    // PKCE with S256 for every client, public or confidential (oidc-provider 9 accepts only S256).
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
        'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
      email: ['email', 'email_verified'],
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: parts.introspectionPolicy as never },
      revocation: { enabled: true, allowedPolicy: parts.revocationPolicy as never },
      resourceIndicators: parts.resourceIndicators,
    },
    // Errors shown to a person (at the authorization endpoint, when the client cannot be
    // redirected to): the RFC code and a sentence, never a stack.
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = renderView('error', {
        title: 'Sign-in could not continue',
        description: out.error_description ?? 'The request could not be completed.',
        error: out.error,
      });
    },
  };
}
