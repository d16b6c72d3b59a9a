// Active API keys by the hash of their value, kept in memory so that introspecting a key costs
// what introspecting a JWT costs: no round trip (issue 18 holds the two within 10%). Like the
// other caches here, an entry is trusted only while the change listener is connected and
// answering, and for at most CACHE_MAX_AGE_MS, and never past the value's own expiry (a rotated
// key's previous value included). The api_keys_notify trigger notifies every change that can
// make a key inactive or change its answer (revocation, rotation, scopes, quotas, expiry,
// deletion), whoever writes it; usage bookkeeping (last_used_*) does not notify. A key is
// therefore refused within milliseconds of its revocation in every process, as a revoked JWT is.
// Unknown values are not remembered: each is one index lookup, as without the cache.
import type { Clock } from '../clock.ts';
import type { Notifications } from '../db/notifications.ts';
import type { ApiKeyQueries, ApiKeyRecord } from '../db/queries/api-keys.ts';
import { CACHE_MAX_AGE_MS } from './max-age.ts';

export const API_KEYS_CHANNEL = 'tessera_api_keys';
// Keys looked up recently; the least recently stored leave first past this many.
const MAX_KEYS = 50_000;

type KeyLookup = Pick<ApiKeyQueries, 'findActiveByHash'>;

export function cachedApiKeys(keys: KeyLookup, notifications: Notifications | undefined, now: Clock): KeyLookup {
  const byHash = new Map<string, { key: ApiKeyRecord; until: number }>();
  // Bumped by every notification and (dis)connection: a lookup that raced one is not stored.
  let generation = 0;

  const forgetAll = () => {
    generation++;
    byHash.clear();
  };
  notifications?.subscribe(API_KEYS_CHANNEL, {
    notify(id) {
      generation++;
      for (const [hash, entry] of byHash) if (entry.key.id === id) byHash.delete(hash);
    },
    connected: forgetAll,
    disconnected: forgetAll,
  });

  return {
    async findActiveByHash(hash) {
      const at = now();
      const id = hash.toString('base64url');
      const known = notifications?.listening ? byHash.get(id) : undefined;
      if (known && known.until > at) return known.key;
      const started = generation;
      const key = await keys.findActiveByHash(hash);
      if (key && notifications?.listening && started === generation) {
        byHash.delete(id);
        byHash.set(id, {
          key,
          until: Math.min(at + CACHE_MAX_AGE_MS, key.exp === null ? Number.MAX_SAFE_INTEGER : key.exp * 1000),
        });
        if (byHash.size > MAX_KEYS) byHash.delete(byHash.keys().next().value!);
      }
      return key;
    },
  };
}
