// Organizations (multi-tenant B2B): validation and administration, audited. What a token for an
// organization carries is decided in oidc/organizations.ts.
import type { ApiQueries } from '../db/queries/apis.ts';
import type { OrganizationQueries } from '../db/queries/organizations.ts';
import type { PagePosition } from '../db/queries/paging.ts';
import { Conflict, createOrConflict, InvalidInput, NotFound, PreconditionFailed } from '../errors.ts';
import { noAudit, type Audit } from './audit.ts';
import { ROLE_NAME } from './rbac.ts';
import { parseScopes } from './scopes.ts';

// A short name that fits in a URL, a log line and `urn:tessera:org:<name>`: lower-case letters,
// digits and dashes, at most 63 (a DNS label's length: many use the tenant's subdomain).
export const ORGANIZATION_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A DNS name of two labels or more (RFC 1035 §2.3.1, letters-digits-hyphen; IDNs as punycode).
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
// Display texts are shown on pages and put into ID tokens: one line, of a sensible length.
const MAX_TEXT = 200;

export interface OrganizationInput {
  name: string;
  displayName?: string | undefined;
  allowedEmailDomains?: string[] | undefined;
  mfaRequired?: boolean | undefined;
}

/** A permission as an admin names it: an API's audience and one of its scopes. */
export interface PermissionInput {
  audience: string;
  scope: string;
}

function text(what: string, value: string | undefined): string {
  const v = (value ?? '').trim();
  if (v.length > MAX_TEXT || /\p{Cc}/u.test(v))
    throw new InvalidInput(`${what} must be one line of at most ${MAX_TEXT} characters`);
  return v;
}

/** An organization's settings checked and normalised; pure. */
export function validateOrganization(input: OrganizationInput) {
  if (!ORGANIZATION_NAME.test(input.name) || UUID_SHAPE.test(input.name))
    throw new InvalidInput(
      `organization name ${JSON.stringify(input.name)} must be lower-case letters, digits and dashes (at most 63), not shaped like an id`,
    );
  const domains = [...new Set((input.allowedEmailDomains ?? []).map((d) => d.trim().toLowerCase()).filter(Boolean))];
  for (const d of domains) if (!DOMAIN.test(d)) throw new InvalidInput(`${JSON.stringify(d)} is not an email domain`);
  return {
    name: input.name,
    displayName: text('display name', input.displayName),
    allowedEmailDomains: domains.sort(),
    mfaRequired: input.mfaRequired ?? false,
  };
}

/** A role name checked; pure. */
export function validateRoleName(name: string): string {
  if (!ROLE_NAME.test(name))
    throw new InvalidInput(
      `role name ${JSON.stringify(name)} must be letters, digits, '.', '_', ':' or '-' (at most 64)`,
    );
  return name;
}

/** `<audience> <scope>` (as the CLI's --permission takes it) as a permission; pure. */
export function parsePermission(value: string): PermissionInput {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 2)
    throw new InvalidInput(`a permission is "<api audience> <scope>", not ${JSON.stringify(value)}`);
  return { audience: parts[0]!, scope: parts[1]! };
}

