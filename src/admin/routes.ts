// The admin API's operations, as one table: method, path, the scope it needs, the schemas its
// query and body must satisfy, and the handler over the same services the CLI runs
// (services/admin-services.ts). The router (admin-api.ts) and the OpenAPI document (openapi.ts)
// are both made from this table, so that neither can list an operation the other lacks.
//
// Roles, organizations, API keys and webhooks add their operations as further groups in
// ADMIN_ROUTES below, with their scopes in services/admin-api.ts.
import type { Context } from 'koa';
import type { z } from 'zod';
import { InvalidInput, PreconditionFailed, PreconditionRequired } from '../errors.ts';
import type { PagePosition } from '../db/queries/paging.ts';
import type { Queries } from '../db/queries/index.ts';
import type { AdminScope } from '../services/admin-api.ts';
import type { AdminServices } from '../services/admin-services.ts';
import { type ClientInput, inputFromMetadata } from '../services/client-metadata.ts';
import { DEFAULT_SECRET_GRACE } from '../services/clients.ts';
import type { AdminCaller } from './auth.ts';
import {
  apiCreate,
  apiDeleteQuery,
  auditQuery,
  clientCreate,
  clientUpdate,
  grantRevokeQuery,
  keyRetirement,
  pageQuery,
  searchPageQuery,
  secretRotation,
  userCreate,
  userUpdate,
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
  createdAt: Date;
}) => ({
  audience: api.audience,
  name: api.name,
  scopes: api.scopes,
  access_token_ttl: api.accessTokenTtl,
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
      const user = await services.users.create({
        email: body.email,
        password: body.password,
        name: body.name,
        givenName: body.given_name,
        familyName: body.family_name,
        emailVerified: body.email_verified === true,
      });
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
    summary: 'disable or enable a user (disabled: sign-in, sessions and refresh tokens stop working)',
    scope: 'admin:users:write',
    body: userUpdate,
    conditional: true,
    handle: async ({ services, params, body, version }) => {
      const user = await services.users.setDisabled(params.user!, body.disabled, { version });
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
      const user = await services.users.delete(params.user!);
      for (const grant of await services.grants.list(user.id)) await services.grants.revoke(grant.grant_id);
      return { status: 204 };
    },
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
    handle: async ({ queries, query }) => {
      let before: bigint | undefined;
      if (query.cursor !== undefined) {
        const value = decodeCursor(query.cursor);
        if (typeof value !== 'string' || !/^\d{1,19}$/.test(value))
          throw new InvalidInput('cursor is not one this API gave out');
        before = BigInt(value);
      }
      const rows = await queries.auditEvents.list({
        since: query.since ? new Date(query.since) : undefined,
        type: query.type,
        actor: query.actor,
        subject: query.subject,
        before,
        limit: query.limit + 1,
      });
      const items = rows.slice(0, query.limit).map((e) => ({
        id: String(e.id),
        time: e.createdAt.toISOString(),
        type: e.type,
        actor: e.actor,
        subject: e.subject,
        ip: e.ip,
        details: e.details,
      }));
      const last = items[items.length - 1];
      return { body: { items, next_cursor: rows.length > query.limit && last ? encodeCursor(last.id) : null } };
    },
  }),
];

/** Every operation of the admin API. Roles, organizations, API keys and webhooks go here too. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...apis,
  ...clients,
  ...users,
  ...security,
  ...grants,
  ...sessions,
  ...keys,
  ...audit,
];
