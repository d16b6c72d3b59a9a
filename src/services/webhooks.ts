// Webhooks as the admin sees them (the CLI): subscribe a URL to audit event types, see and delete
// subscriptions, rotate the signing secret with an overlap, read the delivery log, redeliver.
// The secret is returned once, at creation or rotation; stored sealed (db/queries/webhooks.ts).
// Every change is audited (the audit event carries the webhook id and URL, never the secret).
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { AuditEntry } from '../db/queries/audit-events.ts';
import { type DeliveryStatus, type WebhookQueries, type WebhookRow, WEBHOOK_KIND } from '../db/queries/webhooks.ts';
import { InvalidInput, NotFound } from '../errors.ts';
import { seal } from '../keys/seal.ts';
import { type OutboxKeys, sealPayload } from '../outbox/outbox.ts';
import { injectTraceContext } from '../tracing/propagation.ts';
import { secretAad, type WebhookPayload } from '../webhooks/delivery.ts';
import { subscribedEventType, subscriptionNames, webhookEventType } from '../webhooks/event-catalog.ts';
import { newWebhookSecret } from '../webhooks/signature.ts';
import { isForbiddenAddress } from '../webhooks/ssrf-guard.ts';
import type { Audit, AUDIT_EVENT_TYPES } from './audit.ts';

// The longest URL accepted: far above any real endpoint, low enough to keep rows and logs small.
export const MAX_URL_LENGTH = 2048;
// A day of overlap by default: long enough to roll the new secret out to every receiver, short
// enough that a secret rotated because it leaked stops signing soon. At most 30 days.
export const DEFAULT_SECRET_OVERLAP = 86_400;
export const MAX_SECRET_OVERLAP = 30 * 86_400;
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const satisfies readonly DeliveryStatus[];
// The delivery log is read newest first, this many at most per request (the CLI's --limit).
export const MAX_DELIVERIES = 1000;

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  created_at: string;
  secret_rotated_at: string | null;
  previous_secret_valid_until: string | null;
}

const view = (w: WebhookRow): WebhookView => ({
  id: w.id,
  url: w.url,
  events: w.events,
  description: w.description,
  created_at: w.createdAt.toISOString(),
  secret_rotated_at: w.secretRotatedAt?.toISOString() ?? null,
  previous_secret_valid_until: w.previousUntil?.toISOString() ?? null,
});

/** The outbox payload naming a delivery, with the trace context of the request that caused it. */
export function sealDelivery(keys: OutboxKeys): (deliveryId: string) => Buffer {
  return (deliveryId) => {
    const trace = injectTraceContext({});
    const payload: WebhookPayload = { delivery_id: deliveryId, ...(Object.keys(trace).length ? { trace } : {}) };
    return sealPayload(keys, WEBHOOK_KIND, payload);
  };
}

/**
 * The audit trail's store with webhooks: records the event and enqueues its deliveries in one
 * transaction (auditTrail in services/audit.ts takes this in place of the plain insert).
 */
export function webhookAuditEvents(queries: Pick<WebhookQueries, 'addEvent'>, issuer: string, keys: OutboxKeys) {
  const sealer = sealDelivery(keys);
  return {
    add: (entry: AuditEntry) =>
      queries.addEvent(entry, issuer, sealer, {
        type: webhookEventType(entry.type),
        names: subscriptionNames(entry.type),
      }),
  };
}

function checkUrl(value: string, production: boolean, allowPrivate: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInput('--url must be an absolute http(s) URL');
  }
  if (value.length > MAX_URL_LENGTH) throw new InvalidInput(`--url must be at most ${MAX_URL_LENGTH} characters`);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidInput('--url must be an http(s) URL');
  if (production && url.protocol !== 'https:') throw new InvalidInput('--url must be https in production');
  if (url.username || url.password) throw new InvalidInput('--url must not carry credentials');
  if (url.hash) throw new InvalidInput('--url must not have a fragment');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An early, friendly refusal; the delivery checks the resolved address again (ssrf-guard.ts).
  if (
    !allowPrivate &&
    ((isIP(host) && isForbiddenAddress(host)) || host === 'localhost' || host.endsWith('.localhost'))
  )
    throw new InvalidInput('--url must not point to a loopback, private or link-local address');
  return url.toString();
}

