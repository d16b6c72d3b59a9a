// tessera clients create|list|show|update|delete|rotate-secret
import type { Command } from 'commander';
import { InvalidInput } from '../errors.ts';
import type { ClientInput, ClientView } from '../services/clients.ts';
import type { Run } from './main.ts';
import { parseDuration } from './output.ts';

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const list = (value: string) => value.split(/[\s,]+/).filter(Boolean);

function clientOptions(command: Command): Command {
  return command
    .option('--name <name>', 'a display name')
    .option('--grant-types <types>', 'comma-separated: client_credentials, authorization_code, refresh_token, device_code', list)
    .option('--api <audience>', 'an API the client may get tokens for (repeatable; the first is its default)', collect)
    .option('--scope <scopes>', 'space-separated OpenID Connect and API scopes the client may ask for')
    .option('--redirect-uri <uri>', 'an exact redirect URI (repeatable)', collect)
    .option('--post-logout-redirect-uri <uri>', 'an exact post-logout redirect URI (repeatable)', collect)
    .option('--serves <audience>', 'an API this client acts for; it may introspect that API\'s tokens (repeatable)', collect)
    .option('--auth-method <method>', 'client_secret_basic (default) or client_secret_post')
    .option('--first-party', 'a first-party app: users are not asked for consent')
    .option('--id-token-alg <alg>', 'sign this client\'s ID tokens with RS256 (default), ES256 or EdDSA (the server needs KEYS_EXTRA_ALGS)');
}

function inputFrom(opts: Record<string, unknown>): Partial<ClientInput> {
  return {
    name: opts.name as string | undefined,
    grantTypes: opts.grantTypes as string[] | undefined,
    apis: opts.api as string[] | undefined,
    scope: opts.scope as string | undefined,
    redirectUris: opts.redirectUri as string[] | undefined,
    postLogoutRedirectUris: opts.postLogoutRedirectUri as string[] | undefined,
    serves: opts.serves as string[] | undefined,
    authMethod: opts.authMethod as string | undefined,
    firstParty: opts.firstParty as boolean | undefined,
    idTokenAlg: opts.idTokenAlg as string | undefined,
  };
}

export function registerClientCommands(program: Command, run: Run): void {
  const clients = program.command('clients').description('OAuth clients');

  clientOptions(clients.command('create').description('register a client; a confidential client\'s secret is printed once'))
    .option('--public', 'a public client (SPA, native app, CLI): no secret, PKCE only')
    .option('--id <client_id>', 'choose the client_id (default: random)')
    .action((opts) => run(async ({ clients: service }, out) => {
      if (!opts.name) throw new InvalidInput('--name is required');
      if (!opts.grantTypes) throw new InvalidInput('--grant-types is required');
      const { client, clientSecret } = await service.create({
        ...inputFrom(opts),
        id: opts.id,
        public: opts.public === true,
      } as ClientInput);
      out.result({ ...client, ...(clientSecret ? { client_secret: clientSecret } : undefined) }, () => [
        `created client ${client.name}`,
        `client_id:     ${client.client_id}`,
        ...(clientSecret ? [`client_secret: ${clientSecret}`, '', 'Store the secret now: Tessera keeps only a hash and cannot show it again.'] : []),
      ].join('\n'));
    }));

  clients.command('list').description('list clients').action(() => run(async ({ clients: service }, out) => {
    const all = await service.list();
    out.result(all, () => all.map((c) => `${c.client_id}\t${c.name}\t${c.grant_types.join(',')}`).join('\n') || 'no clients');
  }));

  clients.command('show').description('show a client').argument('<client_id>')
    .action((id: string) => run(async ({ clients: service }, out) => {
      const client = await service.show(id);
      out.result(client, () => describe(client));
    }));

  clientOptions(clients.command('update').description('change a client; list options replace the whole list').argument('<client_id>'))
    .action((id: string, opts) => run(async ({ clients: service }, out) => {
      const client = await service.update(id, inputFrom(opts));
      out.result(client, () => `updated client ${id}\n${describe(client)}`);
    }));

  clients.command('delete').description('delete a client').argument('<client_id>')
    .action((id: string) => run(async ({ clients: service }, out) => {
      await service.delete(id);
      out.result({ deleted: id }, () => `deleted client ${id}`);
    }));

  clients.command('rotate-secret')
    .description('issue a new secret; the old one keeps working for the grace period')
    .argument('<client_id>')
    .option('--grace <duration>', 'how long the old secret stays valid (e.g. 0, 15m, 24h, 7d)', '24h')
    .action((id: string, opts) => run(async ({ clients: service }, out) => {
      const rotated = await service.rotateSecret(id, parseDuration(opts.grace));
      out.result({ client_id: id, client_secret: rotated.clientSecret, previous_secret_valid_until: rotated.previousValidUntil }, () => [
        `client_secret: ${rotated.clientSecret}`,
        `the previous secret stays valid until ${rotated.previousValidUntil}`,
      ].join('\n'));
    }));
}

function describe(c: ClientView): string {
  return [
    `client_id:   ${c.client_id}`,
    `name:        ${c.name}`,
    `grant types: ${c.grant_types.join(', ')}`,
    `auth method: ${c.token_endpoint_auth_method}`,
    ...(c.redirect_uris.length ? [`redirect:    ${c.redirect_uris.join(' ')}`] : []),
    ...(c.scope ? [`scope:       ${c.scope}`] : []),
    ...c.apis.map((a) => `api:         ${a.audience} [${a.scopes.join(' ')}]${a.default ? ' (default)' : ''}`),
    ...c.serves.map((a) => `serves:      ${a}`),
    ...c.secrets.map((s) => `secret:      ${s.hint} created ${s.created_at}${s.expires_at ? `, valid until ${s.expires_at}` : ''}`),
  ].join('\n');
}
