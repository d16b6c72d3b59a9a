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

/** What the provider's end_session hands over: one outbox row per client. */
export function enqueueBackchannelLogout(outbox: () => Outbox) {
  return (request: BackchannelLogoutRequest): Promise<void> =>
    outbox().enqueue(BACKCHANNEL_LOGOUT_KIND, {
      client_id: request.clientId,
      sub: request.sub,
      sid: request.sid,
      jti: randomUUID(),
    } satisfies LogoutPayload);
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
