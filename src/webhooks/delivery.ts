// Delivering one webhook: the outbox handler of kind 'webhook' (outbox/worker.ts claims the row,
// retries with backoff when this throws, once per row across replicas). A POST of the stored JSON
// body, signed now (a fresh timestamp on every attempt, so that a redelivery is not refused as a
// replay), to an address the SSRF guard allows. A 2xx answer is delivered; anything else throws.
// The trace context of the request that caused the event was taken when it was enqueued, and is
// passed on (W3C traceparent), so that the receiver's spans join that trace.
import http from 'node:http';
import https from 'node:https';
import { unsealWithAny } from '../keys/seal.ts';
import type { WebhookQueries } from '../db/queries/webhooks.ts';
import type { Logger } from '../logging/logger.ts';
import type { OutboxKeys } from '../outbox/outbox.ts';
import { type OutboxHandler, MAX_ATTEMPTS } from '../outbox/worker.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';
import { checkLiteralHost, guardedLookup } from './ssrf-guard.ts';

// Ten seconds for the whole exchange: a receiver should acknowledge and work later; a slow one
// must not hold a worker (the outbox lease, 120 s, is far longer).
const TIMEOUT_MS = 10_000;

export interface WebhookPayload {
  delivery_id: string;
  /** traceparent/tracestate of the request that caused the event, if traced. */
  trace?: Record<string, string>;
}

export const secretAad = (webhookId: string) => `webhook:${webhookId}`;

/** The secrets that sign now: the current one, and the previous one during a rotation's overlap. */
export function signingSecrets(
  keys: OutboxKeys,
  webhook: {
    id: string;
    secretSealed: Uint8Array;
    previousSecretSealed: Uint8Array | null;
    previousUntil: Date | null;
  },
  now: number,
): string[] {
  const open = (sealed: Uint8Array) =>
    unsealWithAny(Buffer.from(sealed), keys.all, secretAad(webhook.id)).toString('utf8');
  const secrets = [open(webhook.secretSealed)];
  if (webhook.previousSecretSealed && webhook.previousUntil && webhook.previousUntil.getTime() > now)
    secrets.push(open(webhook.previousSecretSealed));
  return secrets;
}

/** POSTs `body` to `url`; resolves with the status code. Refuses forbidden addresses unless allowed (also used for back-channel logout). */
export function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  allowPrivate: boolean,
): Promise<number> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    // Throwing here rejects the promise.
    if (!allowPrivate) checkLiteralHost(target.hostname);
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          // JSON unless the caller says otherwise (a logout token is form-encoded).
          'content-type': 'application/json',
          ...headers,
          'content-length': String(Buffer.byteLength(body)),
        },
        timeout: TIMEOUT_MS,
        // No agent: a fresh connection per delivery, so that every one passes the lookup below.
        agent: false,
        ...(allowPrivate ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        // The answer's body is not read into memory, only drained.
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export function webhookHandler(deps: {
  queries: Pick<WebhookQueries, 'delivery' | 'recordAttempt'>;
  keys: OutboxKeys;
  allowPrivate: boolean;
  logger: Logger;
  now?: () => number;
}): OutboxHandler {
  const now = deps.now ?? Date.now;
  return async (payload, attempt) => {
    const { delivery_id: id, trace } = payload as WebhookPayload;
    const found = await deps.queries.delivery(id);
    // The webhook was deleted since: nothing to deliver.
    if (!found) return;
    const { delivery, webhook } = found;
    const timestamp = Math.floor(now() / 1000);
    const headers = {
      ...(trace ?? {}),
      'user-agent': 'Tessera-Webhooks/1',
      'tessera-event-id': delivery.eventId,
      'tessera-event-type': delivery.type,
      'tessera-delivery-id': delivery.id,
      [SIGNATURE_HEADER]: signatureHeader(signingSecrets(deps.keys, webhook, now()), timestamp, delivery.body),
    };
    let status: number;
    try {
      status = await post(webhook.url, headers, delivery.body, deps.allowPrivate);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await deps.queries.recordAttempt(id, { status: attempt >= MAX_ATTEMPTS ? 'failed' : 'pending', error: message });
      throw err;
    }
    if (status >= 200 && status < 300) {
      await deps.queries.recordAttempt(id, { status: 'delivered', responseStatus: status });
      deps.logger.info({ webhook_id: webhook.id, delivery_id: id, status }, 'webhook delivered');
      return;
    }
    await deps.queries.recordAttempt(id, {
      status: attempt >= MAX_ATTEMPTS ? 'failed' : 'pending',
      responseStatus: status,
      error: `the receiver answered ${status}`,
    });
    throw new Error(`the receiver answered ${status}`);
  };
}
