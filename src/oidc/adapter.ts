// The oidc-provider adapter: one class, one instance per model name, over the queries
// modules. Client is read from the clients table and is read-only to the provider; every other
// model is a row of oidc_payloads.
//
// Round trips (issue 21): within one request the adapter answers from what the request has read
// already (request-reads.ts). A refresh token, an authorization code or a Session is read with
// its Grant and account in one statement; a refresh token's consumption waits for its
// successor's insert and both go in one statement; a Session write that would only slide its
// expiry a little is skipped (SESSION_EXPIRY_SLACK).
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
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
import { payloadKey, requestReads, type RequestReads } from './request-reads.ts';

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
// A Session is written on every request that has one (oidc-provider slides its expiry). When
// nothing but `exp` changed and it moved by less than this share of the Session's lifetime, the
// write is skipped: the stored expiry then lags the sliding one by at most 5% of SESSION_TTL (a
// 14-day session may end ~17 hours before its cookie says), and a session in steady use is
// written about once per 5% of its lifetime instead of on every authorization request.
export const SESSION_EXPIRY_SLACK = 0.05;
// The models read with their Grant and account in one statement (see request-reads.ts).
const READ_WITH_GRANT = new Set(['RefreshToken', 'AuthorizationCode', 'Session', 'Interaction']);
// The models whose writes within a request are held and made in one statement at its end
// (request-reads.ts): nobody reads their outcome in the request. Not ReplayDetection (its insert
// is a check), not the device flow's or CIBA's (polled while pending; written where they are).
const HELD_WRITES = new Set(['Session', 'Grant', 'AuthorizationCode', 'Interaction', 'RefreshToken', 'AccessToken']);

/** A payload as the database gives it back (no undefined members), for comparison. */
const normalised = (payload: object) => JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;

/** Whether writing this Session would change nothing but a small slide of its expiry. */
function onlySlides(stored: Record<string, unknown>, next: Record<string, unknown>, expiresIn: number): boolean {
  const { exp: oldExp, ...before } = stored;
  const { exp: newExp, ...after } = normalised(next);
  if (typeof oldExp !== 'number' || typeof newExp !== 'number') return false;
  if (newExp < oldExp || newExp - oldExp > expiresIn * SESSION_EXPIRY_SLACK) return false;
  return isDeepStrictEqual(before, after);
}

export interface AdapterDeps {
  payloads: OidcPayloadQueries;
  clients: Pick<ClientCatalog, 'get'>;
  devicePolls?: DevicePollQueries;
  refreshReuseGraceSeconds?: number;
  /** How many retries within the grace get the rotation's answer again (0: refused). */
  refreshRetryLimit?: number;
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
  const retryLimit = deps.refreshRetryLimit ?? 0;

  /** RFC 8628 §3.5 slow_down: a pending device code polled before its interval has passed. */
  async function checkDevicePoll(id: string, stored: StoredPayload | undefined) {
    if (!stored || !deps.devicePolls || Provider.ctx?.oidc?.route !== 'token') return;
    const payload = stored.payload as { accountId?: string; error?: string; exp?: number };
    const expiresAt = new Date(((payload.exp ?? 0) + DEVICE_CODE_LINGER) * 1000);
    const { tooFast } = await deps.devicePolls.poll(id, deps.devicePollInterval ?? 5, SLOW_DOWN_PENALTY, expiresAt);
    if (tooFast && !payload.accountId && !payload.error) throw new errors.SlowDown();
  }

  /**
   * The refresh-token retry policy, for a used refresh token presented again at the token
   * endpoint. Within the grace period after its rotation it is taken for a client retrying a
   * request whose answer it lost: it gets that answer again (`retry`: the provider goes on as for
   * an unused token; consume() counts the retry and upsert() issues nothing, and the response
   * carries the successor, refresh-retry.ts), at most REFRESH_TOKEN_RETRY_LIMIT times. Presented
   * later, it is a replay (`reuse`): oidc-provider revokes the whole family. Within
   * the grace but with nothing to answer (no retries allowed or left, a successor used or gone,
   * a token used before retries were answered) it is refused and the family survives (`refuse`).
   * The provider checks client, certificate and DPoP key before consume(), so a retry by anyone
   * else is refused before it is counted.
   */
  function retryVerdict(stored: StoredPayload & { consumedAt: Date }): 'retry' | 'refuse' | 'reuse' {
    if (now() - stored.consumedAt.getTime() >= graceMs) return 'reuse';
    const rotation = stored.rotation;
    if (!rotation || retryLimit === 0) return 'refuse';
    // Retries used up inside the window: refused, the family lives (many tabs refreshing at once
    // are not a theft; a replay after the window is).
    if (rotation.retries >= retryLimit) return 'refuse';
    return rotation.successorLive ? 'retry' : 'refuse';
  }

