// The admin API's operations, as one table: method, path, the scope it needs, the schemas its
// query and body must satisfy, and the handler over the same services the CLI runs
// (services/admin-services.ts). The router (admin-api.ts) and the OpenAPI document (openapi.ts)
// are both made from this table, so that neither can list an operation the other lacks.
import type { Context } from 'koa';
import type { z } from 'zod';
import { InvalidInput, PreconditionFailed, PreconditionRequired } from '../errors.ts';
import type { PagePosition } from '../db/queries/paging.ts';
import type { Queries } from '../db/queries/index.ts';
import type { AdminScope } from '../services/admin-api.ts';
import type { AdminServices } from '../services/admin-services.ts';
import { type ClientInput, inputFromMetadata } from '../services/client-metadata.ts';
import { DEFAULT_SECRET_GRACE } from '../services/clients.ts';
import { DEFAULT_INITIAL_TOKEN_TTL } from '../services/dcr.ts';
import { DEFAULT_SECRET_OVERLAP } from '../services/webhooks.ts';
import type { AdminCaller } from './auth.ts';
import { organizationDetailView, organizationView } from '../services/organizations.ts';
import { roleView } from '../services/roles.ts';
import {
  apiCreate,
  apiDeleteQuery,
  apiKeyCreate,
  apiKeyListQuery,
  apiKeyRotation,
  apiKeyUsageQuery,
  auditQuery,
  clientCreate,
  clientUpdate,
  deliveryListQuery,
  grantRevokeQuery,
  initialTokenCreate,
  keyRetirement,
  organizationCreate,
  organizationMember,
  organizationRoleCreate,
  organizationUpdate,
  pageQuery,
  roleAssignment,
  roleCreate,
  rolePermission,
  searchPageQuery,
  secretRotation,
  userCreate,
  userPassword,
  userUpdate,
  userVerification,
  webhookCreate,
  webhookSecretRotation,
} from './schemas.ts';

export const ADMIN_PREFIX = '/admin/v1';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface Call<B, Q> {
  ctx: Context;
  caller: AdminCaller;
  services: AdminServices;
  queries: Queries;
  params: Record<string, string>;
  body: B;
  query: Q;
  /** The version If-Match names (conditional routes): undefined for `*`. */
  version: Date | undefined;
}

export interface Answer {
  status?: number;
  body?: unknown;
  /** The resource's version, sent as its ETag (RFC 9110 §8.8.3). */
  version?: string;
  location?: string;
}

export interface AdminRoute<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> {
  method: Method;
  /** Below ADMIN_PREFIX, with :params. */
  path: string;
  operationId: string;
  summary: string;
  scope: AdminScope;
  body?: B;
  query?: Q;
  /** A create: 201, and an Idempotency-Key is honoured. */
  creates?: true;
  /** An update: If-Match is required (428 without it, 412 when it is stale). */
  conditional?: true;
  handle(call: Call<z.output<B>, z.output<Q>>): Promise<Answer>;
}

// Typed per route: the handler sees what its own schemas produce.
const route = <B extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown>(r: AdminRoute<B, Q>) =>
  r as unknown as AdminRoute;

// ---- Cursors: opaque to callers, a position in (created_at, id) order to the queries ----

function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeCursor(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidInput('cursor is not one this API gave out');
  }
}

function positionOf(cursor: string | undefined): PagePosition | undefined {
  if (cursor === undefined) return undefined;
  const value = decodeCursor(cursor);
  const [at, id] = Array.isArray(value) ? value : [];
  const createdAt = typeof at === 'string' ? new Date(at) : undefined;
  if (!createdAt || Number.isNaN(createdAt.getTime()) || typeof id !== 'string')
    throw new InvalidInput('cursor is not one this API gave out');
  return { createdAt, id };
}

/** One page from a fetch of limit + 1 rows: the extra row says whether there is a next page. */
async function page<T>(
  limit: number,
  cursor: string | undefined,
  fetch: (take: number, after: PagePosition | undefined) => Promise<T[]>,
  position: (item: T) => [string, string],
  view: (item: T) => unknown = (item) => item,
): Promise<Answer> {
  const rows = await fetch(limit + 1, positionOf(cursor));
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    body: { items: items.map(view), next_cursor: rows.length > limit && last ? encodeCursor(position(last)) : null },
  };
}

// ---- Versions: a resource's updated_at, to the millisecond its column keeps ----

export const etagOf = (updatedAt: string) => `"${Date.parse(updatedAt).toString(36)}"`;

/**
 * The version an If-Match header names. One strong entity tag or `*` (RFC 9110 §13.1.1); a weak
 * tag never matches (If-Match compares strongly), nor does one this API did not make.
 */
