// RFC 8707 resource indicators: which API an access token is for, what it may carry, and how
// long it lives. Every access token Tessera issues is an RS256 JWT (RFC 9068) for one API, or,
// for a sign-in without an API, for the issuer's userinfo endpoint, which is a resource server
// of its own here: its scopes are OpenID Connect's. A sign-in that grants `openid` gets a token
// whose scope carries the OIDC scopes too and whose audience includes the userinfo resource
// (provider-config.ts adds it), so that one token serves the API and userinfo, as RFC 9068 §3
// permits with several audiences.
import { errors, type KoaContextWithOIDC, type ResourceServer, type Client } from 'oidc-provider';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import { enforcesRbac, grantedScopes, type HeldRole } from '../services/rbac.ts';
import { OIDC_STANDARD_SCOPES, scopeTokens } from '../services/scopes.ts';
import { invalidScopeWithoutScope, requiresExplicitScope, setClientCredentialsScope } from './upstream.ts';
import { USERINFO_ACCESS_TOKEN_TTL } from './provider-config.ts';
import type { OrganizationStanding } from './organizations.ts';

const CLIENT_CREDENTIALS = 'client_credentials';
const OIDC_SCOPES = OIDC_STANDARD_SCOPES.join(' ');

/** The userinfo endpoint as a resource indicator and audience: the issuer's, from configuration. */
export function userinfoResource(issuer: string, userinfoPath: string): string {
  return `${issuer}${userinfoPath}`;
}

/**
 * An API as a resource server for one client: `scope` is what the client may have. `api` is
 * Tessera's, beside the provider's fields (its ResourceServer copies only its own).
 */
export interface ApiResourceServer extends ResourceServer {
  scope: string;
  api: { audience: string; rbac: string; tokenClaims: string[] };
}

/** The API with this audience as a resource server for the client; undefined when it may not use it. */
export async function resourceServerFor(
  clients: Pick<ClientCatalog, 'apiGrant'>,
  clientId: string,
  indicator: string,
): Promise<ApiResourceServer | undefined> {
  const grant = await clients.apiGrant(clientId, indicator);
  if (!grant) return undefined;
  return {
    scope: grant.scopes.filter((s) => grant.api.scopes.includes(s)).join(' '),
    audience: grant.api.audience,
    accessTokenTTL: grant.api.accessTokenTtl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
    api: { audience: grant.api.audience, rbac: grant.api.rbac, tokenClaims: grant.api.tokenClaims },
  };
}

/**
 * RBAC (services/rbac.ts): the resource server narrowed to what the subject's roles grant, when
 * the API enforces them; as it is otherwise. The provider's grants then issue the requested
 * scopes that are in `scope` and drop the rest (RFC 6749 §3.3: the response's `scope` says so).
 */
export function withinRoles(server: ApiResourceServer, roles: readonly HeldRole[]): ApiResourceServer {
  if (!enforcesRbac(server.api)) return server;
  const granted = grantedScopes(roles, server.api.audience);
  return {
    ...server,
    scope: scopeTokens(server.scope)
      .filter((s) => granted.has(s))
      .join(' '),
  };
}

/**
 * An organization's token (organizations.ts): only what the member's roles in that organization
 * grant, whatever the API's own RBAC setting; their other roles count not.
 */
export function withinOrganization(server: ApiResourceServer, organization: OrganizationStanding): ApiResourceServer {
  return {
    ...withinRoles({ ...server, api: { ...server.api, rbac: 'enforce' } }, organization.roles),
    api: server.api,
  };
}

/** The client's roles and whether it asked for refusals rather than fewer scopes (--rbac-strict). */
export type ClientRbac = { roles: HeldRole[]; strict: boolean };

/**
 * A client-credentials request under RBAC: the scopes to issue (those the client's roles grant),
 * or, for a strict client that named a scope its roles do not grant, that scope. `requested` has
 * passed clientCredentialsScopes and deniedScope against what the client may have.
 */
