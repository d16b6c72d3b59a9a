// A public client identifying itself with HTTP Basic and an empty secret,
// `Authorization: Basic base64("client_id:")`, as oidc-agent and others do. RFC 6749 §2.3.1 has
// the client_id and the secret of a client that has one; a public client has none, and sending
// its client_id this way says no more than the `client_id` parameter (§3.2.1) would.
// oidc-provider (checked against 9.13.3, lib/shared/client_auth.js) refuses any Basic header with
// an empty secret, `400 invalid_request`. This middleware, on the provider (provider.use, before
// its routes), rewrites such a request from a *public* client into the one the client meant: no
// Authorization header and `client_id` in the form. A non-empty secret from a public client is
// left to the provider, which refuses it (the method does not match). For a confidential or
// unknown client the header is left as it is, and clientAuthenticationChallenge turns the
// provider's answer into RFC 6749 §5.2's `401 invalid_client` with a Basic challenge.
import { parse, stringify } from 'node:querystring';
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { BODY_LIMIT, basicHeader, isProviderRoute, isPublicClient, readBody, replayBody } from './upstream.ts';

export function publicClientBasic(provider: Provider, paths: readonly string[]): Middleware {
  return async function publicClientBasic(ctx, next) {
    const { authorization } = ctx.headers;
    if (ctx.method !== 'POST' || authorization === undefined || !paths.some((p) => isProviderRoute(ctx.path, p)))
      return next();
    const basic = basicHeader(authorization);
    if (basic?.secret !== '' || !ctx.is('application/x-www-form-urlencoded')) return next();
    const length = ctx.request.length;
    if (length === undefined || length > BODY_LIMIT || ctx.req.readableEncoding) return next();
    if (!(await isPublicClient(provider, basic.clientId))) return next();

    const raw = await readBody(ctx);
    const form = parse(raw.toString('utf8'));
    // A client_id in the form that names another client (or is repeated) is the provider's to
    // refuse, as it refuses it with any other Basic header.
    if (form.client_id !== undefined && form.client_id !== basic.clientId) {
      replayBody(ctx, raw);
      return next();
    }
    const body = form.client_id === undefined ? joined(raw, basic.clientId) : raw;
    // The request's own header object, which Koa's ctx.request and the provider's body parser
    // (it checks the Content-Length) both read.
    const { headers } = ctx.req;
    delete headers.authorization;
    headers['content-length'] = String(body.length);
    replayBody(ctx, body);
    return next();
  };
}

/** The form with `client_id` added, its bytes otherwise unchanged. */
function joined(raw: Buffer, clientId: string): Buffer {
  const pair = stringify({ client_id: clientId });
  return Buffer.from(raw.length === 0 ? pair : `${raw.toString('utf8')}&${pair}`, 'utf8');
}
