// What this request has read from the database already, for the provider's later questions in
// the same request: oidc-provider asks the adapter for a refresh token, then for its Grant, then
// findAccount for its user, each a round trip of its own; one statement reads all three
// (oidc-payloads.findWithGrantAndAccount) and leaves the Grant and the account here. Nothing
// outlives the request (a store entered per request in app.ts, tracing/request-slot.ts), so there is no
// cross-request cache of tokens to invalidate: a revocation is seen by the next request.
//
// Also kept here: which second factors a user who has just signed in has (the sign-in's statement
// returns them, and the second-factor step asks next), the Session as this request read it (to
// skip a write that only slides its expiry, adapter.ts), a refresh token's consumption waiting for its successor's insert
// (adapter.ts: one statement consumes the old token and inserts the new one), and the request's
// blind writes (upserts and deletes whose outcome nobody reads), made in one statement when the
// request is done and before its response leaves (flush): a sign-in's return to /auth saves a
// Grant, a code and the Session and deletes the Interaction, four commits in one.
import type { Middleware } from 'koa';
import type { StoredPayload } from '../db/queries/oidc-payloads.ts';
import type { FactorsOf } from '../db/queries/second-factors.ts';
import type { AccountRecord } from '../db/queries/users.ts';
import { requestSlot } from '../tracing/request-slot.ts';

export interface RequestReads {
  /** Rows read by model and id; null: read, and not there. */
  payloads: Map<string, StoredPayload | null>;
  /** Accounts read by id; null: read, and no such user. */
  accounts: Map<string, AccountRecord | null>;
  /** Second factors by user id, as the sign-in's own statement returned them (users.recordSignIn). */
  secondFactors: Map<string, FactorsOf>;
  /** A refresh token consumed by the provider, to be consumed with its successor's insert. */
  pendingConsume?: { model: string; id: string };
  /** Writes held until the request is done, by payloadKey; no payload: a delete. */
  writes: Map<string, PendingWrite>;
  /**
   * A retried refresh (adapter.ts): the refresh token presented again and, once the retry is
   * counted, the successor its rotation issued, which the response carries (refresh-retry.ts).
   */
  retry?: { id: string; grantId?: string; successor?: string };
  /** Makes the held writes (set by whoever holds some). */
  flush?: () => Promise<void>;
}

export interface PendingWrite {
  model: string;
  id: string;
  payload?: Record<string, unknown>;
  expiresIn?: number;
}

const store = requestSlot<RequestReads>('tessera.request-reads');

export const payloadKey = (model: string, id: string) => `${model}\u0000${id}`;

/** This request's reads, or undefined outside a request (the CLI, jobs, tests of the adapter). */
export const requestReads = (): RequestReads | undefined => store.get();

/**
 * Gives every request below it a store of its own, and makes its held writes once everything
 * below is done: before the response is sent, and above nothing that must see them. Placed below
 * the error handler, so that a failed write is answered like any other failure.
 */
export function requestReadsScope(): Middleware {
  return function requestReadsScope(_ctx, next) {
    const reads: RequestReads = {
      payloads: new Map(),
      accounts: new Map(),
      secondFactors: new Map(),
      writes: new Map(),
    };
    return store.run(reads, async () => {
      await next();
      await reads.flush?.();
    });
  };
}
