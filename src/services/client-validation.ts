// What a client's settings must satisfy before they are stored. Pure: the APIs a client names are
// passed in, so every refusal is checked by unit tests without a database or a CLI process.
// Messages name the CLI's options, because the CLI is where most settings are typed.
import type { ClientWrite } from '../db/queries/clients.ts';
import { InvalidInput } from '../errors.ts';
import { ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import { CONSOLE_CLIENT_ID } from '../oidc/admin-console-client.ts';
import { type ClientInput, DEFAULT_ID_TOKEN_ALG, storedMetadata } from './client-metadata.ts';
import { SECRET_AUTH_METHODS, usesSecret } from './client-secrets.ts';
import { isLoopbackHost } from './loopback.ts';
import { isOidcScope, parseScopes } from './scopes.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
// The names an admin may type, and the grant type each stands for.
const GRANT_TYPES = new Map([
  ['client_credentials', 'client_credentials'],
  ['authorization_code', 'authorization_code'],
  ['refresh_token', 'refresh_token'],
  ['device_code', DEVICE_CODE_GRANT],
  [DEVICE_CODE_GRANT, DEVICE_CODE_GRANT],
]);
/** The grant types by the short names the CLI's --grant-types and the seed file's grant_types take. */
export const GRANT_TYPE_NAMES = ['client_credentials', 'authorization_code', 'refresh_token', 'device_code'] as const;
/** The short name of a stored grant type (device_code for RFC 8628's URN), as the CLI prints it. */
export const grantTypeName = (grantType: string) => (grantType === DEVICE_CODE_GRANT ? 'device_code' : grantType);
// Methods that prove the client with a key (RFC 7523) or certificate (RFC 8705) instead of a secret.
const KEY_AUTH_METHODS = ['private_key_jwt', 'self_signed_tls_client_auth'];
export const AUTH_METHODS = [...SECRET_AUTH_METHODS, ...KEY_AUTH_METHODS, 'tls_client_auth'];
// The algorithms the server can keep signing keys for (KEYS_EXTRA_ALGS).
export const ID_TOKEN_ALGS = [DEFAULT_ID_TOKEN_ALG, 'ES256', 'EdDSA'];
// JWK members that only a private or symmetric key has: a client registers public keys only.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
// RFC 3986 §2.3 unreserved characters: a client_id is safe in a URL, a header and a command line.
const CLIENT_ID = /^[A-Za-z0-9._~-]{3,128}$/;

/** An API as validation needs it: to place the client's API scopes and to name it by id. */
export interface KnownApi {
  id: string;
  audience: string;
  scopes: string[];
}

/** The client's settings checked and normalised; `known` holds the APIs its audiences name. */
export function validateClient(input: ClientInput, known: KnownApi[]): ClientWrite {
  const settings = checkClientSettings(input);
  return { ...settings, ...placeApis(input, settings.grantTypes, known) };
}

/**
 * Every check that needs no knowledge of the registered APIs, so that a seed file can be checked
 * whole before any of it is written.
 */
export function checkClientSettings(input: ClientInput): Omit<ClientWrite, 'apis' | 'serves'> {
  if (!input.name?.trim()) throw new InvalidInput('a client needs a name');
  const grantTypes = [
    ...new Set(
      input.grantTypes.map((g) => {
        const known = GRANT_TYPES.get(g);
        if (!known) throw new InvalidInput(`unknown grant type ${g}; use ${GRANT_TYPE_NAMES.join(', ')}`);
        return known;
      }),
    ),
  ];
  if (grantTypes.length === 0) throw new InvalidInput('a client needs at least one grant type');
  if (input.idTokenAlg !== undefined && !ID_TOKEN_ALGS.includes(input.idTokenAlg)) {
    throw new InvalidInput(`the ID token algorithm must be one of ${ID_TOKEN_ALGS.join(', ')}`);
  }

  const authMethod = input.public ? 'none' : (input.authMethod ?? 'client_secret_basic');
  if (authMethod !== 'none' && !AUTH_METHODS.includes(authMethod)) {
    throw new InvalidInput(`token endpoint auth method must be one of ${AUTH_METHODS.join(', ')} (or --public)`);
  }
  checkStrongAuth(input, authMethod);
  if (authMethod === 'none' && grantTypes.includes('client_credentials')) {
    throw new InvalidInput('a public client cannot use client_credentials: it has no secret to authenticate with');
  }
  // Serving an API lets the client introspect the API's tokens (RFC 7662 §2.1 wants the caller
  // authenticated); a public client proves only its client_id, which anyone may know. The
  // database refuses it too (migration public_clients_serve_no_api).
  if (authMethod === 'none' && (input.serves ?? []).length > 0) {
    throw new InvalidInput(
      "a public client cannot serve an API: it has no credentials, so anyone who knows its client_id could introspect the API's tokens",
    );
  }
  if (
    grantTypes.includes('refresh_token') &&
    !grantTypes.includes('authorization_code') &&
    !grantTypes.includes(DEVICE_CODE_GRANT)
  ) {
    throw new InvalidInput(
      'refresh_token needs authorization_code or device_code: refresh tokens come from those grants',
    );
  }

  const redirectUris = (input.redirectUris ?? []).map((u) => checkRedirectUri(u, authMethod === 'none'));
  const postLogoutRedirectUris = (input.postLogoutRedirectUris ?? []).map((u) =>
    checkRedirectUri(u, authMethod === 'none'),
  );
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    throw new InvalidInput('authorization_code needs at least one redirect URI');
  }
  if (!grantTypes.includes('authorization_code') && redirectUris.length > 0) {
    throw new InvalidInput('redirect URIs are only used with authorization_code');
  }

  return {
    name: input.name.trim(),
    grantTypes,
    responseTypes: grantTypes.includes('authorization_code') ? ['code'] : [],
    redirectUris,
    postLogoutRedirectUris,
    tokenEndpointAuthMethod: authMethod,
    scope: parseScopes(input.scope ?? '')
      .filter(isOidcScope)
      .join(' '),
    metadata: storedMetadata(input),
    requireVerifiedEmail: input.requireVerifiedEmail ?? false,
    requireMfa: input.requireMfa ?? false,
    rbacStrict: input.rbacStrict ?? false,
  };
}

