// The declarative seed file: APIs and clients in JSON or YAML, applied idempotently (applying
// the same file twice changes nothing). Secrets are never written in the file itself: a
// client's secret is a reference to an environment variable, `client_secret: { env: TESSERA_SEED_NAME }`.
import { z } from 'zod';
import { SEED_ENV_PREFIX } from '../config/env.ts';
import { InvalidInput } from '../errors.ts';
import type { Audit } from './audit.ts';
import type { ApiService } from './apis.ts';
import type { ApiKeyService } from './api-keys.ts';
import { isWellFormedApiKey } from '../api-keys/key-format.ts';
import { hashSecret, SECRET_PREFIX } from './client-secrets.ts';
import { type ClientInput, inputFromMetadata } from './client-metadata.ts';
import { usesSecret } from './client-secrets.ts';
import { checkClientSettings } from './client-validation.ts';
import type { ClientService } from './clients.ts';
import { RBAC_MODES, RBAC_TOKEN_CLAIMS } from './rbac.ts';
import { checkDescription, checkRoleName, type RoleService } from './roles.ts';
import { parseScopes } from './scopes.ts';
import type { UserService } from './users.ts';
import type { OrganizationService } from './organizations.ts';
import {
  applyOrganizationSeed,
  checkOrganizationSeed,
  organizationSeedSchema,
  seedReferences,
} from './organization-seed.ts';

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

/** An API (resource server) as a seed file declares it and the admin API creates it. */
export const apiSchema = z
  .object({
    audience: z.string(),
    name: z.string().optional(),
    scopes: scopeList.optional(),
    access_token_ttl: z.number().int().optional(),
    // RBAC (README "Roles and permissions").
    rbac: z.enum(RBAC_MODES).optional(),
    token_claims: z.array(z.enum(RBAC_TOKEN_CLAIMS)).optional(),
  })
  .strict();

/**
 * A client's settings by their client-metadata names (client-metadata.ts): what a seed file
 * declares and the admin API's requests carry (src/admin/schemas.ts), one definition for both.
 */
export const clientMetadataSchema = z
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
    rbac_strict: z.boolean().optional(),
    require_explicit_scope: z.boolean().optional(),
    id_token_signed_response_alg: z.string().optional(),
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
    backchannel_logout_uri: z
      .string()
      .optional()
      .describe('where the client receives logout tokens when a session it is signed in through ends (https)'),
    backchannel_logout_session_required: z
      .boolean()
      .optional()
      .describe('the logout token must carry sid (Tessera always sends it)'),
  })
  .strict();

