// OAuth clients: validation, registration, secrets. No Koa and no oidc-provider here; the
// provider reads what this writes through the adapter.
import { randomBytes } from 'node:crypto';
import type { ApiQueries } from '../db/queries/apis.ts';
import type { ClientQueries, ClientRecord, ClientWrite } from '../db/queries/clients.ts';
import type { TokenExchangePolicyQueries } from '../db/queries/token-exchange-policies.ts';
import { Conflict, InvalidInput, NotFound } from '../errors.ts';
import { noAudit, type Audit } from './audit.ts';
import { generateSecret } from './client-secrets.ts';
import { isOidcScope, parseScopes } from './scopes.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const GRANT_TYPES = new Map([
  ['client_credentials', 'client_credentials'],
  ['authorization_code', 'authorization_code'],
  ['refresh_token', 'refresh_token'],
  ['device_code', DEVICE_CODE_GRANT],
  [DEVICE_CODE_GRANT, DEVICE_CODE_GRANT],
]);
const SECRET_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];
// Methods that prove the client with a key (RFC 7523) or certificate (RFC 8705) instead of a secret.
const KEY_AUTH_METHODS = ['private_key_jwt', 'self_signed_tls_client_auth'];
const AUTH_METHODS = [...SECRET_AUTH_METHODS, ...KEY_AUTH_METHODS, 'tls_client_auth'];
/** RFC 8705 §2.1.2: how a tls_client_auth client's certificate is recognised (exactly one). */
export const TLS_SUBJECT_PROPERTIES = ['tls_client_auth_subject_dn', 'tls_client_auth_san_dns', 'tls_client_auth_san_uri', 'tls_client_auth_san_ip', 'tls_client_auth_san_email'] as const;
export type TlsSubjectProperty = typeof TLS_SUBJECT_PROPERTIES[number];
// JWK members that only a private or symmetric key has: a client registers public keys only.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

export const usesSecret = (authMethod: string) => SECRET_AUTH_METHODS.includes(authMethod);

export interface ClientInput {
  id?: string | undefined;
  name: string;
  grantTypes: string[];
  redirectUris?: string[] | undefined;
  postLogoutRedirectUris?: string[] | undefined;
  /** A public client (SPA, native app, CLI) has no secret: token_endpoint_auth_method none. */
  public?: boolean | undefined;
  authMethod?: string | undefined;
  /** OpenID Connect scopes and API scopes, space-separated; API scopes go to the API that defines them. */
  scope?: string | undefined;
  /** Audiences of the APIs the client may get tokens for; the first is its default. */
  apis?: string[] | undefined;
  /** Audiences of the APIs this client acts for (it may introspect their tokens). */
  serves?: string[] | undefined;
  firstParty?: boolean | undefined;
  /** The ID token's signing algorithm (id_token_signed_response_alg); RS256 unless the server keeps keys for another. */
  idTokenAlg?: string | undefined;
  /** The client's public keys, inline (private_key_jwt, self_signed_tls_client_auth). */
  jwks?: { keys: Record<string, unknown>[] } | undefined;
  /** Where the client publishes its public keys, instead of jwks. */
  jwksUri?: string | undefined;
  /** tls_client_auth: the certificate's subject DN or one SAN entry. */
  tlsSubject?: { property: TlsSubjectProperty; value: string } | undefined;
  /** RFC 9449 §5.2 dpop_bound_access_tokens: every token request must carry a DPoP proof. */
  dpopBound?: boolean | undefined;
  /** RFC 8705 §3.4 tls_client_certificate_bound_access_tokens. */
  certBound?: boolean | undefined;
  /** RFC 9126 §6 require_pushed_authorization_requests. */
  requirePar?: boolean | undefined;
}

const ID_TOKEN_ALGS = ['RS256', 'ES256', 'EdDSA'];

