// tessera orgs create|list|show|delete|add-member|remove-member|assign-role|remove-role, orgs roles …
import type { Command } from 'commander';
import { parsePermission } from '../services/organizations.ts';
import { InvalidInput } from '../errors.ts';
import type { Run } from './context.ts';
import { table } from './output.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const domains = (value: string) => value.split(/[\s,]+/).filter(Boolean);

export function registerOrganizationCommands(program: Command, run: Run): void {
  const orgs = program.command('orgs').description('organizations: customers whose users get tokens scoped to them');

  orgs
    .command('create')
    .description('create an organization')
    .argument('<name>', 'a short name: lower-case letters, digits and dashes')
    .option('--display-name <text>', 'the name shown to people and put into ID tokens (org_name)')
    .option(
      '--allow-email-domain <domain>',
      'users with a verified email at this domain join on their first token request (repeatable)',
      collect,
    )
    .option('--mfa-required', "members pass a second factor for the organization's tokens")
    .action((name: string, opts: { displayName?: string; allowEmailDomain?: string[]; mfaRequired?: boolean }) =>
      run(async ({ orgs: organizations }, out) => {
        const org = await organizations.create({
          name,
          displayName: opts.displayName,
          allowedEmailDomains: (opts.allowEmailDomain ?? []).flatMap(domains),
          mfaRequired: opts.mfaRequired === true,
        });
        out.result(org, () => `created organization ${org.name} (${org.id})`);
      }),
    );

  orgs
    .command('update')
    .description("change an organization's settings (those not given stay as they are)")
    .argument('<org>', 'its name or id')
    .option('--display-name <text>', 'the name shown to people and put into ID tokens (org_name)')
    .option('--allow-email-domain <domain>', 'replaces the just-in-time domains (repeatable)', collect)
    .option('--no-allow-email-domains', 'no just-in-time membership')
    .option('--mfa-required', "members pass a second factor for the organization's tokens")
    .option('--no-mfa-required', 'members sign in as the app asks')
    .action(
      (
        ref: string,
        opts: { displayName?: string; allowEmailDomain?: string[]; allowEmailDomains?: boolean; mfaRequired?: boolean },
      ) =>
        run(async ({ orgs: organizations }, out) => {
          if (opts.allowEmailDomain && opts.allowEmailDomains === false)
            throw new InvalidInput('--allow-email-domain and --no-allow-email-domains contradict each other');
          const updated = await organizations.update(ref, {
            displayName: opts.displayName,
            allowedEmailDomains: opts.allowEmailDomains === false ? [] : opts.allowEmailDomain?.flatMap(domains),
            mfaRequired: opts.mfaRequired,
          });
          out.result(updated, () =>
            updated.changed.length
              ? `updated organization ${updated.name}: ${updated.changed.join(', ')}`
              : `organization ${updated.name} unchanged`,
          );
        }),
    );

  orgs
    .command('list')
    .description('list organizations')
    .action(() =>
      run(async ({ orgs: organizations }, out) => {
        const list = await organizations.list();
        out.result(list, () =>
          list.length
            ? table(
                ['NAME', 'ID', 'DISPLAY NAME', 'MEMBERS', 'ROLES'],
                list.map((o) => [o.name, o.id, o.display_name, String(o.members), String(o.roles)]),
              )
            : 'no organizations',
        );
      }),
    );

  orgs
    .command('show')
    .description('show an organization with its roles and members')
    .argument('<org>', 'its name or id')
    .action((ref: string) =>
      run(async ({ orgs: organizations }, out) => {
        const shown = await organizations.show(ref);
        out.result(shown, () =>
          [
            `${shown.name} (${shown.id})${shown.display_name ? ` "${shown.display_name}"` : ''}`,
            `allowed email domains: ${shown.allowed_email_domains.join(', ') || 'none'}`,
            `mfa required: ${shown.mfa_required ? "yes (members pass a second factor for the organization's tokens)" : 'no'}`,
            'roles:',
            ...shown.roles.map(
              (r) => `  ${r.name}: ${r.permissions.map((p) => `${p.audience} ${p.scope}`).join(', ')}`,
            ),
            'members:',
            ...shown.members.map((m) => `  ${m.email} (${m.user_id}) ${m.roles.join(' ')}`),
          ].join('\n'),
        );
      }),
    );

  orgs
    .command('delete')
    .description('delete an organization with its roles and memberships')
    .argument('<org>', 'its name or id')
    .action((ref: string) =>
      run(async ({ orgs: organizations }, out) => {
        await organizations.delete(ref);
        out.result({ deleted: ref }, () => `deleted organization ${ref}`);
      }),
    );

  orgs
    .command('add-member')
    .description('make a user a member of an organization')
    .argument('<org>')
    .argument('<user>', 'email or user id')
    .action((ref: string, user: string) =>
      run(async ({ orgs: organizations }, out) => {
        const added = await organizations.addMember(ref, user);
        out.result({ organization: ref, user, added }, () =>
          added ? `added ${user} to ${ref}` : `${user} is a member of ${ref} already`,
        );
      }),
    );

  orgs
    .command('remove-member')
    .description('remove a user from an organization, with their roles in it (their next refresh there fails)')
    .argument('<org>')
    .argument('<user>', 'email or user id')
    .action((ref: string, user: string) =>
      run(async ({ orgs: organizations }, out) => {
        await organizations.removeMember(ref, user);
        out.result({ organization: ref, user, removed: true }, () => `removed ${user} from ${ref}`);
      }),
    );

  orgs
    .command('assign-role')
    .description("give a member one of the organization's roles")
    .argument('<org>')
    .argument('<user>', 'email or user id')
    .argument('<role>')
    .action((ref: string, user: string, role: string) =>
      run(async ({ orgs: organizations }, out) => {
        const assigned = await organizations.assignRole(ref, user, role);
        out.result({ organization: ref, user, role, assigned }, () =>
          assigned ? `${user} holds ${role} in ${ref}` : `${user} held ${role} in ${ref} already`,
        );
      }),
    );

  orgs
    .command('remove-role')
    .description("take one of the organization's roles from a member")
    .argument('<org>')
    .argument('<user>', 'email or user id')
    .argument('<role>')
    .action((ref: string, user: string, role: string) =>
      run(async ({ orgs: organizations }, out) => {
        await organizations.removeRole(ref, user, role);
        out.result({ organization: ref, user, role, removed: true }, () => `took ${role} in ${ref} from ${user}`);
      }),
    );

  const roles = orgs.command('roles').description("an organization's roles: named sets of API permissions");
  roles
    .command('create')
    .description('create a role in an organization')
    .argument('<org>')
    .argument('<role>')
    .option('--description <text>', 'what the role is for')
    // As `roles create` (RBAC): one API's scopes; --permission for several APIs.
    .option('--api <audience>', 'the API whose scopes --scope names (with --scope)')
    .option('--scope <scopes>', 'space-separated scopes of --api the role grants')
    .option('--permission <"audience scope">', 'an API audience and one of its scopes (repeatable)', collect)
    .action(
      (
        ref: string,
        name: string,
        opts: { description?: string; api?: string; scope?: string; permission?: string[] },
      ) =>
        run(async ({ orgs: organizations }, out) => {
          if ((opts.api === undefined) !== (opts.scope === undefined))
            throw new InvalidInput('--api and --scope go together');
          // Every permission parsed before anything is written: a bad one changes nothing.
          const permissions = [
            ...(opts.permission ?? []).map(parsePermission),
            ...(opts.scope ?? '')
              .split(/\s+/)
              .filter(Boolean)
              .map((scope) => ({ audience: opts.api!, scope })),
          ];
          await organizations.createRole(ref, { name, description: opts.description, permissions });
          out.result({ organization: ref, role: name, permissions }, () => `created role ${name} in ${ref}`);
        }),
    );
  roles
    .command('delete')
    .description('delete a role of an organization (its members lose it)')
    .argument('<org>')
    .argument('<role>')
    .action((ref: string, name: string) =>
      run(async ({ orgs: organizations }, out) => {
        await organizations.deleteRole(ref, name);
        out.result({ organization: ref, deleted: name }, () => `deleted role ${name} of ${ref}`);
      }),
    );
}
