// organizations, their roles and members (multi-tenant B2B, README "Organizations").
//
// Administration goes through Prisma. The token path's read (membership) and the just-in-time
// join are single statements on the pool, each an index probe by primary key, so that their cost
// does not depend on how many organizations or memberships there are (bench/ "organizations").
import type pg from 'pg';
import type { PrismaClient } from '../client.ts';
import { PreconditionFailed } from '../../errors.ts';
import { afterPosition, type PagePosition } from './paging.ts';
import { isUserId } from './users.ts';

export interface OrganizationWrite {
  name: string;
  displayName: string;
  allowedEmailDomains: string[];
  mfaRequired: boolean;
}

/** A user's standing in one organization, as a token request needs it. */
export interface Membership {
  id: string;
  name: string;
  displayName: string;
  mfaRequired: boolean;
  member: boolean;
  /** The member's organization roles, each with its permissions as [audience, scope] pairs. */
  roles: { name: string; permissions: [string, string][] | null }[];
}

// The organization, whether the user is a member, and the member's roles with their permissions
// ([audience, scope] pairs, the shape of the account statement's roles: services/rbac.ts), in
// one statement. $1 the organization (by id or by name: WHERE_ORG), $2 the user.
const membershipSql = (where: string) => `SELECT o.id, o.name, o.display_name, o.mfa_required,
    (m.user_id IS NOT NULL) AS member,
    (SELECT json_agg(json_build_object('name', r.name, 'permissions',
        (SELECT json_agg(json_build_array(a.audience, p.scope)) FROM organization_role_permissions p
          JOIN apis a ON a.id = p.api_id WHERE p.role_id = r.id)))
      FROM organization_member_roles mr JOIN organization_roles r ON r.id = mr.role_id
      WHERE mr.organization_id = o.id AND mr.user_id = $2) AS roles
  FROM organizations o
  LEFT JOIN organization_members m ON m.organization_id = o.id AND m.user_id = $2
  WHERE ${where}`;
const MEMBERSHIP_BY_ID = membershipSql('o.id = $1::uuid');
const MEMBERSHIP_BY_NAME = membershipSql('o.name = $1');

// Just-in-time membership: the user joins when their email is verified and its domain is one of
// the organization's allowed domains. One statement decides and inserts, so two concurrent first
// requests make one membership, and a user whose email changed in between is not let in.
const JOIN_BY_EMAIL_DOMAIN = `INSERT INTO organization_members (organization_id, user_id)
  SELECT o.id, u.id FROM organizations o JOIN users u ON u.id = $2::uuid
  WHERE o.id = $1::uuid AND u.email_verified AND NOT u.disabled
    AND substring(u.email_normalized from '@([^@]+)$') = ANY (o.allowed_email_domains)
  ON CONFLICT DO NOTHING`;

// Whether a request for the organization must pass a second factor: it requires MFA and the user
// is a member, or would join just in time (JOIN_BY_EMAIL_DOMAIN's condition). Not for anyone
// else: they are refused access_denied as for an organization that does not exist, without first
// being asked for a factor (which would tell that the organization exists and requires MFA).
const mfaRequiredSql = (where: string) => `SELECT o.mfa_required AND (
    EXISTS (SELECT 1 FROM organization_members m WHERE m.organization_id = o.id AND m.user_id = $2::uuid)
    OR EXISTS (SELECT 1 FROM users u WHERE u.id = $2::uuid AND u.email_verified AND NOT u.disabled
      AND substring(u.email_normalized from '@([^@]+)$') = ANY (o.allowed_email_domains))) AS required
  FROM organizations o WHERE ${where}`;
const MFA_REQUIRED_BY_ID = mfaRequiredSql('o.id = $1::uuid');
const MFA_REQUIRED_BY_NAME = mfaRequiredSql('o.name = $1');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const detail = {
  roles: {
    orderBy: { name: 'asc' },
    select: {
      id: true,
      name: true,
      description: true,
      permissions: {
        select: { scope: true, api: { select: { audience: true } } },
        orderBy: { scope: 'asc' },
      },
    },
  },
  members: {
    orderBy: { createdAt: 'asc' },
    select: {
      createdAt: true,
      user: { select: { id: true, email: true } },
      roles: { select: { role: { select: { name: true } } }, orderBy: { role: { name: 'asc' } } },
    },
  },
} as const;

