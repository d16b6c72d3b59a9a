// Whether a JWT access token was revoked, answered from memory: the deny-list of revoked token
// ids (loaded when the change listener connects, then kept current by its notifications) and
// the grants (refresh-token families) known to be alive or ended. Like the client catalog, it is
// trusted only while the listener is connected and loaded; otherwise every answer comes from
// the database. Triggers in the change_notifications migration notify every revocation and every
// ended grant, whoever wrote it.
import type { Notifications } from '../db/notifications.ts';
import type { OidcPayloadQueries } from '../db/queries/oidc-payloads.ts';
import type { RevokedTokenQueries } from '../db/queries/revoked-tokens.ts';

export const REVOCATIONS_CHANNEL = 'tessera_revocations';

// A notified revocation does not say when its token expires; no access token outlives a day
// (services/apis.ts caps API token lifetimes there), so it is kept that long.
const UNKNOWN_EXPIRY_MS = 86_400_000;
// Grants looked up recently; the least recently used leave first past this many.
const MAX_GRANTS = 50_000;
// No grant answer is used for longer than this, whatever the notifications say.
const GRANT_MAX_AGE_MS = 60_000;
// How often expired entries of the deny-list are dropped.
const PRUNE_INTERVAL_MS = 60_000;

export interface RevocationList {
  isRevoked(jti: string): Promise<boolean>;
  /** Whether the grant still exists (not revoked, not expired). */
  grantAlive(grantId: string): Promise<boolean>;
  stop(): void;
}

export function revocationList(deps: {
  revoked: Pick<RevokedTokenQueries, 'listActive' | 'isRevoked'>;
  payloads: Pick<OidcPayloadQueries, 'find'>;
  notifications?: Notifications;
}): RevocationList {
  const revoked = new Map<string, number>(); // jti → expiry (ms)
  const grants = new Map<string, { alive: boolean; until: number }>();
  let loaded = false;
  let connection = 0;

  async function load(forConnection: number) {
    try {
      const rows = await deps.revoked.listActive();
      if (forConnection !== connection) return;
      for (const r of rows) revoked.set(r.jti, r.expiresAt.getTime());
      loaded = true;
    } catch {
      // Stays unloaded (every answer from the database) until the next connection.
    }
  }

  deps.notifications?.subscribe(REVOCATIONS_CHANNEL, {
    notify(payload) {
      if (payload.startsWith('j:')) revoked.set(payload.slice(2), Date.now() + UNKNOWN_EXPIRY_MS);
      else if (payload.startsWith('g:')) grants.set(payload.slice(2), { alive: false, until: Number.MAX_SAFE_INTEGER });
    },
    connected() {
      connection++;
      loaded = false;
      grants.clear();
      void load(connection);
    },
    disconnected() {
      connection++;
      loaded = false;
      grants.clear();
    },
  });

  const trusted = () => loaded && !!deps.notifications?.listening;

  const timer = setInterval(() => {
    const now = Date.now();
    for (const [jti, exp] of revoked) if (exp <= now) revoked.delete(jti);
    for (const [id, g] of grants) if (g.until <= now) grants.delete(id);
  }, PRUNE_INTERVAL_MS);
  timer.unref();

  return {
    async isRevoked(jti) {
      if (!trusted()) return deps.revoked.isRevoked(jti);
      const exp = revoked.get(jti);
      return exp !== undefined && exp > Date.now();
    },
    async grantAlive(grantId) {
      const now = Date.now();
      const known = trusted() ? grants.get(grantId) : undefined;
      if (known && known.until > now) return known.alive;
      const started = connection;
      const grant = await deps.payloads.find('Grant', grantId);
      const alive = !!grant;
      const exp = typeof grant?.payload.exp === 'number' ? grant.payload.exp * 1000 : Number.MAX_SAFE_INTEGER;
      // A notification of this grant's end may have come while it was read: it wins.
      if (trusted() && started === connection && grants.get(grantId)?.alive !== false) {
        grants.set(grantId, { alive, until: alive ? Math.min(exp, now + GRANT_MAX_AGE_MS) : Number.MAX_SAFE_INTEGER });
        if (grants.size > MAX_GRANTS) grants.delete(grants.keys().next().value!);
      }
      return alive;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
