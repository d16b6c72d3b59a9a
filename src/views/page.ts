// Sending one of Tessera's pages: HTML, never cached (they carry per-request tokens), and a
// Content-Security-Policy that allows no script at all, except on the pages that need it
// (passkeys: WebAuthn has no form-only API). Those name a fresh nonce, and only <script> elements
// carrying it run: Tessera's own files from /assets/, never inline code or another origin's.
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self' http: https:; base-uri 'none'; frame-ancestors 'none'";

/** A nonce for one response's scripts (CSP3 §6.7.3.1: at least 128 bits, fresh per response). */
export function scriptNonce(): string {
  return randomBytes(16).toString('base64');
}

export function sendPage(ctx: Context, html: string, status = 200, options: { scriptNonce?: string } = {}): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  // connect-src 'self': the passkey script asks this origin (and only it) for a ceremony's options.
  ctx.set(
    'Content-Security-Policy',
    options.scriptNonce ? `${CSP}; script-src 'nonce-${options.scriptNonce}'; connect-src 'self'` : CSP,
  );
  ctx.body = html;
}
