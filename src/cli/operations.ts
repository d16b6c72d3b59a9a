// tessera audit [--since ...] and tessera cleanup
import type { Command } from 'commander';
import { InvalidInput } from '../errors.ts';
import { cleanExpired } from '../jobs/cleanup.ts';
import type { Run } from './context.ts';
import { parseDuration } from './output.ts';

export function registerOperationsCommands(program: Command, run: Run): void {
  program
    .command('audit')
    .description('show the security audit trail, newest first')
    .option('--since <when>', 'an ISO date-time, or a duration back from now (e.g. 24h, 7d)')
    .option('--type <type>', 'only events of this type (e.g. login.failed)')
    .option('--limit <n>', 'at most this many events', (v) => Number(v), 100)
    .action((opts) =>
      run(async ({ queries }, out) => {
        let since: Date | undefined;
        if (opts.since) {
          since = /^\d+[smhd]?$/.test(opts.since)
            ? new Date(Date.now() - parseDuration(opts.since) * 1000)
            : new Date(opts.since);
          if (Number.isNaN(since.getTime()))
            throw new InvalidInput(`--since ${opts.since} is neither a date-time nor a duration`);
        }
        const events = (await queries.auditEvents.list({ since, type: opts.type, limit: opts.limit })).map((e) => ({
          id: Number(e.id),
          time: e.createdAt.toISOString(),
          type: e.type,
          actor: e.actor,
          subject: e.subject,
          ip: e.ip,
          details: e.details,
        }));
        out.result(
          events,
          () =>
            events.map((e) => `${e.time}\t${e.type}\t${e.actor}\t${e.subject ?? ''}\t${e.ip ?? ''}`).join('\n') ||
            'no events',
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