  /**
   * Reuse found when counting a retry (the count or the window ran out since the token was read,
   * or a concurrent rotation won): the family is revoked, as oidc-provider does for a reuse it
   * finds itself, and the error is the one it gives (events.ts audits and counts it).
   */
  async function revokeAsReuse(reads: RequestReads, grantId: unknown): Promise<never> {
    reads.retry = undefined;
    reads.payloads.clear();
    if (typeof grantId === 'string') await payloads.revokeGrant(grantId);
    throw new errors.InvalidGrant('refresh token already used');
  }

  /**
   * Two requests redeeming one code (or rotating one refresh token) at once both find it
   * unconsumed; the conditional UPDATE lets exactly one of them through.
   */
  async function consumeNow(model: string, id: string) {
    if (!(await payloads.consume(model, id))) throw new errors.InvalidGrant('grant request is invalid');
  }

  /**
   * Before a write whose outcome matters (a consumption, a revocation), what this request holds
   * is written: a consumption still waiting for an insert, and the held writes, so that nothing
   * held lands after it (a token held, then its grant revoked, must not come back).
   */
  async function flushConsume(reads: RequestReads) {
    await flushWrites(reads);
    await flushPendingConsume(reads);
  }

  async function flushPendingConsume(reads: RequestReads) {
    const pending = reads.pendingConsume;
    if (!pending) return;
    reads.pendingConsume = undefined;
    await consumeNow(pending.model, pending.id);
  }

  async function flushWrites(reads: RequestReads) {
    if (!reads.writes.size) return;
    const writes = [...reads.writes.values()];
    reads.writes.clear();
    if (writes.length === 1 && writes[0]!.payload) {
      const [w] = writes as [Required<(typeof writes)[0]>];
      await payloads.upsert(w.model, w.id, w.payload, w.expiresIn);
    } else if (writes.length === 1) {
      await payloads.destroy(writes[0]!.model, writes[0]!.id);
    } else {
      await payloads.writeAll(writes);
    }
  }

  /** Holds a write until the request is done; this request's reads see it at once. */
  function hold(reads: RequestReads, model: string, id: string, payload?: Record<string, unknown>, expiresIn?: number) {
    reads.writes.set(payloadKey(model, id), { model, id, ...(payload ? { payload, expiresIn } : {}) });
    reads.payloads.set(payloadKey(model, id), payload ? { payload: normalised(payload), consumedAt: null } : null);
    reads.flush ??= () => flushWrites(reads);
  }

