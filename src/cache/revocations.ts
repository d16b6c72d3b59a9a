// Whether a JWT access token was revoked, answered from memory: the deny-list of revoked token
// ids, the principals whose earlier tokens are all dead (a deleted client, a disabled or deleted
// user: revoked_principals), and the grants (refresh-token families) known to be alive or ended.
// The lists are loaded when the change listener connects, then kept current by its
// notifications; like the client catalog, they are trusted only while the listener is connected
// and answering, and for at most CACHE_MAX_AGE_MS since they were last read whole — otherwise
// every answer comes from the database (and the lists are read again). Triggers in the
// change_notifications and revoked_principals migrations notify every revocation, every ended
// grant and every revoked principal, whoever wrote it; a revocation made by this process is
// denied here at once, before any notification.
import type { Notifications } from '../db/notifications.ts';
import type { OidcPayloadQueries } from '../db/queries/oidc-payloads.ts';
import type { RevokedPrincipal, RevokedTokenQueries } from '../db/queries/revoked-tokens.ts';
import type { Clock } from '../clock.ts';
import { CACHE_MAX_AGE_MS } from './max-age.ts';

export const REVOCATIONS_CHANNEL = 'tessera_revocations';

// A notified revocation does not say when its token expires; no access token outlives a day
// (services/apis.ts caps API token lifetimes there), so it is kept that long.
const UNKNOWN_EXPIRY_MS = 86_400_000;
// Grants looked up recently; the least recently used leave first past this many.
const MAX_GRANTS = 50_000;
// How often expired entries of the deny-list are dropped.
const PRUNE_INTERVAL_MS = 60_000;

/** The claims of an access token that say whether it was revoked. */
export interface RevocableToken {
  jti: string;
  client_id: string;
  sub?: string;
  /** Issued at (seconds); a token without one counts as issued before any revocation. */
  iat?: number;
}

export interface RevocationList {
  isRevoked(token: RevocableToken): Promise<boolean>;
  /** Whether the grant still exists (not revoked, not expired). */
  grantAlive(grantId: string): Promise<boolean>;
  /** A revocation this process just stored: denied here now, whatever the listener hears. */
  deny(jti: string, expiresAt: Date): void;
  stop(): void;
}

const principalKey = (kind: string, id: string) => `${kind}:${id}`;

