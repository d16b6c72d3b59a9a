// The one mapping between a client's settings as validation takes them (ClientInput) and as they
// are named everywhere else: client metadata (RFC 7591 §2 and the RFCs that extend it). Those
// names are what the seed file holds, what the clients.metadata column stores, what the admin
// view prints and what oidc-provider reads. Written once, so that the CLI, the seed, the service
// and the adapter cannot spell a setting four different ways.
import type { ClientRecord, ClientSnapshot } from '../db/queries/clients.ts';
import { InvalidInput } from '../errors.ts';

/** RFC 8705 §2.1.2: how a tls_client_auth client's certificate is recognised (exactly one). */
export const TLS_SUBJECT_PROPERTIES = [
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;
export type TlsSubjectProperty = (typeof TLS_SUBJECT_PROPERTIES)[number];

/** OpenID Connect Registration §2: the ID token algorithm when the metadata names none. */
export const DEFAULT_ID_TOKEN_ALG = 'RS256';

/** A client's settings as the service and its validation take them. */
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
  /** Users must have confirmed their email address (clients.require_verified_email). */
  requireVerifiedEmail?: boolean | undefined;
  /** Users must pass a second factor (clients.require_mfa). */
  requireMfa?: boolean | undefined;
  /** RBAC: a request for a scope the roles do not grant is refused rather than narrowed. */
  rbacStrict?: boolean | undefined;
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
  /** Client credentials without `scope` are refused, instead of getting all the client's scopes for the API. */
  requireExplicitScope?: boolean | undefined;
  /** OpenID Connect Back-Channel Logout 1.0 §2.2: where the client receives logout tokens. */
  backchannelLogoutUri?: string | undefined;
  /** §2.2 backchannel_logout_session_required: the logout token must carry `sid`. */
  backchannelLogoutSessionRequired?: boolean | undefined;
}

/**
 * The settings without a column of their own, as clients.metadata stores them and oidc-provider
 * reads them. A setting that is off (or at its default) is absent, so that an unchanged client
 * stores the same JSON whatever path wrote it.
 */
export type StoredMetadata = {
  first_party?: true;
  id_token_signed_response_alg?: string;
  jwks?: { keys: Record<string, unknown>[] };
  jwks_uri?: string;
  dpop_bound_access_tokens?: true;
  tls_client_certificate_bound_access_tokens?: true;
  require_pushed_authorization_requests?: true;
  require_explicit_scope?: true;
  backchannel_logout_uri?: string;
  backchannel_logout_session_required?: true;
} & { [P in TlsSubjectProperty]?: string };

/**
 * A client's settings by their client-metadata names, as a seed file gives them and the CLI's
 * options spell them. `name`, `public`, `apis` and `serves` are Tessera's own; `scope` holds
 * OpenID Connect and API scopes together. Anything left out is left as it is by an update.
 */
export type ClientMetadata = {
  client_id?: string | undefined;
  name?: string | undefined;
  grant_types?: string[] | undefined;
  public?: boolean | undefined;
  token_endpoint_auth_method?: string | undefined;
  redirect_uris?: string[] | undefined;
  post_logout_redirect_uris?: string[] | undefined;
  scope?: string | undefined;
  apis?: string[] | undefined;
  serves?: string[] | undefined;
  first_party?: boolean | undefined;
  require_verified_email?: boolean | undefined;
  require_mfa?: boolean | undefined;
  rbac_strict?: boolean | undefined;
  id_token_signed_response_alg?: string | undefined;
  jwks?: { keys: Record<string, unknown>[] } | undefined;
  jwks_uri?: string | undefined;
  dpop_bound_access_tokens?: boolean | undefined;
  tls_client_certificate_bound_access_tokens?: boolean | undefined;
  require_pushed_authorization_requests?: boolean | undefined;
  require_explicit_scope?: boolean | undefined;
  backchannel_logout_uri?: string | undefined;
  backchannel_logout_session_required?: boolean | undefined;
} & { [P in TlsSubjectProperty]?: string | undefined };

export function inputFromMetadata(m: ClientMetadata): Partial<ClientInput> {
  const subjects = TLS_SUBJECT_PROPERTIES.filter((p) => typeof m[p] === 'string');
  if (subjects.length > 1)
    throw new InvalidInput('give one certificate subject (--tls-subject-dn or one --tls-san-* option)');
  return {
    id: m.client_id,
    name: m.name,
    grantTypes: m.grant_types,
    public: m.public,
    // `public: true` wins over any method named beside it, as --public does on the command line.
    authMethod: m.public ? undefined : m.token_endpoint_auth_method,
    redirectUris: m.redirect_uris,
    postLogoutRedirectUris: m.post_logout_redirect_uris,
    scope: m.scope,
    apis: m.apis,
    serves: m.serves,
    firstParty: m.first_party,
    requireVerifiedEmail: m.require_verified_email,
    requireMfa: m.require_mfa,
    rbacStrict: m.rbac_strict,
    idTokenAlg: m.id_token_signed_response_alg,
    jwks: m.jwks,
    jwksUri: m.jwks_uri,
    tlsSubject: subjects[0] && { property: subjects[0], value: m[subjects[0]]! },
    dpopBound: m.dpop_bound_access_tokens,
    certBound: m.tls_client_certificate_bound_access_tokens,
    requirePar: m.require_pushed_authorization_requests,
    requireExplicitScope: m.require_explicit_scope,
    backchannelLogoutUri: m.backchannel_logout_uri,
    backchannelLogoutSessionRequired: m.backchannel_logout_session_required,
  };
}

