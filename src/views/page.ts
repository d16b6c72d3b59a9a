// Sending one of Tessera's pages: HTML, never cached (they carry per-request tokens), and a
// Content-Security-Policy that allows no script at all (the pages need none).
import type { Context } from 'koa';

const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self' http: https:; base-uri 'none'; frame-ancestors 'none'";

export function sendPage(ctx: Context, html: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', CSP);
  ctx.body = html;
}