/** The catalog's names (webhooks/event-catalog.ts); an audit type's own name is stored as the catalog's. */
function checkEvents(events: string[]): string[] {
  const unknown = events.filter((e) => subscribedEventType(e) === undefined);
  if (events.length === 0) throw new InvalidInput('--events needs at least one event type');
  if (unknown.length)
    throw new InvalidInput(`--events: unknown event types ${unknown.join(', ')}; see README "Webhooks"`);
  return [...new Set(events.map((e) => subscribedEventType(e)!))];
}

export function webhookService(deps: {
  queries: WebhookQueries;
  issuer: string;
  keys: OutboxKeys;
  audit: Audit;
  actor: string;
  production: boolean;
  allowPrivate: boolean;
  now?: () => number;
}) {
  const { queries, issuer, keys, audit, actor } = deps;
  const now = deps.now ?? Date.now;
  const sealSecret = (id: string, secret: string) => seal(Buffer.from(secret), keys.current, secretAad(id));
  const record = (type: (typeof AUDIT_EVENT_TYPES)[number], id: string, details: Record<string, unknown>) =>
    audit.record({ type, actor, subject: id, details });

  async function get(id: string): Promise<WebhookRow> {
    const found = /^[0-9a-f-]{36}$/i.test(id) ? await queries.find(issuer, id) : undefined;
    if (!found) throw new NotFound(`no webhook ${JSON.stringify(id)}`);
    return found;
  }

  return {
    async create(input: { url: string; events: string[]; description?: string | undefined }) {
      const url = checkUrl(input.url, deps.production, deps.allowPrivate);
      const events = checkEvents(input.events);
      if (input.description !== undefined && input.description.length > 200)
        throw new InvalidInput('--description must be at most 200 characters');
      const id = randomUUID();
      const secret = newWebhookSecret();
      const row = await queries.create({
        id,
        issuer,
        url,
        events,
        description: input.description ?? null,
        secretSealed: sealSecret(id, secret),
      });
      await record('webhook.created', id, { url, events });
      return { ...view(row), secret };
    },
    async list(): Promise<WebhookView[]> {
      return (await queries.list(issuer)).map(view);
    },
    async show(id: string): Promise<WebhookView> {
      return view(await get(id));
    },
    async remove(id: string): Promise<void> {
      const hook = await get(id);
      await queries.remove(issuer, hook.id);
      await record('webhook.deleted', hook.id, { url: hook.url });
    },
    /** A new secret; the old one goes on signing for `overlapSeconds`. */
    async rotateSecret(id: string, overlapSeconds: number) {
      const hook = await get(id);
      const secret = newWebhookSecret();
      const until = new Date(now() + overlapSeconds * 1000);
      await queries.rotateSecret(issuer, hook.id, sealSecret(hook.id, secret), until);
      await record('webhook.secret_rotated', hook.id, { previous_valid_until: until.toISOString() });
      return { ...view(await get(id)), secret };
    },
    async deliveries(options: { webhookId?: string | undefined; status?: DeliveryStatus | undefined; limit: number }) {
      const rows = await queries.listDeliveries({
        issuer,
        limit: options.limit,
        ...(options.webhookId ? { webhookId: (await get(options.webhookId)).id } : {}),
        ...(options.status ? { status: options.status } : {}),
      });
      return rows.map((d) => ({
        id: d.id,
        webhook_id: d.webhookId,
        event_id: d.eventId,
        type: d.type,
        status: d.status,
        attempts: d.attempts,
        response_status: d.responseStatus,
        last_error: d.lastError,
        created_at: d.createdAt.toISOString(),
        delivered_at: d.deliveredAt?.toISOString() ?? null,
      }));
    },
    async redeliver(deliveryId: string): Promise<void> {
      const ok =
        /^[0-9a-f-]{36}$/i.test(deliveryId) && (await queries.redeliver(issuer, deliveryId, sealDelivery(keys)));
      if (!ok) throw new NotFound(`no delivery ${JSON.stringify(deliveryId)}`);
      await record('webhook.redelivered', deliveryId, {});
    },
  };
}

export type WebhookService = ReturnType<typeof webhookService>;
