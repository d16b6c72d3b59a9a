// OpenID Connect Back-Channel Logout 1.0 through the outbox. When a session ends at
// /session/end, oidc-provider asks each client of the session with a backchannel_logout_uri to
// be told (lib/actions/end_session.js); the seam (upstream.ts deferBackchannelLogout) turns that
// into an outbox row of kind 'backchannel_logout' instead of a POST inside the browser's request.
// The worker (outbox/worker.ts) then signs a logout token and POSTs it, retrying with backoff
// when the client is down, once per row across replicas, to addresses the webhooks' SSRF guard
// allows. The token is signed at each attempt: it lives 120 s (lib/models/id_token.js), shorter
// than the retries; its `jti` is the row's, so that a client sees one logout however often it is
// delivered.
import { randomUUID } from 'node:crypto';
import type { Provider } from 'oidc-provider';
import type { SessionLogout } from '../db/queries/session-logouts.ts';
import type { Logger } from '../logging/logger.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { OutboxHandler } from '../outbox/worker.ts';
import { post } from '../webhooks/delivery.ts';
import { type BackchannelLogoutRequest, backchannelLogoutClient, signLogoutToken } from './upstream.ts';

export const BACKCHANNEL_LOGOUT_KIND = 'backchannel_logout';

interface LogoutPayload {
  client_id: string;
  sub: string;
  sid?: string | undefined;
  jti: string;
}

/**
 * One outbox row per client to tell: what the provider's end_session hands over for its session
 * (upstream.ts deferBackchannelLogout), and what every other way a session ends hands over for
 * the sessions its statement deleted (`sessionsEnded`). The one way a logout token is asked for.
 */
export function enqueueBackchannelLogout(outbox: () => Outbox) {
  return (request: BackchannelLogoutRequest): Promise<void> =>
    outbox().enqueue(BACKCHANNEL_LOGOUT_KIND, {
      client_id: request.clientId,
      sub: request.sub,
      sid: request.sid,
      jti: randomUUID(),
    } satisfies LogoutPayload);
}

/** Tells the clients of sessions that ended outside /session/end (db/queries/session-logouts.ts). */
export type SessionsEnded = (logouts: SessionLogout[]) => Promise<void>;

/**
 * For the account page, `tessera users sessions revoke`, the admin API and password changes and
 * resets: the statement that ended the sessions returned whom to tell; each gets its row. The rows
 * are added after that statement, as end_session adds them after the provider destroyed the
 * session: a process that dies in between loses those logout tokens (the apps' own sessions then
 * end when their tokens do: the grants and refresh tokens went with the session).
 */
export function backchannelLogouts(outbox: () => Outbox): SessionsEnded {
  const enqueue = enqueueBackchannelLogout(outbox);
  return async (logouts) => {
    for (const logout of logouts) await enqueue(logout);
  };
}

export function backchannelLogoutHandler(deps: {
  provider: () => Provider;
  allowPrivate: boolean;
  logger: Logger;
}): OutboxHandler {
  return async (payload) => {
    const { client_id: clientId, sub, sid, jti } = payload as LogoutPayload;
    const provider = deps.provider();
    // The client was deleted, or no longer wants logout tokens: nothing to deliver.
    const found = await backchannelLogoutClient(provider, clientId);
    if (!found) return;
    const token = await signLogoutToken(provider, found.client, { sub, sid, jti });
    const status = await post(
      found.uri,
      { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Tessera-Logout/1' },
      new URLSearchParams({ logout_token: token }).toString(),
      deps.allowPrivate,
    );
    // §2.8: 200 OK on success (204 accepted as oidc-provider does); anything else is retried.
    if (status !== 200 && status !== 204) throw new Error(`the client answered ${status}`);
    deps.logger.info({ client_id: clientId, status }, 'back-channel logout delivered');
  };
}