export function versionFromIfMatch(header: string): Date | undefined {
  if (!header) throw new PreconditionRequired();
  if (header.trim() === '*') return undefined;
  const tag = /^\s*"([0-9a-z]{1,12})"\s*$/.exec(header)?.[1];
  const ms = tag ? Number.parseInt(tag, 36) : Number.NaN;
  if (!Number.isSafeInteger(ms)) throw new PreconditionFailed();
  return new Date(ms);
}

// ---- The operations ----

const apiView = (api: {
  audience: string;
  name: string | null;
  scopes: string[];
  accessTokenTtl: number;
  rbac: string;
  tokenClaims: string[];
  createdAt: Date;
}) => ({
  audience: api.audience,
  name: api.name,
  scopes: api.scopes,
  access_token_ttl: api.accessTokenTtl,
  rbac: api.rbac,
  token_claims: api.tokenClaims,
  created_at: api.createdAt.toISOString(),
});

const apis: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/apis',
    operationId: 'listApis',
    summary: 'list APIs (resource servers)',
    scope: 'admin:apis:read',
    query: pageQuery,
    handle: ({ services, query }) =>
      page(query.limit, query.cursor, services.apis.page, (a) => [a.createdAt.toISOString(), a.id], apiView),
  }),
  route({
    method: 'POST',
    path: '/apis',
    operationId: 'createApi',
    summary: 'register an API',
    scope: 'admin:apis:write',
    body: apiCreate,
    creates: true,
    handle: async ({ services, body }) => {
      const api = await services.apis.create({
        audience: body.audience,
        name: body.name,
        scope: body.scopes,
        accessTokenTtl: body.access_token_ttl,
        // The schema (the seed file's) has always accepted these; now they are kept.
        rbac: body.rbac,
        tokenClaims: body.token_claims,
      });
      return { status: 201, body: apiView(api), location: `${ADMIN_PREFIX}/apis/${encodeURIComponent(api.audience)}` };
    },
  }),
  route({
    method: 'GET',
    path: '/apis/:audience',
    operationId: 'getApi',
    summary: 'show an API',
    scope: 'admin:apis:read',
    handle: async ({ services, params }) => ({ body: apiView(await services.apis.get(params.audience!)) }),
  }),
  route({
    method: 'DELETE',
    path: '/apis/:audience',
    operationId: 'deleteApi',
    summary: 'delete an API; one that clients use only with force=true',
    scope: 'admin:apis:write',
    query: apiDeleteQuery,
    handle: async ({ services, params, query }) => {
      await services.apis.delete(params.audience!, { force: query.force === true });
      return { status: 204 };
    },
  }),
];

