// tessera audit [--since ...] and tessera cleanup
import type { Command } from 'commander';
import { cleanExpired } from '../jobs/cleanup.ts';
import { AUDIT_EVENT_TYPES } from '../services/audit.ts';
import type { Run } from './context.ts';
import { moment, oneOf, wholeNumber } from './options.ts';
import { table } from './output.ts';

export function registerOperationsCommands(program: Command, run: Run): void {
  program
    .command('audit')
    .description('show the security audit trail, newest first')
    .option('--since <when>', 'an ISO date-time, or a duration back from now (e.g. 24h, 7d)', moment('--since'))
    .option('--type <type>', 'only events of this type (e.g. login.failed)', oneOf('--type', AUDIT_EVENT_TYPES))
    // 10,000 rows is far more than a terminal shows and still one quick indexed query.
    .option('--limit <n>', 'at most this many events (1 to 10000)', wholeNumber('--limit', 1, 10_000), 100)
    .action((opts) =>
      // Also in remote mode (GET /audit-events, page after page).
      run(async ({ auditEvents }, out) => {
        const events = (await auditEvents.list({ since: opts.since, type: opts.type, limit: opts.limit })).map((e) => ({
          ...e,
          id: Number(e.id),
        }));
        out.result(events, () =>
          events.length
            ? table(
                ['TIME', 'TYPE', 'ACTOR', 'SUBJECT', 'IP'],
                events.map((e) => [e.time, e.type, e.actor, e.subject ?? '', e.ip ?? '']),
              )
            : 'no events',
        );
      }),
    );

  program
    .command('cleanup')
    .description('delete expired codes, tokens, sessions, revocation records and counters now')
    .action(() =>
      run(async ({ queries }, out) => {
        const deleted = await cleanExpired(queries.cleanup);
        out.result(
          { deleted },
          () =>
            Object.entries(deleted)
              .map(([t, n]) => `${t}: ${n} deleted`)
              .join('\n') || 'nothing had expired',
        );
      }),
    );
}
