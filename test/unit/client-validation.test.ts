// What a client's and an API's settings must satisfy, checked without a database or a CLI
// process: validation is pure, the registered APIs are passed in. The messages are the ones the
// CLI prints after `tessera: ` (test/e2e/cli.test.ts proves that wiring once).
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/errors.ts';
import { validateApi } from '../../src/services/apis.ts';
import { inputFromMetadata, type ClientInput } from '../../src/services/client-metadata.ts';
import {
  checkAuthMethodChange,
  checkClientId,
  validateClient,
  type KnownApi,
} from '../../src/services/client-validation.ts';

const audience = 'https://ledger.example.test';
const known: KnownApi[] = [{ id: 'api-1', audience, scopes: ['a:read', 'a:write'] }];
const service: ClientInput = { name: 'x', grantTypes: ['client_credentials'], apis: [audience] };
const webApp: ClientInput = {
  name: 'x',
  grantTypes: ['authorization_code'],
  redirectUris: ['https://app.example.test/cb'],
};
const publicKey = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('validateClient', () => {
  it('accepts a service and a web app, normalised for storage', () => {
    expect(validateClient({ ...service, name: ' billing ', scope: 'a:read' }, known)).toEqual({
      name: 'billing',
      grantTypes: ['client_credentials'],
      responseTypes: [],
      redirectUris: [],
      postLogoutRedirectUris: [],
      tokenEndpointAuthMethod: 'client_secret_basic',
      scope: '',
      metadata: {},
      requireVerifiedEmail: false,
      requireMfa: false,
      apis: [{ apiId: 'api-1', scopes: ['a:read'], isDefault: true }],
      serves: [],
    });
    expect(
      validateClient(
        {
          ...webApp,
          public: true,
          grantTypes: ['authorization_code', 'refresh_token'],
          scope: 'openid profile',
          firstParty: true,
          idTokenAlg: 'RS256',
        },
        known,
      ),
    ).toMatchObject({
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code'],
      tokenEndpointAuthMethod: 'none',
      scope: 'openid profile',
      metadata: { first_party: true },
      apis: [],
    });
    expect(validateClient({ ...service, grantTypes: ['device_code'], apis: [] }, known).grantTypes).toEqual([
      'urn:ietf:params:oauth:grant-type:device_code',
    ]);
  });

  it('refuses grant types and their combinations that cannot work', () => {
    expect(refusal(() => validateClient({ ...service, grantTypes: ['password'] }, known))).toBe(
      'unknown grant type password; use client_credentials, authorization_code, refresh_token, device_code',
    );
    expect(refusal(() => validateClient({ ...service, grantTypes: [] }, known))).toBe(
      'a client needs at least one grant type',
    );
    expect(refusal(() => validateClient({ ...service, name: '  ' }, known))).toBe('a client needs a name');
    expect(refusal(() => validateClient({ ...service, public: true }, known))).toBe(
      'a public client cannot use client_credentials: it has no secret to authenticate with',
    );
    expect(refusal(() => validateClient({ ...webApp, public: true, serves: [audience] }, known))).toBe(
      "a public client cannot serve an API: it has no credentials, so anyone who knows its client_id could introspect the API's tokens",
    );
    expect(
      refusal(() => validateClient({ ...service, grantTypes: ['client_credentials', 'refresh_token'] }, known)),
    ).toBe('refresh_token needs authorization_code or device_code: refresh tokens come from those grants');
  });

  it('refuses APIs and scopes it cannot place', () => {
    expect(refusal(() => validateClient({ ...service, apis: ['https://nope.example.test'] }, known))).toBe(
      'no API has audience https://nope.example.test; create it first with `tessera apis create`',
    );
    expect(refusal(() => validateClient({ ...service, serves: ['https://nope.example.test'] }, known))).toBe(
      'no API has audience https://nope.example.test; create it first with `tessera apis create`',
    );
    expect(refusal(() => validateClient({ ...service, scope: 'b:read' }, known))).toBe(
      `scope b:read is not defined by the API given (${audience})`,
    );
    expect(refusal(() => validateClient({ ...webApp, scope: 'b:read' }, known))).toBe(
      'scope b:read is not defined by any API given with --api',
    );
    expect(refusal(() => validateClient({ ...service, apis: [] }, known))).toBe(
      'a client_credentials client needs an API (--api AUDIENCE) to get tokens for',
    );
    expect(refusal(() => validateClient({ ...service, scope: 'a:"read' }, known))).toBe(
      'scope "a:\\"read" has characters RFC 6749 §3.3 does not allow',
    );
  });

  it('refuses redirect URIs that are not exact, https and loopback-or-native', () => {
    expect(refusal(() => validateClient({ ...webApp, redirectUris: ['http://evil.example/cb'] }, known))).toBe(
      'redirect URI http://evil.example/cb must use https (http is allowed for loopback only)',
    );
    expect(refusal(() => validateClient({ ...webApp, redirectUris: ['/cb'] }, known))).toBe(
      'redirect URI /cb is not an absolute URI',
    );
    expect(refusal(() => validateClient({ ...webApp, redirectUris: ['https://app.example.test/cb#x'] }, known))).toBe(
      'redirect URI https://app.example.test/cb#x must not contain a fragment (RFC 6749 §3.1.2)',
    );
    expect(refusal(() => validateClient({ ...webApp, redirectUris: ['com.example.app:/cb'] }, known))).toBe(
      'redirect URI com.example.app:/cb: custom schemes are for public native clients and must be reverse-DNS (e.g. com.example.app:/callback)',
    );
    expect(
      validateClient({ ...webApp, public: true, redirectUris: ['com.example.app:/cb', 'http://127.0.0.1/cb'] }, known)
        .redirectUris,
    ).toEqual(['com.example.app:/cb', 'http://127.0.0.1/cb']);
    expect(refusal(() => validateClient({ ...webApp, redirectUris: [] }, known))).toBe(
      'authorization_code needs at least one redirect URI',
    );
    expect(refusal(() => validateClient({ ...service, redirectUris: ['https://app.example.test/cb'] }, known))).toBe(
      'redirect URIs are only used with authorization_code',
    );
  });

  it('refuses key, certificate and algorithm settings that do not fit the auth method', () => {
    expect(refusal(() => validateClient({ ...service, authMethod: 'client_secret_jwt' }, known))).toBe(
      'token endpoint auth method must be one of client_secret_basic, client_secret_post, private_key_jwt, self_signed_tls_client_auth, tls_client_auth (or --public)',
    );
    expect(refusal(() => validateClient({ ...service, idTokenAlg: 'HS256' }, known))).toBe(
      'the ID token algorithm must be one of RS256, ES256, EdDSA',
    );
    expect(refusal(() => validateClient({ ...service, authMethod: 'private_key_jwt' }, known))).toBe(
      "private_key_jwt needs the client's public keys: --jwks-file FILE or --jwks-uri URL",
    );
    expect(refusal(() => validateClient({ ...service, jwks: { keys: [publicKey] } }, known))).toBe(
      'a client with a secret has no keys to register; use --auth-method private_key_jwt',
    );
    expect(
      refusal(() =>
        validateClient(
          { ...service, authMethod: 'private_key_jwt', jwks: { keys: [{ ...publicKey, d: 'private' }] } },
          known,
        ),
      ),
    ).toBe('the JWKS must hold public keys only; a private key was given');
    expect(
      refusal(() => validateClient({ ...service, authMethod: 'private_key_jwt', jwks: { keys: [] } }, known)),
    ).toBe('the JWKS must be an object with a non-empty "keys" array');
    expect(
      refusal(() =>
        validateClient({ ...service, authMethod: 'private_key_jwt', jwksUri: 'http://keys.example.test/jwks' }, known),
      ),
    ).toBe('the JWKS URI http://keys.example.test/jwks must use https (http is allowed for loopback only)');
    expect(refusal(() => validateClient({ ...service, authMethod: 'tls_client_auth' }, known))).toBe(
      "tls_client_auth needs the certificate's subject: --tls-subject-dn, --tls-san-dns, --tls-san-uri, --tls-san-ip or --tls-san-email",
    );
    expect(
      refusal(() =>
        validateClient(
          { ...service, tlsSubject: { property: 'tls_client_auth_san_dns', value: 'billing.example.test' } },
          known,
        ),
      ),
    ).toBe('a certificate subject is only used with --auth-method tls_client_auth');
    expect(
      validateClient(
        {
          ...service,
          authMethod: 'tls_client_auth',
          tlsSubject: { property: 'tls_client_auth_san_dns', value: ' billing.example.test ' },
          certBound: true,
        },
        known,
      ).metadata,
    ).toEqual({ tls_client_auth_san_dns: 'billing.example.test', tls_client_certificate_bound_access_tokens: true });
  });
});

