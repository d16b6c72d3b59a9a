// RFC 6749 §5.2: a request that includes no client authentication is `invalid_client`, and
// invalid_client is 401 with a WWW-Authenticate challenge for the server's default scheme, Basic
// (client_secret_basic, what a client without other registration uses).
//
// oidc-provider (checked against 9.13.3, lib/shared/client_auth.js) answers a request with
// neither credentials nor client_id `400 invalid_request` ("no client authentication mechanism
// provided"), and a client registered for a secret that sends only its client_id a 401 without a
// challenge (it challenges only requests that carried an Authorization header). This post-middleware on the
// provider (provider.use, its documented extension point) runs after the endpoint's own error
// handling, at every endpoint that authenticates clients, and is the one place that turns those
// answers into RFC 6749's. Refusals of credentials that were presented (a wrong secret, a bad
// assertion) and of clients registered for another method (private_key_jwt, mTLS, whose failures
// openid-client and others report as they are) stay the provider's. Tessera's fast paths before the provider
// (client-credentials-fast-path.ts, jwt-access-tokens.ts) answer only authenticated clients and
// leave every other request to the provider, so their refusals come through here too. A public
// client sending its client_id where that is allowed is authenticated ("none"): not touched; so
// is one sending Basic with an empty secret (public-client-basic.ts).
import type { Middleware } from 'koa';
import { usesSecret } from '../services/client-secrets.ts';
import { CLIENT_AUTHENTICATING_ROUTES, EMPTY_BASIC_SECRET, NO_CLIENT_AUTHENTICATION, oidcContext } from './upstream.ts';

// oidc-provider's description of every refused client authentication (InvalidClientAuth).
const CLIENT_AUTHENTICATION_FAILED = 'client authentication failed';

interface ErrorBody {
  error?: unknown;
  error_description?: unknown;
}

/** RFC 7235 §2.1 quoted-string, escaped as oidc-provider escapes its own challenges. */
const quoted = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function clientAuthenticationChallenge(issuer: string): Middleware {
  return async function clientAuthenticationChallenge(ctx, next) {
    await next();
    const oidc = oidcContext(ctx);
    const route = oidc?.route;
    if (route === undefined || !CLIENT_AUTHENTICATING_ROUTES.has(route)) return;
    const body = ctx.body as ErrorBody | undefined;
    // JSON errors only: a browser that prefers HTML gets the provider's error page (renderError).
    if (!body || typeof body !== 'object' || Buffer.isBuffer(body)) return;
    if (ctx.status === 400 && body.error === 'invalid_request' && body.error_description === NO_CLIENT_AUTHENTICATION) {
      ctx.status = 401;
      ctx.body = { ...body, error: 'invalid_client' };
    }
    // Basic with an empty secret from a client that is not public (public-client-basic.ts lets a
    // public client through): credentials that fail, so invalid_client with the Basic challenge.
    if (ctx.status === 400 && body.error === 'invalid_request' && body.error_description === EMPTY_BASIC_SECRET) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client', error_description: CLIENT_AUTHENTICATION_FAILED };
      ctx.set(
        'WWW-Authenticate',
        `Basic realm=${quoted(issuer)}, error="invalid_client", error_description=${quoted(CLIENT_AUTHENTICATION_FAILED)}`,
      );
      return;
    }
    // No credentials of any kind (RFC 6749 §2.3: no Authorization header, secret or assertion)
    // from an unknown client or one registered for a secret, whose scheme Basic is. Clients of
    // other methods (private_key_jwt, mTLS) keep the provider's answer.
    const { client, params } = oidc!;
    const presented =
      ctx.get('authorization') !== '' || params?.client_secret !== undefined || params?.client_assertion !== undefined;
    const secretScheme = client === undefined || usesSecret(client.clientAuthMethod ?? '');
    if (
      ctx.status === 401 &&
      (ctx.body as ErrorBody).error === 'invalid_client' &&
      !presented &&
      secretScheme &&
      !ctx.response.get('WWW-Authenticate')
    ) {
      const description = (ctx.body as ErrorBody).error_description;
      ctx.set(
        'WWW-Authenticate',
        `Basic realm=${quoted(issuer)}, error="invalid_client"${typeof description === 'string' ? `, error_description=${quoted(description)}` : ''}`,
      );
    }
  };
}
