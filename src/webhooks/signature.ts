// The signature of a delivery, the scheme Stripe and GitHub use: an HMAC-SHA-256 over
// `<timestamp>.<raw body>` under the webhook's secret, sent as
//   Tessera-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]
// The timestamp is inside the MAC, so a receiver that checks its age refuses a replayed delivery;
// one v1 per secret that signs (two while a rotation overlaps), so that a receiver with either
// secret accepts. The receiver's side: src/resource-server/webhook-signature.ts.
import { createHmac, randomBytes } from 'node:crypto';

export const SIGNATURE_HEADER = 'tessera-signature';

/** A new webhook secret: 32 random bytes (HMAC-SHA-256's block of security), base64url, prefixed. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function signatureHeader(secrets: string[], timestamp: number, body: string): string {
  const macs = secrets.map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`,
  );
  return [`t=${timestamp}`, ...macs].join(',');
}