export function revocationList(deps: {
  revoked: Pick<RevokedTokenQueries, 'listActive' | 'isRevoked' | 'listPrincipals' | 'findPrincipals'>;
  payloads: Pick<OidcPayloadQueries, 'find'>;
  notifications?: Notifications;
  now?: Clock;
}): RevocationList {
  const now = deps.now ?? Date.now;
  const revoked = new Map<string, number>(); // jti → expiry (ms)
  const principals = new Map<string, number>(); // 'client:id' | 'subject:id' → revoked at (ms)
  const grants = new Map<string, { alive: boolean; until: number }>();
  // Denied by this process: kept through reconnections, which empty the other lists.
  const local = new Map<string, number>();
  let loadedAt: number | undefined;
  let loading = false;
  let connection = 0;

  const addPrincipal = (kind: string, id: string, at: number) => {
    const key = principalKey(kind, id);
    principals.set(key, Math.max(at, principals.get(key) ?? 0));
  };

  /** Reads both lists whole. Entries are only ever added, so what a notification added meanwhile stays. */
  async function load(forConnection: number) {
    if (loading) return;
    loading = true;
    const started = now();
    try {
      const [rows, people] = await Promise.all([deps.revoked.listActive(), deps.revoked.listPrincipals()]);
      if (forConnection !== connection) return;
      for (const r of rows) revoked.set(r.jti, r.expiresAt.getTime());
      for (const p of people) addPrincipal(p.kind, p.id, p.revokedAt.getTime());
      loadedAt = started;
    } catch {
      // Stays as it was (every answer from the database) until the next try.
    } finally {
      loading = false;
    }
  }

  const forget = () => {
    connection++;
    loadedAt = undefined;
    grants.clear();
  };
  deps.notifications?.subscribe(REVOCATIONS_CHANNEL, {
    notify(payload) {
      if (payload.startsWith('j:')) revoked.set(payload.slice(2), now() + UNKNOWN_EXPIRY_MS);
      else if (payload.startsWith('g:')) grants.set(payload.slice(2), { alive: false, until: Number.MAX_SAFE_INTEGER });
      else if (payload.startsWith('p:')) {
        // p:<kind>:<revoked at, ms>:<id> (the id last: it may contain colons).
        const [, kind, at, ...id] = payload.split(':');
        if (kind && at) addPrincipal(kind, id.join(':'), Number(at));
      }
    },
    connected() {
      forget();
      void load(connection);
    },
    disconnected: forget,
  });

  /** In memory, and fresh: the listener answers, and the lists were read whole recently. */
  function trusted(): boolean {
    if (!deps.notifications?.listening || loadedAt === undefined) return false;
    if (now() - loadedAt < CACHE_MAX_AGE_MS) return true;
    void load(connection);
    return false;
  }

  const timer = setInterval(() => {
    const at = now();
    for (const [jti, exp] of revoked) if (exp <= at) revoked.delete(jti);
    for (const [jti, exp] of local) if (exp <= at) local.delete(jti);
    for (const [key, revokedAt] of principals) if (revokedAt + UNKNOWN_EXPIRY_MS <= at) principals.delete(key);
    for (const [id, g] of grants) if (g.until <= at) grants.delete(id);
  }, PRUNE_INTERVAL_MS);
  timer.unref();

  /** Issued at or before its client's or subject's revocation (iat has one-second resolution). */
  const issuedBefore = (token: RevocableToken, revokedAtMs: number | undefined) =>
    revokedAtMs !== undefined && (token.iat === undefined || token.iat * 1000 <= revokedAtMs);

  function deadPrincipal(token: RevocableToken, entries: RevokedPrincipal[]): boolean {
    return entries.some(
      (p) =>
        (p.kind === 'client' ? p.id === token.client_id : p.id === token.sub) &&
        issuedBefore(token, p.revokedAt.getTime()),
    );
  }

  return {
    async isRevoked(token) {
      const at = now();
      const mine = local.get(token.jti);
      if (mine !== undefined && mine > at) return true;
      if (!trusted()) {
        if (await deps.revoked.isRevoked(token.jti)) return true;
        return deadPrincipal(token, await deps.revoked.findPrincipals(token.client_id, token.sub));
      }
      const exp = revoked.get(token.jti);
      if (exp !== undefined && exp > at) return true;
      return (
        issuedBefore(token, principals.get(principalKey('client', token.client_id))) ||
        (token.sub !== undefined && issuedBefore(token, principals.get(principalKey('subject', token.sub))))
      );
    },
    async grantAlive(grantId) {
      const at = now();
      const known = trusted() ? grants.get(grantId) : undefined;
      if (known && known.until > at) return known.alive;
      const started = connection;
      const grant = await deps.payloads.find('Grant', grantId);
      const alive = !!grant;
      const exp = typeof grant?.payload.exp === 'number' ? grant.payload.exp * 1000 : Number.MAX_SAFE_INTEGER;
      // A notification of this grant's end may have come while it was read: it wins.
      if (trusted() && started === connection && grants.get(grantId)?.alive !== false) {
        // A live grant is believed for at most CACHE_MAX_AGE_MS; an ended one stays ended.
        grants.set(grantId, { alive, until: alive ? Math.min(exp, at + CACHE_MAX_AGE_MS) : Number.MAX_SAFE_INTEGER });
        if (grants.size > MAX_GRANTS) grants.delete(grants.keys().next().value!);
      }
      return alive;
    },
    deny(jti, expiresAt) {
      local.set(jti, expiresAt.getTime());
      revoked.set(jti, expiresAt.getTime());
    },
    stop() {
      clearInterval(timer);
    },
  };
}