/** What the admin sees of a client: never a secret or its hash. */
export function describeClient(c: ClientRecord) {
  return {
    client_id: c.id,
    name: c.name,
    grant_types: c.grantTypes,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    scope: c.scope,
    apis: c.apis.map((a) => ({ audience: a.api.audience, scopes: a.scopes, default: a.isDefault })),
    serves: c.serves.map((s) => s.api.audience),
    /** APIs this client may exchange tokens towards (RFC 8693). */
    token_exchange: c.exchanges.map((e) => e.api.audience),
    first_party: (c.metadata as Record<string, unknown>).first_party === true,
    id_token_signed_response_alg: ((c.metadata as Record<string, unknown>).id_token_signed_response_alg as string | undefined) ?? 'RS256',
    ...strongAuthMetadata(c.metadata as Record<string, unknown>),
    secrets: c.secrets.map((s) => ({
      hint: `…${s.hint}`,
      created_at: s.createdAt.toISOString(),
      expires_at: s.expiresAt?.toISOString() ?? null,
    })),
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

export type ClientView = ReturnType<typeof describeClient>;

export function clientService(deps: { clients: ClientQueries; apis: ApiQueries; exchange?: TokenExchangePolicyQueries; pepper: Buffer; audit?: Audit; actor?: string }) {
  const { clients, apis, pepper } = deps;
  const audit = deps.audit ?? noAudit;
  const actor = deps.actor ?? 'system';

  async function validate(input: ClientInput): Promise<ClientWrite> {
    if (!input.name?.trim()) throw new InvalidInput('a client needs a name');
    const grantTypes = [...new Set(input.grantTypes.map((g) => {
      const known = GRANT_TYPES.get(g);
      if (!known) throw new InvalidInput(`unknown grant type ${g}; use ${[...new Set(GRANT_TYPES.values())].join(', ')}`);
      return known;
    }))];
    if (grantTypes.length === 0) throw new InvalidInput('a client needs at least one grant type');
    if (input.idTokenAlg !== undefined && !ID_TOKEN_ALGS.includes(input.idTokenAlg)) {
      throw new InvalidInput(`the ID token algorithm must be one of ${ID_TOKEN_ALGS.join(', ')}`);
    }

    const authMethod = input.public ? 'none' : (input.authMethod ?? 'client_secret_basic');
    if (authMethod !== 'none' && !AUTH_METHODS.includes(authMethod)) {
      throw new InvalidInput(`token endpoint auth method must be one of ${AUTH_METHODS.join(', ')} (or --public)`);
    }
    const strongAuth = validateStrongAuth(input, authMethod);
    if (authMethod === 'none' && grantTypes.includes('client_credentials')) {
      throw new InvalidInput('a public client cannot use client_credentials: it has no secret to authenticate with');
    }
    if (grantTypes.includes('refresh_token') && !grantTypes.includes('authorization_code') && !grantTypes.includes(DEVICE_CODE_GRANT)) {
      throw new InvalidInput('refresh_token needs authorization_code or device_code: refresh tokens come from those grants');
    }

    const redirectUris = (input.redirectUris ?? []).map((u) => validateRedirectUri(u, authMethod === 'none'));
    const postLogoutRedirectUris = (input.postLogoutRedirectUris ?? []).map((u) => validateRedirectUri(u, authMethod === 'none'));
    if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
      throw new InvalidInput('authorization_code needs at least one redirect URI');
    }
    if (!grantTypes.includes('authorization_code') && redirectUris.length > 0) {
      throw new InvalidInput('redirect URIs are only used with authorization_code');
    }

    const requested = parseScopes(input.scope ?? '');
    const oidcScopes = requested.filter(isOidcScope);
    const apiScopes = requested.filter((s) => !isOidcScope(s));

    const audiences = [...new Set(input.apis ?? [])];
    const found = await apis.findManyByAudience([...audiences, ...(input.serves ?? [])]);
    const byAudience = new Map(found.map((a) => [a.audience, a]));
    for (const audience of [...audiences, ...(input.serves ?? [])]) {
      if (!byAudience.has(audience)) throw new InvalidInput(`no API has audience ${audience}; create it first with \`tessera apis create\``);
    }
    const granted = audiences.map((audience, i) => {
      const api = byAudience.get(audience)!;
      return { apiId: api.id, scopes: apiScopes.filter((s) => api.scopes.includes(s)), isDefault: i === 0 };
    });
    const unplaced = apiScopes.filter((s) => !audiences.some((a) => byAudience.get(a)!.scopes.includes(s)));
    if (unplaced.length) {
      throw new InvalidInput(`scope ${unplaced.join(' ')} is not defined by ${audiences.length ? `the API${audiences.length > 1 ? 's' : ''} given (${audiences.join(', ')})` : 'any API given with --api'}`);
    }
    if (grantTypes.includes('client_credentials') && audiences.length === 0) {
      throw new InvalidInput('a client_credentials client needs an API (--api AUDIENCE) to get tokens for');
    }

    return {
      name: input.name.trim(),
      grantTypes,
      responseTypes: grantTypes.includes('authorization_code') ? ['code'] : [],
      redirectUris,
      postLogoutRedirectUris,
      tokenEndpointAuthMethod: authMethod,
      scope: oidcScopes.join(' '),
      metadata: {
        ...(input.firstParty ? { first_party: true } : {}),
        ...(input.idTokenAlg && input.idTokenAlg !== 'RS256' ? { id_token_signed_response_alg: input.idTokenAlg } : {}),
        ...strongAuth,
      },
      apis: granted,
      serves: [...new Set(input.serves ?? [])].map((a) => byAudience.get(a)!.id),
    };
  }

  async function get(id: string): Promise<ClientRecord> {
    const client = await clients.find(id);
    if (!client) throw new NotFound(`no client has id ${id}`);
    return client;
  }

  /** The client and API of a token-exchange policy; only a confidential client may exchange. */
  async function exchangeParties(id: string, audience: string) {
    const client = await get(id);
    if (client.tokenEndpointAuthMethod === 'none') {
      throw new InvalidInput('a public client cannot exchange tokens: it has no credentials to authenticate the exchange with');
    }
    const api = await apis.findByAudience(audience);
    if (!api) throw new InvalidInput(`no API has audience ${audience}; create it first with \`tessera apis create\``);
    if (!deps.exchange) throw new Error('token-exchange policies are not available here');
    return { client, api, exchange: deps.exchange };
  }

  /** Grants or takes away one exchange target; audited only when something changed. */
  async function setExchange(id: string, audience: string, allowed: boolean): Promise<ClientView> {
    const { api, exchange } = await exchangeParties(id, audience);
    if (allowed ? await exchange.allow(id, api.id) : await exchange.disallow(id, api.id)) {
      await audit.record({ type: allowed ? 'client.exchange_allowed' : 'client.exchange_disallowed', actor, subject: id, details: { audience } });
    }
    return describeClient(await get(id));
  }

  return {
    validate,

    /** RFC 8693: lets the client exchange subject tokens for access tokens for this API. */
    allowExchange: (id: string, audience: string) => setExchange(id, audience, true),
    disallowExchange: (id: string, audience: string) => setExchange(id, audience, false),

    /** For the seed file: exactly these exchange targets, no more. */
    async setExchangeTargets(id: string, audiences: string[]): Promise<boolean> {
      const current = (await get(id)).exchanges.map((e) => e.api.audience);
      let changed = false;
      for (const audience of audiences.filter((a) => !current.includes(a))) {
        await setExchange(id, audience, true);
        changed = true;
      }
      for (const audience of current.filter((a) => !audiences.includes(a))) {
        await setExchange(id, audience, false);
        changed = true;
      }
      return changed;
    },

    /** Registers a client; a confidential one gets a secret, returned here once. */
    async create(input: ClientInput): Promise<{ client: ClientView; clientSecret: string | undefined }> {
      const data = await validate(input);
      const id = input.id ?? newClientId();
      if (input.id !== undefined && !/^[A-Za-z0-9._~-]{3,128}$/.test(input.id)) {
        throw new InvalidInput('client id must be 3 to 128 characters of A-Z a-z 0-9 . _ ~ -');
      }
      if (await clients.findForProvider(id)) throw new Conflict(`a client with id ${id} exists already`);
      const secret = usesSecret(data.tokenEndpointAuthMethod) ? generateSecret(pepper) : undefined;
      const created = await clients.create(id, data, secret && { hash: secret.hash, hint: secret.hint });
      await audit.record({ type: 'client.created', actor, subject: id, details: { grant_types: data.grantTypes } });
      return { client: describeClient(created), clientSecret: secret?.value };
    },

    async update(id: string, changes: Partial<ClientInput>): Promise<ClientView> {
      const current = await get(id);
      const merged: ClientInput = { ...inputFrom(current), ...stripUndefined(changes) };
      if (changes.public === undefined && changes.authMethod !== undefined) merged.public = false;
      // A new key source replaces the old one; a new auth method drops a subject it does not use.
      if (changes.jwks) merged.jwksUri = undefined;
      if (changes.jwksUri) merged.jwks = undefined;
      if (changes.authMethod !== undefined && changes.authMethod !== 'tls_client_auth' && !changes.tlsSubject) merged.tlsSubject = undefined;
      const data = await validate(merged);
      if ((data.tokenEndpointAuthMethod === 'none') !== (current.tokenEndpointAuthMethod === 'none')) {
        throw new InvalidInput('a client cannot switch between public and confidential; create a new client');
      }
      if (usesSecret(data.tokenEndpointAuthMethod) !== usesSecret(current.tokenEndpointAuthMethod)) {
        throw new InvalidInput('a client cannot switch between a secret and a key or certificate; create a new client');
      }
      const updated = describeClient(await clients.update(id, data));
      await audit.record({ type: 'client.updated', actor, subject: id });
      return updated;
    },

    /** Creates or updates the client to match; for the seed file, which names every client's id. */
    async apply(input: ClientInput & { id: string }, secret: { hash: Buffer; hint: string } | undefined) {
      const data = await validate(input);
      const existing = await clients.find(input.id);
      if (!existing) {
        await clients.create(input.id, data, secret);
        return 'created' as const;
      }
      const before = JSON.stringify(describeForCompare(existing));
      const secretKnown = !secret || (await clients.activeSecretHashes(input.id)).some((h) => h.equals(secret.hash));
      const updated = await clients.update(input.id, data);
      if (!secretKnown) await clients.rotateSecret(input.id, secret!, new Date());
      return before === JSON.stringify(describeForCompare(updated)) && secretKnown ? 'unchanged' as const : 'updated' as const;
    },

    list: async () => (await clients.list()).map(describeClient),
    show: async (id: string) => describeClient(await get(id)),

    async delete(id: string) {
      if (!(await clients.delete(id))) throw new NotFound(`no client has id ${id}`);
      await audit.record({ type: 'client.deleted', actor, subject: id });
    },

    /**
     * Issues a new secret. The old ones stay valid for `graceSeconds` so that deployments can
     * roll over to the new one without downtime; 0 ends them now.
     */
    async rotateSecret(id: string, graceSeconds: number): Promise<{ clientSecret: string; previousValidUntil: string }> {
      const client = await get(id);
      if (client.tokenEndpointAuthMethod === 'none') throw new InvalidInput('a public client has no secret to rotate');
      if (!usesSecret(client.tokenEndpointAuthMethod)) throw new InvalidInput(`a ${client.tokenEndpointAuthMethod} client has no secret to rotate`);
      if (!Number.isInteger(graceSeconds) || graceSeconds < 0) throw new InvalidInput('grace period must be a whole number of seconds, 0 or more');
      const secret = generateSecret(pepper);
      const until = new Date(Date.now() + graceSeconds * 1000);
      await clients.rotateSecret(id, secret, until);
      await audit.record({ type: 'client.secret_rotated', actor, subject: id, details: { previous_valid_until: until.toISOString() } });
      return { clientSecret: secret.value, previousValidUntil: until.toISOString() };
    },
  };
}

export type ClientService = ReturnType<typeof clientService>;

/** Exact-match redirect URIs (RFC 9700 §2.1): absolute, no fragment, https except loopback and native schemes. */
function validateRedirectUri(value: string, isPublic: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInput(`redirect URI ${value} is not an absolute URI`);
  }
  if (url.hash || value.includes('#')) throw new InvalidInput(`redirect URI ${value} must not contain a fragment (RFC 6749 §3.1.2)`);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol === 'http:' && !loopback) throw new InvalidInput(`redirect URI ${value} must use https (http is allowed for loopback only)`);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    // Private-use schemes are for native apps (RFC 8252 §7.1), which are public clients.
    if (!isPublic || !url.protocol.includes('.')) {
      throw new InvalidInput(`redirect URI ${value}: custom schemes are for public native clients and must be reverse-DNS (e.g. com.example.app:/callback)`);
    }
  }
  return value;
}

