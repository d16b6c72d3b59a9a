// A form POST from a client authenticating with its secret (client_secret_basic or
// client_secret_post), read and authenticated without going through oidc-provider's endpoint
// middleware: the front of the fast paths before the provider (client-credentials-fast-path.ts,
// jwt-access-tokens.ts).
//
// It recognises only the plain case. The caller says which forms it answers (`wanted`), and only
// those are authenticated here: a request the caller would hand over anyway (another grant type,
// an opaque token) is not authenticated twice. The decision uses the provider's own Client model
// (Client.find, checkClientSecretExpiration, compareClientSecret), so a client authenticates here
// exactly when it would at the provider. Anything else — another authentication method, a wrong
// secret, an unknown client, a duplicated or unexpected parameter, a CORS request, a body that is
// not a small urlencoded form — returns undefined and leaves the request to the provider, which
// gives every error its usual answer (401 with WWW-Authenticate, 400 invalid_request, ...).
// A body that was read is made readable again, unchanged, for the provider (replayBody). What
// this assumes of the provider (its body limit, its Basic decoding, its Client model, how its
// body parser reads the request) is in upstream.ts.
import { parse } from 'node:querystring';
import type { Context, Middleware, Next } from 'koa';
import type { Provider } from 'oidc-provider';
import {
  BODY_LIMIT,
  basicCredentials,
  clientAuthenticatedBySecret,
  readBody,
  replayBody,
  type ProviderClient,
} from './upstream.ts';
import { inLeafSpan } from '../tracing/spans.ts';

export interface SecretAuthenticatedForm {
  /** The provider that authenticated the client (the one to issue with, should it be swapped). */
  provider: Provider;
  client: ProviderClient;
  /** The form's parameters other than the client's credentials, each given once. */
  params: Record<string, string>;
  /** Leaves the request to the provider after all: its body becomes readable again. */
  handOver(): void;
}

/** The forms a caller answers: the parameters it understands, and which of their values it takes. */
export interface WantedForm {
  /** Parameters besides client_id/client_secret; a form with any other goes to the provider. */
  params: ReadonlySet<string>;
  /** Whether the caller answers this form (checked before the client is authenticated). */
  accepts(params: Record<string, string>): boolean;
}

/**
 * For a POST: the authenticated client and the form, or undefined for the provider to handle the
 * request.
 */
export async function secretAuthenticatedForm(
  ctx: Context,
  provider: Provider,
  wanted: WantedForm,
): Promise<SecretAuthenticatedForm | undefined> {
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  // CORS (the provider decides per client), client attestation and DPoP-bound requests are the
  // provider's; so is a client certificate's endpoint (mTLS aliases have other paths).
  const { headers } = ctx.request;
  if (
    headers.origin !== undefined ||
    headers['oauth-client-attestation'] !== undefined ||
    headers['oauth-client-attestation-pop'] !== undefined ||
    headers.dpop !== undefined
  )
    return undefined;
  const length = ctx.request.length;
  if (length === undefined || length > BODY_LIMIT || ctx.req.readableEncoding) return undefined;

  const basic = headers.authorization === undefined ? undefined : basicCredentials(headers.authorization);
  if (headers.authorization !== undefined && !basic) return undefined;

  const raw = await readBody(ctx);
  const form = parse(raw.toString('utf8'));
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(form)) {
    if (typeof value !== 'string' || !(wanted.params.has(key) || key === 'client_id' || key === 'client_secret'))
      return replayBody(ctx, raw);
    params[key] = value;
  }
  const { client_id: clientId, client_secret: secret, ...rest } = params;
  if (!wanted.accepts(rest)) return replayBody(ctx, raw);
  // RFC 6749 §2.3: one authentication method per request; a client_id may repeat Basic's.
  const presented = basic
    ? secret === undefined && (clientId === undefined || clientId === basic.clientId)
      ? { ...basic, method: 'client_secret_basic' }
      : undefined
    : clientId && secret
      ? { clientId, secret, method: 'client_secret_post' }
      : undefined;
  const client =
    presented &&
    (await inLeafSpan('client authentication', { 'oauth.client_auth_method': presented.method }, () =>
      clientAuthenticatedBySecret(provider, presented.clientId, presented.secret, presented.method),
    ));
  return client ? { provider, client, params: rest, handOver: () => replayBody(ctx, raw) } : replayBody(ctx, raw);
}

/**
 * A fast path before the provider: for a POST to one of `routes` (request path → route) whose form
 * `form` takes and whose client authenticated with its secret, `answer` either answers (true) or
 * declines (false). Every other request, and every declined one, goes on to the provider with its
 * body intact; `after` then sees the provider's answer.
 */
export function beforeProvider<Route extends string>(fastPath: {
  routes: ReadonlyMap<string, Route>;
  provider: () => Provider;
  form: WantedForm;
  answer(ctx: Context, route: Route, form: SecretAuthenticatedForm): Promise<boolean>;
  after?(ctx: Context, route: Route): Promise<void>;
}): Middleware {
  return async function beforeProvider(ctx: Context, next: Next) {
    const route = ctx.method === 'POST' ? fastPath.routes.get(ctx.path) : undefined;
    if (route === undefined) return next();
    const form = await secretAuthenticatedForm(ctx, fastPath.provider(), fastPath.form);
    if (form && (await fastPath.answer(ctx, route, form))) return;
    form?.handOver();
    await next();
    await fastPath.after?.(ctx, route);
  };
}
