// Organization tokens (README "Organizations"): an app asks for a token for one of the user's
// organizations with the `organization` authorization parameter (an extra parameter registered
// with oidc-provider) or the scope `urn:tessera:org:<id or name>`. The token then carries `org_id`
// and only the permissions of the user's roles in that organization.
//
// Where the organization lives from the authorization request on: in the grant's id. A grant made
// for an organization gets the id `org.<organization id>.<random>` (oidc-provider keeps a grant's
// jti as given), and every authorization code, refresh token and access token issued from it
// carries that grant id. So the token endpoint knows the organization of a code or refresh token
// without a column of its own or a read, a refresh keeps it, and a grant never changes
// organization: a request for another one (or for none) gets another grant. Grant ids are made by
// Tessera only; no client ever chooses one.
//
// What is read per request: one statement (organizations.membership, by primary keys) when a
// token is for an organization; nothing otherwise.
import { randomBytes } from 'node:crypto';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Membership, OrganizationQueries } from '../db/queries/organizations.ts';
import type { Audit } from '../services/audit.ts';
import { ORGANIZATION_NAME } from '../services/organizations.ts';
import { type HeldRole, heldRolesFromJson } from '../services/rbac.ts';
import { scopeTokens } from '../services/scopes.ts';

export const ORGANIZATION_PARAM = 'organization';
/** The scope form of the parameter (as Logto's `urn:logto:scope:organizations`, per organization). */
export const ORGANIZATION_SCOPE_PREFIX = 'urn:tessera:org:';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ORGANIZATION_GRANT = /^org\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.[A-Za-z0-9_-]+$/;
// As many random bytes as oidc-provider's own ids carry (nanoid's 21 characters are ~126 bits;
// 32 bytes is more, and the grant id is not a bearer secret: codes and refresh tokens are).
const GRANT_ID_RANDOM_BYTES = 32;

// Deliberately the same for an organization that does not exist and one the user is not in, so
// that a client cannot probe which organization ids or names exist (RFC 6749 §4.1.2.1).
const NOT_A_MEMBER = 'the user is not a member of the requested organization';

/** A new grant id for a grant made for this organization. */
export function organizationGrantId(organizationId: string): string {
  return `org.${organizationId}.${randomBytes(GRANT_ID_RANDOM_BYTES).toString('base64url')}`;
}

/** The organization a grant was made for, by its id; undefined for a grant without one. */
export function grantOrganization(grantId: unknown): string | undefined {
  return typeof grantId === 'string' ? ORGANIZATION_GRANT.exec(grantId)?.[1] : undefined;
}

/** Whether a scope is the organization's pseudo-scope (not a permission: never granted as such). */
export const isOrganizationScope = (scope: string) => scope.startsWith(ORGANIZATION_SCOPE_PREFIX);

const validReference = (ref: string) => UUID.test(ref) || ORGANIZATION_NAME.test(ref);

/**
 * The organization an authorization request asks for (by id or name), from its `organization`
 * parameter or its `urn:tessera:org:` scope; undefined when it asks for none. A malformed value,
 * two organizations, or a parameter and a scope that disagree: invalid_request (RFC 6749 §4.1.2.1).
 */
export function requestedOrganization(params: Record<string, unknown> | undefined): string | undefined {
  const param = params?.[ORGANIZATION_PARAM];
  if (param !== undefined && (typeof param !== 'string' || !validReference(param)))
    throw new errors.InvalidRequest(`${ORGANIZATION_PARAM} must be an organization id or name`);
  const scoped = [
    ...new Set(
      scopeTokens(params?.scope)
        .filter(isOrganizationScope)
        .map((s) => s.slice(ORGANIZATION_SCOPE_PREFIX.length)),
    ),
  ];
  if (scoped.length > 1) throw new errors.InvalidRequest('a request may ask for one organization only');
  const fromScope = scoped[0];
  if (fromScope !== undefined && !validReference(fromScope))
    throw new errors.InvalidRequest(`${ORGANIZATION_SCOPE_PREFIX}<id> must name an organization by id or name`);
  if (param !== undefined && fromScope !== undefined && param !== fromScope)
    throw new errors.InvalidRequest(`the ${ORGANIZATION_PARAM} parameter and the organization scope disagree`);
  return (param as string | undefined) ?? fromScope;
}

// Organization tokens come from a person's authorization (code and refresh token). The device
// flow and CIBA have no grant of Tessera's making to hold the organization: refused, not ignored,
// so that an app never takes a token without an organization for one with it.
const AUTHORIZATION_ROUTES = new Set(['authorization', 'pushed_authorization_request', 'resume']);

