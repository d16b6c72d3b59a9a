// Managed API keys (issue 18): created for one API with some of its scopes, owned by a client or a
// user (or neither), shown once, stored as a keyed hash (api-keys/key-format.ts), revoked, rotated
// with a grace, metered per day. Introspection answers for them (oidc/api-key-introspection.ts).
import type { ApiKeyQueries } from '../db/queries/api-keys.ts';
import type { ApiQueries } from '../db/queries/apis.ts';
import type { PagePosition } from '../db/queries/paging.ts';
import type { ClientQueries } from '../db/queries/clients.ts';
import type { UserQueries } from '../db/queries/users.ts';
import { generateApiKey, isWellFormedApiKey, apiKeyHint, hashApiKey } from '../api-keys/key-format.ts';
import { Conflict, InvalidInput, NotFound } from '../errors.ts';
import { noAudit, type Audit } from './audit.ts';
import { parseScopes } from './scopes.ts';
import { normalizeEmail } from './users.ts';

// Ten years: a key is meant to be rotated; an expiry past this is a typo for "never" (omit it).
export const MAX_API_KEY_LIFETIME = 10 * 365 * 86_400;
// A grace of at most a week: long enough to roll a key out to every caller, short enough that a
// leaked key rotated away stops working soon.
export const MAX_ROTATION_GRACE = 7 * 86_400;
// Names are labels for people, shown in lists.
const MAX_NAME_LENGTH = 100;

export interface ApiKeyQuota {
  perMinute?: number | undefined;
  perDay?: number | undefined;
}

export interface ApiKeyInput {
  name: string;
  audience: string;
  scope?: string | undefined;
  clientId?: string | undefined;
  userEmail?: string | undefined;
  /** Seconds from now; undefined: the key does not expire. */
  expiresIn?: number | undefined;
  quota?: ApiKeyQuota | undefined;
}

/** "100/min", "10000/day", or both, comma-separated, into a quota. */
export function parseQuota(value: string): ApiKeyQuota {
  const quota: ApiKeyQuota = {};
  for (const part of value.split(',').map((p) => p.trim())) {
    const match = /^(\d{1,9})\/(min|minute|day)$/.exec(part);
    const n = match ? Number(match[1]) : 0;
    if (!match || n < 1)
      throw new InvalidInput(
        `a quota is a positive count per min or day, e.g. 100/min or 10000/day, not ${JSON.stringify(part)}`,
      );
    const unit = match[2] === 'day' ? 'perDay' : 'perMinute';
    if (quota[unit] !== undefined) throw new InvalidInput(`the quota names ${match[2]} twice`);
    quota[unit] = n;
  }
  return quota;
}

type KeyRow = NonNullable<Awaited<ReturnType<ApiKeyQueries['find']>>>;

/** What `list` and `show` print: never the key, nor its hash. */
export function describeApiKey(k: KeyRow) {
  return {
    id: k.id,
    name: k.name,
    api: k.api.audience,
    key: `tsk_…${k.hint}`,
    scopes: k.scopes,
    owner: k.clientId ? `client:${k.clientId}` : k.user ? `user:${k.user.email}` : null,
    quota: { per_minute: k.perMinute, per_day: k.perDay },
    created_at: k.createdAt.toISOString(),
    expires_at: k.expiresAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
    previous_valid_until: k.previousExpiresAt?.toISOString() ?? null,
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    last_used_ip: k.lastUsedIp,
  };
}

