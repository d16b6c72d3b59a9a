// api_keys and api_key_usage: managed API keys (services/api-keys.ts) and their metering.
// Admin work goes through Prisma; the two statements on the introspection path are raw SQL on the
// pg pool (db/client.ts: request paths use the pool), each named and commented here.
import type pg from 'pg';
import type { PrismaClient } from '../client.ts';
import { afterPosition, type PagePosition } from './paging.ts';

export interface ApiKeyWrite {
  name: string;
  apiId: string;
  scopes: string[];
  clientId: string | null;
  userId: string | null;
  hash: Buffer;
  hint: string;
  perMinute: number | null;
  perDay: number | null;
  expiresAt: Date | null;
}

/** What introspection needs of a key, found by the hash of the value presented. */
export interface ApiKeyRecord {
  id: string;
  audience: string;
  scopes: string[];
  clientId: string | null;
  userId: string | null;
  perMinute: number | null;
  perDay: number | null;
  /** Seconds since the epoch; null: the key does not expire. */
  exp: number | null;
  iat: number;
}

// The key whose current value, or previous value within its rotation grace, has this hash, if it
// is neither revoked nor expired: one index lookup (api_keys_hash_key or _previous_hash_key).
// The clock is the database's, as for every other expiry the database decides.
const FIND_ACTIVE_KEY = `
SELECT k.id, a.audience, k.scopes, k.client_id, k.user_id, k.per_minute, k.per_day,
       floor(extract(epoch FROM CASE WHEN k.previous_hash = $1 AND (k.expires_at IS NULL OR k.previous_expires_at < k.expires_at)
                                     THEN k.previous_expires_at ELSE k.expires_at END))::bigint AS exp,
       floor(extract(epoch FROM k.created_at))::bigint AS iat
FROM api_keys k JOIN apis a ON a.id = k.api_id
WHERE (k.hash = $1 OR (k.previous_hash = $1 AND k.previous_expires_at > now()))
  AND k.revoked_at IS NULL
  AND (k.expires_at IS NULL OR k.expires_at > now())`;

// A batch of usage (usage-meter.ts): each key's requests added to its day's row, and its last use
// (time and address) set, in one statement for any number of keys. Atomic per row, so replicas
// flushing at once add up rather than overwrite.
const ADD_USAGE = `
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::date[], $3::bigint[], $4::timestamptz[], $5::text[])
    AS u(key_id, day, requests, used_at, ip)
), counted AS (
  INSERT INTO api_key_usage AS c (key_id, day, requests)
  SELECT u.key_id, u.day, u.requests FROM u JOIN api_keys k ON k.id = u.key_id
  ON CONFLICT (key_id, day) DO UPDATE SET requests = c.requests + EXCLUDED.requests
)
UPDATE api_keys k SET last_used_at = u.used_at, last_used_ip = u.ip
FROM (SELECT DISTINCT ON (key_id) key_id, used_at, ip FROM u ORDER BY key_id, used_at DESC) u
WHERE k.id = u.key_id AND (k.last_used_at IS NULL OR k.last_used_at < u.used_at)`;

// What every read of a key for a view brings along: its API, and its user's address.
const KEY_VIEW = { api: true, user: { select: { email: true } } } as const;

export interface UsageBatchRow {
  keyId: string;
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  requests: number;
  usedAt: Date;
  ip: string;
}

export function apiKeyQueries(prisma: PrismaClient, pool: pg.Pool) {
  return {
    async findActiveByHash(hash: Buffer): Promise<ApiKeyRecord | undefined> {
      const { rows } = await pool.query<{
        id: string;
        audience: string;
        scopes: string[];
        client_id: string | null;
        user_id: string | null;
        per_minute: number | null;
        per_day: number | null;
        exp: string | null;
        iat: string;
      }>(FIND_ACTIVE_KEY, [hash]);
      const row = rows[0];
      if (!row) return undefined;
      return {
        id: row.id,
        audience: row.audience,
        scopes: row.scopes,
        clientId: row.client_id,
        userId: row.user_id,
        perMinute: row.per_minute,
        perDay: row.per_day,
        // bigint: pg returns it as a string.
        exp: row.exp === null ? null : Number(row.exp),
        iat: Number(row.iat),
      };
    },
    async addUsage(batch: UsageBatchRow[]): Promise<void> {
      if (!batch.length) return;
      await pool.query(ADD_USAGE, [
        batch.map((r) => r.keyId),
        batch.map((r) => r.day),
        batch.map((r) => r.requests),
        batch.map((r) => r.usedAt),
        batch.map((r) => r.ip),
      ]);
    },
    create(data: ApiKeyWrite) {
      return prisma.apiKey.create({
        data: { ...data, hash: new Uint8Array(data.hash) },
        include: KEY_VIEW,
      });
    },
    find(id: string) {
      return prisma.apiKey.findUnique({ where: { id }, include: KEY_VIEW });
    },
    findByName(apiId: string, name: string) {
      return prisma.apiKey.findFirst({
        where: { apiId, name, revokedAt: null },
        include: KEY_VIEW,
      });
    },
    /** Up to `limit` keys after `after` in (created_at, id) order: the admin API's pages. */
    page(limit: number, after?: PagePosition, filter: { apiId?: string } = {}) {
      return prisma.apiKey.findMany({
        where: { ...(filter.apiId ? { apiId: filter.apiId } : {}), ...(after ? afterPosition(after) : {}) },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        include: KEY_VIEW,
        take: limit,
      });
    },
    list(filter: { apiId?: string } = {}) {
      return prisma.apiKey.findMany({
        where: filter.apiId ? { apiId: filter.apiId } : {},
        orderBy: { createdAt: 'asc' },
        include: KEY_VIEW,
      });
    },
    /** Revokes the key unless it was already: true when this call revoked it. */
    async revoke(id: string, at: Date): Promise<boolean> {
      const { count } = await prisma.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
      return count === 1;
    },
    /**
     * A new value for the key; the current one stays valid until `graceUntil` (null: at once). One
     * conditional update: a revoked key is not rotated.
     */
    async rotate(id: string, next: { hash: Buffer; hint: string }, graceUntil: Date | null): Promise<boolean> {
      const key = await prisma.apiKey.findUnique({ where: { id }, select: { hash: true, revokedAt: true } });
      if (!key || key.revokedAt) return false;
      const { count } = await prisma.apiKey.updateMany({
        where: { id, hash: key.hash, revokedAt: null },
        data: {
          hash: new Uint8Array(next.hash),
          hint: next.hint,
          previousHash: graceUntil ? key.hash : null,
          previousExpiresAt: graceUntil,
        },
      });
      return count === 1;
    },
    /**
     * A key with its days of use since `since`, read in one snapshot: the meter's flush
     * (ADD_USAGE) sets the days and the last use together, so two reads either side of it
     * would report the requests without the last use, or the other way round.
     */
    async withUsage(id: string, since: Date) {
      const [key, days] = await prisma.$transaction(
        [
          prisma.apiKey.findUnique({ where: { id }, include: KEY_VIEW }),
          prisma.apiKeyUsage.findMany({ where: { keyId: id, day: { gte: since } }, orderBy: { day: 'asc' } }),
        ],
        { isolationLevel: 'RepeatableRead' },
      );
      return key ? { key, days } : null;
    },
  };
}

export type ApiKeyQueries = ReturnType<typeof apiKeyQueries>;
