// tessera clients create|list|show|update|delete|rotate-secret
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidInput } from '../errors.ts';
import {
  type ClientInput,
  type ClientMetadata,
  inputFromMetadata,
  TLS_SUBJECT_PROPERTIES,
} from '../services/client-metadata.ts';
import type { ClientView } from '../services/client-view.ts';
import { DEFAULT_SECRET_GRACE, MAX_SECRET_GRACE } from '../services/clients.ts';
import { AUTH_METHODS, GRANT_TYPE_NAMES, grantTypeName, ID_TOKEN_ALGS } from '../services/client-validation.ts';
import type { Run } from './context.ts';
import { duration, listOf, oneOf } from './options.ts';
import { table } from './output.ts';

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function clientOptions(command: Command): Command {
  return command
    .option('--name <name>', 'a display name')
    .option(
      '--grant-types <types>',
      `comma-separated: ${GRANT_TYPE_NAMES.join(', ')}`,
      listOf('--grant-types', GRANT_TYPE_NAMES),
    )
    .option('--api <audience>', 'an API the client may get tokens for (repeatable; the first is its default)', collect)
    .option('--scope <scopes>', 'space-separated OpenID Connect and API scopes the client may ask for')
    .option('--redirect-uri <uri>', 'an exact redirect URI (repeatable)', collect)
    .option('--post-logout-redirect-uri <uri>', 'an exact post-logout redirect URI (repeatable)', collect)
    .option(
      '--serves <audience>',
      "an API this client acts for; it may introspect that API's tokens (repeatable)",
      collect,
    )
    .option(
      '--auth-method <method>',
      'client_secret_basic (default), client_secret_post, private_key_jwt, tls_client_auth or self_signed_tls_client_auth',
      oneOf('--auth-method', AUTH_METHODS),
    )
    .option(
      '--jwks-file <file>',
      "the client's public keys (a JWKS JSON file) for private_key_jwt or self_signed_tls_client_auth",
    )
    .option(
      '--backchannel-logout-uri <url>',
      'where the client receives logout tokens when a session ends (OpenID Connect Back-Channel Logout)',
    )
    .option('--backchannel-logout-session-required', 'the logout token must name the session (sid)')
    .option('--jwks-uri <url>', 'where the client publishes its public keys (https), instead of --jwks-file')
    .option(
      '--tls-subject-dn <dn>',
      'tls_client_auth: the certificate subject DN (RFC 4514, e.g. "CN=billing,O=Example")',
    )
    .option('--tls-san-dns <name>', "tls_client_auth: a dNSName in the certificate's subjectAltName")
    .option('--tls-san-uri <uri>', "tls_client_auth: a URI in the certificate's subjectAltName")
    .option('--tls-san-ip <ip>', "tls_client_auth: an IP address in the certificate's subjectAltName")
    .option('--tls-san-email <email>', "tls_client_auth: an email address in the certificate's subjectAltName")
    .option('--dpop-bound', 'every token for this client must be DPoP-bound (RFC 9449 dpop_bound_access_tokens)')
    .option('--cert-bound', "bind access tokens to the client's TLS certificate (RFC 8705 §3)")
    .option('--require-par', 'authorization requests must be pushed first (RFC 9126 PAR)')
    .option('--first-party', 'a first-party app: users are not asked for consent')
    .option('--require-verified-email', 'users must confirm their email address before a code is issued')
    .option(
      '--require-mfa',
      'users must pass a second factor (enrolling one if they have none) before a code is issued',
    )
    .option(
      '--rbac-strict',
      'with RBAC enforced, refuse a request for scopes the roles do not grant (default: issue fewer scopes)',
    )
    .option('--no-rbac-strict', 'with RBAC enforced, issue the granted scopes only again')
    .option(
      '--require-explicit-scope',
      'client credentials must name their scopes (default: a request without scope gets all the API scopes the client may have)',
    )
    .option('--no-require-explicit-scope', 'a client-credentials request without scope gets all its API scopes again')
    .option(
      '--id-token-alg <alg>',
      "sign this client's ID tokens with RS256 (default), ES256 or EdDSA (the server needs KEYS_EXTRA_ALGS)",
      oneOf('--id-token-alg', ID_TOKEN_ALGS),
    );
}

/**
 * The options under their client-metadata names, the names a seed file uses; client-metadata.ts
 * turns both into the service's input, so the two cannot drift apart.
 */