/** The client's API grants (its API scopes placed on the APIs that define them) and served APIs. */
function placeApis(input: ClientInput, grantTypes: string[], known: KnownApi[]): Pick<ClientWrite, 'apis' | 'serves'> {
  const apiScopes = parseScopes(input.scope ?? '').filter((s) => !isOidcScope(s));
  const audiences = [...new Set(input.apis ?? [])];
  const byAudience = new Map(known.map((a) => [a.audience, a]));
  for (const audience of [...audiences, ...(input.serves ?? [])]) {
    if (!byAudience.has(audience))
      throw new InvalidInput(`no API has audience ${audience}; create it first with \`tessera apis create\``);
  }
  const granted = audiences.map((audience, i) => {
    const api = byAudience.get(audience)!;
    return { apiId: api.id, scopes: apiScopes.filter((s) => api.scopes.includes(s)), isDefault: i === 0 };
  });
  const unplaced = apiScopes.filter((s) => !audiences.some((a) => byAudience.get(a)!.scopes.includes(s)));
  if (unplaced.length) {
    throw new InvalidInput(
      `scope ${unplaced.join(' ')} is not defined by ${audiences.length ? `the API${audiences.length > 1 ? 's' : ''} given (${audiences.join(', ')})` : 'any API given with --api'}`,
    );
  }
  if (grantTypes.includes('client_credentials') && audiences.length === 0) {
    throw new InvalidInput('a client_credentials client needs an API (--api AUDIENCE) to get tokens for');
  }
  return { apis: granted, serves: [...new Set(input.serves ?? [])].map((a) => byAudience.get(a)!.id) };
}

/** A client id chosen by the admin (a generated one always passes). */
export function checkClientId(id: string): void {
  if (!CLIENT_ID.test(id)) throw new InvalidInput('client id must be 3 to 128 characters of A-Z a-z 0-9 . _ ~ -');
  checkNotReserved(id);
}

/** The account page's own client id: a static client of the provider, which would shadow a row. */
export function checkNotReserved(id: string): void {
  if (id === ACCOUNT_CLIENT_ID) throw new InvalidInput(`client id ${id} is reserved for the account page`);
  if (id === CONSOLE_CLIENT_ID) throw new InvalidInput(`client id ${id} is reserved for the admin console`);
}

/**
 * An update may change the method within its kind, never the kind: a public client given a
 * secret, or a secret client turned into a key client, would keep credentials (or the lack of
 * them) that its apps were not built for.
 */