/** The inverse of inputFromMetadata: what the CLI's remote mode sends the admin API (cli/remote.ts). */
export function metadataFromInput(i: Partial<ClientInput>): ClientMetadata {
  return {
    client_id: i.id,
    name: i.name,
    grant_types: i.grantTypes,
    public: i.public,
    token_endpoint_auth_method: i.authMethod,
    redirect_uris: i.redirectUris,
    post_logout_redirect_uris: i.postLogoutRedirectUris,
    scope: i.scope,
    apis: i.apis,
    serves: i.serves,
    first_party: i.firstParty,
    require_verified_email: i.requireVerifiedEmail,
    id_token_signed_response_alg: i.idTokenAlg,
    jwks: i.jwks,
    jwks_uri: i.jwksUri,
    ...(i.tlsSubject ? { [i.tlsSubject.property]: i.tlsSubject.value } : {}),
    dpop_bound_access_tokens: i.dpopBound,
    tls_client_certificate_bound_access_tokens: i.certBound,
    require_pushed_authorization_requests: i.requirePar,
    require_explicit_scope: i.requireExplicitScope,
  };
}

/** A registered client's settings by their metadata names: the inverse of what validation wrote. */
export function metadataFromRecord(c: ClientRecord): ClientMetadata {
  return {
    ...readStoredMetadata(c.metadata),
    client_id: c.id,
    name: c.name,
    grant_types: c.grantTypes,
    public: c.tokenEndpointAuthMethod === 'none',
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    scope: [c.scope, ...c.apis.flatMap((a) => a.scopes)].join(' '),
    apis: [...c.apis].sort((a, b) => Number(b.isDefault) - Number(a.isDefault)).map((a) => a.api.audience),
    serves: c.serves.map((s) => s.api.audience),
    ...(c.requireVerifiedEmail ? { require_verified_email: true } : {}),
    ...(c.requireMfa ? { require_mfa: true } : {}),
    ...(c.rbacStrict ? { rbac_strict: true } : {}),
  };
}

/** What clients.metadata stores for validated input. */
export function storedMetadata(input: ClientInput): StoredMetadata {
  return {
    ...(input.firstParty ? { first_party: true } : {}),
    ...(input.idTokenAlg && input.idTokenAlg !== DEFAULT_ID_TOKEN_ALG
      ? { id_token_signed_response_alg: input.idTokenAlg }
      : {}),
    ...(input.jwks ? { jwks: input.jwks } : {}),
    ...(input.jwksUri ? { jwks_uri: input.jwksUri } : {}),
    ...(input.tlsSubject ? { [input.tlsSubject.property]: input.tlsSubject.value.trim() } : {}),
    ...(input.dpopBound ? { dpop_bound_access_tokens: true } : {}),
    ...(input.certBound ? { tls_client_certificate_bound_access_tokens: true } : {}),
    ...(input.requirePar ? { require_pushed_authorization_requests: true } : {}),
    ...(input.requireExplicitScope ? { require_explicit_scope: true } : {}),
    ...(input.backchannelLogoutUri ? { backchannel_logout_uri: input.backchannelLogoutUri } : {}),
    ...(input.backchannelLogoutUri && input.backchannelLogoutSessionRequired
      ? { backchannel_logout_session_required: true }
      : {}),
  };
}

/** The metadata column as written by storedMetadata: the one place its JSON is given a type. */
export function readStoredMetadata(json: ClientSnapshot['metadata']): StoredMetadata {
  return (json ?? {}) as StoredMetadata;
}

/** The tls_client_auth subject the metadata names, if any. */
export function tlsSubjectOf(m: StoredMetadata): ClientInput['tlsSubject'] {
  const property = TLS_SUBJECT_PROPERTIES.find((p) => typeof m[p] === 'string');
  return property && { property, value: m[property]! };
}

type ClientColumns = Pick<
  ClientSnapshot,
  | 'id'
  | 'name'
  | 'grantTypes'
  | 'responseTypes'
  | 'redirectUris'
  | 'postLogoutRedirectUris'
  | 'tokenEndpointAuthMethod'
  | 'scope'
  | 'metadata'
>;

/** The clients row as oidc-provider's Client reads it (RFC 7591 §2 names). */
export function providerMetadata(row: ClientColumns): Record<string, unknown> {
  return {
    ...readStoredMetadata(row.metadata),
    client_id: row.id,
    client_name: row.name,
    grant_types: row.grantTypes,
    response_types: row.responseTypes,
    redirect_uris: row.redirectUris,
    post_logout_redirect_uris: row.postLogoutRedirectUris,
    token_endpoint_auth_method: row.tokenEndpointAuthMethod,
    ...(row.scope ? { scope: row.scope } : undefined),
    // Tessera always names the session (`sid`) in a back-channel client's ID tokens and logout
    // tokens; oidc-provider puts sid in ID tokens only for a session-required client (its
    // Client#includeSid), so it is told every such client requires it.
    ...(readStoredMetadata(row.metadata).backchannel_logout_uri ? { backchannel_logout_session_required: true } : {}),
  };
}
