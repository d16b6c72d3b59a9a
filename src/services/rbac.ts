// Roles and permissions (RBAC): what a subject's roles grant on one API. Pure functions over the
// roles as they are read with the account (db/queries/users.ts ACCOUNT_JSON) or with the client
// (db/queries/clients.ts findSnapshot), so that deciding costs no database round trip.
//
// An API's permissions are its scopes. A role is a named set of them, possibly from several APIs.
// With `rbac: enforce` on an API, a token for it carries only the requested scopes that the
// subject's roles grant (and the client may have); with `off` (the default) roles change nothing.

export const RBAC_MODES = ['off', 'enforce'] as const;
export type RbacMode = (typeof RBAC_MODES)[number];

/** The optional access-token claims an API can ask for (documented names, README "Roles"). */
export const RBAC_TOKEN_CLAIMS = ['roles', 'permissions'] as const;
export type RbacTokenClaim = (typeof RBAC_TOKEN_CLAIMS)[number];

/** One permission: a scope of the API with this audience. */
export interface Permission {
  audience: string;
  scope: string;
}

/** A role as a subject holds it: its name and its permissions. */
export interface HeldRole {
  name: string;
  permissions: Permission[];
}

/** Whether tokens for this API carry only what roles grant. */
export const enforcesRbac = (api: { rbac: string }) => api.rbac === 'enforce';

/** The scopes of this API that the roles grant. */
export function grantedScopes(roles: readonly HeldRole[], audience: string): Set<string> {
  const granted = new Set<string>();
  for (const role of roles) for (const p of role.permissions) if (p.audience === audience) granted.add(p.scope);
  return granted;
}

/** The names of the roles that grant anything on this API (the `roles` claim), sorted. */
export function roleNamesFor(roles: readonly HeldRole[], audience: string): string[] {
  return roles
    .filter((r) => r.permissions.some((p) => p.audience === audience))
    .map((r) => r.name)
    .sort();
}

/**
 * The `roles` and `permissions` claims of an access token for an API that asks for them: the
 * subject's roles on the API, and the token's scopes that those roles grant (with `enforce`,
 * every API scope of the token). Undefined when the API asks for neither.
 */
export function rbacClaims(
  api: { audience: string; tokenClaims: readonly string[] },
  roles: readonly HeldRole[],
  tokenScopes: Iterable<string>,
): Record<string, string[]> | undefined {
  if (api.tokenClaims.length === 0) return undefined;
  const claims: Record<string, string[]> = {};
  if (api.tokenClaims.includes('roles')) claims.roles = roleNamesFor(roles, api.audience);
  if (api.tokenClaims.includes('permissions')) {
    const granted = grantedScopes(roles, api.audience);
    claims.permissions = [...tokenScopes].filter((s) => granted.has(s));
  }
  return claims;
}

/**
 * The roles in the shape the account statement writes them (ACCOUNT_JSON's `roles`):
 * `[{ name, permissions: [[audience, scope], ...] }]`.
 */
export function heldRolesFromJson(json: unknown): HeldRole[] {
  if (!Array.isArray(json)) return [];
  return json.map((r: { name: string; permissions: [string, string][] | null }) => ({
    name: r.name,
    permissions: (r.permissions ?? []).map(([audience, scope]) => ({ audience, scope })),
  }));
}

/** Role names: a letter or digit, then letters, digits, '.', '_', ':' or '-'; at most 64. */
export const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
