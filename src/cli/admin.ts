// tessera admin bootstrap: the admin API's first client (database mode only: it is how the
// first credential for the admin API comes to exist, so it cannot itself need one).
import type { Command } from 'commander';
import { ADMIN_AUDIENCE, ADMIN_SCOPES, bootstrapAdmin } from '../services/admin-api.ts';
import type { Run } from './context.ts';

export function registerAdminCommands(program: Command, run: Run): void {
  const admin = program.command('admin').description('the admin API (README "Admin API")');
  admin
    .command('bootstrap')
    .description(
      `create the admin API (${ADMIN_AUDIENCE}) if missing and its first client (client credentials, every admin scope); its secret is printed once`,
    )
    .option('--name <name>', "the client's display name", 'admin (bootstrap)')
    .action((opts: { name: string }) =>
      run(async ({ apis, clients, queries, audit, actor }, out) => {
        const { api, client, clientSecret } = await bootstrapAdmin({
          apis,
          apiQueries: queries.apis,
          clients,
          audit,
          actor,
          name: opts.name,
        });
        out.result(
          {
            api,
            audience: ADMIN_AUDIENCE,
            client_id: client.client_id,
            client_secret: clientSecret,
            scope: ADMIN_SCOPES.join(' '),
          },
          () =>
            [
              `admin API ${ADMIN_AUDIENCE}: ${api}`,
              `created admin client ${client.name}`,
              `client_id:     ${client.client_id}`,
              `client_secret: ${clientSecret}`,
              '',
              'Store the secret now: Tessera keeps only a hash and cannot show it again.',
              `Get a token: client credentials at the token endpoint with resource=${ADMIN_AUDIENCE}.`,
            ].join('\n'),
        );
      }),
    );
}
