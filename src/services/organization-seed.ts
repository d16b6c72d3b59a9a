// The seed file's `organizations` (services/seed.ts): organizations with their roles and members,
// applied idempotently. Every reference (a member's email, a permission's API and scope, a member's
// role) is checked against the file and the database before anything is written, so that an
// unknown name leaves the whole file unapplied.
import { z } from 'zod';
import { InvalidInput, TesseraError } from '../errors.ts';
import {
  type OrganizationService,
  type PermissionInput,
  parsePermission,
  validateOrganization,
  validateRoleName,
} from './organizations.ts';
import { normalizeEmail } from './users.ts';

const permission = z.union([
  z.string().transform((v, ctx) => {
    try {
      return parsePermission(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  z.object({ api: z.string(), scope: z.string() }).transform((p) => ({ audience: p.api, scope: p.scope })),
]);

export const organizationSeedSchema = z.array(
  z
    .object({
      name: z.string(),
      display_name: z.string().optional(),
      allowed_email_domains: z.array(z.string()).optional(),
      mfa_required: z.boolean().optional(),
      roles: z
        .array(
          z
            .object({
              name: z.string(),
              description: z.string().optional(),
              // As RBAC's roles in the seed file, { <API audience>: <its scopes> }, or a list of
              // "<audience> <scope>" strings and { api, scope } objects.
              permissions: z
                .union([
                  z
                    .record(z.string(), z.union([z.string(), z.array(z.string())]))
                    .transform((r) =>
                      Object.entries(r).flatMap(([audience, scopes]) =>
                        (Array.isArray(scopes) ? scopes : scopes.split(/\s+/))
                          .filter(Boolean)
                          .map((scope) => ({ audience, scope })),
                      ),
                    ),
                  z.array(permission),
                ])
                .default([]),
            })
            .strict(),
        )
        .default([]),
      members: z.array(z.object({ email: z.string(), roles: z.array(z.string()).default([]) }).strict()).default([]),
    })
    .strict(),
);

export type OrganizationSeed = z.infer<typeof organizationSeedSchema>;

/** What the rest of the file and the database hold, for the references to be checked against. */
export interface SeedReferences {
  /** The scopes of an API by audience (from the file, else the database); undefined: no such API. */
  apiScopes(audience: string): Promise<string[] | undefined>;
  /** Whether a user with this email is in the file or the database. */
  userExists(email: string): Promise<boolean>;
}

/** Refuses the first unknown or invalid name, naming the organization it is in; writes nothing. */
export async function checkOrganizationSeed(seed: OrganizationSeed, refs: SeedReferences): Promise<void> {
  const names = new Set<string>();
  for (const org of seed) {
    const where = `organization ${org.name}`;
    try {
      validateOrganization({
        name: org.name,
        displayName: org.display_name,
        allowedEmailDomains: org.allowed_email_domains,
      });
      if (names.has(org.name)) throw new InvalidInput('is listed twice');
      names.add(org.name);
      const roles = new Set<string>();
      for (const role of org.roles) {
        validateRoleName(role.name);
        if (roles.has(role.name)) throw new InvalidInput(`role ${role.name} is listed twice`);
        roles.add(role.name);
        for (const p of role.permissions) {
          const scopes = await refs.apiScopes(p.audience);
          if (!scopes) throw new InvalidInput(`role ${role.name}: no API has audience ${p.audience}`);
          if (!scopes.includes(p.scope))
            throw new InvalidInput(`role ${role.name}: API ${p.audience} has no scope ${p.scope}`);
        }
      }
      for (const member of org.members) {
        if (!(await refs.userExists(member.email))) throw new InvalidInput(`member ${member.email}: no such user`);
        const unknown = member.roles.find((r) => !roles.has(r));
        if (unknown !== undefined)
          throw new InvalidInput(`member ${member.email}: the organization has no role ${unknown} in this file`);
      }
    } catch (err) {
      if (err instanceof TesseraError) throw new InvalidInput(`${where}: ${err.message}`);
      throw err;
    }
  }
}

/** Applies a checked `organizations` section; what changed, by organization name. */
export async function applyOrganizationSeed(
  seed: OrganizationSeed,
  organizations: OrganizationService,
): Promise<Record<string, 'created' | 'updated' | 'unchanged'>> {
  const report: Record<string, 'created' | 'updated' | 'unchanged'> = {};
  for (const org of seed) {
    const applied = await organizations.apply({
      name: org.name,
      displayName: org.display_name,
      allowedEmailDomains: org.allowed_email_domains,
      mfaRequired: org.mfa_required,
    });
    let changed = applied.result !== 'unchanged';
    for (const role of org.roles) {
      const permissions: PermissionInput[] = role.permissions;
      changed =
        (await organizations.applyRole(applied.id, { name: role.name, description: role.description, permissions })) !==
          'unchanged' || changed;
    }
    for (const member of org.members) {
      changed = (await organizations.addMember(applied.id, member.email)) || changed;
      for (const role of member.roles)
        changed = (await organizations.assignRole(applied.id, member.email, role)) || changed;
    }
    report[org.name] = applied.result === 'created' ? 'created' : changed ? 'updated' : 'unchanged';
  }
  return report;
}

/** SeedReferences over the file's own APIs and users and the database's. */
export function seedReferences(
  file: { apis: { audience: string; scopes?: string | undefined }[]; users: { email: string }[] },
  db: {
    apiScopes(audience: string): Promise<string[] | undefined>;
    userExists(email: string): Promise<boolean>;
  },
): SeedReferences {
  const apis = new Map(file.apis.map((a) => [a.audience, (a.scopes ?? '').split(/\s+/).filter(Boolean)]));
  const users = new Set(file.users.map((u) => normalizeEmail(u.email)));
  return {
    apiScopes: async (audience) => apis.get(audience) ?? (await db.apiScopes(audience)),
    userExists: async (email) => users.has(normalizeEmail(email)) || (await db.userExists(email)),
  };
}
