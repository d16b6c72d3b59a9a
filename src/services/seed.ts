// The declarative seed file: APIs and clients in JSON or YAML, applied idempotently (applying
// the same file twice changes nothing). Secrets are never written in the file itself: a
// client's secret is a reference to an environment variable, `client_secret: { env: TESSERA_SEED_NAME }`.
import { z } from 'zod';
import { SEED_ENV_PREFIX } from '../config/env.ts';
import { InvalidInput } from '../errors.ts';
import type { Audit } from './audit.ts';
import type { ApiService } from './apis.ts';
import { hashSecret, SECRET_PREFIX } from './client-secrets.ts';
import { type ClientInput, inputFromMetadata } from './client-metadata.ts';
import { usesSecret } from './client-secrets.ts';
import { checkClientSettings } from './client-validation.ts';
import type { ClientService } from './clients.ts';
import type { UserService } from './users.ts';

const scopeList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v.join(' ') : v));
const uriList = z.array(z.string()).optional();

// Only variables named for the seed file can be read (config/env.ts SEED_ENV_PREFIX): otherwise
// `{ env: DATABASE_URL }` would make Tessera's own configuration a client's secret.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const secretReference = z.unknown().transform((value, ctx) => {
  const env = (value as { env?: unknown } | null)?.env;
  if (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof env === 'string' &&
    ENV_NAME.test(env)
  ) {
    if (env.startsWith(SEED_ENV_PREFIX)) return { env };
    // A variable's name, never its value, is echoed.
    ctx.addIssue({
      code: 'custom',
      message: `{ env: ${env} } is not readable: a seed file reads only variables whose names start with ${SEED_ENV_PREFIX}`,
    });
    return z.NEVER;
  }
  // The value is never echoed: it may be the secret itself.
  ctx.addIssue({
    code: 'custom',
    message: `must be an environment reference { env: ${SEED_ENV_PREFIX}NAME }, never the secret itself`,
  });
  return z.NEVER;
});

