// The oidc-provider adapter: one class, one instance per model name, over the queries
// modules. Client is read from the clients table and is read-only to the provider; every other
// model is a row of oidc_payloads.
import { randomBytes } from 'node:crypto';
import { errors, Provider, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import type { Clock } from '../clock.ts';
import { COMPACT_JWS } from './access-token-verifier.ts';
import type { UserinfoAccessTokens } from './userinfo-tokens.ts';
import type { DevicePollQueries } from '../db/queries/device-polls.ts';
import type { OidcPayloadQueries, StoredPayload } from '../db/queries/oidc-payloads.ts';
import { providerMetadata } from '../services/client-metadata.ts';
import { usesSecret } from '../services/client-secrets.ts';
import { tracedAdapter } from '../tracing/provider-steps.ts';
import { tracingEnabled } from '../tracing/spans.ts';

// oidc-provider's client schema insists on a client_secret for the secret-based auth methods,
// but Tessera stores only hashes and compares through Client#compareClientSecret (see
// client-secret-check.ts). This stand-in satisfies the schema; it is random per process and
// nothing can use it, because symmetric algorithms (the only other use of client_secret) are
// disabled in provider-config.ts.
const SECRET_STAND_IN = randomBytes(32).toString('base64url');

// RFC 8628 §3.5: each slow_down adds 5 seconds to the polling interval.
const SLOW_DOWN_PENALTY = 5;
// Device codes stay readable this long past their expiry, so that polling them answers
// expired_token (RFC 8628 §3.5) rather than an unknown code's invalid_grant; their payload's
// `exp` still says they expired, and oidc-provider checks it.
const DEVICE_CODE_LINGER = 10 * 60;

export interface AdapterDeps {
  payloads: OidcPayloadQueries;
  clients: Pick<ClientCatalog, 'get'>;
  devicePolls?: DevicePollQueries;
  refreshReuseGraceSeconds?: number;
  devicePollInterval?: number;
  /** The clock of the refresh-token reuse grace (src/clock.ts). Default `Date.now`. */
  now?: Clock;
  /** Grant types every confidential client has besides its own (token exchange, gated by its policy table). */
  confidentialGrantTypes?: string[];
  /** JWT access tokens as userinfo finds them (userinfo-tokens.ts); none are stored. */
  userinfoAccessTokens?: UserinfoAccessTokens;
}

export function createAdapterClass(deps: AdapterDeps) {
  const { payloads, clients } = deps;
  const graceMs = (deps.refreshReuseGraceSeconds ?? 0) * 1000;
  const now = deps.now ?? Date.now;

  /** RFC 8628 §3.5 slow_down: a pending device code polled before its interval has passed. */
  async function checkDevicePoll(id: string, stored: StoredPayload | undefined) {
    if (!stored || !deps.devicePolls || Provider.ctx?.oidc?.route !== 'token') return;
    const payload = stored.payload as { accountId?: string; error?: string; exp?: number };
    const expiresAt = new Date(((payload.exp ?? 0) + DEVICE_CODE_LINGER) * 1000);
    const { tooFast } = await deps.devicePolls.poll(id, deps.devicePollInterval ?? 5, SLOW_DOWN_PENALTY, expiresAt);
    if (tooFast && !payload.accountId && !payload.error) throw new errors.SlowDown();
  }

  /**
   * The refresh-token retry policy. A refresh token presented again within the grace period
   * after it was used is taken for a client retrying a request whose answer it lost: it gets
   * invalid_grant, and the family survives. Presented later, it is a replay, and oidc-provider
   * revokes the whole family. (Truly concurrent uses never reach this: the atomic consume lets one
   * through and answers the others invalid_grant.)
   */
  function refusedAsRetry(model: string, stored: StoredPayload | undefined): boolean {
    return (
      model === 'RefreshToken' &&
      !!stored?.consumedAt &&
      now() - stored.consumedAt.getTime() < graceMs &&
      Provider.ctx?.oidc?.route === 'token'
    );
  }

  function toPayload(stored: StoredPayload | undefined): AdapterPayload | undefined {
    if (!stored) return undefined;
    const payload = stored.payload as AdapterPayload;
    return stored.consumedAt ? { ...payload, consumed: Math.floor(stored.consumedAt.getTime() / 1000) } : payload;
  }

  class TesseraAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed with the tessera CLI, not by the provider');
      if (this.model === 'ReplayDetection') {
        // oidc-provider's ReplayDetection.unique() finds, then saves: two requests carrying the
        // same client assertion or DPoP proof at the same moment would both find nothing. The
        // insert is the real check (RFC 7523 §3 item 7, RFC 9449 §11.1): the loser is refused.
        if (!(await payloads.insertOnce(this.model, id, payload as Record<string, unknown>, Math.max(1, expiresIn)))) {
          throw new errors.InvalidRequest('this proof or assertion has been used already');
        }
        return;
      }
      const lifetime = this.model === 'DeviceCode' && expiresIn ? expiresIn + DEVICE_CODE_LINGER : expiresIn;
      await payloads.upsert(this.model, id, payload as Record<string, unknown>, lifetime);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return findClient(clients, id, deps.confidentialGrantTypes ?? []);
      // Only userinfo: introspection and revocation answer JWTs themselves (jwt-access-tokens.ts).
      if (
        this.model === 'AccessToken' &&
        deps.userinfoAccessTokens &&
        COMPACT_JWS.test(id) &&
        Provider.ctx?.oidc?.route === 'userinfo'
      )
        return deps.userinfoAccessTokens(id);
      const stored = await payloads.find(this.model, id);
      if (refusedAsRetry(this.model, stored)) {
        throw new errors.InvalidGrant('refresh token already used; use the refresh token issued with its first use');
      }
      if (this.model === 'DeviceCode') await checkDevicePoll(id, stored);
      return toPayload(stored);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return toPayload(await payloads.findByUserCode(this.model, userCode));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return toPayload(await payloads.findByUid(this.model, uid));
    }

    async consume(id: string): Promise<void> {
      // Two requests redeeming one code (or rotating one refresh token) at once both find it
      // unconsumed; the conditional UPDATE lets exactly one of them through.
      if (!(await payloads.consume(this.model, id))) {
        throw new errors.InvalidGrant('grant request is invalid');
      }
    }

    async destroy(id: string): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed with the tessera CLI, not by the provider');
      await payloads.destroy(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await payloads.revokeByGrantId(this.model, grantId);
    }
  }
  // Tracing on: a span per query (src/tracing/provider-steps.ts); off, the class itself.
  return tracingEnabled() ? tracedAdapter(TesseraAdapter) : TesseraAdapter;
}

async function findClient(
  clients: Pick<ClientCatalog, 'get'>,
  id: string,
  confidentialGrantTypes: string[],
): Promise<AdapterPayload | undefined> {
  const row = await clients.get(id);
  if (!row) return undefined;
  return {
    ...providerMetadata(row),
    grant_types:
      row.tokenEndpointAuthMethod === 'none' ? row.grantTypes : [...row.grantTypes, ...confidentialGrantTypes],
    // Keys and certificates (private_key_jwt, tls_client_auth) need no secret; the stand-in
    // would only make such a client look as if it had one.
    ...(usesSecret(row.tokenEndpointAuthMethod) ? { client_secret: SECRET_STAND_IN } : undefined),
  } as AdapterPayload;
}
