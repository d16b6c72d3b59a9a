// roles, role_permissions, user_roles and client_roles (RBAC): admin work, on Prisma. The token
// paths read roles with the account (users.ts ACCOUNT_JSON) and with the client (clients.ts
// findSnapshot), never through this module.
import type { PrismaClient } from '../client.ts';
import type { Prisma } from '../generated/client.ts';
import { afterPosition, type PagePosition } from './paging.ts';

const withDetails = {
  permissions: { select: { scope: true, api: { select: { audience: true } } }, orderBy: { createdAt: 'asc' } },
  users: { select: { user: { select: { id: true, email: true } } }, orderBy: { createdAt: 'asc' } },
  clients: { select: { clientId: true }, orderBy: { createdAt: 'asc' } },
} satisfies Prisma.RoleInclude;

export type RoleRecord = Prisma.RoleGetPayload<{ include: typeof withDetails }>;

/** A permission by the API's id: what role_permissions stores. */
export interface PermissionRow {
  apiId: string;
  scope: string;
}

export function roleQueries(prisma: PrismaClient) {
  return {
    find: (name: string): Promise<RoleRecord | null> =>
      prisma.role.findUnique({ where: { name }, include: withDetails }),
    /** The roles with these names (those that exist). */
    findManyByName: (names: string[]) =>
      prisma.role.findMany({ where: { name: { in: names } }, select: { id: true, name: true } }),
    list: (): Promise<RoleRecord[]> => prisma.role.findMany({ include: withDetails, orderBy: { name: 'asc' } }),
    /** Up to `limit` roles after `after` in (created_at, id) order: the admin API's pages. */
    page: (limit: number, after?: PagePosition): Promise<RoleRecord[]> =>
      prisma.role.findMany({
        where: after ? afterPosition(after) : {},
        include: withDetails,
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: limit,
      }),
    create: (name: string, description: string) => prisma.role.create({ data: { name, description } }),
    setDescription: (id: string, description: string) => prisma.role.update({ where: { id }, data: { description } }),
    async delete(name: string): Promise<boolean> {
      return (await prisma.role.deleteMany({ where: { name } })).count === 1;
    },

    /** Adds the permissions the role does not have yet; how many were new. */
    async grant(roleId: string, permissions: PermissionRow[]): Promise<number> {
      if (permissions.length === 0) return 0;
      const { count } = await prisma.rolePermission.createMany({
        data: permissions.map((p) => ({ roleId, ...p })),
        skipDuplicates: true,
      });
      return count;
    },
    /** Takes these permissions from the role; how many it had. */
    async revoke(roleId: string, permissions: PermissionRow[]): Promise<number> {
      if (permissions.length === 0) return 0;
      const { count } = await prisma.rolePermission.deleteMany({
        where: { roleId, OR: permissions.map((p) => ({ apiId: p.apiId, scope: p.scope })) },
      });
      return count;
    },
    /** Makes the role's permissions exactly these, in one transaction (the seed file). */
    async replacePermissions(roleId: string, permissions: PermissionRow[]): Promise<void> {
      await prisma.$transaction([
        prisma.rolePermission.deleteMany({ where: { roleId } }),
        prisma.rolePermission.createMany({ data: permissions.map((p) => ({ roleId, ...p })), skipDuplicates: true }),
      ]);
    },

    async assignUser(userId: string, roleId: string): Promise<boolean> {
      const { count } = await prisma.userRole.createMany({ data: [{ userId, roleId }], skipDuplicates: true });
      return count === 1;
    },
    async removeUser(userId: string, roleId: string): Promise<boolean> {
      return (await prisma.userRole.deleteMany({ where: { userId, roleId } })).count === 1;
    },
    async assignClient(clientId: string, roleId: string): Promise<boolean> {
      const { count } = await prisma.clientRole.createMany({ data: [{ clientId, roleId }], skipDuplicates: true });
      return count === 1;
    },
    async removeClient(clientId: string, roleId: string): Promise<boolean> {
      return (await prisma.clientRole.deleteMany({ where: { clientId, roleId } })).count === 1;
    },
    /** The names of the user's roles, sorted. */
    async ofUser(userId: string): Promise<string[]> {
      const rows = await prisma.userRole.findMany({ where: { userId }, select: { role: { select: { name: true } } } });
      return rows.map((r) => r.role.name).sort();
    },
    /** The names of the client's roles, sorted. */
    async ofClient(clientId: string): Promise<string[]> {
      const rows = await prisma.clientRole.findMany({
        where: { clientId },
        select: { role: { select: { name: true } } },
      });
      return rows.map((r) => r.role.name).sort();
    },
    /** Makes the user's roles exactly these, in one transaction (the seed file). */
    async replaceUserRoles(userId: string, roleIds: string[]): Promise<void> {
      await prisma.$transaction([
        prisma.userRole.deleteMany({ where: { userId, roleId: { notIn: roleIds } } }),
        prisma.userRole.createMany({ data: roleIds.map((roleId) => ({ userId, roleId })), skipDuplicates: true }),
      ]);
    },
    /** Makes the client's roles exactly these, in one transaction (the seed file). */
    async replaceClientRoles(clientId: string, roleIds: string[]): Promise<void> {
      await prisma.$transaction([
        prisma.clientRole.deleteMany({ where: { clientId, roleId: { notIn: roleIds } } }),
        prisma.clientRole.createMany({ data: roleIds.map((roleId) => ({ clientId, roleId })), skipDuplicates: true }),
      ]);
    },
  };
}

export type RoleQueries = ReturnType<typeof roleQueries>;