describe('the other client checks', () => {
  it('refuses a client id that is not 3 to 128 unreserved characters', () => {
    expect(refusal(() => checkClientId('a b'))).toBe('client id must be 3 to 128 characters of A-Z a-z 0-9 . _ ~ -');
    expect(() => checkClientId('billing-service.v2')).not.toThrow();
  });

  it('refuses an update that switches a client between public, secret and key', () => {
    expect(refusal(() => checkAuthMethodChange('none', 'client_secret_basic'))).toBe(
      'a client cannot switch between public and confidential; create a new client',
    );
    expect(refusal(() => checkAuthMethodChange('client_secret_basic', 'private_key_jwt'))).toBe(
      'a client cannot switch between a secret and a key or certificate; create a new client',
    );
    expect(() => checkAuthMethodChange('client_secret_basic', 'client_secret_post')).not.toThrow();
  });

  it('takes one certificate subject from metadata, never two', () => {
    expect(
      refusal(() =>
        inputFromMetadata({ tls_client_auth_san_dns: 'a.example.test', tls_client_auth_subject_dn: 'CN=a' }),
      ),
    ).toBe('give one certificate subject (--tls-subject-dn or one --tls-san-* option)');
    expect(inputFromMetadata({ tls_client_auth_subject_dn: 'CN=a' }).tlsSubject).toEqual({
      property: 'tls_client_auth_subject_dn',
      value: 'CN=a',
    });
  });
});

describe('validateApi', () => {
  it('refuses an audience that is not an absolute URI and a lifetime out of range', () => {
    expect(refusal(() => validateApi({ audience: 'not a uri' }))).toBe(
      'audience must be an absolute URI, e.g. https://api.example.com',
    );
    expect(refusal(() => validateApi({ audience: 'https://x.example.test#f' }))).toBe(
      'audience must not contain a fragment (RFC 8707 §2)',
    );
    expect(refusal(() => validateApi({ audience: 'https://x.example.test', accessTokenTtl: 5 }))).toBe(
      'access token lifetime must be a whole number of seconds from 60 to 86400',
    );
    expect(refusal(() => validateApi({ audience: 'https://x.example.test', scope: 'openid' }))).toBe(
      'scope openid is an OpenID Connect scope and cannot belong to an API',
    );
  });
});