export function checkAuthMethodChange(before: string, after: string): void {
  if ((after === 'none') !== (before === 'none')) {
    throw new InvalidInput('a client cannot switch between public and confidential; create a new client');
  }
  if (usesSecret(after) !== usesSecret(before)) {
    throw new InvalidInput('a client cannot switch between a secret and a key or certificate; create a new client');
  }
}

/** Exact-match redirect URIs (RFC 9700 §2.1): absolute, no fragment, https except loopback and native schemes. */
function checkRedirectUri(value: string, isPublic: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInput(`redirect URI ${value} is not an absolute URI`);
  }
  if (url.hash || value.includes('#'))
    throw new InvalidInput(`redirect URI ${value} must not contain a fragment (RFC 6749 §3.1.2)`);
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !loopback)
    throw new InvalidInput(`redirect URI ${value} must use https (http is allowed for loopback only)`);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    // Private-use schemes are for native apps (RFC 8252 §7.1), which are public clients.
    if (!isPublic || !url.protocol.includes('.')) {
      throw new InvalidInput(
        `redirect URI ${value}: custom schemes are for public native clients and must be reverse-DNS (e.g. com.example.app:/callback)`,
      );
    }
  }
  return value;
}

/** The key, certificate and sender-constraint settings. */
function checkStrongAuth(input: ClientInput, authMethod: string): void {
  const needsKeys = KEY_AUTH_METHODS.includes(authMethod);
  if (input.jwks && input.jwksUri)
    throw new InvalidInput("give the client's keys inline (--jwks-file) or by URL (--jwks-uri), not both");
  if (needsKeys && !input.jwks && !input.jwksUri) {
    throw new InvalidInput(`${authMethod} needs the client's public keys: --jwks-file FILE or --jwks-uri URL`);
  }
  if (!needsKeys && authMethod !== 'none' && (input.jwks || input.jwksUri) && usesSecret(authMethod)) {
    throw new InvalidInput('a client with a secret has no keys to register; use --auth-method private_key_jwt');
  }
  if (input.jwks) checkJwks(input.jwks);
  if (input.jwksUri) checkJwksUri(input.jwksUri);
  if (input.backchannelLogoutUri) checkBackchannelLogoutUri(input.backchannelLogoutUri);
  if (authMethod === 'tls_client_auth' && !input.tlsSubject) {
    throw new InvalidInput(
      "tls_client_auth needs the certificate's subject: --tls-subject-dn, --tls-san-dns, --tls-san-uri, --tls-san-ip or --tls-san-email",
    );
  }
  if (authMethod !== 'tls_client_auth' && input.tlsSubject)
    throw new InvalidInput('a certificate subject is only used with --auth-method tls_client_auth');
  if (input.tlsSubject && !input.tlsSubject.value.trim())
    throw new InvalidInput('the certificate subject must not be empty');
}

function checkJwks(jwks: unknown): void {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'object' && k !== null)) {
    throw new InvalidInput('the JWKS must be an object with a non-empty "keys" array');
  }
  for (const key of keys as Record<string, unknown>[]) {
    if (!['RSA', 'EC', 'OKP'].includes(key.kty as string))
      throw new InvalidInput('the JWKS may hold RSA, EC and OKP keys only');
    // The message does not echo the key: it is private material registered by mistake.
    if (PRIVATE_JWK_MEMBERS.some((m) => m in key))
      throw new InvalidInput('the JWKS must hold public keys only; a private key was given');
  }
}

function checkJwksUri(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInput(`the JWKS URI ${value} is not an absolute URI`);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new InvalidInput(`the JWKS URI ${value} must use https (http is allowed for loopback only)`);
  }
}

/**
 * Back-Channel Logout 1.0 §2.2: an absolute http(s) URI without a fragment. Where it may point
 * (never loopback or private addresses, unless DEV_ALLOW_PRIVATE_WEBHOOK_URLS) is decided when a
 * logout token is delivered, by the webhooks' SSRF guard (oidc/backchannel-logout.ts).
 */
function checkBackchannelLogoutUri(value: string): void {
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new InvalidInput(`the back-channel logout URI ${value} must be an absolute https URI`);
  if (url.hash || value.includes('#'))
    throw new InvalidInput(`the back-channel logout URI ${value} must not contain a fragment`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    throw new InvalidInput(`the back-channel logout URI ${value} must use https (http is allowed for loopback only)`);
}