export function organizationQueries(prisma: PrismaClient, pool?: pg.Pool, prepared = false) {
  const byRef = (ref: string) => (UUID.test(ref) ? { id: ref } : { name: ref });
  return {
    /** The organization named by id or name; undefined when there is none. */
    async find(ref: string) {
      return (await prisma.organization.findUnique({ where: byRef(ref) })) ?? undefined;
    },
    async show(ref: string) {
      return (await prisma.organization.findUnique({ where: byRef(ref), include: detail })) ?? undefined;
    },
    list() {
      return prisma.organization.findMany({
        orderBy: { name: 'asc' },
        include: { _count: { select: { members: true, roles: true } } },
      });
    },
    /** Up to `limit` organizations after `after` in (created_at, id) order: the admin API's pages. */
    page(limit: number, after?: PagePosition) {
      return prisma.organization.findMany({
        where: after ? afterPosition(after) : {},
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        include: { _count: { select: { members: true, roles: true } } },
        take: limit,
      });
    },
    create(data: OrganizationWrite) {
      return prisma.organization.create({ data });
    },
    update(id: string, data: Partial<OrganizationWrite>) {
      return prisma.organization.update({ where: { id }, data });
    },
    /**
     * The update only if the organization's updated_at is still `version` (If-Match): one
     * conditional UPDATE decides, so of two concurrent updates from one version exactly one
     * succeeds.
     */
    async updateIfVersion(id: string, version: Date, data: Partial<OrganizationWrite>) {
      const { count } = await prisma.organization.updateMany({ where: { id, updatedAt: version }, data });
      if (count === 0) throw new PreconditionFailed();
      return prisma.organization.findUniqueOrThrow({ where: { id } });
    },
    /** Deletes the organization with its roles and memberships (ON DELETE CASCADE). */
    async delete(id: string): Promise<boolean> {
      return (await prisma.organization.deleteMany({ where: { id } })).count === 1;
    },
    /** Adds the member; false when they were one already. */
    async addMember(organizationId: string, userId: string): Promise<boolean> {
      const { count } = await prisma.organizationMember.createMany({
        data: [{ organizationId, userId }],
        skipDuplicates: true,
      });
      return count === 1;
    },
    /** Removes the member and their roles in the organization; false when they were none. */
    async removeMember(organizationId: string, userId: string): Promise<boolean> {
      return (await prisma.organizationMember.deleteMany({ where: { organizationId, userId } })).count === 1;
    },
    /** Creates a role with its permissions, all or nothing. */
    createRole(
      organizationId: string,
      role: { name: string; description: string; permissions: { apiId: string; scope: string }[] },
    ) {
      return prisma.organizationRole.create({
        data: {
          organizationId,
          name: role.name,
          description: role.description,
          permissions: { createMany: { data: role.permissions } },
        },
      });
    },
    findRole(organizationId: string, name: string) {
      return prisma.organizationRole.findUnique({ where: { organizationId_name: { organizationId, name } } });
    },
    /** Replaces a role's description and permissions, in one transaction. */
    async updateRole(roleId: string, description: string, permissions: { apiId: string; scope: string }[]) {
      await prisma.$transaction([
        prisma.organizationRolePermission.deleteMany({ where: { roleId } }),
        prisma.organizationRolePermission.createMany({ data: permissions.map((p) => ({ ...p, roleId })) }),
        prisma.organizationRole.update({ where: { id: roleId }, data: { description } }),
      ]);
    },
    async deleteRole(roleId: string): Promise<boolean> {
      return (await prisma.organizationRole.deleteMany({ where: { id: roleId } })).count === 1;
    },
    isMember(organizationId: string, userId: string) {
      return prisma.organizationMember
        .findUnique({ where: { organizationId_userId: { organizationId, userId } } })
        .then((m) => m !== null);
    },
    /** Gives a member a role of the organization; false when they held it already. */
    async assignRole(organizationId: string, userId: string, roleId: string): Promise<boolean> {
      const { count } = await prisma.organizationMemberRole.createMany({
        data: [{ organizationId, userId, roleId }],
        skipDuplicates: true,
      });
      return count === 1;
    },
    async removeRole(organizationId: string, userId: string, roleId: string): Promise<boolean> {
      return (
        (await prisma.organizationMemberRole.deleteMany({ where: { organizationId, userId, roleId } })).count === 1
      );
    },

    /**
     * The token path's read: the organization (by id or name), whether `userId` is a member, and
     * the member's roles. Undefined when no organization has that id or name.
     */
    async membership(ref: string, userId: string): Promise<Membership | undefined> {
      if (!pool) throw new Error('organizationQueries: membership needs the pool');
      if (!isUserId(userId)) return undefined;
      const byId = UUID.test(ref);
      const { rows } = await pool.query<{
        id: string;
        name: string;
        display_name: string;
        mfa_required: boolean;
        member: boolean;
        roles: Membership['roles'] | null;
      }>({
        ...(prepared ? { name: byId ? 'tessera_org_membership_id' : 'tessera_org_membership_name' } : {}),
        text: byId ? MEMBERSHIP_BY_ID : MEMBERSHIP_BY_NAME,
        values: [ref, userId],
      });
      const row = rows[0];
      if (!row) return undefined;
      return {
        id: row.id,
        name: row.name,
        displayName: row.display_name,
        mfaRequired: row.mfa_required,
        member: row.member,
        roles: row.roles ?? [],
      };
    },

    /**
     * Whether `userId` must pass a second factor for a token for the organization (by id or name):
     * it requires MFA and they are a member or would join just in time. One statement by keys.
     */
    async mfaRequiredFor(ref: string, userId: string): Promise<boolean> {
      if (!pool) throw new Error('organizationQueries: mfaRequiredFor needs the pool');
      if (!isUserId(userId)) return false;
      const { rows } = await pool.query<{ required: boolean }>({
        text: UUID.test(ref) ? MFA_REQUIRED_BY_ID : MFA_REQUIRED_BY_NAME,
        values: [ref, userId],
      });
      return rows[0]?.required === true;
    },

    /** Just-in-time membership by verified email domain: true when the user joined now. */
    async joinByEmailDomain(organizationId: string, userId: string): Promise<boolean> {
      if (!pool) throw new Error('organizationQueries: joinByEmailDomain needs the pool');
      const { rowCount } = await pool.query(JOIN_BY_EMAIL_DOMAIN, [organizationId, userId]);
      return rowCount === 1;
    },
  };
}

export type OrganizationQueries = ReturnType<typeof organizationQueries>;
