// What every token, introspection and authorization request reads about its client (settings,
// secret hashes, API grants, served APIs), kept in memory so that those requests make no
// database round trip for it. Correct across replicas and the CLI: every write to the client
// tables notifies (triggers in the change_notifications migration), an entry is dropped on its
// notification, and the cache is trusted only while the listener is connected and answering —
// when it is not, every read goes to the database, and a reconnection empties the cache. No entry
// is used for longer than CACHE_MAX_AGE_MS, whatever the notifications say.
import type { Notifications } from '../db/notifications.ts';
import type { ApiGrant, ClientQueries, ClientSnapshot } from '../db/queries/clients.ts';
import type { Clock } from '../clock.ts';
import type { HeldRole } from '../services/rbac.ts';
import { CACHE_MAX_AGE_MS } from './max-age.ts';

export const CATALOG_CHANNEL = 'tessera_catalog';

// Enough for every client of a large deployment; past it the least recently used go first, so
// that requests naming random client ids cannot grow the memory without bound.
const MAX_ENTRIES = 10_000;

export interface ClientCatalog {
  /** The client as stored, or undefined when there is none. */
  get(clientId: string): Promise<ClientSnapshot | undefined>;
  /** Hashes of the client's secrets that are valid now (a rotated-out one only during its grace). */
  activeSecretHashes(clientId: string): Promise<Buffer[]>;
  /** The client's grant for the API with this audience, if any. */
  apiGrant(clientId: string, audience: string): Promise<ApiGrant | undefined>;
  /** The API the client gets tokens for when it names none: its default, or its only one. */
  defaultApiAudience(clientId: string): Promise<string | undefined>;
  /** Whether the client acts for (serves) any of these APIs. */
  servesAny(clientId: string, audiences: string[]): Promise<boolean>;
  /** The client's roles (RBAC, for its client-credentials tokens) and its --rbac-strict setting. */
  rbac(clientId: string): Promise<{ roles: HeldRole[]; strict: boolean }>;
}

interface Entry {
  value: Promise<ClientSnapshot | undefined>;
  loadedAt: number;
}

export function clientCatalog(
  clients: Pick<ClientQueries, 'findSnapshot'>,
  notifications?: Notifications,
  now: Clock = Date.now,
): ClientCatalog {
  const entries = new Map<string, Entry>();
  // Bumped by every notification: a load that started before one may have read the old row,
  // so it is returned to its caller but not kept.
  let epoch = 0;
  const forget = (payload?: string) => {
    epoch++;
    if (payload === undefined || payload === '*') entries.clear();
    else entries.delete(payload);
  };
  notifications?.subscribe(CATALOG_CHANNEL, {
    notify: forget,
    connected: () => forget(),
    disconnected: () => forget(),
  });

  const load = async (id: string) => (await clients.findSnapshot(id)) ?? undefined;

  function get(id: string): Promise<ClientSnapshot | undefined> {
    if (!notifications?.listening) return load(id);
    const entry = entries.get(id);
    // A safety net for a change that came with no notification (cache/max-age.ts).
    if (entry && now() - entry.loadedAt < CACHE_MAX_AGE_MS) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      entries.delete(id);
      entries.set(id, entry);
      return entry.value;
    }
    const started = epoch;
    const value = load(id);
    // Concurrent requests for one client share one query.
    entries.set(id, { value, loadedAt: now() });
    if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    value.then(
      () => {
        if (epoch !== started && entries.get(id)?.value === value) entries.delete(id);
      },
      () => {
        if (entries.get(id)?.value === value) entries.delete(id);
      },
    );
    return value;
  }

  return {
    get,
    async activeSecretHashes(clientId) {
      const at = Date.now();
      const client = await get(clientId);
      return (client?.secrets ?? [])
        .filter((s) => s.expiresAt === null || s.expiresAt.getTime() > at)
        .map((s) => Buffer.from(s.hash));
    },
    async apiGrant(clientId, audience) {
      return (await get(clientId))?.apis.find((g) => g.api.audience === audience);
    },
    async defaultApiAudience(clientId) {
      // Grants come default-first (clients.findSnapshot).
      const [first, second] = (await get(clientId))?.apis ?? [];
      return first && (first.isDefault || !second) ? first.api.audience : undefined;
    },
    async servesAny(clientId, audiences) {
      return !!(await get(clientId))?.serves.some((s) => audiences.includes(s.api.audience));
    },
    async rbac(clientId) {
      const client = await get(clientId);
      return {
        strict: client?.rbacStrict ?? false,
        roles: (client?.roles ?? []).map(({ role }) => ({
          name: role.name,
          permissions: role.permissions.map((p) => ({ audience: p.api.audience, scope: p.scope })),
        })),
      };
    },
  };
}
