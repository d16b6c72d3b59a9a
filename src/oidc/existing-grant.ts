// Which grant an authorization request can reuse, so that the consent prompt appears only when
// it must: the session's grant as oidc-provider keeps it; otherwise a grant made from what the
// user approved for this client before (remembered per user, client and scope set), or, for a
// first-party client, from the request itself.
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ConsentQueries } from '../db/queries/consents.ts';
import { isOidcScope, scopeTokens } from '../services/scopes.ts';
import { isFirstParty } from './upstream.ts';
import {
  grantOrganization,
  isOrganizationScope,
  organizationGrantId,
  type OrganizationMemberships,
} from './organizations.ts';

export function existingGrantLoader(consents: ConsentQueries, memberships?: OrganizationMemberships) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC) {
    const { oidc } = ctx;
    const client = oidc.client!;
    const accountId = oidc.session?.accountId;
    // A request for an organization: the user must be a member (access_denied otherwise), and
    // only a grant made for that organization is reused; a request for none reuses none made for
    // one (oidc/organizations.ts: the grant's id holds its organization).
    const organization = accountId ? await memberships?.forAuthorization(ctx, accountId) : undefined;
    const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(client.clientId);
    if (grantId && grantOrganization(grantId) === organization?.id) {
      const grant = await oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    if (!accountId) return undefined;
    const requested = [...(oidc.requestParamScopes ?? [])].filter((s) => !isOrganizationScope(s));
    const firstParty = isFirstParty(client);
    if (!firstParty) {
      const approved = new Set(await consents.scopes(accountId, client.clientId));
      if (!requested.every((s) => approved.has(s))) return undefined;
    }
    const grant = new oidc.provider.Grant({
      accountId,
      clientId: client.clientId,
      ...(organization ? { jti: organizationGrantId(organization.id) } : {}),
    });
    grant.addOIDCScope(requested.filter(isOidcScope).join(' '));
    for (const [indicator, server] of Object.entries(oidc.resourceServers ?? {})) {
      const allowed = new Set(scopeTokens(server.scope));
      grant.addResourceScope(indicator, requested.filter((s) => allowed.has(s)).join(' '));
    }
    await grant.save();
    return grant;
  };
}
