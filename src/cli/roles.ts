// tessera roles create|list|show|delete|grant-permission|revoke-permission,
// users assign-role|remove-role, clients assign-role|remove-role, apis update (RBAC settings).
import type { Command } from 'commander';
import { InvalidInput } from '../errors.ts';
import { RBAC_MODES, RBAC_TOKEN_CLAIMS } from '../services/rbac.ts';
import type { RoleView } from '../services/roles.ts';
import type { Run } from './context.ts';
import { listOf, oneOf } from './options.ts';
import { table } from './output.ts';

export function registerRoleCommands(program: Command, run: Run): void {
  const roles = program
    .command('roles')
    .description("roles (RBAC): named sets of API scopes, given to users and clients; see 'apis update --rbac'");

  roles
    .command('create')
    .description('create a role')
    .argument('<name>')
    .option('--description <text>', 'what the role is for')
    .option('--api <audience>', 'the API whose scopes --scope names (with --scope)')
    .option('--scope <scopes>', "space-separated scopes of --api the role grants (more: 'roles grant-permission')")
    .action((name: string, opts: { description?: string; api?: string; scope?: string }) =>
      run(async ({ roles: service }, out) => {
        const permissions = permissionsFrom(opts);
        const role = await service.create({ name, description: opts.description, permissions });
        out.result(role, () => `created role ${role.name}\n${describe(role)}`);
      }),
    );

  roles
    .command('list')
    .description('list roles')
    .action(() =>
      run(async ({ roles: service }, out) => {
        const list = await service.list();
        out.result(list, () =>
          list.length
            ? table(
                ['NAME', 'PERMISSIONS', 'USERS', 'CLIENTS', 'DESCRIPTION'],
                list.map((r) => [
                  r.name,
                  String(r.permissions.length),
                  String(r.users.length),
                  String(r.clients.length),
                  r.description,
                ]),
              )
            : 'no roles',
        );
      }),
    );

  roles
    .command('show')
    .description('show a role: its permissions, users and clients')
    .argument('<name>')
    .action((name: string) =>
      run(async ({ roles: service }, out) => {
        const role = await service.show(name);
        out.result(role, () => describe(role));
      }),
    );

  roles
    .command('delete')
    .description('delete a role; its users and clients lose its permissions at their next token')
    .argument('<name>')
    .action((name: string) =>
      run(async ({ roles: service }, out) => {
        await service.delete(name);
        out.result({ deleted: name }, () => `deleted role ${name}`);
      }),
    );

  for (const [command, verb] of [
    ['grant-permission', 'grant'],
    ['revoke-permission', 'revoke'],
  ] as const) {
    roles
      .command(command)
      .description(`${verb} scopes of an API ${verb === 'grant' ? 'to' : 'from'} the role`)
      .argument('<name>')
      .requiredOption('--api <audience>', 'the API that defines the scopes')
      .requiredOption('--scope <scopes>', 'space-separated scopes')
      .action((name: string, opts: { api: string; scope: string }) =>
        run(async ({ roles: service }, out) => {
          const permission = { api: opts.api, scope: opts.scope };
          const role =
            verb === 'grant'
              ? await service.grantPermission(name, permission)
              : await service.revokePermission(name, permission);
          out.result(role, () => describe(role));
        }),
      );
  }

  const users = subcommand(program, 'users');
  users
    .command('assign-role')
    .description('give the user a role: their next token (or refresh) carries its permissions')
    .argument('<id-or-email>')
    .requiredOption('--role <name>')
    .action((who: string, opts: { role: string }) =>
      run(async ({ roles: service }, out) => {
        const result = await service.assignToUser(who, opts.role);
        out.result(result, () => `${result.user} has roles: ${result.roles.join(' ') || 'none'}`);
      }),
    );
  users
    .command('remove-role')
    .description("take a role from the user: their next refresh carries only what's left")
    .argument('<id-or-email>')
    .requiredOption('--role <name>')
    .action((who: string, opts: { role: string }) =>
      run(async ({ roles: service }, out) => {
        const result = await service.removeFromUser(who, opts.role);
        out.result(result, () => `${result.user} has roles: ${result.roles.join(' ') || 'none'}`);
      }),
    );

  const clients = subcommand(program, 'clients');
  clients
    .command('assign-role')
    .description("give the client a role (its client-credentials tokens carry the role's permissions)")
    .argument('<client_id>')
    .requiredOption('--role <name>')
    .action((id: string, opts: { role: string }) =>
      run(async ({ roles: service }, out) => {
        const result = await service.assignToClient(id, opts.role);
        out.result(result, () => `${result.client} has roles: ${result.roles.join(' ') || 'none'}`);
      }),
    );
  clients
    .command('remove-role')
    .description('take a role from the client')
    .argument('<client_id>')
    .requiredOption('--role <name>')
    .action((id: string, opts: { role: string }) =>
      run(async ({ roles: service }, out) => {
        const result = await service.removeFromClient(id, opts.role);
        out.result(result, () => `${result.client} has roles: ${result.roles.join(' ') || 'none'}`);
      }),
    );

  subcommand(program, 'apis')
    .command('update')
    .description("change an API's RBAC settings")
    .argument('<audience>')
    .option(
      '--rbac <mode>',
      "enforce: tokens carry only the scopes the subject's roles grant; off (default): roles change nothing",
      oneOf('--rbac', RBAC_MODES),
    )
    .option(
      '--token-claims <claims>',
      `comma-separated claims for its access tokens: ${RBAC_TOKEN_CLAIMS.join(', ')}; "" for none`,
      (value: string) => (value === '' ? [] : listOf('--token-claims', RBAC_TOKEN_CLAIMS)(value)),
    )
    .action((audience: string, opts: { rbac?: string; tokenClaims?: string[] }) =>
      run(async ({ apis }, out) => {
        const api = await apis.updateRbac(audience, { rbac: opts.rbac, tokenClaims: opts.tokenClaims });
        const view = { audience: api.audience, rbac: api.rbac, token_claims: api.tokenClaims };
        out.result(
          view,
          () =>
            `updated API ${api.audience} (rbac: ${api.rbac}; token claims: ${api.tokenClaims.join(', ') || 'none'})`,
        );
      }),
    );
}

/** A command group registered before (users, clients, apis), to add to. */
function subcommand(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  if (!found) throw new Error(`register the ${name} commands before the role commands`);
  return found;
}

function permissionsFrom(opts: { api?: string; scope?: string }) {
  if (opts.api === undefined && opts.scope === undefined) return [];
  if (opts.api === undefined || opts.scope === undefined) throw new InvalidInput('give --api and --scope together');
  return [{ api: opts.api, scope: opts.scope }];
}

function describe(role: RoleView): string {
  return [
    `name:        ${role.name}`,
    `description: ${role.description}`,
    `permissions: ${role.permissions.map((p) => `${p.api} ${p.scope}`).join(', ') || 'none'}`,
    `users:       ${role.users.join(' ') || 'none'}`,
    `clients:     ${role.clients.join(' ') || 'none'}`,
  ].join('\n');
}
