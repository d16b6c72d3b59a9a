// tessera api-keys create|list|show|revoke|rotate|usage
import type { Command } from 'commander';
import { MAX_API_KEY_LIFETIME, MAX_ROTATION_GRACE, parseQuota, type ApiKeyView } from '../services/api-keys.ts';
import type { Run } from './context.ts';
import { duration, moment } from './options.ts';
import { table } from './output.ts';

// A key created or rotated is printed once: this says so beside it.
const SHOWN_ONCE = 'store it now: Tessera keeps only a hash and cannot show it again';

export function registerApiKeyCommands(program: Command, run: Run): void {
  const keys = program.command('api-keys').description('API keys that callers present to an API (introspected by it)');

  keys
    .command('create')
    .description('create an API key for one API; prints the key once')
    .requiredOption('--name <name>', 'a label, unique per API')
    .requiredOption('--api <audience>', 'the API the key is for (its audience)')
    .option('--scope <scopes>', "space-separated scopes of the API's that the key carries", '')
    .option('--client <id>', 'the client that owns the key (introspection says client_id and sub)')
    .option('--user <email>', 'the user who owns the key (introspection says sub)')
    .option(
      '--expires <duration>',
      'lifetime, e.g. 90d (default: does not expire)',
      duration('--expires', MAX_API_KEY_LIFETIME),
    )
    .option('--quota <limits>', 'requests per minute and/or day, e.g. 100/min or 100/min,10000/day', parseQuota)
    .action((opts) =>
      run(async ({ apiKeys }, out) => {
        const { key, value } = await apiKeys.create({
          name: opts.name,
          audience: opts.api,
          scope: opts.scope,
          clientId: opts.client,
          userEmail: opts.user,
          expiresIn: opts.expires,
          quota: opts.quota,
        });
        out.result(
          { ...key, value },
          () => `created API key ${key.id} (${key.name} for ${key.api})\n${value}\n${SHOWN_ONCE}`,
        );
      }),
    );

  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--api <audience>', "only this API's keys")
    .action((opts: { api?: string }) =>
      run(async ({ apiKeys }, out) => {
        const list = await apiKeys.list(opts.api);
        out.result(list, () =>
          list.length
            ? table(
                ['ID', 'NAME', 'KEY', 'API', 'OWNER', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED'],
                list.map((k) => [
                  k.id,
                  k.name,
                  k.key,
                  k.api,
                  k.owner ?? '',
                  k.scopes.join(' '),
                  k.created_at,
                  k.revoked_at ? `revoked ${k.revoked_at}` : (k.expires_at ?? 'never'),
                  k.last_used_at ?? 'never',
                ]),
              )
            : 'no API keys',
        );
      }),
    );

  keys
    .command('show')
    .description('show one API key')
    .argument('<key-id>')
    .action((id: string) =>
      run(async ({ apiKeys }, out) => {
        const key = await apiKeys.show(id);
        out.result(key, () => describe(key));
      }),
    );

  keys
    .command('revoke')
    .description('revoke an API key: introspection answers active: false from now on')
    .argument('<key-id>')
    .action((id: string) =>
      run(async ({ apiKeys }, out) => {
        const key = await apiKeys.revoke(id);
        out.result(key, () => `revoked API key ${key.id} (${key.name})`);
      }),
    );

  keys
    .command('rotate')
    .description('give an API key a new value; the old one keeps working during the grace')
    .argument('<key-id>')
    .option(
      '--grace <duration>',
      'how long the old value keeps working, e.g. 24h (default 0)',
      duration('--grace', MAX_ROTATION_GRACE),
      0,
    )
    .action((id: string, opts: { grace: number }) =>
      run(async ({ apiKeys }, out) => {
        const { key, value } = await apiKeys.rotate(id, opts.grace);
        out.result(
          { ...key, value },
          () =>
            `rotated API key ${key.id} (${key.name}); the old value ${key.previous_valid_until ? `works until ${key.previous_valid_until}` : 'no longer works'}\n${value}\n${SHOWN_ONCE}`,
        );
      }),
    );

  keys
    .command('usage')
    .description('requests per UTC day and the last use of an API key')
    .argument('<key-id>')
    .option('--since <when>', 'from this date-time or this long ago, e.g. 7d (default 30d)', moment('--since'))
    .action((id: string, opts: { since?: Date }) =>
      run(async ({ apiKeys }, out) => {
        const usage = await apiKeys.usage(id, opts.since ?? new Date(Date.now() - 30 * 86_400_000));
        out.result(usage, () =>
          [
            usage.days.length
              ? table(
                  ['DAY', 'REQUESTS'],
                  usage.days.map((d) => [d.day, String(d.requests)]),
                )
              : 'no requests in this period',
            `last used: ${usage.last_used_at ? `${usage.last_used_at} from ${usage.last_used_ip}` : 'never'}`,
          ].join('\n'),
        );
      }),
    );
}

function describe(k: ApiKeyView): string {
  return [
    `id:         ${k.id}`,
    `name:       ${k.name}`,
    `key:        ${k.key}`,
    `api:        ${k.api}`,
    `owner:      ${k.owner ?? 'none'}`,
    `scopes:     ${k.scopes.join(' ') || 'none'}`,
    `quota:      ${[k.quota.per_minute && `${k.quota.per_minute}/min`, k.quota.per_day && `${k.quota.per_day}/day`].filter(Boolean).join(', ') || 'none'}`,
    `created:    ${k.created_at}`,
    `expires:    ${k.expires_at ?? 'never'}`,
    ...(k.revoked_at ? [`revoked:    ${k.revoked_at}`] : []),
    ...(k.previous_valid_until ? [`old value valid until: ${k.previous_valid_until}`] : []),
    `last used:  ${k.last_used_at ? `${k.last_used_at} from ${k.last_used_ip}` : 'never'}`,
  ].join('\n');
}
