// A form POST from a client authenticating with its secret (client_secret_basic or
// client_secret_post), read and authenticated without going through oidc-provider's endpoint
// middleware: the fast path of introspection and revocation (jwt-access-tokens.ts).
//
// It recognises only the plain case. The caller says which forms it answers (`wanted`), and only
// those are authenticated here: a request the caller would hand over anyway (another grant type,
// an opaque token) is not authenticated twice. The decision uses the provider's own Client model
// (Client.find, checkClientSecretExpiration, compareClientSecret), so a client authenticates here
// exactly when it would at the provider. Anything else — another authentication method, a wrong
// secret, an unknown client, a duplicated or unexpected parameter, a CORS request, a body that is
// not a small urlencoded form — returns undefined and leaves the request to the provider, which
// gives every error its usual answer (401 with WWW-Authenticate, 400 invalid_request, ...).
// A body that was read is made readable again, unchanged, for the provider (replayBody).
import { parse } from 'node:querystring';
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import { basicCredentials } from './basic-credentials.ts';

// oidc-provider's own limit for a form body (lib/shared/selective_body.js, 9.13): a larger one
// goes to the provider, which refuses it.
const BODY_LIMIT = 56 * 1024;

/** The parts of oidc-provider's Client model used here (checked against 9.13). */
interface ProviderClient {
  clientId: string;
  clientAuthMethod: string;
  checkClientSecretExpiration(message: string): void;
  compareClientSecret(secret: string): Promise<boolean>;
}

export interface SecretAuthenticatedForm {
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
export async function secretAuthenticatedForm(ctx: Context, provider: Provider, wanted: WantedForm): Promise<SecretAuthenticatedForm | undefined> {
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  // CORS (the provider decides per client), client attestation and DPoP-bound requests are the
  // provider's; so is a client certificate's endpoint (mTLS aliases have other paths).
  const { headers } = ctx.request;
  if (headers.origin !== undefined || headers['oauth-client-attestation'] !== undefined
    || headers['oauth-client-attestation-pop'] !== undefined || headers.dpop !== undefined) return undefined;
  const length = ctx.request.length;
  if (length === undefined || length > BODY_LIMIT || ctx.req.readableEncoding) return undefined;

  const basic = headers.authorization === undefined ? undefined : basicCredentials(headers.authorization);
  if (headers.authorization !== undefined && !basic) return undefined;

  const raw = await readBody(ctx);
  const form = parse(raw.toString('utf8'));
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(form)) {
    if (typeof value !== 'string' || !(wanted.params.has(key) || key === 'client_id' || key === 'client_secret')) return replayBody(ctx, raw);
    params[key] = value;
  }
  const { client_id: clientId, client_secret: secret, ...rest } = params;
  if (!wanted.accepts(rest)) return replayBody(ctx, raw);
  // RFC 6749 §2.3: one authentication method per request; a client_id may repeat Basic's.
  const presented = basic
    ? (secret === undefined && (clientId === undefined || clientId === basic.clientId) ? { ...basic, method: 'client_secret_basic' } : undefined)
    : (clientId && secret ? { clientId, secret, method: 'client_secret_post' } : undefined);
  const client = presented && await authenticated(provider, presented.clientId, presented.secret, presented.method);
  return client ? { client, params: rest, handOver: () => replayBody(ctx, raw) } : replayBody(ctx, raw);
}

/** The client, when it is registered for this method and the secret is one of its valid ones. */
async function authenticated(provider: Provider, clientId: string, secret: string, method: string): Promise<ProviderClient | undefined> {
  const client = await provider.Client.find(clientId) as ProviderClient | undefined;
  if (!client || client.clientAuthMethod !== method) return undefined;
  try {
    client.checkClientSecretExpiration('client secret expired');
  } catch {
    return undefined;
  }
  return await client.compareClientSecret(secret) ? client : undefined;
}

/** The whole body; Node's HTTP parser delivers no more than its Content-Length. */
async function readBody(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Keeps a body that was read available to the provider: its body parser reads ctx.req as a stream,
 * so ctx.req becomes the same request (headers, socket, URL through the prototype) whose stream
 * yields these bytes once. A body that did not match its Content-Length still fails there.
 */
function replayBody(ctx: Context, raw: Buffer): undefined {
  const request = ctx.req;
  let consumed = false;
  ctx.req = Object.create(request, {
    readable: { get: () => !consumed },
    readableEncoding: { value: null },
    iterator: {
      value: async function* replay() {
        if (consumed) return;
        consumed = true;
        yield raw;
      },
    },
  });
  return undefined;
}