const seedSchema = z
  .object({
    apis: z
      .array(
        z
          .object({
            audience: z.string(),
            name: z.string().optional(),
            scopes: scopeList.optional(),
            access_token_ttl: z.number().int().optional(),
          })
          .strict(),
      )
      .default([]),
    clients: z
      .array(
        z
          .object({
            client_id: z.string(),
            name: z.string(),
            grant_types: z.array(z.string()),
            public: z.boolean().optional(),
            token_endpoint_auth_method: z.string().optional(),
            redirect_uris: uriList,
            post_logout_redirect_uris: uriList,
            scope: scopeList.optional(),
            apis: z.array(z.string()).optional(),
            serves: z.array(z.string()).optional(),
            first_party: z.boolean().optional(),
            require_verified_email: z.boolean().optional(),
            require_mfa: z.boolean().optional(),
            require_explicit_scope: z.boolean().optional(),
            client_secret: secretReference.optional(),
            // Strong client authentication and sender constraints, named as in client metadata.
            jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
            jwks_uri: z.string().optional(),
            tls_client_auth_subject_dn: z.string().optional(),
            tls_client_auth_san_dns: z.string().optional(),
            tls_client_auth_san_uri: z.string().optional(),
            tls_client_auth_san_ip: z.string().optional(),
            tls_client_auth_san_email: z.string().optional(),
            dpop_bound_access_tokens: z.boolean().optional(),
            tls_client_certificate_bound_access_tokens: z.boolean().optional(),
            require_pushed_authorization_requests: z.boolean().optional(),
            // OpenID Connect Back-Channel Logout 1.0.
            backchannel_logout_uri: z.string().optional(),
            backchannel_logout_session_required: z.boolean().optional(),
            // Audiences of the APIs the client may exchange tokens towards (RFC 8693).
            token_exchange: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .default([]),
    users: z
      .array(
        z
          .object({
            email: z.string(),
            name: z.string().optional(),
            given_name: z.string().optional(),
            family_name: z.string().optional(),
            email_verified: z.boolean().optional(),
            // Either an argon2id hash or a reference to an environment variable holding the password.
            password_hash: z.string().optional(),
            password: secretReference.optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type SeedFile = z.infer<typeof seedSchema>;

// A seeded secret is chosen by the operator, not generated, so it must at least be as strong
// as a generated one's randomness allows us to check: 32 characters.
const MIN_SEEDED_SECRET_LENGTH = 32;

export interface SeedReport {
  apis: Record<string, 'created' | 'updated' | 'unchanged'>;
  clients: Record<string, 'created' | 'updated' | 'unchanged'>;
  users: Record<string, 'created' | 'updated' | 'unchanged'>;
}

export function parseSeed(document: unknown): SeedFile {
  const result = seedSchema.safeParse(document);
  if (!result.success) {
    throw new InvalidInput(
      `the seed file is invalid:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  }
  return result.data;
}

export async function applySeed(
  seed: SeedFile,
  deps: {
    apis: ApiService;
    clients: ClientService;
    users: UserService;
    pepper: Buffer;
    readEnv: (name: string) => string | undefined;
    /** clientService.apply records nothing itself, so the client events are recorded here. */
    audit: Audit;
    actor: string;
  },
): Promise<SeedReport> {
  const report: SeedReport = { apis: {}, clients: {}, users: {} };
  const passwords = new Map<string, string>();
  for (const user of seed.users) {
    if (!user.password) continue;
    const value = deps.readEnv(user.password.env);
    if (!value) throw new InvalidInput(`user ${user.email}: environment variable ${user.password.env} is not set`);
    passwords.set(user.email, value);
  }
  // Resolve every secret before writing anything, so that a missing variable changes nothing.
  const secrets = new Map<string, { hash: Buffer; hint: string }>();
  for (const client of seed.clients) {
    if (!client.client_secret) continue;
    const value = deps.readEnv(client.client_secret.env);
    if (!value)
      throw new InvalidInput(`client ${client.client_id}: environment variable ${client.client_secret.env} is not set`);
    if (value.length < MIN_SEEDED_SECRET_LENGTH) {
      throw new InvalidInput(
        `client ${client.client_id}: the secret in ${client.client_secret.env} needs at least ${MIN_SEEDED_SECRET_LENGTH} characters (generate one like ${SECRET_PREFIX}...)`,
      );
    }
    secrets.set(client.client_id, { hash: hashSecret(value, deps.pepper), hint: value.slice(-4) });
  }
  // Check every client's settings before writing anything, so that a refused client leaves the
  // file unapplied rather than half-applied.
  const inputs = new Map(seed.clients.map((client) => [client.client_id, checkedInput(client)]));
  for (const api of seed.apis) {
    report.apis[api.audience] = await deps.apis.apply({
      audience: api.audience,
      name: api.name,
      scope: api.scopes,
      accessTokenTtl: api.access_token_ttl,
    });
  }
  for (const client of seed.clients) {
    const isPublic = client.public ?? client.token_endpoint_auth_method === 'none';
    const withSecret = !isPublic && usesSecret(client.token_endpoint_auth_method ?? 'client_secret_basic');
    if (withSecret && !secrets.has(client.client_id)) {
      throw new InvalidInput(
        `client ${client.client_id}: a confidential client needs client_secret: { env: ${SEED_ENV_PREFIX}NAME }`,
      );
    }
    if (!withSecret && secrets.has(client.client_id)) {
      throw new InvalidInput(
        `client ${client.client_id}: a ${isPublic ? 'public' : client.token_endpoint_auth_method} client has no client_secret`,
      );
    }
    report.clients[client.client_id] = await deps.clients.apply(
      inputs.get(client.client_id)!,
      secrets.get(client.client_id),
    );
    if (report.clients[client.client_id] === 'created') {
      await deps.audit.record({
        type: 'client.created',
        actor: deps.actor,
        subject: client.client_id,
        details: { grant_types: client.grant_types },
      });
    } else if (report.clients[client.client_id] === 'updated') {
      await deps.audit.record({ type: 'client.updated', actor: deps.actor, subject: client.client_id });
    }
    if (
      client.token_exchange !== undefined &&
      (await deps.clients.setExchangeTargets(client.client_id, client.token_exchange)) &&
      report.clients[client.client_id] === 'unchanged'
    ) {
      report.clients[client.client_id] = 'updated';
    }
  }
  for (const user of seed.users) {
    report.users[user.email] = await deps.users.apply({
      email: user.email,
      name: user.name,
      givenName: user.given_name,
      familyName: user.family_name,
      emailVerified: user.email_verified,
      passwordHash: user.password_hash,
      password: passwords.get(user.email),
    });
  }
  return report;
}

/** The client's settings as the service takes them, checked as far as they can be before the APIs exist. */
function checkedInput(client: SeedFile['clients'][number]): ClientInput & { id: string } {
  try {
    const input = inputFromMetadata(client) as ClientInput & { id: string };
    checkClientSettings(input);
    return input;
  } catch (err) {
    if (err instanceof InvalidInput) throw new InvalidInput(`client ${client.client_id}: ${err.message}`);
    throw err;
  }
}
