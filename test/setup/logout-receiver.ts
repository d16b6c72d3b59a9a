// The receiving side of back-channel logout in tests: the logout tokens a receiver
// (webhook-receiver.ts) got for a session, and their verification with jose against Tessera's
// /jwks, as an app does it (Back-Channel Logout 1.0 §2.6).
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import type { Receiver } from './webhook-receiver.ts';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
// Deliveries come from the outbox worker on a loaded machine.
export const SLOW = { timeoutMs: 30_000, intervalMs: 200 };

/** The logout tokens the receiver got for one session id (`sid`), oldest first. */
export function logoutTokensFor(receiver: Receiver, sid: string): string[] {
  return receiver.received
    .map((r) => new URLSearchParams(r.body).get('logout_token') ?? '')
    .filter((t) => t && decodeJwt(t).sid === sid);
}

/** Verifies a logout token as the app `clientId` must: signature, iss, aud, typ, events, no nonce. */
export async function verifyLogoutToken(issuer: string, token: string, clientId: string): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), {
    issuer,
    audience: clientId,
    typ: 'logout+jwt',
  });
  if (protectedHeader.alg !== 'RS256') throw new Error(`logout token signed with ${protectedHeader.alg}`);
  const events = payload.events as Record<string, unknown> | undefined;
  if (!events?.[LOGOUT_EVENT] || 'nonce' in payload) throw new Error('not a logout token');
  return payload;
}
