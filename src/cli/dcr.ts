// tessera dcr tokens create|list|revoke, tessera dcr approve: dynamic client registration's admin
// side (README "Dynamic client registration"), over services/dcr.ts on the database or the admin
// API (cli/remote.ts). An initial access token is shown once; only its SHA-256 is stored.
import type { Command } from 'commander';
import { DEFAULT_INITIAL_TOKEN_TTL, MAX_INITIAL_TOKEN_TTL, MAX_INITIAL_TOKEN_USES } from '../services/dcr.ts';
import type { Run } from './context.ts';
import { duration, wholeNumber } from './options.ts';
import { table } from './output.ts';

export function registerDcrCommands(program: Command, run: Run): void {
  const dcr = program.command('dcr').description('dynamic client registration (DCR=initial-token|open)');
  const tokens = dcr.command('tokens').description('initial access tokens for DCR=initial-token');

  tokens
    .command('create')
    .description('issue an initial access token (shown once) that lets apps register themselves')
    .option('--max-uses <n>', 'registrations it allows', wholeNumber('--max-uses', 1, MAX_INITIAL_TOKEN_USES), 1)
    .option(
      '--expires <duration>',
      'how long it lives (e.g. 24h, 7d)',
      duration('--expires', MAX_INITIAL_TOKEN_TTL),
      DEFAULT_INITIAL_TOKEN_TTL,
    )
    .option('--description <text>', 'what it is for', '')
    .action((options: { maxUses: number; expires: number; description: string }) =>
      run(async ({ dcr: service }, out) => {
        const created = await service.createToken({
          maxUses: options.maxUses,
          expiresIn: options.expires,
          description: options.description,
        });
        out.result(
          created,
          () =>
            `initial access token ${created.id} (${created.max_uses} use(s), until ${created.expires_at}):\n${created.token}\nIt is shown only now.`,
        );
      }),
    );

  tokens
    .command('list')
    .description('list initial access tokens (never the tokens themselves)')
    .action(() =>
      run(async ({ dcr: service }, out) => {
        const list = await service.listTokens();
        out.result(list, () =>
          table(
            ['ID', 'USES', 'EXPIRES', 'REVOKED', 'DESCRIPTION'],
            list.map((t) => [t.id, `${t.uses}/${t.max_uses}`, t.expires_at, t.revoked_at ?? '', t.description]),
          ),
        );
      }),
    );

  tokens
    .command('revoke')
    .description('revoke an initial access token')
    .argument('<id>')
    .action((id: string) =>
      run(async ({ dcr: service }, out) => {
        await service.revokeToken(id);
        out.result({ revoked: id }, () => `revoked initial access token ${id}`);
      }),
    );

  dcr
    .command('approve')
    .description('mark a self-registered client as reviewed: its consent page stops warning users')
    .argument('<client-id>')
    .action((clientId: string) =>
      run(async ({ dcr: service }, out) => {
        await service.approve(clientId);
        out.result({ approved: clientId }, () => `approved ${clientId}`);
      }),
    );
}