function metadataFromOptions(opts: Record<string, unknown>): ClientMetadata {
  return {
    client_id: opts.id as string | undefined,
    name: opts.name as string | undefined,
    grant_types: opts.grantTypes as string[] | undefined,
    public: opts.public as boolean | undefined,
    token_endpoint_auth_method: opts.authMethod as string | undefined,
    apis: opts.api as string[] | undefined,
    scope: opts.scope as string | undefined,
    redirect_uris: opts.redirectUri as string[] | undefined,
    post_logout_redirect_uris: opts.postLogoutRedirectUri as string[] | undefined,
    serves: opts.serves as string[] | undefined,
    first_party: opts.firstParty as boolean | undefined,
    require_verified_email: opts.requireVerifiedEmail as boolean | undefined,
    require_mfa: opts.requireMfa as boolean | undefined,
    rbac_strict: opts.rbacStrict as boolean | undefined,
    id_token_signed_response_alg: opts.idTokenAlg as string | undefined,
    jwks: opts.jwksFile ? readJwks(opts.jwksFile as string) : undefined,
    jwks_uri: opts.jwksUri as string | undefined,
    tls_client_auth_subject_dn: opts.tlsSubjectDn as string | undefined,
    tls_client_auth_san_dns: opts.tlsSanDns as string | undefined,
    tls_client_auth_san_uri: opts.tlsSanUri as string | undefined,
    tls_client_auth_san_ip: opts.tlsSanIp as string | undefined,
    tls_client_auth_san_email: opts.tlsSanEmail as string | undefined,
    dpop_bound_access_tokens: opts.dpopBound as boolean | undefined,
    tls_client_certificate_bound_access_tokens: opts.certBound as boolean | undefined,
    require_pushed_authorization_requests: opts.requirePar as boolean | undefined,
    require_explicit_scope: opts.requireExplicitScope as boolean | undefined,
    backchannel_logout_uri: opts.backchannelLogoutUri as string | undefined,
    backchannel_logout_session_required: opts.backchannelLogoutSessionRequired as boolean | undefined,
  };
}

function readJwks(file: string): ClientMetadata['jwks'] {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClientMetadata['jwks'];
  } catch {
    throw new InvalidInput(`cannot read a JSON JWKS from ${file}`);
  }
}

export function registerClientCommands(program: Command, run: Run): void {
  const clients = program.command('clients').description('OAuth clients');

  clientOptions(
    clients.command('create').description("register a client; a confidential client's secret is printed once"),
  )
    .option('--public', 'a public client (SPA, native app, CLI): no secret, PKCE only')
    .option('--id <client_id>', 'choose the client_id (default: random)')
    .action((opts) =>
      run(async ({ clients: service }, out) => {
        if (!opts.name) throw new InvalidInput('--name is required');
        if (!opts.grantTypes) throw new InvalidInput('--grant-types is required');
        const { client, clientSecret } = await service.create(
          inputFromMetadata(metadataFromOptions(opts)) as ClientInput,
        );
        out.result({ ...client, ...(clientSecret ? { client_secret: clientSecret } : undefined) }, () =>
          [
            `created client ${client.name}`,
            `client_id:     ${client.client_id}`,
            ...(clientSecret
              ? [
                  `client_secret: ${clientSecret}`,
                  '',
                  'Store the secret now: Tessera keeps only a hash and cannot show it again.',
                ]
              : []),
          ].join('\n'),
        );
      }),
    );

  clients
    .command('list')
    .description('list clients')
    .action(() =>
      run(async ({ clients: service }, out) => {
        const all = await service.list();
        out.result(all, () =>
          all.length
            ? table(
                ['CLIENT_ID', 'NAME', 'GRANT TYPES'],
                all.map((c) => [c.client_id, c.name, c.grant_types.map(grantTypeName).join(',')]),
              )
            : 'no clients',
        );
      }),
    );

  clients
    .command('show')
    .description('show a client')
    .argument('<client_id>')
    .action((id: string) =>
      run(async ({ clients: service }, out) => {
        const client = await service.show(id);
        out.result(client, () => describe(client));
      }),
    );

  clientOptions(
    clients
      .command('update')
      .description('change a client; list options replace the whole list')
      .argument('<client_id>'),
  ).action((id: string, opts) =>
    run(async ({ clients: service }, out) => {
      if (Object.values(opts).every((v) => v === undefined))
        throw new InvalidInput(
          `nothing to change: give clients update ${id} at least one option (tessera clients update --help lists them)`,
        );
      const client = await service.update(id, inputFromMetadata(metadataFromOptions(opts)));
      out.result(client, () => `updated client ${id}\n${describe(client)}`);
    }),
  );

  clients
    .command('delete')
    .description('delete a client')
    .argument('<client_id>')
    .action((id: string) =>
      run(async ({ clients: service }, out) => {
        await service.delete(id);
        out.result({ deleted: id }, () => `deleted client ${id}`);
      }),
    );

  clients
    .command('allow-exchange')
    .description("let the client exchange users' tokens for tokens for this API (RFC 8693 token exchange)")
    .argument('<client_id>')
    .requiredOption('--api <audience>', 'the API the client may exchange towards')
    .option('--revoke', 'take the permission away instead')
    .action((id: string, opts: { api: string; revoke?: boolean }) =>
      run(async ({ clients: service }, out) => {
        const client = opts.revoke
          ? await service.disallowExchange(id, opts.api)
          : await service.allowExchange(id, opts.api);
        out.result(client, () => `${id} may exchange tokens for: ${client.token_exchange.join(' ') || 'nothing'}`);
      }),
    );

  clients
    .command('rotate-secret')
    .description('issue a new secret; the old one keeps working for the grace period')
    .argument('<client_id>')
    .option(
      '--grace <duration>',
      'how long the old secret stays valid (e.g. 0, 15m, 24h, 7d; at most 90d)',
      duration('--grace', MAX_SECRET_GRACE),
      DEFAULT_SECRET_GRACE,
    )
    .action((id: string, opts) =>
      run(async ({ clients: service }, out) => {
        const rotated = await service.rotateSecret(id, opts.grace);
        out.result(
          {
            client_id: id,
            client_secret: rotated.clientSecret,
            previous_secret_valid_until: rotated.previousValidUntil,
          },
          () =>
            [
              `client_secret: ${rotated.clientSecret}`,
              `the previous secret stays valid until ${rotated.previousValidUntil}`,
            ].join('\n'),
        );
      }),
    );
}