const clients: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/clients',
    operationId: 'listClients',
    summary: 'list clients, or those whose id or name contains q',
    scope: 'admin:clients:read',
    query: searchPageQuery,
    handle: ({ services, query }) =>
      page(
        query.limit,
        query.cursor,
        (take, after) => services.clients.page(take, after, query.q),
        (c) => [c.created_at, c.client_id],
      ),
  }),
  route({
    method: 'POST',
    path: '/clients',
    operationId: 'createClient',
    summary: "register a client; a confidential client's secret is in this answer only",
    scope: 'admin:clients:write',
    body: clientCreate,
    creates: true,
    handle: async ({ services, body }) => {
      const { client, clientSecret } = await services.clients.create(inputFromMetadata(body) as ClientInput);
      return {
        status: 201,
        body: { ...client, ...(clientSecret ? { client_secret: clientSecret } : undefined) },
        version: client.updated_at,
        location: `${ADMIN_PREFIX}/clients/${encodeURIComponent(client.client_id)}`,
      };
    },
  }),
  route({
    method: 'GET',
    path: '/clients/:client_id',
    operationId: 'getClient',
    summary: 'show a client (its secrets by hint only)',
    scope: 'admin:clients:read',
    handle: async ({ services, params }) => {
      const client = await services.clients.show(params.client_id!);
      return { body: client, version: client.updated_at };
    },
  }),
  route({
    method: 'PATCH',
    path: '/clients/:client_id',
    operationId: 'updateClient',
    summary: 'change a client; the settings given replace theirs (lists whole), the rest stay',
    scope: 'admin:clients:write',
    body: clientUpdate,
    conditional: true,
    handle: async ({ services, params, body, version }) => {
      if (Object.keys(body).length === 0) throw new InvalidInput('nothing to change: give at least one setting');
      const client = await services.clients.update(params.client_id!, inputFromMetadata(body), { version });
      return { body: client, version: client.updated_at };
    },
  }),
  route({
    method: 'DELETE',
    path: '/clients/:client_id',
    operationId: 'deleteClient',
    summary: 'delete a client; its tokens stop working',
    scope: 'admin:clients:write',
    handle: async ({ services, params }) => {
      await services.clients.delete(params.client_id!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/clients/:client_id/secrets',
    operationId: 'rotateClientSecret',
    summary: 'issue a new secret (in this answer only); the previous ones stay valid for grace_seconds',
    scope: 'admin:clients:write',
    body: secretRotation,
    handle: async ({ services, params, body }) => {
      const rotated = await services.clients.rotateSecret(
        params.client_id!,
        body.grace_seconds ?? DEFAULT_SECRET_GRACE,
      );
      return {
        status: 201,
        body: {
          client_id: params.client_id,
          client_secret: rotated.clientSecret,
          previous_secret_valid_until: rotated.previousValidUntil,
        },
      };
    },
  }),
];

const users: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/users',
    operationId: 'listUsers',
    summary: 'list users, or those whose email address or name contains q',
    scope: 'admin:users:read',
    query: searchPageQuery,
    handle: ({ services, query }) =>
      page(
        query.limit,
        query.cursor,
        (take, after) => services.users.page(take, after, query.q),
        (u) => [u.created_at, u.id],
      ),
  }),
  route({
    method: 'POST',
    path: '/users',
    operationId: 'createUser',
    summary: 'create a user',
    scope: 'admin:users:write',
    body: userCreate,
    creates: true,
    handle: async ({ services, body }) => {
      if (body.invite && body.password !== undefined)
        throw new InvalidInput('an invited user chooses their own password: give invite or password, not both');
      const input = {
        email: body.email,
        password: body.password,
        name: body.name,
        givenName: body.given_name,
        familyName: body.family_name,
        locale: body.locale,
        emailVerified: body.email_verified === true,
      };
      // Mailed in the user's language (body.locale), as the CLI's users invite / --send-verification.
      const mail = body.invite ? 'invitation' : body.send_verification ? 'verification' : undefined;
      const user = mail ? await services.users.createAndMail(input, mail) : await services.users.create(input);
      return { status: 201, body: user, version: user.updated_at, location: `${ADMIN_PREFIX}/users/${user.id}` };
    },
  }),
  route({
    method: 'GET',
    path: '/users/:user',
    operationId: 'getUser',
    summary: 'show a user, by id or email address',
    scope: 'admin:users:read',
    handle: async ({ services, params }) => {
      const user = await services.users.show(params.user!);
      return { body: user, version: user.updated_at };
    },
  }),
  route({
    method: 'PATCH',
    path: '/users/:user',
    operationId: 'updateUser',
    summary:
      "disable or enable a user (disabled: sign-in, sessions and refresh tokens stop working), or set the user's language (locale)",
    scope: 'admin:users:write',
    body: userUpdate,
    conditional: true,
    handle: async ({ services, params, body, version }) => {
      const user = await services.users.update(params.user!, body, { version });
      return { body: user, version: user.updated_at };
    },
  }),
  route({
    method: 'POST',
    path: '/users/:user/password',
    operationId: 'setUserPassword',
    summary: "set a user's password, under the password policy of the pages; never logged, stored hashed",
    scope: 'admin:users:write',
    body: userPassword,
    // As `tessera users set-password`, which this is: the same check, hash and audit record
    // (user.password_set); the user's sessions stay, as they do there.
    handle: async ({ services, params, body }) => {
      const user = await services.users.setPassword(params.user!, body.password);
      return { body: user, version: user.updated_at };
    },
  }),
  route({
    method: 'DELETE',
    path: '/users/:user',
    operationId: 'deleteUser',
    summary: 'delete a user, their consents and grants',
    scope: 'admin:users:write',
    handle: async ({ services, params }) => {
      // Its grants too (services/admin-services.ts), as `tessera users delete`.
      await services.users.delete(params.user!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/users/:user/verification',
    operationId: 'verifyUserEmail',
    summary:
      'mail the user a link to confirm their address (202), or mark it confirmed without one (mark_verified, 200), as users verify-email',
    scope: 'admin:users:write',
    body: userVerification,
    handle: async ({ services, params, body }) => {
      if (body.mark_verified) {
        const user = await services.users.markEmailVerified(params.user!);
        return { body: user, version: user.updated_at };
      }
      const user = await services.users.show(params.user!);
      await services.userMail.sendVerification(user.id);
      return { status: 202, body: user };
    },
  }),
  route({
    method: 'POST',
    path: '/users/:user/password-reset-link',
    operationId: 'sendPasswordResetLink',
    summary: 'mail the user a link to choose a new password (valid 30 minutes), as users reset-password --send-link',
    scope: 'admin:users:write',
    handle: async ({ services, params }) => ({
      status: 202,
      body: await services.userMail.sendPasswordReset(params.user!),
    }),
  }),
];

const security: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/users/:user/security',
    operationId: 'getUserSecurity',
    summary: "a user's second factors (by kind and age, never a secret) and roles",
    scope: 'admin:users:read',
    handle: async ({ services, queries, params }) => {
      const user = await services.users.find(params.user!);
      const [factors, passkeys, account] = await Promise.all([
        queries.secondFactors.describe(user.id),
        queries.passkeys.listByUser(user.id),
        queries.users.findAccount(user.id),
      ]);
      return {
        body: {
          totp: factors.totp
            ? {
                created_at: factors.totp.createdAt.toISOString(),
                last_used_at: factors.totp.lastUsedAt?.toISOString() ?? null,
              }
            : null,
          recovery_codes_left: factors.recoveryCodes,
          passkeys: passkeys.map((p) => ({ name: p.name, created_at: p.createdAt.toISOString() })),
          roles: (account?.roles ?? []).map((r) => ({
            name: r.name,
            permissions: r.permissions.map((p) => ({ audience: p.audience, scope: p.scope })),
          })),
        },
      };
    },
  }),
];