export function organizationService(deps: {
  organizations: OrganizationQueries;
  apis: Pick<ApiQueries, 'findManyByAudience'>;
  /** A user by email or id (services/users.ts find): NotFound otherwise. */
  findUser: (idOrEmail: string) => Promise<{ id: string }>;
  audit?: Audit;
  actor?: string;
}) {
  const { organizations } = deps;
  const audit = deps.audit ?? noAudit;
  const actor = deps.actor ?? 'system';

  async function org(ref: string) {
    const found = await organizations.find(ref);
    if (!found) throw new NotFound(`no organization ${ref}`);
    return found;
  }
  const user = (idOrEmail: string) => deps.findUser(idOrEmail);
  async function role(organizationId: string, orgName: string, name: string) {
    const found = await organizations.findRole(organizationId, name);
    if (!found) throw new NotFound(`organization ${orgName} has no role ${name}`);
    return found;
  }
  /** Every permission resolved to an API's id, or nothing: one unknown API or scope refuses all. */
  async function permissions(input: PermissionInput[]) {
    const apis = await deps.apis.findManyByAudience([...new Set(input.map((p) => p.audience))]);
    const byAudience = new Map(apis.map((a) => [a.audience, a]));
    const seen = new Set<string>();
    const out: { apiId: string; scope: string }[] = [];
    for (const p of input) {
      const api = byAudience.get(p.audience);
      if (!api) throw new NotFound(`no API has audience ${p.audience}`);
      parseScopes(p.scope, { forApi: true });
      if (!api.scopes.includes(p.scope)) throw new NotFound(`API ${p.audience} has no scope ${p.scope}`);
      const key = `${api.id} ${p.scope}`;
      if (!seen.has(key)) out.push({ apiId: api.id, scope: p.scope });
      seen.add(key);
    }
    return out;
  }

  return {
    async create(input: OrganizationInput) {
      const data = validateOrganization(input);
      const created = await createOrConflict(
        () => organizations.create(data),
        `an organization named ${data.name} exists already`,
      );
      await audit.record({ type: 'organization.created', actor, subject: created.id, details: { name: data.name } });
      return created;
    },
    /** Creates or updates to match the input, for idempotent seeding. */
    async apply(input: OrganizationInput): Promise<{ id: string; result: 'created' | 'updated' | 'unchanged' }> {
      const data = validateOrganization(input);
      const existing = await organizations.find(data.name);
      if (!existing) {
        const created = await organizations.create(data);
        await audit.record({ type: 'organization.created', actor, subject: created.id, details: { name: data.name } });
        return { id: created.id, result: 'created' };
      }
      const same =
        existing.displayName === data.displayName &&
        existing.mfaRequired === data.mfaRequired &&
        existing.allowedEmailDomains.join(' ') === data.allowedEmailDomains.join(' ');
      if (same) return { id: existing.id, result: 'unchanged' };
      await organizations.update(existing.id, data);
      await audit.record({ type: 'organization.updated', actor, subject: existing.id, details: { name: data.name } });
      return { id: existing.id, result: 'updated' };
    },
    /** Changes the settings given (the others stay); audited with the names of what changed. */
    /** With `version` (If-Match), only if the organization is still at that version (else PreconditionFailed). */
    async update(ref: string, changes: Omit<OrganizationInput, 'name'>, options: { version?: Date } = {}) {
      const existing = await org(ref);
      if (options.version && existing.updatedAt.getTime() !== options.version.getTime()) throw new PreconditionFailed();
      const data = validateOrganization({
        name: existing.name,
        displayName: changes.displayName ?? existing.displayName,
        allowedEmailDomains: changes.allowedEmailDomains ?? existing.allowedEmailDomains,
        mfaRequired: changes.mfaRequired ?? existing.mfaRequired,
      });
      const changed = [
        ...(data.displayName !== existing.displayName ? ['display_name'] : []),
        ...(data.allowedEmailDomains.join(' ') !== existing.allowedEmailDomains.join(' ')
          ? ['allowed_email_domains']
          : []),
        ...(data.mfaRequired !== existing.mfaRequired ? ['mfa_required'] : []),
      ];
      if (changed.length === 0) return { organization: existing, changed };
      const updated = options.version
        ? await organizations.updateIfVersion(existing.id, options.version, data)
        : await organizations.update(existing.id, data);
      await audit.record({
        type: 'organization.updated',
        actor,
        subject: existing.id,
        details: { name: existing.name, changed },
      });
      return { organization: updated, changed };
    },
    list: () => organizations.list(),
    page: (limit: number, after?: PagePosition) => organizations.page(limit, after),
    async show(ref: string) {
      const found = await organizations.show(ref);
      if (!found) throw new NotFound(`no organization ${ref}`);
      return found;
    },
    async delete(ref: string) {
      const found = await org(ref);
      if (!(await organizations.delete(found.id))) throw new NotFound(`no organization ${ref}`);
      await audit.record({ type: 'organization.deleted', actor, subject: found.id, details: { name: found.name } });
    },
    async addMember(ref: string, idOrEmail: string): Promise<boolean> {
      const [o, u] = [await org(ref), await user(idOrEmail)];
      const added = await organizations.addMember(o.id, u.id);
      if (added)
        await audit.record({ type: 'organization.member_added', actor, subject: o.id, details: { user_id: u.id } });
      return added;
    },
    async removeMember(ref: string, idOrEmail: string) {
      const [o, u] = [await org(ref), await user(idOrEmail)];
      if (!(await organizations.removeMember(o.id, u.id)))
        throw new NotFound(`${idOrEmail} is not a member of ${o.name}`);
      await audit.record({ type: 'organization.member_removed', actor, subject: o.id, details: { user_id: u.id } });
    },
    /** Creates the role, or replaces its description and permissions (idempotent, for seeding). */
    async applyRole(
      ref: string,
      input: { name: string; description?: string | undefined; permissions: PermissionInput[] },
    ): Promise<'created' | 'updated' | 'unchanged'> {
      const o = await org(ref);
      const name = validateRoleName(input.name);
      const description = text('description', input.description);
      const resolved = await permissions(input.permissions);
      const existing = await organizations.findRole(o.id, name);
      if (!existing) {
        await organizations.createRole(o.id, { name, description, permissions: resolved });
        await audit.record({ type: 'organization.role_created', actor, subject: o.id, details: { role: name } });
        return 'created';
      }
      const current = await organizations.show(o.id);
      const was = current?.roles.find((r) => r.id === existing.id);
      const key = (ps: { audience: string; scope: string }[]) =>
        ps
          .map((p) => `${p.audience} ${p.scope}`)
          .sort()
          .join('\n');
      const wanted = key(input.permissions);
      if (
        was &&
        was.description === description &&
        key(was.permissions.map((p) => ({ audience: p.api.audience, scope: p.scope }))) === wanted
      )
        return 'unchanged';
      await organizations.updateRole(existing.id, description, resolved);
      await audit.record({ type: 'organization.role_updated', actor, subject: o.id, details: { role: name } });
      return 'updated';
    },
    async createRole(
      ref: string,
      input: { name: string; description?: string | undefined; permissions: PermissionInput[] },
    ) {
      const o = await org(ref);
      if (await organizations.findRole(o.id, validateRoleName(input.name)))
        throw new Conflict(`organization ${o.name} has a role ${input.name} already`);
      return this.applyRole(o.id, input);
    },
    async deleteRole(ref: string, name: string) {
      const o = await org(ref);
      const r = await role(o.id, o.name, name);
      await organizations.deleteRole(r.id);
      await audit.record({ type: 'organization.role_deleted', actor, subject: o.id, details: { role: name } });
    },
    async assignRole(ref: string, idOrEmail: string, roleName: string): Promise<boolean> {
      const o = await org(ref);
      const u = await user(idOrEmail);
      const r = await role(o.id, o.name, roleName);
      if (!(await organizations.isMember(o.id, u.id)))
        throw new InvalidInput(`${idOrEmail} is not a member of ${o.name}; add them first (orgs add-member)`);
      const assigned = await organizations.assignRole(o.id, u.id, r.id);
      if (assigned)
        await audit.record({
          type: 'organization.role_assigned',
          actor,
          subject: o.id,
          details: { user_id: u.id, role: roleName },
        });
      return assigned;
    },
    async removeRole(ref: string, idOrEmail: string, roleName: string) {
      const o = await org(ref);
      const u = await user(idOrEmail);
      const r = await role(o.id, o.name, roleName);
      if (!(await organizations.removeRole(o.id, u.id, r.id)))
        throw new NotFound(`${idOrEmail} does not hold role ${roleName} in ${o.name}`);
      await audit.record({
        type: 'organization.role_removed',
        actor,
        subject: o.id,
        details: { user_id: u.id, role: roleName },
      });
    },
  };
}

