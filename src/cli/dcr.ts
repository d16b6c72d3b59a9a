// tessera dcr tokens create|list|revoke, tessera dcr approve: dynamic client registration's admin
// side (README "Dynamic client registration"). An initial access token is shown once; only its
// SHA-256 is stored (db/queries/registrations.ts).
import { createHash, randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { NotFound } from '../errors.ts';
import type { Run } from './context.ts';
import { duration, wholeNumber } from './options.ts';
import { table } from './output.ts';

// An initial access token lives a week unless told otherwise, and at most a year.
const DEFAULT_TTL = 7 * 86_400;
const MAX_TTL = 365 * 86_400;

export function registerDcrCommands(program: Command, run: Run): void {
  const dcr = program.command('dcr').description('dynamic client registration (DCR=initial-token|open)');
  const tokens = dcr.command('tokens').description('initial access tokens for DCR=initial-token');

  tokens
    .command('create')
    .description('issue an initial access token (shown once) that lets apps register themselves')
    .option('--max-uses <n>', 'registrations it allows', wholeNumber('--max-uses', 1, 1_000_000), 1)
    .option('--expires <duration>', 'how long it lives (e.g. 24h, 7d)', duration('--expires', MAX_TTL), DEFAULT_TTL)
    .option('--description <text>', 'what it is for', '')
    .action((options: { maxUses: number; expires: number; description: string }) =>
      run(async ({ queries, audit, actor }, out) => {
        const token = randomBytes(32).toString('base64url');
        const row = await queries.registrations.createInitialToken({
          tokenHash: createHash('sha256').update(token).digest('base64url'),
          description: options.description,
          maxUses: options.maxUses,
          expiresAt: new Date(Date.now() + options.expires * 1000),
        });
        await audit.record({
          type: 'dcr.token_created',
          actor,
          subject: row.id,
          details: { max_uses: row.maxUses, expires_at: row.expiresAt.toISOString() },
        });
        out.result(
          { id: row.id, token, max_uses: row.maxUses, expires_at: row.expiresAt.toISOString() },
          () =>
            `initial access token ${row.id} (${row.maxUses} use(s), until ${row.expiresAt.toISOString()}):\n${token}\nIt is shown only now.`,
        );
      }),
    );

  tokens
    .command('list')
    .description('list initial access tokens (never the tokens themselves)')
    .action(() =>
      run(async ({ queries }, out) => {
        const list = (await queries.registrations.listInitialTokens()).map((t) => ({
          id: t.id,
          description: t.description,
          uses: t.uses,
          max_uses: t.maxUses,
          expires_at: t.expiresAt.toISOString(),
          revoked_at: t.revokedAt?.toISOString() ?? null,
        }));
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
      run(async ({ queries, audit, actor }, out) => {
        const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
        if (!uuid || !(await queries.registrations.revokeInitialToken(id)))
          throw new NotFound(`no live initial access token has id ${id}`);
        await audit.record({ type: 'dcr.token_revoked', actor, subject: id });
        out.result({ revoked: id }, () => `revoked initial access token ${id}`);
      }),
    );

  dcr
    .command('approve')
    .description('mark a self-registered client as reviewed: its consent page stops warning users')
    .argument('<client-id>')
    .action((clientId: string) =>
      run(async ({ queries, audit, actor }, out) => {
        if (!(await queries.registrations.approve(clientId)))
          throw new NotFound(`no self-registered client has id ${clientId}`);
        await audit.record({ type: 'client.approved', actor, subject: clientId });
        out.result({ approved: clientId }, () => `approved ${clientId}`);
      }),
    );
}