// `tessera users mfa list|reset` (services/user-mfa.ts): the same views and audit record.
const mfa: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/users/:user/mfa',
    operationId: 'listUserSecondFactors',
    summary: "a user's second factors: the authenticator app's age and last use, unused recovery codes",
    scope: 'admin:users:read',
    handle: async ({ services, params }) => ({ body: await services.mfa.list(params.user!) }),
  }),
  route({
    method: 'DELETE',
    path: '/users/:user/mfa',
    operationId: 'resetUserSecondFactors',
    summary:
      "remove a user's authenticator app and recovery codes (they sign in with the password, and enrol again where required)",
    scope: 'admin:users:write',
    // 200 with what was removed (not 204): the CLI prints it, and an audit of the reset names it.
    handle: async ({ services, params }) => ({ body: await services.mfa.reset(params.user!) }),
  }),
];

const grants: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/users/:user/grants',
    operationId: 'listUserGrants',
    summary: "list a user's grants (what they authorized, per client)",
    scope: 'admin:grants:read',
    handle: async ({ services, params }) => {
      const items = await services.grants.list((await services.users.find(params.user!)).id);
      // A user has one grant per client: no page is ever long.
      return { body: { items, next_cursor: null } };
    },
  }),
  route({
    method: 'DELETE',
    path: '/grants/:grant_id',
    operationId: 'revokeGrant',
    summary: 'revoke a grant: its refresh tokens stop working, its access tokens introspect inactive',
    scope: 'admin:grants:write',
    query: grantRevokeQuery,
    handle: async ({ services, params, query }) => {
      await services.grants.revoke(params.grant_id!, { forgetConsent: query.forget_consent === true });
      return { status: 204 };
    },
  }),
];

const sessions: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/users/:user/sessions',
    operationId: 'listUserSessions',
    summary: "list a user's sign-in sessions (by uid; never the session cookie's value)",
    scope: 'admin:grants:read',
    handle: async ({ services, params }) => {
      const items = await services.grants.listSessions((await services.users.find(params.user!)).id);
      // A user has a session per browser: no page is ever long.
      return { body: { items, next_cursor: null } };
    },
  }),
  route({
    method: 'DELETE',
    path: '/users/:user/sessions',
    operationId: 'revokeUserSessions',
    summary:
      'sign a user out everywhere: every session, grant and refresh token ends; the apps with a backchannel_logout_uri are told',
    scope: 'admin:grants:write',
    handle: async ({ services, params }) => {
      const user = await services.users.find(params.user!);
      return { body: { revoked: user.id, ...(await services.grants.endAllSessions(user.id)) } };
    },
  }),
  route({
    method: 'DELETE',
    path: '/sessions/:session_uid',
    operationId: 'revokeSession',
    summary: 'end a sign-in session and the grants it holds; its apps with a backchannel_logout_uri are told',
    scope: 'admin:grants:write',
    handle: async ({ services, params }) => {
      await services.grants.endSession(params.session_uid!);
      return { status: 204 };
    },
  }),
];

const keys: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/keys',
    operationId: 'listKeys',
    summary: 'list signing keys, their state and schedule',
    scope: 'admin:keys:read',
    // A handful of keys at any time: one page.
    handle: async ({ services }) => ({ body: { items: await services.keys.list(), next_cursor: null } }),
  }),
  route({
    method: 'POST',
    path: '/keys/rotate',
    operationId: 'rotateKeys',
    summary: 'publish a new signing key; it signs after KEYS_PUBLICATION_DELAY',
    scope: 'admin:keys:write',
    handle: async ({ services }) => ({ status: 201, body: await services.keys.rotate() }),
  }),
  route({
    method: 'POST',
    path: '/keys/:kid/retire',
    operationId: 'retireKey',
    summary: 'EMERGENCY: take a compromised key out of the JWKS now; every token it signed stops verifying',
    scope: 'admin:keys:write',
    body: keyRetirement,
    handle: async ({ services, params }) => ({ body: await services.keys.retire(params.kid!) }),
  }),
];