export function clientCredentialsWithinRoles(
  requested: string[],
  asked: boolean,
  server: ApiResourceServer,
  rbac: ClientRbac,
): { scopes: string[]; server: ApiResourceServer } | { notGranted: string } {
  const narrowed = withinRoles(server, rbac.roles);
  const allowed = new Set(scopeTokens(narrowed.scope));
  const notGranted = requested.find((s) => !allowed.has(s));
  if (notGranted !== undefined && asked && rbac.strict) return { notGranted };
  return { scopes: requested.filter((s) => allowed.has(s)), server: narrowed };
}

/** RFC 6749 §5.2 invalid_scope for a strict client (the scope is in the error's `scope`). */
export const SCOPE_NOT_GRANTED = "the client's roles do not grant the requested scope";

/**
 * The scopes of a client-credentials request (RFC 6749 §3.3): those it names, or, when it names
 * none, the pre-defined default — every scope the client may have for the API — unless the client
 * is registered to name them (require_explicit_scope). Undefined: the request must be refused.
 * The one decision for the provider's grant and the fast path before it.
 */
export function clientCredentialsScopes(
  scope: string | undefined,
  server: ResourceServer,
  explicitOnly: boolean,
): string[] | undefined {
  if (scope !== undefined && scope !== '') return [...new Set(scopeTokens(scope))];
  return explicitOnly ? undefined : scopeTokens(server.scope);
}

/** RFC 6749 §3.3: the refusal of a request without scope from a client that must name them. */
export const SCOPE_REQUIRED = 'this client must name the scopes it requests';

/** The first of a client-credentials request's scopes that the API does not grant the client. */
export function deniedScope(requested: Iterable<string>, server: ResourceServer): string | undefined {
  const allowed = new Set(scopeTokens(server.scope));
  for (const scope of requested) if (!allowed.has(scope)) return scope;
  return undefined;
}

/**
 * Of the scopes a person's authorization request names, those that can be granted: the API
 * scopes the user's roles do not grant (RBAC enforced), or, for a request for an organization,
 * that the user's roles in it do not grant, are left out, so that the consent page shows, and the
 * remembered consent holds, only what the tokens will carry.
 */
export function grantableScopes(
  clients: ClientCatalog,
  rolesOf: (accountId: string) => Promise<HeldRole[]>,
  /** The user's standing in an organization (by id or name); undefined when not a member. */
  standingIn: (organization: string, accountId: string) => Promise<OrganizationStanding | undefined> = async () =>
    undefined,
) {
  return async function grantableScopes(
    accountId: string,
    clientId: string,
    resource: string | undefined,
    requested: string[],
    organization?: string,
  ): Promise<string[]> {
    const audience = resource ?? (await clients.defaultApiAudience(clientId));
    const server = audience === undefined ? undefined : await resourceServerFor(clients, clientId, audience);
    if (!server || (organization === undefined && !enforcesRbac(server.api))) return requested;
    const apiScopes = new Set(scopeTokens(server.scope));
    let now: ApiResourceServer;
    if (organization === undefined) now = withinRoles(server, await rolesOf(accountId));
    else {
      // Not a member: the request ends access_denied; nothing of the API is granted meanwhile.
      const standing = await standingIn(organization, accountId);
      now = standing ? withinOrganization(server, standing) : { ...server, scope: '' };
    }
    const granted = new Set(scopeTokens(now.scope));
    return requested.filter((s) => !apiScopes.has(s) || granted.has(s));
  };
}

/** The signed-in user's roles for this request: with the account read, or with the session's. */
export type AccountRoles = (ctx: KoaContextWithOIDC) => Promise<HeldRole[] | undefined>;

// Where a person's authorization request is decided: a strict client's request for a scope the
// user's roles do not grant is refused there (access_denied), not at the token endpoint.
const AUTHORIZATION_ROUTES = new Set(['authorization', 'resume']);

