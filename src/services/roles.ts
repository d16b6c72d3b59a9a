// Roles (RBAC): create, delete, grant and revoke permissions, assign to users and clients; the
// admin side of services/rbac.ts. Every change is audited. Caches hear of it without help: the
// client catalog's notifications cover client_roles, roles and role_permissions (migration
// rbac), and users' roles are read with the account on every request.
import type { ApiQueries } from '../db/queries/apis.ts';
import type { ClientQueries } from '../db/queries/clients.ts';
import type { PagePosition } from '../db/queries/paging.ts';
import type { PermissionRow, RoleQueries, RoleRecord } from '../db/queries/roles.ts';
import { createOrConflict, InvalidInput, NotFound } from '../errors.ts';
import { noAudit, type Audit } from './audit.ts';
import { ROLE_NAME } from './rbac.ts';
import { parseScopes } from './scopes.ts';

/** A role as an admin sees it (`tessera roles show|list`, and their --json). */
export function roleView(r: RoleRecord) {
  return {
    name: r.name,
    description: r.description,
    permissions: r.permissions.map((p) => ({ api: p.api.audience, scope: p.scope })),
    users: r.users.map((u) => u.user.email),
    clients: r.clients.map((c) => c.clientId),
    created_at: r.createdAt.toISOString(),
  };
}

export type RoleView = ReturnType<typeof roleView>;

/** Permissions named by an API's audience and its scopes. */
export interface PermissionInput {
  api: string;
  scope: string;
}

// A description is shown to admins; a paragraph is plenty.
const MAX_DESCRIPTION = 500;

export function checkRoleName(name: string): string {
  if (!ROLE_NAME.test(name))
    throw new InvalidInput(
      `role name ${JSON.stringify(name)} must start with a letter or digit and have only letters, digits, '.', '_', ':' or '-' (at most 64)`,
    );
  return name;
}

export function checkDescription(description: string | undefined): string {
  const text = (description ?? '').trim();
  if (text.length > MAX_DESCRIPTION)
    throw new InvalidInput(`a role description has at most ${MAX_DESCRIPTION} characters`);
  return text;
}

