// RFC 8707 resource indicators: which API an access token is for, what it may carry, and how
// long it lives. Every access token Tessera issues is an RS256 JWT (RFC 9068) for one API, or,
// for a sign-in without an API, for the issuer's userinfo endpoint, which is a resource server
// of its own here: its scopes are OpenID Connect's. A sign-in that grants `openid` gets a token
// whose scope carries the OIDC scopes too and whose audience includes the userinfo resource
// (provider-config.ts adds it), so that one token serves the API and userinfo, as RFC 9068 §3
// permits with several audiences.
import { errors, type KoaContextWithOIDC, type ResourceServer, type Client } from 'oidc-provider';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import { OIDC_STANDARD_SCOPES, scopeTokens } from '../services/scopes.ts';
import { invalidScopeWithoutScope, requiresExplicitScope, setClientCredentialsScope } from './upstream.ts';
import { USERINFO_ACCESS_TOKEN_TTL } from './provider-config.ts';
import { type OrganizationStanding, scopeWithinOrganization } from './organizations.ts';

const CLIENT_CREDENTIALS = 'client_credentials';
const OIDC_SCOPES = OIDC_STANDARD_SCOPES.join(' ');

/** The userinfo endpoint as a resource indicator and audience: the issuer's, from configuration. */
export function userinfoResource(issuer: string, userinfoPath: string): string {
  return `${issuer}${userinfoPath}`;
}

/** The API with this audience as a resource server for the client; undefined when it may not use it. */
export async function resourceServerFor(
  clients: ClientCatalog,
  clientId: string,
  indicator: string,
): Promise<ResourceServer | undefined> {
  const grant = await clients.apiGrant(clientId, indicator);
  if (!grant) return undefined;
  return {
    scope: grant.scopes.filter((s) => grant.api.scopes.includes(s)).join(' '),
    audience: grant.api.audience,
    accessTokenTTL: grant.api.accessTokenTtl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

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

export function resourceServerFeature(
  clients: ClientCatalog,
  userinfo: string,
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
        // The default: the grant (lib/actions/grants/client_credentials.js) takes the scopes from
        // the request's parameters, after this.
        if (!asked && scopes.length > 0) setClientCredentialsScope(ctx, scopes.join(' '));
        return server;
      }
      // An organization's token: only what the member's roles there grant.
      const organization = await organizationOf(ctx);
      const scope = organization ? scopeWithinOrganization(server.scope, indicator, organization) : server.scope;
      // A sign-in's token for an API also carries the OIDC scopes granted with it (RFC 6749
      // §3.3: the response says what was granted); which ones the user approved, the grant says.
      return { ...server, scope: [OIDC_SCOPES, scope].filter(Boolean).join(' ') };
    },

    // At the token endpoint, an authorization code or refresh token is for the API it was
    // granted for, without the client naming it again.
    useGrantedResource: () => true,
  };
}