function inputFrom(c: ClientRecord): ClientInput {
  const apiScopes = c.apis.flatMap((a) => a.scopes);
  return {
    name: c.name,
    grantTypes: c.grantTypes,
    redirectUris: c.redirectUris,
    postLogoutRedirectUris: c.postLogoutRedirectUris,
    public: c.tokenEndpointAuthMethod === 'none',
    authMethod: c.tokenEndpointAuthMethod === 'none' ? undefined : c.tokenEndpointAuthMethod,
    scope: [c.scope, ...apiScopes].join(' '),
    apis: [...c.apis].sort((a, b) => Number(b.isDefault) - Number(a.isDefault)).map((a) => a.api.audience),
    serves: c.serves.map((s) => s.api.audience),
    firstParty: (c.metadata as Record<string, unknown>).first_party === true,
    idTokenAlg: (c.metadata as Record<string, unknown>).id_token_signed_response_alg as string | undefined,
    ...strongAuthInput(c.metadata as Record<string, unknown>),
  };
}

/** Checks the key, certificate and sender-constraint settings; returns them as client metadata (snake_case, as oidc-provider reads it). */
function validateStrongAuth(input: ClientInput, authMethod: string): Record<string, unknown> {
  const needsKeys = KEY_AUTH_METHODS.includes(authMethod);
  if (input.jwks && input.jwksUri) throw new InvalidInput('give the client\'s keys inline (--jwks-file) or by URL (--jwks-uri), not both');
  if (needsKeys && !input.jwks && !input.jwksUri) {
    throw new InvalidInput(`${authMethod} needs the client's public keys: --jwks-file FILE or --jwks-uri URL`);
  }
  if (!needsKeys && authMethod !== 'none' && (input.jwks || input.jwksUri) && usesSecret(authMethod)) {
    throw new InvalidInput('a client with a secret has no keys to register; use --auth-method private_key_jwt');
  }
  if (input.jwks) validateJwks(input.jwks);
  if (input.jwksUri) validateJwksUri(input.jwksUri);
  if (authMethod === 'tls_client_auth' && !input.tlsSubject) {
    throw new InvalidInput('tls_client_auth needs the certificate\'s subject: --tls-subject-dn, --tls-san-dns, --tls-san-uri, --tls-san-ip or --tls-san-email');
  }
  if (authMethod !== 'tls_client_auth' && input.tlsSubject) throw new InvalidInput('a certificate subject is only used with --auth-method tls_client_auth');
  if (input.tlsSubject && !input.tlsSubject.value.trim()) throw new InvalidInput('the certificate subject must not be empty');
  return {
    ...(input.jwks ? { jwks: input.jwks } : {}),
    ...(input.jwksUri ? { jwks_uri: input.jwksUri } : {}),
    ...(input.tlsSubject ? { [input.tlsSubject.property]: input.tlsSubject.value.trim() } : {}),
    ...(input.dpopBound ? { dpop_bound_access_tokens: true } : {}),
    ...(input.certBound ? { tls_client_certificate_bound_access_tokens: true } : {}),
    ...(input.requirePar ? { require_pushed_authorization_requests: true } : {}),
  };
}

