// RFC 8628 §3.2: the device authorization response tells the client how long to wait between
// polls. oidc-provider leaves `interval` out (the client then assumes 5 s); Tessera states the
// configured one, and enforces it with slow_down (oidc/adapter.ts).
import { parse } from 'node:querystring';
import type { Middleware } from 'koa';
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { BODY_LIMIT, isProviderRoute, readBody, replayBody } from './upstream.ts';

export function deviceAuthorizationInterval(path: string, interval: number): Middleware {
  return async function deviceAuthorizationInterval(ctx, next) {
    await next();
    if (ctx.method === 'POST' && ctx.path === path && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body = { ...(ctx.body as object), interval };
    }
  };
}

// RFC 8628 §3.1: the device authorization endpoint takes POST (and OPTIONS, for CORS). Any other
// method would reach oidc-provider's `/device/:uid` route, a browser's device resume with uid
// "auth", which sends a client to the code-entry page meant for people. Paths are matched as
// oidc-provider's router matches them (upstream.ts).
export function deviceAuthorizationMethods(path: string): Middleware {
  const allowed = new Set(['POST', 'OPTIONS']);
  return async function deviceAuthorizationMethods(ctx, next) {
    if (allowed.has(ctx.method) || !isProviderRoute(ctx.path, path)) return next();
    // RFC 9110 §15.5.6: a 405 names the methods the resource supports.
    ctx.set('Allow', 'OPTIONS, POST');
    ctx.status = 405;
    ctx.body = { error: 'invalid_request', error_description: 'the device authorization endpoint accepts only POST' };
  };
}

// RFC 8628 §3.3 asks the user to confirm the device once the code is entered, and §5.4 to show
// the code then so that it can be compared with the device's. oidc-provider asks before sign-in
// (userCodeConfirmSource, "Connect …?") and the consent prompt asks again after it ("Allow …?").
// Tessera asks once, after sign-in, when the person is known: a code entered at the
// verification URI is taken as the request to connect (`confirm` is added to the form), and the
// consent prompt is always due for a device (deviceConfirmationPolicy), even for a first-party
// client or one the user approved before; its page (interactions/routes.ts) shows the code, the
// client and the scopes, with Connect and Deny.

/** POST <verification URI> with a code and no answer yet: the code entry means "connect". */
export function deviceCodeEntryConfirms(path: string): Middleware {
  return async function deviceCodeEntryConfirms(ctx, next) {
    if (ctx.method !== 'POST' || !isProviderRoute(ctx.path, path) || !ctx.is('application/x-www-form-urlencoded'))
      return next();
    const length = ctx.request.length;
    if (length === undefined || length > BODY_LIMIT || ctx.req.readableEncoding) return next();
    const raw = await readBody(ctx);
    const form = parse(raw.toString('utf8'));
    if (form.user_code === undefined || form.confirm !== undefined || form.abort !== undefined) {
      replayBody(ctx, raw);
      return next();
    }
    const body = Buffer.from(`${raw.toString('utf8')}&confirm=yes`, 'utf8');
    // The provider's body parser checks the Content-Length against the body it reads.
    ctx.req.headers['content-length'] = String(body.length);
    replayBody(ctx, body);
    return next();
  };
}

/** The provider's default prompts, with the consent prompt always due for a device's request. */
export function deviceConfirmationPolicy(): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  policy
    .get('consent')!
    .checks.add(
      new interactionPolicy.Check(
        'device_confirmation',
        'a device must be confirmed by the End-User',
        (ctx: KoaContextWithOIDC) =>
          ctx.oidc.deviceCode !== undefined && !ctx.oidc.result?.consent
            ? interactionPolicy.Check.REQUEST_PROMPT
            : interactionPolicy.Check.NO_NEED_TO_PROMPT,
      ),
    );
  return policy;
}

/** A stored user code as the device shows it (the provider's mask, ****-****). */
export function displayedUserCode(userCode: string): string {
  return userCode.length === 8 ? `${userCode.slice(0, 4)}-${userCode.slice(4)}` : userCode;
}
