// What an admin sees of a client (`tessera clients show|list`, and their --json): its settings
// under their client-metadata names, with defaults spelt out, and its secrets by hint only.
import type { ClientRecord } from '../db/queries/clients.ts';
import { DEFAULT_ID_TOKEN_ALG, readStoredMetadata, tlsSubjectOf } from './client-metadata.ts';

/** Never a secret or its hash: an admin tells secrets apart by their last characters. */
export function clientView(c: ClientRecord) {
  const m = readStoredMetadata(c.metadata);
  const subject = tlsSubjectOf(m);
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
    first_party: m.first_party === true,
    require_verified_email: c.requireVerifiedEmail,
    require_mfa: c.requireMfa,
    /** RBAC: a request for scopes the roles do not grant is refused rather than narrowed. */
    rbac_strict: c.rbacStrict,
    id_token_signed_response_alg: m.id_token_signed_response_alg ?? DEFAULT_ID_TOKEN_ALG,
    ...(m.jwks ? { jwks: m.jwks } : {}),
    ...(m.jwks_uri ? { jwks_uri: m.jwks_uri } : {}),
    ...(subject ? { [subject.property]: subject.value } : {}),
    dpop_bound_access_tokens: m.dpop_bound_access_tokens === true,
    tls_client_certificate_bound_access_tokens: m.tls_client_certificate_bound_access_tokens === true,
    require_pushed_authorization_requests: m.require_pushed_authorization_requests === true,
    /** Client credentials without `scope` are refused rather than given all the client's API scopes. */
    require_explicit_scope: m.require_explicit_scope === true,
    ...(m.backchannel_logout_uri
      ? {
          backchannel_logout_uri: m.backchannel_logout_uri,
          backchannel_logout_session_required: m.backchannel_logout_session_required === true,
        }
      : {}),
    secrets: c.secrets.map((s) => ({
      hint: `…${s.hint}`,
      created_at: s.createdAt.toISOString(),
      expires_at: s.expiresAt?.toISOString() ?? null,
    })),
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

export type ClientView = ReturnType<typeof clientView>;
