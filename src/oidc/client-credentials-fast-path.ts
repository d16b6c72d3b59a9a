// The Client Credentials grant (RFC 6749 §4.4) for a client authenticating with its secret,
// answered before oidc-provider's token endpoint.
//
// The token endpoint's middleware (body parsing, parameter assembly, client authentication,
// duplicate checks, grant dispatch, events) cost more main-thread time per request than the rest
// of the grant, and a client-credentials request is the one a service sends for every token
// (bench/README.md). So the plain case is answered here, with the provider's own parts, so that
// the token is the one the provider would issue:
// - the client is authenticated by the provider's Client model (secret-authenticated-form.ts);
// - its API and scopes come from the same resource-server functions as the provider's
//   resourceIndicators feature (resource-servers.ts);
// - the token is the provider's ClientCredentials model, saved (formatted and signed) by the
//   provider: the same claims, TTL, key and extra claims as through the endpoint;
// - the response is the provider's token response shape, with its Cache-Control.
//
// Anything else goes to the provider untouched: another grant type or authentication method, a
// parameter this path does not know, a repeated one, a DPoP or certificate-bound client, a client
// without the grant, an OIDC scope, a resource or scope the client may not have, a scope with
// invalid characters, a strict client asking for a scope its roles do not grant (RBAC). The
// provider then answers, errors included, exactly as before.
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import { SCOPE_SYNTAX, scopeTokens } from '../services/scopes.ts';
import { enforcesRbac } from '../services/rbac.ts';
import {
  clientCredentialsScopes,
  clientCredentialsWithinRoles,
  deniedScope,
  resourceServerFor,
} from './resource-servers.ts';
import { beforeProvider, type WantedForm } from './secret-authenticated-form.ts';
import { issueClientCredentials, requiresExplicitScope, type ProviderClient, type TokenResponse } from './upstream.ts';
import { inSpan } from '../tracing/spans.ts';

const GRANT_TYPE = 'client_credentials';
// RFC 6749 §4.4.2 and RFC 8707 §2: what a client-credentials request may carry besides the
// client's credentials. Other grants go to the provider before any client is authenticated.
const CLIENT_CREDENTIALS_FORM: WantedForm = {
  params: new Set(['grant_type', 'scope', 'resource']),
  accepts: (params) => params.grant_type === GRANT_TYPE,
};

export function clientCredentialsFastPath(deps: {
  provider: () => Provider;
  clients: ClientCatalog;
  tokenPath: string;
  /** The provider's OIDC scopes (openid, offline_access): a client's allow-list governs them. */
  oidcScopes: readonly string[];
  /** Called for every token issued here, as the provider's grant.success is for its own. */
  onIssued(ctx: Context, clientId: string): void;
}): Middleware {
  const oidcScopes = new Set(deps.oidcScopes);

  /** The token response, or undefined when the provider should decide. */
  async function issue(
    provider: Provider,
    client: ProviderClient,
    params: Record<string, string>,
  ): Promise<TokenResponse | undefined> {
    if (!client.grantTypeAllowed(GRANT_TYPE)) return undefined;
    // Sender-constrained clients need a DPoP proof or a certificate: the provider's checks.
    if (client.dpopBoundAccessTokens || client.tlsClientCertificateBoundAccessTokens) return undefined;
    if (params.scope !== undefined && !SCOPE_SYNTAX.test(params.scope)) return undefined;
    if (scopeTokens(params.scope).some((s) => oidcScopes.has(s))) return undefined;

    // RFC 8707 §2: a resource is an absolute URI without a fragment; the provider words the refusal.
    if (params.resource !== undefined && (URL.parse(params.resource) === null || params.resource.includes('#')))
      return undefined;
    const indicator = params.resource ?? (await deps.clients.defaultApiAudience(client.clientId));
    if (indicator === undefined) return undefined;
    const server = await resourceServerFor(deps.clients, client.clientId, indicator);
    if (!server) return undefined;
    // Without `scope`, the same default as the provider's grant (resource-servers.ts); a client
    // that must name its scopes is refused by the provider.
    const requested = clientCredentialsScopes(params.scope, server, requiresExplicitScope(client));
    if (!requested || deniedScope(requested, server)) return undefined;
    if (!enforcesRbac(server.api))
      return issueClientCredentials(provider, client, requested.join(' ') || undefined, { indicator, server });
    // RBAC: only what the client's roles grant (read with the client, cached: no round trip); a
    // strict client's refusal is the provider's to word.
    const decided = clientCredentialsWithinRoles(
      requested,
      params.scope !== undefined && params.scope !== '',
      server,
      await deps.clients.rbac(client.clientId),
    );
    if ('notGranted' in decided) return undefined;
    return issueClientCredentials(provider, client, decided.scopes.join(' ') || undefined, {
      indicator,
      server: decided.server,
    });
  }

  return beforeProvider({
    routes: new Map([[deps.tokenPath, 'token']]),
    provider: deps.provider,
    form: CLIENT_CREDENTIALS_FORM,
    async answer(ctx, _route, form) {
      const response = await inSpan(`grant ${GRANT_TYPE}`, { 'oauth.grant_type': GRANT_TYPE }, () =>
        issue(form.provider, form.client, form.params),
      );
      if (!response) return false;
      // RFC 6749 §5.1: a response with a token is not cached (the provider's noCache).
      ctx.set('cache-control', 'no-store');
      ctx.body = response;
      deps.onIssued(ctx, form.client.clientId);
      return true;
    },
  });
}