const audit: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/audit-events',
    operationId: 'listAuditEvents',
    summary: 'the audit trail, newest first, filtered by type, time, actor or subject',
    scope: 'admin:audit:read',
    query: auditQuery,
    handle: async ({ services, query }) => {
      let before: bigint | undefined;
      if (query.cursor !== undefined) {
        const value = decodeCursor(query.cursor);
        if (typeof value !== 'string' || !/^\d{1,19}$/.test(value))
          throw new InvalidInput('cursor is not one this API gave out');
        before = BigInt(value);
      }
      const { items, more } = await services.auditEvents.page({
        since: query.since ? new Date(query.since) : undefined,
        type: query.type,
        actor: query.actor,
        subject: query.subject,
        before,
        limit: query.limit,
      });
      const last = items[items.length - 1];
      return { body: { items, next_cursor: more && last ? encodeCursor(last.id) : null } };
    },
  }),
];

const roles: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/roles',
    operationId: 'listRoles',
    summary: 'list roles (RBAC) with their permissions, users and clients',
    scope: 'admin:roles:read',
    query: pageQuery,
    handle: ({ services, query }) =>
      page(query.limit, query.cursor, services.roles.page, (r) => [r.createdAt.toISOString(), r.id], roleView),
  }),
  route({
    method: 'POST',
    path: '/roles',
    operationId: 'createRole',
    summary: 'create a role, with permissions (API scopes) or none yet',
    scope: 'admin:roles:write',
    body: roleCreate,
    creates: true,
    handle: async ({ services, body }) => {
      const role = await services.roles.create(body);
      return { status: 201, body: role, location: `${ADMIN_PREFIX}/roles/${encodeURIComponent(role.name)}` };
    },
  }),
  route({
    method: 'GET',
    path: '/roles/:role',
    operationId: 'getRole',
    summary: 'show a role: its permissions, users and clients',
    scope: 'admin:roles:read',
    handle: async ({ services, params }) => ({ body: await services.roles.show(params.role!) }),
  }),
  route({
    method: 'DELETE',
    path: '/roles/:role',
    operationId: 'deleteRole',
    summary: 'delete a role; its users and clients lose its permissions at their next token',
    scope: 'admin:roles:write',
    handle: async ({ services, params }) => {
      await services.roles.delete(params.role!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/roles/:role/permissions',
    operationId: 'grantRolePermission',
    summary: 'grant scopes of an API to the role; the role as it is now',
    scope: 'admin:roles:write',
    body: rolePermission,
    handle: async ({ services, params, body }) => ({ body: await services.roles.grantPermission(params.role!, body) }),
  }),
  route({
    method: 'DELETE',
    path: '/roles/:role/permissions',
    operationId: 'revokeRolePermission',
    summary: 'revoke scopes of an API (named in the query) from the role',
    scope: 'admin:roles:write',
    query: rolePermission,
    handle: async ({ services, params, query }) => {
      await services.roles.revokePermission(params.role!, query);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/users/:user/roles',
    operationId: 'assignUserRole',
    summary: "give a user a role: their next token (or refresh) carries its permissions; the user's roles",
    scope: 'admin:roles:write',
    body: roleAssignment,
    handle: async ({ services, params, body }) => ({
      body: await services.roles.assignToUser(params.user!, body.role),
    }),
  }),
  route({
    method: 'DELETE',
    path: '/users/:user/roles/:role',
    operationId: 'removeUserRole',
    summary: 'take a role from a user',
    scope: 'admin:roles:write',
    handle: async ({ services, params }) => {
      await services.roles.removeFromUser(params.user!, params.role!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/clients/:client_id/roles',
    operationId: 'assignClientRole',
    summary: "give a client a role (its client-credentials tokens carry its permissions); the client's roles",
    scope: 'admin:roles:write',
    body: roleAssignment,
    handle: async ({ services, params, body }) => ({
      body: await services.roles.assignToClient(params.client_id!, body.role),
    }),
  }),
  route({
    method: 'DELETE',
    path: '/clients/:client_id/roles/:role',
    operationId: 'removeClientRole',
    summary: 'take a role from a client',
    scope: 'admin:roles:write',
    handle: async ({ services, params }) => {
      await services.roles.removeFromClient(params.client_id!, params.role!);
      return { status: 204 };
    },
  }),
];

/** One scope per permission, as organizations store them: `{api, scope: "a b"}` is two. */
const organizationPermissions = (permissions: { api: string; scope: string }[]) =>
  permissions.flatMap((p) =>
    p.scope
      .split(/\s+/)
      .filter(Boolean)
      .map((scope) => ({ audience: p.api, scope })),
  );

const organizations: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/organizations',
    operationId: 'listOrganizations',
    summary: 'list organizations with their numbers of members and roles',
    scope: 'admin:orgs:read',
    query: pageQuery,
    handle: ({ services, query }) =>
      page(
        query.limit,
        query.cursor,
        services.organizations.page,
        (o) => [o.createdAt.toISOString(), o.id],
        (o) => ({ ...organizationView(o), members: o._count.members, roles: o._count.roles }),
      ),
  }),
  route({
    method: 'POST',
    path: '/organizations',
    operationId: 'createOrganization',
    summary: 'create an organization',
    scope: 'admin:orgs:write',
    body: organizationCreate,
    creates: true,
    handle: async ({ services, body }) => {
      const org = await services.organizations.create({
        name: body.name,
        displayName: body.display_name,
        allowedEmailDomains: body.allowed_email_domains,
        mfaRequired: body.mfa_required,
      });
      return {
        status: 201,
        body: organizationView(org),
        version: org.updatedAt.toISOString(),
        location: `${ADMIN_PREFIX}/organizations/${org.id}`,
      };
    },
  }),
  route({
    method: 'GET',
    path: '/organizations/:org',
    operationId: 'getOrganization',
    summary: 'show an organization, by id or name, with its roles and members',
    scope: 'admin:orgs:read',
    handle: async ({ services, params }) => {
      const org = await services.organizations.show(params.org!);
      return { body: organizationDetailView(org), version: org.updatedAt.toISOString() };
    },
  }),
  route({
    method: 'PATCH',
    path: '/organizations/:org',
    operationId: 'updateOrganization',
    summary: "change an organization's settings; those not given stay (allowed_email_domains whole)",
    scope: 'admin:orgs:write',
    body: organizationUpdate,
    conditional: true,
    handle: async ({ services, params, body, version }) => {
      if (Object.keys(body).length === 0) throw new InvalidInput('nothing to change: give at least one setting');
      const { organization, changed } = await services.organizations.update(
        params.org!,
        {
          displayName: body.display_name,
          allowedEmailDomains: body.allowed_email_domains,
          mfaRequired: body.mfa_required,
        },
        { version },
      );
      return { body: { ...organizationView(organization), changed }, version: organization.updatedAt.toISOString() };
    },
  }),
  route({
    method: 'DELETE',
    path: '/organizations/:org',
    operationId: 'deleteOrganization',
    summary: 'delete an organization with its roles and memberships',
    scope: 'admin:orgs:write',
    handle: async ({ services, params }) => {
      await services.organizations.delete(params.org!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/organizations/:org/members',
    operationId: 'addOrganizationMember',
    summary: 'make a user a member (added: false when they were one already)',
    scope: 'admin:orgs:write',
    body: organizationMember,
    handle: async ({ services, params, body }) => ({
      body: { user: body.user, added: await services.organizations.addMember(params.org!, body.user) },
    }),
  }),
  route({
    method: 'DELETE',
    path: '/organizations/:org/members/:user',
    operationId: 'removeOrganizationMember',
    summary: 'remove a member with their roles in the organization (their next refresh there fails)',
    scope: 'admin:orgs:write',
    handle: async ({ services, params }) => {
      await services.organizations.removeMember(params.org!, params.user!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/organizations/:org/roles',
    operationId: 'createOrganizationRole',
    summary: 'create a role of the organization: named API permissions for its members',
    scope: 'admin:orgs:write',
    body: organizationRoleCreate,
    creates: true,
    handle: async ({ services, params, body }) => {
      const permissions = organizationPermissions(body.permissions);
      await services.organizations.createRole(params.org!, {
        name: body.name,
        description: body.description,
        permissions,
      });
      return {
        status: 201,
        body: { name: body.name, description: body.description ?? '', permissions },
        location: `${ADMIN_PREFIX}/organizations/${encodeURIComponent(params.org!)}`,
      };
    },
  }),
  route({
    method: 'DELETE',
    path: '/organizations/:org/roles/:role',
    operationId: 'deleteOrganizationRole',
    summary: 'delete a role of the organization (its members lose it)',
    scope: 'admin:orgs:write',
    handle: async ({ services, params }) => {
      await services.organizations.deleteRole(params.org!, params.role!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/organizations/:org/members/:user/roles',
    operationId: 'assignOrganizationRole',
    summary: "give a member one of the organization's roles (assigned: false when they held it)",
    scope: 'admin:orgs:write',
    body: roleAssignment,
    handle: async ({ services, params, body }) => ({
      body: {
        user: params.user,
        role: body.role,
        assigned: await services.organizations.assignRole(params.org!, params.user!, body.role),
      },
    }),
  }),
  route({
    method: 'DELETE',
    path: '/organizations/:org/members/:user/roles/:role',
    operationId: 'removeOrganizationRole',
    summary: "take one of the organization's roles from a member",
    scope: 'admin:orgs:write',
    handle: async ({ services, params }) => {
      await services.organizations.removeRole(params.org!, params.user!, params.role!);
      return { status: 204 };
    },
  }),
];

const apiKeys: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/api-keys',
    operationId: 'listApiKeys',
    summary: "list API keys (never the keys themselves), or one API's only",
    scope: 'admin:api_keys:read',
    query: apiKeyListQuery,
    handle: ({ services, query }) =>
      page(
        query.limit,
        query.cursor,
        (take, after) => services.apiKeys.page(take, after, query.api),
        (k) => [k.created_at, k.id],
      ),
  }),
  route({
    method: 'POST',
    path: '/api-keys',
    operationId: 'createApiKey',
    summary: 'create an API key for one API; its value is in this answer only',
    scope: 'admin:api_keys:write',
    body: apiKeyCreate,
    creates: true,
    handle: async ({ services, body }) => {
      const { key, value } = await services.apiKeys.create({
        name: body.name,
        audience: body.api,
        scope: body.scope,
        clientId: body.client_id,
        userEmail: body.user,
        expiresIn: body.expires_in,
        quota: body.quota && { perMinute: body.quota.per_minute, perDay: body.quota.per_day },
      });
      return { status: 201, body: { ...key, value }, location: `${ADMIN_PREFIX}/api-keys/${key.id}` };
    },
  }),
  route({
    method: 'GET',
    path: '/api-keys/:key_id',
    operationId: 'getApiKey',
    summary: 'show an API key (by its hint only)',
    scope: 'admin:api_keys:read',
    handle: async ({ services, params }) => ({ body: await services.apiKeys.show(params.key_id!) }),
  }),
  route({
    method: 'POST',
    path: '/api-keys/:key_id/revoke',
    operationId: 'revokeApiKey',
    summary: 'revoke an API key: introspection answers active: false from now on',
    scope: 'admin:api_keys:write',
    handle: async ({ services, params }) => ({ body: await services.apiKeys.revoke(params.key_id!) }),
  }),
  route({
    method: 'POST',
    path: '/api-keys/:key_id/rotate',
    operationId: 'rotateApiKey',
    summary: 'give an API key a new value (in this answer only); the old one works for grace_seconds',
    scope: 'admin:api_keys:write',
    body: apiKeyRotation,
    handle: async ({ services, params, body }) => {
      const { key, value } = await services.apiKeys.rotate(params.key_id!, body.grace_seconds ?? 0);
      return { status: 201, body: { ...key, value } };
    },
  }),
  route({
    method: 'GET',
    path: '/api-keys/:key_id/usage',
    operationId: 'getApiKeyUsage',
    summary: 'requests per UTC day since `since` (default 30 days), and the last use',
    scope: 'admin:api_keys:read',
    query: apiKeyUsageQuery,
    handle: async ({ services, params, query }) => ({
      // 30 days: the CLI's default (`tessera api-keys usage`).
      body: await services.apiKeys.usage(
        params.key_id!,
        query.since ? new Date(query.since) : new Date(Date.now() - 30 * 86_400_000),
      ),
    }),
  }),
];

// ---- Admin console (issue 19): a client's grants, by client ----

const clientGrants: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/clients/:client_id/grants',
    operationId: 'listClientGrants',
    summary: "list a client's grants (which users authorized it, what, and when), newest first",
    scope: 'admin:grants:read',
    query: pageQuery,
    handle: async ({ services, params, query }) => {
      // 404 for a client that does not exist, rather than an empty list that looks like an answer.
      await services.clients.show(params.client_id!);
      return page(
        query.limit,
        query.cursor,
        (take, before) => services.grants.listByClient(params.client_id!, take, before),
        (g) => [g.granted_at ?? new Date(0).toISOString(), g.grant_id],
      );
    },
  }),
];

// ---- end of the admin console's block ----

// `tessera webhooks` (services/webhooks.ts). Few per deployment, so a list is one page; the
// delivery log is read newest first, as many as asked for. The signing secret is in the answer
// of a create or a rotation only (stored sealed): as the CLI prints it once.
const webhooks: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/webhooks',
    operationId: 'listWebhooks',
    summary: 'list webhooks (never their secrets)',
    scope: 'admin:webhooks:read',
    handle: async ({ services }) => ({ body: { items: await services.webhooks.list(), next_cursor: null } }),
  }),
  route({
    method: 'POST',
    path: '/webhooks',
    operationId: 'createWebhook',
    summary: 'subscribe a URL to event types; the signing secret is in this answer only',
    scope: 'admin:webhooks:write',
    body: webhookCreate,
    creates: true,
    handle: async ({ services, body }) => {
      const hook = await services.webhooks.create(body);
      return { status: 201, body: hook, location: `${ADMIN_PREFIX}/webhooks/${hook.id}` };
    },
  }),
  route({
    method: 'GET',
    path: '/webhooks/:webhook_id',
    operationId: 'getWebhook',
    summary: 'show a webhook (never its secret)',
    scope: 'admin:webhooks:read',
    handle: async ({ services, params }) => ({ body: await services.webhooks.show(params.webhook_id!) }),
  }),
  route({
    method: 'DELETE',
    path: '/webhooks/:webhook_id',
    operationId: 'deleteWebhook',
    summary: 'delete a webhook and its delivery log',
    scope: 'admin:webhooks:write',
    handle: async ({ services, params }) => {
      await services.webhooks.remove(params.webhook_id!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/webhooks/:webhook_id/secrets',
    operationId: 'rotateWebhookSecret',
    summary: 'a new signing secret (in this answer only); deliveries carry both signatures for overlap_seconds',
    scope: 'admin:webhooks:write',
    body: webhookSecretRotation,
    handle: async ({ services, params, body }) => ({
      status: 201,
      body: await services.webhooks.rotateSecret(params.webhook_id!, body.overlap_seconds ?? DEFAULT_SECRET_OVERLAP),
    }),
  }),
  route({
    method: 'GET',
    path: '/webhook-deliveries',
    operationId: 'listWebhookDeliveries',
    summary: 'the delivery log, newest first, of one webhook or all, by status',
    scope: 'admin:webhooks:read',
    query: deliveryListQuery,
    handle: async ({ services, query }) => ({
      // No cursor: the log is read from its newest end, `limit` deep, as `tessera webhooks deliveries`.
      body: {
        items: await services.webhooks.deliveries({
          webhookId: query.webhook,
          status: query.status,
          limit: query.limit,
        }),
        next_cursor: null,
      },
    }),
  }),
  route({
    method: 'POST',
    path: '/webhook-deliveries/:delivery_id/redeliver',
    operationId: 'redeliverWebhookDelivery',
    summary: 'send a delivery again (the same event id), now',
    scope: 'admin:webhooks:write',
    handle: async ({ services, params }) => {
      await services.webhooks.redeliver(params.delivery_id!);
      return { status: 202, body: { redelivered: params.delivery_id } };
    },
  }),
];

// `tessera dcr` (services/dcr.ts). An initial access token is in the answer of its create only.
const dcr: AdminRoute[] = [
  route({
    method: 'GET',
    path: '/dcr/initial-tokens',
    operationId: 'listInitialAccessTokens',
    summary: 'list initial access tokens for DCR=initial-token (never the tokens themselves)',
    scope: 'admin:dcr:read',
    // A handful per deployment: one page.
    handle: async ({ services }) => ({ body: { items: await services.dcr.listTokens(), next_cursor: null } }),
  }),
  route({
    method: 'POST',
    path: '/dcr/initial-tokens',
    operationId: 'createInitialAccessToken',
    summary: 'issue an initial access token that lets apps register themselves; the token is in this answer only',
    scope: 'admin:dcr:write',
    body: initialTokenCreate,
    creates: true,
    handle: async ({ services, body }) => {
      const created = await services.dcr.createToken({
        maxUses: body.max_uses ?? 1,
        expiresIn: body.expires_in ?? DEFAULT_INITIAL_TOKEN_TTL,
        description: body.description ?? '',
      });
      return { status: 201, body: created };
    },
  }),
  route({
    method: 'DELETE',
    path: '/dcr/initial-tokens/:token_id',
    operationId: 'revokeInitialAccessToken',
    summary: 'revoke an initial access token',
    scope: 'admin:dcr:write',
    handle: async ({ services, params }) => {
      await services.dcr.revokeToken(params.token_id!);
      return { status: 204 };
    },
  }),
  route({
    method: 'POST',
    path: '/clients/:client_id/approval',
    operationId: 'approveRegisteredClient',
    summary: 'mark a self-registered client as reviewed: its consent page stops warning users',
    scope: 'admin:dcr:write',
    handle: async ({ services, params }) => {
      await services.dcr.approve(params.client_id!);
      return { body: { approved: params.client_id } };
    },
  }),
];

/** Every operation of the admin API. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...apis,
  ...clients,
  ...users,
  ...security,
  ...mfa,
  ...grants,
  ...sessions,
  ...keys,
  ...audit,
  ...roles,
  ...organizations,
  ...apiKeys,
  ...clientGrants,
  ...webhooks,
  ...dcr,
];