export type OrganizationService = ReturnType<typeof organizationService>;

/**
 * What the `tessera orgs` commands use: the service with its answers as the admin API shows them
 * (the views below), so that the CLI's remote mode (cli/remote.ts) answers the same over HTTP.
 */
export function organizationCommands(service: OrganizationService) {
  return {
    create: async (input: OrganizationInput) => organizationView(await service.create(input)),
    async update(ref: string, changes: Omit<OrganizationInput, 'name'>) {
      const { organization, changed } = await service.update(ref, changes);
      return { ...organizationView(organization), changed };
    },
    list: async () =>
      (await service.list()).map((o) => ({ ...organizationView(o), members: o._count.members, roles: o._count.roles })),
    show: async (ref: string) => organizationDetailView(await service.show(ref)),
    delete: (ref: string) => service.delete(ref),
    addMember: (ref: string, user: string) => service.addMember(ref, user),
    removeMember: (ref: string, user: string) => service.removeMember(ref, user),
    assignRole: (ref: string, user: string, role: string) => service.assignRole(ref, user, role),
    removeRole: (ref: string, user: string, role: string) => service.removeRole(ref, user, role),
    async createRole(
      ref: string,
      input: { name: string; description?: string | undefined; permissions: PermissionInput[] },
    ): Promise<void> {
      await service.createRole(ref, input);
    },
    deleteRole: (ref: string, name: string) => service.deleteRole(ref, name),
  };
}

export type OrganizationCommands = ReturnType<typeof organizationCommands>;

/** An organization as an admin sees it (`tessera orgs list`, the admin API). */
export function organizationView(o: {
  id: string;
  name: string;
  displayName: string;
  allowedEmailDomains: string[];
  mfaRequired: boolean;
  createdAt: Date;
}) {
  return {
    id: o.id,
    name: o.name,
    display_name: o.displayName,
    allowed_email_domains: o.allowedEmailDomains,
    mfa_required: o.mfaRequired,
    created_at: o.createdAt.toISOString(),
  };
}

/** An organization with its roles and members (`tessera orgs show`, the admin API). */
export function organizationDetailView(o: NonNullable<Awaited<ReturnType<OrganizationQueries['show']>>>) {
  return {
    ...organizationView(o),
    roles: o.roles.map((r) => ({
      name: r.name,
      description: r.description,
      permissions: r.permissions.map((p) => ({ audience: p.api.audience, scope: p.scope })),
    })),
    members: o.members.map((m) => ({
      user_id: m.user.id,
      email: m.user.email,
      roles: m.roles.map((r) => r.role.name).sort(),
      since: m.createdAt.toISOString(),
    })),
  };
}