export type ApiKeyView = ReturnType<typeof describeApiKey>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function apiKeyService(deps: {
  keys: ApiKeyQueries;
  apis: Pick<ApiQueries, 'findByAudience'>;
  clients: Pick<ClientQueries, 'find'>;
  users: Pick<UserQueries, 'findByEmail'>;
  pepper: Buffer;
  audit?: Audit;
  actor?: string;
  now?: () => number;
}) {
  const audit = deps.audit ?? noAudit;
  const actor = deps.actor ?? 'system';
  const now = deps.now ?? Date.now;

  /** What `load` reads for the key `id`, or NotFound. */
  async function loadKey<T>(id: string, load: (id: string) => Promise<T | null>): Promise<T> {
    // Not a UUID: no such key (and no database error for the column's type).
    const found = UUID.test(id) ? await load(id) : null;
    if (!found) throw new NotFound(`no API key has id ${id}`);
    return found;
  }

  function find(id: string): Promise<KeyRow> {
    return loadKey(id, deps.keys.find);
  }

  /** The id of the API with this audience (NotFound if none); undefined for no audience. */
  async function apiIdOf(audience: string | undefined): Promise<string | undefined> {
    if (audience === undefined) return undefined;
    const api = await deps.apis.findByAudience(audience);
    if (!api) throw new NotFound(`no API has audience ${audience}`);
    return api.id;
  }

  /** Checks everything and returns what to store, without writing (the seed checks first). */
  async function prepare(input: ApiKeyInput) {
    const name = input.name.trim();
    if (!name || name.length > MAX_NAME_LENGTH)
      throw new InvalidInput(`an API key's name must have 1 to ${MAX_NAME_LENGTH} characters`);
    const api = await deps.apis.findByAudience(input.audience);
    if (!api) throw new NotFound(`no API has audience ${input.audience}`);
    const scopes = parseScopes(input.scope ?? '', { forApi: true });
    const unknown = scopes.find((s) => !api.scopes.includes(s));
    if (unknown) throw new InvalidInput(`API ${api.audience} defines no scope ${unknown}`);
    if (input.clientId !== undefined && input.userEmail !== undefined)
      throw new InvalidInput('an API key belongs to a client or to a user, not both');
    let clientId: string | null = null;
    let userId: string | null = null;
    if (input.clientId !== undefined) {
      if (!(await deps.clients.find(input.clientId))) throw new NotFound(`no client has id ${input.clientId}`);
      clientId = input.clientId;
    }
    if (input.userEmail !== undefined) {
      const user = await deps.users.findByEmail(normalizeEmail(input.userEmail));
      if (!user) throw new NotFound(`no user has email ${input.userEmail}`);
      userId = user.id;
    }
    if (input.expiresIn !== undefined && !(input.expiresIn >= 60 && input.expiresIn <= MAX_API_KEY_LIFETIME))
      throw new InvalidInput(`an API key's lifetime must be from 60 seconds to ${MAX_API_KEY_LIFETIME / 86_400} days`);
    if (await deps.keys.findByName(api.id, name))
      throw new Conflict(`API ${api.audience} has an API key named ${name} already`);
    return {
      name,
      apiId: api.id,
      scopes,
      clientId,
      userId,
      perMinute: input.quota?.perMinute ?? null,
      perDay: input.quota?.perDay ?? null,
      expiresAt: input.expiresIn === undefined ? null : new Date(now() + input.expiresIn * 1000),
    };
  }

  async function store(data: Awaited<ReturnType<typeof prepare>>, value: { hash: Buffer; hint: string }) {
    const key = await deps.keys.create({ ...data, hash: value.hash, hint: value.hint });
    await audit.record({
      type: 'api_key.created',
      actor,
      subject: key.id,
      details: { api: key.api.audience, name: key.name, scopes: key.scopes },
    });
    return describeApiKey(key);
  }

  return {
    /** A new key: the value is returned this once and never stored. */
    async create(input: ApiKeyInput): Promise<{ key: ApiKeyView; value: string }> {
      const data = await prepare(input);
      const generated = generateApiKey(deps.pepper);
      return { key: await store(data, generated), value: generated.value };
    },
    /**
     * A key from the seed file: its value chosen by the operator (from an environment variable),
     * checked for the format so that a weak or mistyped value is refused. Idempotent: a key of the
     * same API and name with this value is left alone.
     */
    async apply(input: ApiKeyInput, value: string): Promise<'created' | 'unchanged'> {
      if (!isWellFormedApiKey(value))
        throw new InvalidInput(
          `API key ${input.name}: the value is not a Tessera API key (create one with tessera api-keys create)`,
        );
      const hash = hashApiKey(value, deps.pepper);
      const api = await deps.apis.findByAudience(input.audience);
      const existing = api && (await deps.keys.findByName(api.id, input.name.trim()));
      if (existing) {
        if (Buffer.from(existing.hash).equals(hash)) return 'unchanged';
        throw new Conflict(
          `API ${input.audience} has an API key named ${input.name} with another value: rotate it with the CLI`,
        );
      }
      await store(await prepare(input), { hash, hint: apiKeyHint(value) });
      return 'created';
    },
    async list(audience?: string): Promise<ApiKeyView[]> {
      return (await deps.keys.list({ apiId: await apiIdOf(audience) })).map(describeApiKey);
    },
    /** A page in (created_at, id) order (the admin API), optionally one API's keys only. */
    async page(limit: number, after: PagePosition | undefined, audience?: string): Promise<ApiKeyView[]> {
      return (await deps.keys.page(limit, after, { apiId: await apiIdOf(audience) })).map(describeApiKey);
    },
    async show(id: string): Promise<ApiKeyView> {
      return describeApiKey(await find(id));
    },
    async revoke(id: string): Promise<ApiKeyView> {
      await find(id);
      if (await deps.keys.revoke(id, new Date(now())))
        await audit.record({ type: 'api_key.revoked', actor, subject: id });
      return describeApiKey(await find(id));
    },
    /** A new value; the current one keeps working for `graceSeconds` (0: stops at once). */
    async rotate(id: string, graceSeconds: number): Promise<{ key: ApiKeyView; value: string }> {
      const key = await find(id);
      if (key.revokedAt) throw new Conflict(`API key ${id} is revoked`);
      const generated = generateApiKey(deps.pepper);
      const graceUntil = graceSeconds > 0 ? new Date(now() + graceSeconds * 1000) : null;
      if (!(await deps.keys.rotate(id, generated, graceUntil)))
        throw new Conflict(`API key ${id} changed meanwhile: try again`);
      await audit.record({ type: 'api_key.rotated', actor, subject: id, details: { grace_seconds: graceSeconds } });
      return { key: describeApiKey(await find(id)), value: generated.value };
    },
    /** Requests per UTC day since `since`, and the last use. */
    async usage(id: string, since: Date) {
      const day = new Date(since.toISOString().slice(0, 10));
      const { key, days } = await loadKey(id, (keyId) => deps.keys.withUsage(keyId, day));
      return {
        id,
        name: key.name,
        days: days.map((d) => ({ day: d.day.toISOString().slice(0, 10), requests: Number(d.requests) })),
        last_used_at: key.lastUsedAt?.toISOString() ?? null,
        last_used_ip: key.lastUsedIp,
      };
    },
  };
}

export type ApiKeyService = ReturnType<typeof apiKeyService>;