/** oidc-provider's extraParams validator for `organization` (it runs at every authorization-style endpoint). */
export async function validateOrganizationParam(ctx: KoaContextWithOIDC): Promise<void> {
  const ref = requestedOrganization(ctx.oidc.params as Record<string, unknown>);
  if (ref !== undefined && !AUTHORIZATION_ROUTES.has(ctx.oidc.route))
    throw new errors.InvalidRequest(`${ORGANIZATION_PARAM} is supported in authorization requests only`);
}

/** A member's standing in an organization, as the token needs it. */
export interface OrganizationStanding {
  id: string;
  name: string;
  displayName: string;
  /** The member's organization roles, as RBAC's roles are held (services/rbac.ts). */
  roles: HeldRole[];
}

/** A membership as a token needs it (roles in RBAC's shape). */
export const standing = (m: Membership): OrganizationStanding => ({
  id: m.id,
  name: m.name,
  displayName: m.displayName,
  // The statement writes them in the account statement's shape (db/queries/organizations.ts).
  roles: heldRolesFromJson(m.roles),
});

export function organizationMemberships(deps: {
  organizations: Pick<OrganizationQueries, 'membership' | 'joinByEmailDomain'>;
  audit?: Audit;
}) {
  // One read per request and organization, however often the provider asks (findAccount is
  // called more than once per token request).
  const perRequest = new WeakMap<object, Map<string, Promise<Membership | undefined>>>();
  function membership(ctx: object, ref: string, accountId: string) {
    const reads = perRequest.get(ctx) ?? new Map<string, Promise<Membership | undefined>>();
    perRequest.set(ctx, reads);
    const key = `${ref} ${accountId}`;
    const read = reads.get(key) ?? deps.organizations.membership(ref, accountId);
    reads.set(key, read);
    return read;
  }
  function forget(ctx: object, ref: string, accountId: string) {
    perRequest.get(ctx)?.delete(`${ref} ${accountId}`);
  }

  return {
    /**
     * The user's standing in the organization an authorization request asks for, joining them
     * just in time when their verified email's domain is allowed; access_denied when they are not
     * a member (or the organization does not exist). Undefined: the request asks for none.
     */
    async forAuthorization(ctx: KoaContextWithOIDC, accountId: string): Promise<OrganizationStanding | undefined> {
      const ref = requestedOrganization(ctx.oidc.params as Record<string, unknown>);
      if (ref === undefined) return undefined;
      const found = await membership(ctx, ref, accountId);
      if (found && !found.member && (await deps.organizations.joinByEmailDomain(found.id, accountId))) {
        await deps.audit?.record({
          type: 'organization.member_joined',
          actor: accountId,
          subject: found.id,
          ip: ctx.ip,
          details: { user_id: accountId, by: 'email_domain' },
        });
        // Read again (no roles yet, but read as every member's are), for the rest of the request.
        forget(ctx, ref, accountId);
        return this.forAuthorization(ctx, accountId);
      }
      if (!found?.member) throw new errors.AccessDenied(NOT_A_MEMBER);
      return standing(found);
    },

    /**
     * The user's standing in the organization a grant was made for: undefined for a grant without
     * one; null when they are no longer a member (or the organization is gone): the code or refresh
     * token is then refused (findAccount answers no account: invalid_grant).
     */
    async forGrant(ctx: object, grantId: unknown, accountId: string): Promise<OrganizationStanding | null | undefined> {
      const organizationId = grantOrganization(grantId);
      if (organizationId === undefined) return undefined;
      const found = await membership(ctx, organizationId, accountId);
      return found?.member ? standing(found) : null;
    },
  };
}

export type OrganizationMemberships = ReturnType<typeof organizationMemberships>;

/**
 * The organization a provider request is for, with the user's standing there: at the token and
 * userinfo endpoints, the one the presented token's grant was made for (findAccount read it); at
 * the authorization endpoint, before the account is loaded, the one requested, for the session's
 * user. Undefined: the request is for no organization (or no one is signed in yet).
 */
export async function organizationFor(
  ctx: KoaContextWithOIDC,
  memberships: OrganizationMemberships,
): Promise<OrganizationStanding | undefined> {
  const account = ctx.oidc.account as { organization?: OrganizationStanding } | undefined;
  if (account) return account.organization;
  const accountId = (ctx.oidc as { session?: { accountId?: string } }).session?.accountId;
  if (accountId && AUTHORIZATION_ROUTES.has(ctx.oidc.route)) return memberships.forAuthorization(ctx, accountId);
  return undefined;
}