const CERTIFICATE_SUBJECT_LABELS = {
  tls_client_auth_subject_dn: 'certificate subject DN',
  tls_client_auth_san_dns: 'certificate SAN (DNS)',
  tls_client_auth_san_uri: 'certificate SAN (URI)',
  tls_client_auth_san_ip: 'certificate SAN (IP)',
  tls_client_auth_san_email: 'certificate SAN (email)',
} as const;

// Every setting, the defaults too, so that what is shown is what the server enforces.
function describe(c: ClientView): string {
  const yesNo = (b: boolean, yes = 'yes') => (b ? yes : 'no');
  const keys = c.jwks_uri
    ? (c.jwks_uri as string)
    : c.jwks
      ? `${(c.jwks as { keys: unknown[] }).keys.length} key(s) registered (JWKS)`
      : 'none';
  const subject = TLS_SUBJECT_PROPERTIES.find((p) => typeof (c as Record<string, unknown>)[p] === 'string');
  const fields: [string, string | string[]][] = [
    ['client_id', c.client_id],
    ['name', c.name],
    ['grant types', c.grant_types.map(grantTypeName).join(', ')],
    [
      'auth method',
      c.token_endpoint_auth_method === 'none'
        ? 'none (a public client: PKCE, no secret)'
        : c.token_endpoint_auth_method,
    ],
    ['redirect URIs', c.redirect_uris],
    ['post-logout redirect URIs', c.post_logout_redirect_uris],
    ['scope', c.scope || 'none'],
    ['APIs', c.apis.map((a) => `${a.audience} [${a.scopes.join(' ')}]${a.default ? ' (default)' : ''}`)],
    ['serves', c.serves],
    ['exchanges towards', c.token_exchange],
    ['first-party', yesNo(c.first_party, 'yes (users are not asked for consent)')],
    ['ID token algorithm', c.id_token_signed_response_alg],
    ['client keys', keys],
    ...(subject
      ? [[CERTIFICATE_SUBJECT_LABELS[subject], String((c as Record<string, unknown>)[subject])] as [string, string]]
      : []),
    ['DPoP-bound tokens', yesNo(c.dpop_bound_access_tokens)],
    ['certificate-bound tokens', yesNo(c.tls_client_certificate_bound_access_tokens)],
    ['requires PAR', yesNo(c.require_pushed_authorization_requests)],
    // Only where it applies: a client without the grant never asks for a scope this way.
    ...(c.grant_types.includes('client_credentials')
      ? [
          [
            'client credentials scope',
            c.require_explicit_scope ? 'must be named (no default)' : 'all its API scopes when none is named',
          ] as [string, string],
        ]
      : []),
    [
      'secrets',
      c.secrets.map((s) => `${s.hint} created ${s.created_at}${s.expires_at ? `, valid until ${s.expires_at}` : ''}`),
    ],
    ['created', c.created_at],
    ['updated', c.updated_at],
  ];
  const width = Math.max(...fields.map(([label]) => label.length)) + 3;
  return fields
    .flatMap(([label, value]) => {
      const values = typeof value === 'string' ? [value] : value.length ? value : ['none'];
      return values.map((v, i) => `${i === 0 ? `${label}:`.padEnd(width) : ' '.repeat(width)}${v}`);
    })
    .join('\n');
}