  /**
   * A row as this request read it, or read now: a token or Session together with its Grant and
   * account (kept for the provider's next questions, request-reads.ts).
   */
  async function readThrough(model: string, id: string): Promise<StoredPayload | undefined> {
    const reads = requestReads();
    if (!reads) return payloads.find(model, id);
    const key = payloadKey(model, id);
    if (reads.payloads.has(key)) return reads.payloads.get(key) ?? undefined;
    if (!READ_WITH_GRANT.has(model)) {
      const stored = await payloads.find(model, id);
      reads.payloads.set(key, stored ?? null);
      return stored;
    }
    const clientId = model === 'Session' ? Provider.ctx?.query.client_id : undefined;
    const found = await payloads.findWithGrantAndAccount(
      model,
      id,
      typeof clientId === 'string' ? clientId : undefined,
    );
    reads.payloads.set(key, found.stored ?? null);
    if (found.grant) reads.payloads.set(payloadKey('Grant', found.grant.id), found.grant.stored ?? null);
    if (found.account) reads.accounts.set(found.account.id, found.account.record);
    if (found.session) reads.payloads.set(payloadKey('Session#uid', found.session.uid), found.session.stored ?? null);
    return found.stored;
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
        const reads = requestReads();
        if (reads) await flushConsume(reads);
        if (!(await payloads.insertOnce(this.model, id, payload as Record<string, unknown>, Math.max(1, expiresIn)))) {
          throw new errors.InvalidRequest('this proof or assertion has been used already');
        }
        return;
      }
      const lifetime = this.model === 'DeviceCode' && expiresIn ? expiresIn + DEVICE_CODE_LINGER : expiresIn;
      const reads = requestReads();
      const key = payloadKey(this.model, id);
      const pending = reads?.pendingConsume;
      // A retry answered with its rotation's successor: the token the provider made is not issued.
      if (reads?.retry?.successor && this.model === 'RefreshToken') return;
      if (reads && pending && this.model === 'RefreshToken') {
        reads.pendingConsume = undefined;
        await flushWrites(reads);
        const inserted = await payloads.consumeAndInsert(
          pending,
          this.model,
          id,
          payload as Record<string, unknown>,
          lifetime,
        );
        reads.payloads.delete(key);
        if (inserted) return;
        // Consumed by a concurrent rotation first: that one wins and this one issues nothing; it
        // is a retry of that rotation, answered with its successor while the count allows.
        if (retryLimit > 0) {
          const { successor, rotated, lapsed } = await payloads.retry(pending.model, pending.id, graceMs, retryLimit);
          if (successor) {
            reads.retry = { id: pending.id, successor };
            return;
          }
          if (rotated && lapsed) await revokeAsReuse(reads, payload.grantId);
        }
        throw new errors.InvalidGrant('grant request is invalid');
      }
      if (reads) await flushPendingConsume(reads);
      const loaded = reads?.payloads.get(key);
      if (this.model === 'Session' && loaded && onlySlides(loaded.payload, payload, lifetime)) return;
      if (typeof payload.uid === 'string') reads?.payloads.delete(payloadKey(`${this.model}#uid`, payload.uid));
      if (reads && HELD_WRITES.has(this.model)) {
        hold(reads, this.model, id, payload as Record<string, unknown>, lifetime);
        return;
      }
      reads?.payloads.delete(key);
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
      const stored = await readThrough(this.model, id);
      if (this.model === 'RefreshToken' && stored?.consumedAt && Provider.ctx?.oidc?.route === 'token') {
        const verdict = retryVerdict(stored as StoredPayload & { consumedAt: Date });
        const reads = requestReads();
        if (verdict === 'retry' && reads) {
          reads.retry = { id, grantId: stored.payload.grantId as string | undefined };
          return stored.payload as AdapterPayload;
        }
        if (verdict !== 'reuse') {
          throw new errors.InvalidGrant('refresh token already used; use the refresh token issued with its first use');
        }
      }
      if (this.model === 'DeviceCode') await checkDevicePoll(id, stored);
      // oidc-provider copies a payload into its Session shallowly and then changes nested members
      // in place (authorizations[clientId] for a client the session signs in to next): the
      // Session gets a copy of its own, or the payload kept as read (for onlySlides) would change
      // with it, the new authorization's write be skipped as a mere slide, and the code issued
      // for that client refused ("authorization code not found": its session has no grant for it).
      return this.model === 'Session' ? structuredClone(toPayload(stored)) : toPayload(stored);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return toPayload(await payloads.findByUserCode(this.model, userCode));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const read = requestReads()?.payloads.get(payloadKey(`${this.model}#uid`, uid));
      return toPayload(read === undefined ? await payloads.findByUid(this.model, uid) : (read ?? undefined));
    }

    async consume(id: string): Promise<void> {
      const reads = requestReads();
      reads?.payloads.delete(payloadKey(this.model, id));
      // A retry (find() above): counted, not consumed again; its answer is the successor.
      if (this.model === 'RefreshToken' && reads?.retry?.id === id && !reads.retry.successor) {
        await flushConsume(reads);
        const { successor, lapsed } = await payloads.retry(this.model, id, graceMs, retryLimit);
        if (!successor && lapsed) await revokeAsReuse(reads, reads.retry.grantId);
        if (!successor) {
          reads.retry = undefined;
          throw new errors.InvalidGrant('refresh token already used; use the refresh token issued with its first use');
        }
        reads.retry.successor = successor;
        return;
      }
      // The refresh grant saves the successor right after consuming (oidc-provider's
      // actions/grants/refresh_token.js): the consumption goes with that insert (upsert below).
      if (this.model === 'RefreshToken' && reads && Provider.ctx?.oidc?.route === 'token') {
        await flushConsume(reads);
        reads.pendingConsume = { model: this.model, id };
        return;
      }
      if (reads) await flushConsume(reads);
      await consumeNow(this.model, id);
    }

    async destroy(id: string): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed with the tessera CLI, not by the provider');
      const reads = requestReads();
      if (reads && HELD_WRITES.has(this.model)) {
        hold(reads, this.model, id);
        return;
      }
      if (reads) await flushConsume(reads);
      reads?.payloads.clear();
      await payloads.destroy(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const reads = requestReads();
      if (reads) await flushConsume(reads);
      reads?.payloads.clear();
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