function validateJwks(jwks: unknown): void {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'object' && k !== null)) {
    throw new InvalidInput('the JWKS must be an object with a non-empty "keys" array');
  }
  for (const key of keys as Record<string, unknown>[]) {
    if (!['RSA', 'EC', 'OKP'].includes(key.kty as string)) throw new InvalidInput('the JWKS may hold RSA, EC and OKP keys only');
    // The message does not echo the key: it is private material registered by mistake.
    if (PRIVATE_JWK_MEMBERS.some((m) => m in key)) throw new InvalidInput('the JWKS must hold public keys only; a private key was given');
  }
}

function validateJwksUri(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInput(`the JWKS URI ${value} is not an absolute URI`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new InvalidInput(`the JWKS URI ${value} must use https (http is allowed for loopback only)`);
  }
}

function strongAuthMetadata(m: Record<string, unknown>) {
  const subject = TLS_SUBJECT_PROPERTIES.find((p) => typeof m[p] === 'string');
  return {
    ...(m.jwks ? { jwks: m.jwks } : {}),
    ...(m.jwks_uri ? { jwks_uri: m.jwks_uri } : {}),
    ...(subject ? { [subject]: m[subject] } : {}),
    dpop_bound_access_tokens: m.dpop_bound_access_tokens === true,
    tls_client_certificate_bound_access_tokens: m.tls_client_certificate_bound_access_tokens === true,
    require_pushed_authorization_requests: m.require_pushed_authorization_requests === true,
  };
}

function strongAuthInput(m: Record<string, unknown>): Partial<ClientInput> {
  const subject = TLS_SUBJECT_PROPERTIES.find((p) => typeof m[p] === 'string');
  return {
    jwks: m.jwks as ClientInput['jwks'],
    jwksUri: m.jwks_uri as string | undefined,
    tlsSubject: subject ? { property: subject, value: m[subject] as string } : undefined,
    dpopBound: m.dpop_bound_access_tokens === true,
    certBound: m.tls_client_certificate_bound_access_tokens === true,
    requirePar: m.require_pushed_authorization_requests === true,
  };
}

function describeForCompare(c: ClientRecord) {
  const { created_at: _c, updated_at: _u, secrets: _s, ...rest } = describeClient(c);
  return rest;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A random client id (144 bits, base64url) that starts with a letter or digit: one starting
 * with `-` would read as an option on every command line it is pasted into (`tessera clients
 * show -abc…`).
 */
function newClientId(): string {
  for (;;) {
    const id = randomBytes(18).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
