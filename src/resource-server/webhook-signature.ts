// Verifying a Tessera webhook delivery, for receivers. Tessera signs `<timestamp>.<raw body>`
// with HMAC-SHA-256 under the webhook's secret and sends
//   Tessera-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]
// (two v1 while a secret rotation overlaps). A delivery is genuine when one v1 matches under one
// of the receiver's secrets (compared in constant time) and its timestamp is recent: the
// timestamp is inside the MAC, so a captured delivery replayed later is refused. Verify the raw
// body exactly as received, before any JSON parsing. De-duplicate on the event's `id`: delivery
// is at least once.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Five minutes: room for clock skew and a slow network, short enough to bound replays. */
const DEFAULT_TOLERANCE_SECONDS = 300;

export interface WebhookEvent {
  /** The event's id, the same in every (re)delivery of it: de-duplicate on this. */
  id: string;
  /** The audit event type, e.g. `refresh_token.reuse_detected`. */
  type: string;
  created_at: string;
  data: { actor: string; subject: string | null; ip: string | null; details: Record<string, unknown> };
}

export class InvalidWebhookSignature extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

export interface VerifyWebhookOptions {
  /** How old (or how far in the future) a delivery's timestamp may be; default 300 s. */
  toleranceSeconds?: number;
  /** The current time in milliseconds (tests). */
  now?: () => number;
}

type Headers = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function header(headers: Headers, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function')
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks a delivery's signature and age and returns the parsed event; throws
 * InvalidWebhookSignature otherwise. `secret`: the webhook's secret, or several (during a rotation
 * on the receiver's side). `headers`: Node's IncomingHttpHeaders (lower-case names) or a fetch
 * Headers. `rawBody`: the body exactly as received.
 */
export function verifyWebhook(
  secret: string | string[],
  headers: Headers,
  rawBody: string | Buffer,
  options: VerifyWebhookOptions = {},
): WebhookEvent {
  const value = header(headers, 'tessera-signature');
  if (!value) throw new InvalidWebhookSignature('no Tessera-Signature header');
  let timestamp: number | undefined;
  const macs: Buffer[] = [];
  for (const part of value.split(',')) {
    const [key, v] = part.trim().split('=', 2);
    if (key === 't' && v && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    else if (key === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) macs.push(Buffer.from(v, 'hex'));
  }
  if (timestamp === undefined || macs.length === 0) throw new InvalidWebhookSignature('malformed Tessera-Signature');
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  if (Math.abs(now - timestamp) > tolerance) throw new InvalidWebhookSignature('signature timestamp out of tolerance');
  const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  const secrets = Array.isArray(secret) ? secret : [secret];
  const matches = secrets.some((s) => {
    const expected = createHmac('sha256', s).update(`${timestamp}.${body}`).digest();
    return macs.some((mac) => timingSafeEqual(mac, expected));
  });
  if (!matches) throw new InvalidWebhookSignature('signature mismatch');
  return JSON.parse(body) as WebhookEvent;
}
