// tessera webhooks create|list|show|delete|rotate-secret|deliveries|redeliver, over the webhook
// service (services/webhooks.ts) on the database or the admin API (cli/remote.ts).
import type { Command } from 'commander';
import { SUBSCRIBABLE_EVENT_TYPES } from '../webhooks/event-catalog.ts';
import {
  DEFAULT_SECRET_OVERLAP,
  DELIVERY_STATUSES as STATUSES,
  MAX_DELIVERIES,
  MAX_SECRET_OVERLAP,
} from '../services/webhooks.ts';
import type { Run } from './context.ts';
import { duration, listOf, oneOf, wholeNumber } from './options.ts';
import { table } from './output.ts';

export function registerWebhookCommands(program: Command, run: Run): void {
  const hooks = program.command('webhooks').description('signed webhooks for audit events (see README: Webhooks)');

  hooks
    .command('create')
    .description('subscribe a URL to event types; prints the signing secret once')
    .requiredOption('--url <url>', 'where to POST the events (https)')
    .requiredOption(
      '--events <types>',
      'comma-separated event types (README "Webhooks": user.created, user.login.failed, user.locked, …)',
      listOf('--events', SUBSCRIBABLE_EVENT_TYPES),
    )
    .option('--description <text>', 'a note for admins')
    .action((options: { url: string; events: string[]; description?: string }) =>
      run(async (ctx, out) => {
        const hook = await ctx.webhooks.create(options);
        out.result(
          hook,
          () =>
            `created webhook ${hook.id} for ${hook.events.join(', ')}\nsecret (shown once, keep it in the receiver's configuration): ${hook.secret}`,
        );
      }),
    );

  hooks
    .command('list')
    .description('list webhooks')
    .action(() =>
      run(async (ctx, out) => {
        const list = await ctx.webhooks.list();
        out.result(list, () =>
          list.length
            ? table(
                ['ID', 'URL', 'EVENTS'],
                list.map((h) => [h.id, h.url, h.events.join(',')]),
              )
            : 'no webhooks',
        );
      }),
    );

  hooks
    .command('show')
    .description('show a webhook (never its secret)')
    .argument('<id>')
    .action((id: string) =>
      run(async (ctx, out) => {
        const hook = await ctx.webhooks.show(id);
        out.result(hook, () => JSON.stringify(hook, null, 2));
      }),
    );

  hooks
    .command('delete')
    .description('delete a webhook and its delivery log')
    .argument('<id>')
    .action((id: string) =>
      run(async (ctx, out) => {
        await ctx.webhooks.remove(id);
        out.result({ deleted: id }, () => `deleted webhook ${id}`);
      }),
    );

  hooks
    .command('rotate-secret')
    .description('a new signing secret (shown once); deliveries carry both signatures during the overlap')
    .argument('<id>')
    .option(
      '--overlap <duration>',
      'how long the old secret signs too (default 24h)',
      duration('--overlap', MAX_SECRET_OVERLAP),
    )
    .action((id: string, options: { overlap?: number }) =>
      run(async (ctx, out) => {
        const hook = await ctx.webhooks.rotateSecret(id, options.overlap ?? DEFAULT_SECRET_OVERLAP);
        out.result(
          hook,
          () =>
            `new secret for webhook ${hook.id} (shown once): ${hook.secret}\nthe previous secret signs too until ${hook.previous_secret_valid_until}`,
        );
      }),
    );

  hooks
    .command('deliveries')
    .description('the delivery log, newest first')
    .option('--webhook <id>', 'only this webhook')
    .option('--status <status>', `one of ${STATUSES.join(', ')}`, oneOf('--status', STATUSES))
    .option('--limit <n>', 'at most this many (default 50)', wholeNumber('--limit', 1, MAX_DELIVERIES))
    .action((options: { webhook?: string; status?: (typeof STATUSES)[number]; limit?: number }) =>
      run(async (ctx, out) => {
        const list = await ctx.webhooks.deliveries({
          webhookId: options.webhook,
          status: options.status,
          limit: options.limit ?? 50,
        });
        out.result(list, () =>
          list.length
            ? table(
                ['ID', 'EVENT', 'TYPE', 'STATUS', 'ATTEMPTS', 'HTTP', 'CREATED'],
                list.map((d) => [
                  d.id,
                  d.event_id,
                  d.type,
                  d.status,
                  String(d.attempts),
                  String(d.response_status ?? '-'),
                  d.created_at,
                ]),
              )
            : 'no deliveries',
        );
      }),
    );

  hooks
    .command('redeliver')
    .description('send a delivery again (the same event id), now')
    .argument('<delivery-id>')
    .action((id: string) =>
      run(async (ctx, out) => {
        await ctx.webhooks.redeliver(id);
        out.result({ redelivered: id }, () => `delivery ${id} queued again`);
      }),
    );
}