export function resourceServerFeature(
  clients: ClientCatalog,
  userinfo: string,
  accountRoles: AccountRoles,
  /** The organization a request is for (organizations.ts organizationFor); undefined: none. */
  organizationOf: (ctx: KoaContextWithOIDC) => Promise<OrganizationStanding | undefined> = async () => undefined,
) {
  return {
    enabled: true,

    /**
     * With no `resource` parameter, the client's default API (or its only one); for a sign-in
     * asking for `openid` by a client without an API, the userinfo endpoint.
     */
    async defaultResource(ctx: KoaContextWithOIDC, client: Client, oneOf?: readonly string[]) {
      if (oneOf) return oneOf;
      const audience = await clients.defaultApiAudience(client.clientId);
      if (audience) return audience;
      if (ctx.oidc.params?.grant_type === CLIENT_CREDENTIALS) {
        throw new errors.InvalidTarget('no resource was requested and the client has no default API');
      }
      return scopeTokens(ctx.oidc.params?.scope).includes('openid') ? userinfo : undefined;
    },

    async getResourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: Client): Promise<ResourceServer> {
      const signIn = ctx.oidc.params?.grant_type !== CLIENT_CREDENTIALS;
      // A client's own identity is no userinfo: only a person's sign-in gets a token for it.
      if (indicator === userinfo && signIn) {
        return {
          scope: OIDC_SCOPES,
          audience: userinfo,
          accessTokenTTL: USERINFO_ACCESS_TOKEN_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      }
      const server = await resourceServerFor(clients, client.clientId, indicator);
      if (!server) {
        // Unknown API and an API this client may not use answer alike, so that a client cannot
        // probe which audiences exist.
        throw new errors.InvalidTarget('the client may not request tokens for this resource');
      }
      if (!signIn) {
        const asked = ctx.oidc.params?.scope as string | undefined;
        const scopes = clientCredentialsScopes(asked, server, requiresExplicitScope(client));
        if (!scopes) throw invalidScopeWithoutScope(SCOPE_REQUIRED);
        const denied = deniedScope(scopes, server);
        if (denied) throw new errors.InvalidScope('requested scope is not allowed', denied);
        let issued = { scopes, server };
        if (enforcesRbac(server.api)) {
          const decided = clientCredentialsWithinRoles(scopes, !!asked, server, await clients.rbac(client.clientId));
          if ('notGranted' in decided) throw new errors.InvalidScope(SCOPE_NOT_GRANTED, decided.notGranted);
          issued = decided;
        }
        // The default: the grant (lib/actions/grants/client_credentials.js) takes the scopes from
        // the request's parameters, after this, and keeps those in the returned `scope`.
        if (!asked && issued.scopes.length > 0) setClientCredentialsScope(ctx, issued.scopes.join(' '));
        return issued.server;
      }
      let granted = server;
      const organization = await organizationOf(ctx);
      if (organization) {
        granted = withinOrganization(server, organization);
      } else if (enforcesRbac(server.api)) {
        // No account yet (an authorization request before sign-in): nothing is granted, and the
        // request is decided again once the user is known (the provider resumes it).
        const roles = await accountRoles(ctx);
        granted = withinRoles(server, roles ?? []);
        const strict = roles !== undefined && AUTHORIZATION_ROUTES.has(ctx.oidc.route);
        if (strict && (await clients.rbac(client.clientId)).strict) {
          const allowed = new Set(scopeTokens(server.scope));
          const have = new Set(scopeTokens(granted.scope));
          const missing = [...(ctx.oidc.requestParamScopes ?? [])].filter((s) => allowed.has(s) && !have.has(s));
          if (missing.length > 0)
            throw new errors.AccessDenied(`the user's roles do not grant the requested scope ${missing.join(' ')}`);
        }
      }
      // A sign-in's token for an API also carries the OIDC scopes granted with it (RFC 6749
      // §3.3: the response says what was granted); which ones the user approved, the grant says.
      return { ...granted, scope: [OIDC_SCOPES, granted.scope].filter(Boolean).join(' ') };
    },

    // At the token endpoint, an authorization code or refresh token is for the API it was
    // granted for, without the client naming it again.
    useGrantedResource: () => true,
  };
}