const seedSchema = z
  .object({
    apis: z.array(apiSchema).default([]),
    clients: z
      .array(
        clientMetadataSchema
          .extend({
            client_secret: secretReference.optional(),
            // Audiences of the APIs the client may exchange tokens towards (RFC 8693).
            token_exchange: z.array(z.string()).optional(),
            // The client's roles (exactly these), for its client-credentials tokens.
            roles: z.array(z.string()).optional(),
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
            // The user's language (README "Pages and languages"): their mails are in it.
            locale: z.string().optional(),
            email_verified: z.boolean().optional(),
            // Either an argon2id hash or a reference to an environment variable holding the password.
            password_hash: z.string().optional(),
            password: secretReference.optional(),
            // The user's roles (exactly these).
            roles: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .default([]),
    // Roles: a name, a description, and permissions as { <API audience>: <its scopes> }.
    roles: z
      .array(
        z
          .object({
            name: z.string(),
            description: z.string().optional(),
            permissions: z.record(z.string(), scopeList).default({}),
          })
          .strict(),
      )
      .default([]),
    // API keys: the value is generated once (`tessera api-keys create` prints one; keep it in a
    // secret store) and read here from an environment variable, like client secrets. Only its
    // hash is stored; the file never holds a key.
    api_keys: z
      .array(
        z
          .object({
            name: z.string(),
            api: z.string(),
            scopes: scopeList.optional(),
            client: z.string().optional(),
            user: z.string().optional(),
            quota: z
              .object({
                per_minute: z.number().int().positive().optional(),
                per_day: z.number().int().positive().optional(),
              })
              .strict()
              .optional(),
            key: secretReference,
          })
          .strict(),
      )
      .default([]),
    // Organizations with their roles and members (organization-seed.ts).
    organizations: organizationSeedSchema.default([]),
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
  // The newer sections are reported only for a file that has them (older reports stay as they were).
  roles?: Record<string, 'created' | 'updated' | 'unchanged'>;
  organizations?: Record<string, 'created' | 'updated' | 'unchanged'>;
  api_keys?: Record<string, 'created' | 'unchanged'>;
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
    /** Needed by a file with roles, or users or clients that name them. */
    roles?: RoleService;
    users: UserService;
    /** Needed only by a file with api_keys. */
    apiKeys?: ApiKeyService;
    pepper: Buffer;
    readEnv: (name: string) => string | undefined;
    /** clientService.apply records nothing itself, so the client events are recorded here. */
    audit: Audit;
    actor: string;
    /** For a file with organizations: the service, and what the database holds already. */
    organizations?: {
      service: OrganizationService;
      apiScopes(audience: string): Promise<string[] | undefined>;
      userExists(email: string): Promise<boolean>;
    };
  },
): Promise<SeedReport> {
  const report: SeedReport = { apis: {}, clients: {}, users: {} };
  const rolesReport: Record<string, 'created' | 'updated' | 'unchanged'> = {};
  if (seed.roles.length) report.roles = rolesReport;
  if (seed.organizations.length > 0) {
    if (!deps.organizations) throw new Error('applySeed: organizations need the organization service');
    // Every organization's references checked before anything is written (nothing half-applied).
    await checkOrganizationSeed(seed.organizations, seedReferences(seed, deps.organizations));
  }
  const keysReport: Record<string, 'created' | 'unchanged'> = {};
  if (seed.api_keys.length) report.api_keys = keysReport;
  // Every key's value is read and checked before anything is written.
  const keyValues = new Map<string, string>();
  for (const key of seed.api_keys) {
    const value = deps.readEnv(key.key.env);
    if (!value) throw new InvalidInput(`API key ${key.name}: environment variable ${key.key.env} is not set`);
    if (!isWellFormedApiKey(value))
      throw new InvalidInput(
        `API key ${key.name}: ${key.key.env} does not hold a Tessera API key (generate one with tessera api-keys create)`,
      );
    keyValues.set(`${key.api} ${key.name}`, value);
  }
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
  // Roles, permissions and role names are checked before anything is written too.
  const roles = await checkRoles(seed, deps);
  for (const api of seed.apis) {
    report.apis[api.audience] = await deps.apis.apply({
      audience: api.audience,
      name: api.name,
      scope: api.scopes,
      accessTokenTtl: api.access_token_ttl,
      rbac: api.rbac,
      tokenClaims: api.token_claims,
    });
  }
  for (const role of seed.roles) {
    rolesReport[role.name] = await roles!.apply({
      name: role.name,
      description: role.description,
      permissions: Object.entries(role.permissions).map(([api, scope]) => ({ api, scope })),
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
    if (
      client.roles !== undefined &&
      (await roles!.setClientRoles(client.client_id, client.roles)) &&
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
      locale: user.locale,
      emailVerified: user.email_verified,
      passwordHash: user.password_hash,
      password: passwords.get(user.email),
    });
    if (user.roles !== undefined) {
      const { id } = await deps.users.find(user.email);
      if ((await roles!.setUserRoles(id, user.roles)) && report.users[user.email] === 'unchanged')
        report.users[user.email] = 'updated';
    }
  }
  if (deps.organizations && seed.organizations.length > 0)
    report.organizations = await applyOrganizationSeed(seed.organizations, deps.organizations.service);
  for (const key of seed.api_keys) {
    if (!deps.apiKeys) throw new Error('applySeed: api_keys need the API key service');
    keysReport[`${key.api} ${key.name}`] = await deps.apiKeys.apply(
      {
        name: key.name,
        audience: key.api,
        scope: key.scopes,
        clientId: key.client,
        userEmail: key.user,
        quota: key.quota && { perMinute: key.quota.per_minute, perDay: key.quota.per_day },
      },
      keyValues.get(`${key.api} ${key.name}`)!,
    );
  }
  return report;
}

/**
 * The file's roles and the roles it gives, checked against the file and the database before
 * anything is written: a role's name and description, each permission's API (in the file or
 * registered) and scope (one that API defines, as the file leaves it), and every role named by a
 * user or client (in the file or existing). Unknown names are refused, all of them at once.
 */
async function checkRoles(
  seed: SeedFile,
  deps: { apis: ApiService; roles?: RoleService | undefined },
): Promise<RoleService | undefined> {
  const usesRoles =
    seed.roles.length > 0 || seed.users.some((u) => u.roles) || seed.clients.some((c) => c.roles !== undefined);
  if (!usesRoles) return deps.roles;
  if (!deps.roles) throw new Error('applySeed: this seed file has roles; pass the role service');
  const problems: string[] = [];
  const fileApis = new Map(seed.apis.map((a) => [a.audience, parseScopes(a.scopes ?? '')]));
  for (const role of seed.roles) {
    try {
      checkRoleName(role.name);
      checkDescription(role.description);
    } catch (err) {
      if (!(err instanceof InvalidInput)) throw err;
      problems.push(`role ${role.name}: ${err.message}`);
    }
    for (const [audience, scope] of Object.entries(role.permissions)) {
      let defined = fileApis.get(audience);
      if (!defined) {
        const registered = await deps.apis.list();
        defined = registered.find((a) => a.audience === audience)?.scopes;
      }
      if (!defined) {
        problems.push(`role ${role.name}: no API has audience ${audience}`);
        continue;
      }
      for (const s of parseScopes(scope))
        if (!defined.includes(s)) problems.push(`role ${role.name}: API ${audience} defines no scope ${s}`);
    }
  }
  const inFile = new Set(seed.roles.map((r) => r.name));
  const named = [
    ...seed.users.flatMap((u) => (u.roles ?? []).map((r) => ({ who: `user ${u.email}`, role: r }))),
    ...seed.clients.flatMap((c) => (c.roles ?? []).map((r) => ({ who: `client ${c.client_id}`, role: r }))),
  ].filter((n) => !inFile.has(n.role));
  const unknown = new Set(await deps.roles.unknown(named.map((n) => n.role)));
  for (const n of named) if (unknown.has(n.role)) problems.push(`${n.who}: no role ${n.role}`);
  if (problems.length)
    throw new InvalidInput(`the seed file is not applied:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return deps.roles;
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