export function roleService(
  deps: {
    roles: RoleQueries;
    apis: Pick<ApiQueries, 'findByAudience'>;
    clients: Pick<ClientQueries, 'exists'>;
    /** A user by id or email, or NotFound (services/users.ts find). */
    findUser: (idOrEmail: string) => Promise<{ id: string; email: string }>;
  },
  audit: Audit = noAudit,
  actor = 'system',
) {
  const { roles } = deps;

  async function get(name: string): Promise<RoleRecord> {
    const role = await roles.find(name);
    if (!role) throw new NotFound(`no role ${name}`);
    return role;
  }

  /** The permissions as rows, each scope checked against the API that must define it. */
  async function permissionRows(input: PermissionInput[]): Promise<PermissionRow[]> {
    const rows: PermissionRow[] = [];
    for (const { api: audience, scope } of input) {
      const api = await deps.apis.findByAudience(audience);
      if (!api) throw new NotFound(`no API has audience ${audience}`);
      const scopes = parseScopes(scope, { forApi: true });
      if (scopes.length === 0) throw new InvalidInput(`name the scopes of ${audience} to grant`);
      for (const s of scopes) {
        if (!api.scopes.includes(s)) throw new InvalidInput(`API ${audience} defines no scope ${s}`);
        rows.push({ apiId: api.id, scope: s });
      }
    }
    return rows;
  }

  /** Role ids by name; every name must be a role. */
  async function roleIds(names: string[]): Promise<Map<string, string>> {
    const found = await roles.findManyByName(names);
    const missing = [...new Set(names)].filter((n) => !found.some((r) => r.name === n));
    if (missing.length) throw new NotFound(`no role ${missing.join(', ')}`);
    return new Map(found.map((r) => [r.name, r.id]));
  }

  async function client(id: string) {
    if (!(await deps.clients.exists(id))) throw new NotFound(`no client has id ${id}`);
    return id;
  }

  return {
    get,
    permissionRows,
    list: async () => (await roles.list()).map(roleView),
    /** A page in (created_at, id) order (the admin API). */
    page: (limit: number, after?: PagePosition) => roles.page(limit, after),
    show: async (name: string) => roleView(await get(name)),

    async create(input: { name: string; description?: string | undefined; permissions?: PermissionInput[] }) {
      const name = checkRoleName(input.name);
      const description = checkDescription(input.description);
      const rows = await permissionRows(input.permissions ?? []);
      const role = await createOrConflict(() => roles.create(name, description), `a role named ${name} exists already`);
      await roles.grant(role.id, rows);
      await audit.record({
        type: 'role.created',
        actor,
        subject: name,
        details: { permissions: (input.permissions ?? []).map((p) => `${p.api} ${p.scope}`) },
      });
      return roleView(await get(name));
    },

    /**
     * Creates or updates the role to match (the seed file): its description, and exactly these
     * permissions. The permissions are checked before anything is written.
     */
    async apply(input: {
      name: string;
      description?: string | undefined;
      permissions: PermissionInput[];
    }): Promise<'created' | 'updated' | 'unchanged'> {
      const name = checkRoleName(input.name);
      const description = checkDescription(input.description);
      const rows = await permissionRows(input.permissions);
      const existing = await roles.find(name);
      if (!existing) {
        const role = await roles.create(name, description);
        await roles.grant(role.id, rows);
        await audit.record({ type: 'role.created', actor, subject: name });
        return 'created';
      }
      const key = (p: { api: string; scope: string }) => `${p.api} ${p.scope}`;
      const before = existing.permissions.map((p) => key({ api: p.api.audience, scope: p.scope })).sort();
      const after = [
        ...new Set(input.permissions.flatMap((p) => parseScopes(p.scope).map((s) => key({ api: p.api, scope: s })))),
      ].sort();
      const samePermissions = before.join('\n') === after.join('\n');
      if (samePermissions && existing.description === description) return 'unchanged';
      if (existing.description !== description) await roles.setDescription(existing.id, description);
      if (!samePermissions) await roles.replacePermissions(existing.id, rows);
      await audit.record({ type: 'role.updated', actor, subject: name, details: { permissions: after } });
      return 'updated';
    },

    /** Makes the user's roles exactly these (the seed file); whether anything changed. */
    async setUserRoles(userId: string, names: string[]): Promise<boolean> {
      const wanted = await roleIds(names);
      const before = await roles.ofUser(userId);
      if (before.join(' ') === [...wanted.keys()].sort().join(' ')) return false;
      await roles.replaceUserRoles(userId, [...wanted.values()]);
      await audit.record({
        type: 'user.updated',
        actor,
        subject: userId,
        details: { roles: [...wanted.keys()].sort() },
      });
      return true;
    },

    /** Makes the client's roles exactly these (the seed file); whether anything changed. */
    async setClientRoles(clientId: string, names: string[]): Promise<boolean> {
      const wanted = await roleIds(names);
      const before = await roles.ofClient(clientId);
      if (before.join(' ') === [...wanted.keys()].sort().join(' ')) return false;
      await roles.replaceClientRoles(clientId, [...wanted.values()]);
      await audit.record({
        type: 'client.updated',
        actor,
        subject: clientId,
        details: { roles: [...wanted.keys()].sort() },
      });
      return true;
    },

    /** The names among these that are no role, for checking a seed file before it is applied. */
    async unknown(names: string[]): Promise<string[]> {
      const found = new Set((await roles.findManyByName(names)).map((r) => r.name));
      return [...new Set(names)].filter((n) => !found.has(n));
    },

    async delete(name: string) {
      if (!(await roles.delete(name))) throw new NotFound(`no role ${name}`);
      await audit.record({ type: 'role.deleted', actor, subject: name });
    },

    async grantPermission(name: string, permission: PermissionInput) {
      const role = await get(name);
      const added = await roles.grant(role.id, await permissionRows([permission]));
      if (added > 0)
        await audit.record({
          type: 'role.permission_granted',
          actor,
          subject: name,
          details: { api: permission.api, scope: permission.scope },
        });
      return roleView(await get(name));
    },

    async revokePermission(name: string, permission: PermissionInput) {
      const role = await get(name);
      const removed = await roles.revoke(role.id, await permissionRows([permission]));
      if (removed > 0)
        await audit.record({
          type: 'role.permission_revoked',
          actor,
          subject: name,
          details: { api: permission.api, scope: permission.scope },
        });
      return roleView(await get(name));
    },

    /** Assigns the role to the user; the user's roles after it. */
    async assignToUser(who: string, name: string): Promise<{ user: string; roles: string[] }> {
      const user = await deps.findUser(who);
      const role = await get(name);
      if (await roles.assignUser(user.id, role.id))
        await audit.record({ type: 'user.role_assigned', actor, subject: user.id, details: { role: name } });
      return { user: user.email, roles: await roles.ofUser(user.id) };
    },

    async removeFromUser(who: string, name: string): Promise<{ user: string; roles: string[] }> {
      const user = await deps.findUser(who);
      const role = await get(name);
      if (!(await roles.removeUser(user.id, role.id)))
        throw new NotFound(`user ${user.email} does not have role ${name}`);
      await audit.record({ type: 'user.role_removed', actor, subject: user.id, details: { role: name } });
      return { user: user.email, roles: await roles.ofUser(user.id) };
    },

    async assignToClient(clientId: string, name: string): Promise<{ client: string; roles: string[] }> {
      await client(clientId);
      const role = await get(name);
      if (await roles.assignClient(clientId, role.id))
        await audit.record({ type: 'client.role_assigned', actor, subject: clientId, details: { role: name } });
      return { client: clientId, roles: await roles.ofClient(clientId) };
    },

    async removeFromClient(clientId: string, name: string): Promise<{ client: string; roles: string[] }> {
      await client(clientId);
      const role = await get(name);
      if (!(await roles.removeClient(clientId, role.id)))
        throw new NotFound(`client ${clientId} does not have role ${name}`);
      await audit.record({ type: 'client.role_removed', actor, subject: clientId, details: { role: name } });
      return { client: clientId, roles: await roles.ofClient(clientId) };
    },
  };
}

export type RoleService = ReturnType<typeof roleService>;
