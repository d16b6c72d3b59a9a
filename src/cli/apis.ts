// tessera apis create|list|delete
import type { Command } from 'commander';
import { MAX_ACCESS_TOKEN_TTL, MIN_ACCESS_TOKEN_TTL } from '../services/apis.ts';
import type { Run } from './context.ts';
import { wholeNumber } from './options.ts';
import { table } from './output.ts';

export function registerApiCommands(program: Command, run: Run): void {
  const apis = program.command('apis').description('APIs (resource servers) that access tokens are issued for');

  apis
    .command('create')
    .description('register an API')
    .requiredOption('--audience <uri>', 'the API identifier; becomes the aud claim and the RFC 8707 resource value')
    .option('--name <name>', 'a display name')
    .option('--scope <scopes>', 'space-separated scopes the API defines', '')
    .option(
      '--ttl <seconds>',
      `access-token lifetime in seconds (${MIN_ACCESS_TOKEN_TTL} to ${MAX_ACCESS_TOKEN_TTL})`,
      wholeNumber('--ttl', MIN_ACCESS_TOKEN_TTL, MAX_ACCESS_TOKEN_TTL),
    )
    .action((opts) =>
      run(async ({ apis }, out) => {
        const api = await apis.create({
          audience: opts.audience,
          name: opts.name,
          scope: opts.scope,
          accessTokenTtl: opts.ttl,
        });
        out.result(
          describeApi(api),
          () =>
            `created API ${api.audience} (scopes: ${api.scopes.join(' ') || 'none'}; tokens live ${api.accessTokenTtl}s)`,
        );
      }),
    );

  apis
    .command('list')
    .description('list APIs')
    .action(() =>
      run(async ({ apis }, out) => {
        const list = (await apis.list()).map(describeApi);
        out.result(list, () =>
          list.length
            ? table(
                ['AUDIENCE', 'NAME', 'SCOPES', 'TOKEN TTL'],
                list.map((a) => [a.audience, a.name ?? '', a.scopes.join(' '), `${a.access_token_ttl}s`]),
              )
            : 'no APIs',
        );
      }),
    );

  apis
    .command('delete')
    .description('delete an API; one that clients use only with --force')
    .argument('<audience>')
    .option('--force', 'delete it even though clients use it: they lose access to it')
    .action((audience: string, opts: { force?: boolean }) =>
      run(async ({ apis }, out) => {
        await apis.delete(audience, { force: opts.force === true });
        out.result({ deleted: audience }, () => `deleted API ${audience}`);
      }),
    );
}

function describeApi(api: {
  audience: string;
  name: string | null;
  scopes: string[];
  accessTokenTtl: number;
  createdAt: Date;
}) {
  return {
    audience: api.audience,
    name: api.name,
    scopes: api.scopes,
    access_token_ttl: api.accessTokenTtl,
    created_at: api.createdAt.toISOString(),
  };
}
