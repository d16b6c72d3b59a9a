// Introspection (RFC 7662) of managed API keys (services/api-keys.ts), answered by Tessera as it
// answers JWT access tokens (jwt-access-tokens.ts), and through the same two ways in: before the
// provider for a client authenticating with its secret (secret-authenticated-form.ts), and after
// it for every other authentication method, replacing the provider's `active: false` for a value
// it has never stored. JWTs and the provider's own tokens never reach this module's answer.
//
// The order of the checks is the order of their cost: the format and checksum (no database: a
// typo, a truncation or noise is inactive at once), then the keyed hash's row (one index lookup),
// then whether the introspecting client serves the key's API (the client catalog, in memory),
// then the key's quota (in memory, synchronised in batches). A key is visible only to the clients
// that serve its API: to any other it is inactive, as if it did not exist.
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import type { ApiKeyQueries, ApiKeyRecord } from '../db/queries/api-keys.ts';
import type { Quota } from '../rate-limit/batched-quota.ts';
import type { UsageMeter } from '../api-keys/usage-meter.ts';
import { hashApiKey, isWellFormedApiKey, looksLikeApiKey } from '../api-keys/key-format.ts';
import { beforeProvider, type WantedForm } from './secret-authenticated-form.ts';
import { oidcContext } from './upstream.ts';

// RFC 7662 §2.1: the token and an optional hint; only values with the key prefix are answered here.
const API_KEY_FORM: WantedForm = {
  params: new Set(['token', 'token_type_hint']),
  accepts: (params) => looksLikeApiKey(params.token ?? ''),
};

/** The token_type of an API key's introspection answer (RFC 7662 §2.2 leaves the values open). */
export const API_KEY_TOKEN_TYPE = 'api_key';
/** The `reason` of an inactive answer for a key whose quota is spent. */
export const QUOTA_EXCEEDED = 'quota_exceeded';

export interface ApiKeyQuotas {
  perMinute: Quota;
  perDay: Quota;
}

export function apiKeyIntrospection(deps: {
  provider: () => Provider;
  introspectionPath: string;
  pepper: Buffer;
  keys: Pick<ApiKeyQueries, 'findActiveByHash'>;
  clients: Pick<ClientCatalog, 'servesAny'>;
  quotas: ApiKeyQuotas;
  meter: UsageMeter;
  onQuotaExceeded?: () => void;
}): Middleware {
  /** Milliseconds until the key may be used again, or 0 once this request was counted against its quotas. */
  async function spendQuota(key: ApiKeyRecord): Promise<number> {
    // The minute first: a request the day refuses has still been counted against the minute (a
    // refused request is a request), never the other way round.
    if (key.perMinute !== null) {
      const wait = await deps.quotas.perMinute.take(key.id, key.perMinute);
      if (wait > 0) return wait;
    }
    if (key.perDay !== null) return deps.quotas.perDay.take(key.id, key.perDay);
    return 0;
  }

  async function answer(ctx: Context, client: { clientId: string }, token: string) {
    ctx.status = 200;
    // RFC 7662 §2.2 / RFC 6749 §5.1: an answer about a token is not cached.
    ctx.set('cache-control', 'no-store');
    ctx.body = await introspect(ctx, client, token);
  }

  async function introspect(ctx: Context, client: { clientId: string }, token: string) {
    if (!isWellFormedApiKey(token)) return { active: false };
    const key = await deps.keys.findActiveByHash(hashApiKey(token, deps.pepper));
    if (!key || !(await deps.clients.servesAny(client.clientId, [key.audience]))) return { active: false };
    deps.meter.count(key.id, ctx.ip);
    const wait = await spendQuota(key);
    if (wait > 0) {
      deps.onQuotaExceeded?.();
      // Only the API's own client learns why, and when to try again.
      return { active: false, reason: QUOTA_EXCEEDED, retry_after: Math.max(1, Math.ceil(wait / 1000)) };
    }
    return {
      active: true,
      token_type: API_KEY_TOKEN_TYPE,
      scope: key.scopes.join(' '),
      aud: key.audience,
      // The owner: a user, a client (as a client-credentials token's sub), or the key itself.
      sub: key.userId ?? key.clientId ?? key.id,
      ...(key.clientId ? { client_id: key.clientId } : undefined),
      iat: key.iat,
      ...(key.exp !== null ? { exp: key.exp } : undefined),
    };
  }

  return beforeProvider({
    routes: new Map([[deps.introspectionPath, 'introspection' as const]]),
    provider: deps.provider,
    form: API_KEY_FORM,
    async answer(ctx, _route, form) {
      await answer(ctx, form.client, form.params.token!);
      return true;
    },
    // Another client authentication method: the provider authenticated the client and found no
    // token of its own with this value.
    async after(ctx) {
      if (ctx.status !== 200 || (ctx.body as { active?: unknown } | undefined)?.active !== false) return;
      const oidc = oidcContext(ctx);
      const token = oidc?.params?.token;
      if (oidc?.client && typeof token === 'string' && looksLikeApiKey(token)) await answer(ctx, oidc.client, token);
    },
  });
}
