// Spans for oidc-provider's steps that matter to an operator: client authentication, the grant
// (by type), signing, and the adapter's queries. Installed only when tracing is on (provider.ts,
// adapter.ts); how they reach into the provider is in upstream.ts.
//
// Attributes are ids and names only (spans.ts): the client id, its authentication method, the
// grant type (checked against the provider's supported grant types before the grant runs), the
// model and operation of a query. Signing and queries start no span of their own: their spans are
// leaves (spans.ts, leafSpanned), never the active span. Never an argument of a query (a
// payload id is a token, a code or a session id), never a parameter of the request.
import { context, trace } from '@opentelemetry/api';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { type ProviderStep, wrapProviderSteps, wrapTokenSigning } from '../oidc/upstream.ts';
import { leafSpanned, recordError, spanned, tessera } from './spans.ts';

/** What a client-authentication span says of the client, once it is known. */
function clientAttributes(ctx: KoaContextWithOIDC): Record<string, string> {
  const client = ctx.oidc.client;
  if (!client) return {};
  return { 'oauth.client_id': client.clientId, 'oauth.client_auth_method': String(client.clientAuthMethod) };
}

/**
 * The span of the provider's client authentication: it ends when the client is authenticated
 * (the step calls next) and what follows runs under the request's span, not under it.
 */
function traceClientAuthentication(step: ProviderStep): ProviderStep {
  return async function authenticateClient(ctx, next) {
    const parent = context.active();
    const span = tessera().startSpan('client authentication', {}, parent);
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      span.setAttributes(clientAttributes(ctx));
      span.end();
    };
    try {
      return await context.with(trace.setSpan(parent, span), () =>
        step(ctx, () => {
          close();
          return context.with(parent, next);
        }),
      );
    } catch (err) {
      if (open) recordError(span, err);
      throw err;
    } finally {
      close();
    }
  };
}

/** The grant's span, named by its type: the handler (and the provider's grant.success). */
function traceGrant(step: ProviderStep): ProviderStep {
  return function callTokenHandler(ctx, next) {
    const grantType = String(ctx.oidc.params?.grant_type);
    return spanned(`grant ${grantType}`, { 'oauth.grant_type': grantType }, () => step(ctx, next));
  };
}

/** Before any provider is built: the provider's client authentication and grants get spans. */
export function traceProviderSteps(): void {
  wrapProviderSteps({ authenticateClient: traceClientAuthentication, callTokenHandler: traceGrant });
}

/** This provider's token signing gets spans: `sign access_token` (JWT) and `sign id_token`. */
export function traceSigning(provider: Provider): void {
  wrapTokenSigning(
    provider,
    (method, kind, format) =>
      function signed(this: object, ...args: unknown[]) {
        // An opaque access token is a random value, not a signature. The name says both the kind
        // and the format: no attribute repeats them (each costs its share of every export).
        const name = format(this) === 'jwt' ? `sign ${kind}` : `format ${kind}`;
        return leafSpanned(name, {}, () => method.apply(this, args));
      },
  );
}

// The adapter's methods (oidc-provider's Adapter interface).
const ADAPTER_OPERATIONS = ['upsert', 'find', 'findByUserCode', 'findByUid', 'consume', 'destroy', 'revokeByGrantId'];

/**
 * The adapter class with a span around each query: `adapter.<operation> <model>`, e.g.
 * `adapter.consume AuthorizationCode`.
 */
export function tracedAdapter<C extends new (model: string) => { model: string }>(Adapter: C): C {
  // The class is made per provider (adapter.ts), so its own prototype is changed.
  const prototype = Adapter.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const operation of ADAPTER_OPERATIONS) {
    const method = prototype[operation];
    if (typeof method !== 'function') continue;
    prototype[operation] = function query(this: { model: string }, ...args: unknown[]) {
      return leafSpanned(
        `adapter.${operation} ${this.model}`,
        { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'tessera.oidc.model': this.model },
        () => method.apply(this, args),
      );
    };
  }
  return Adapter;
}
