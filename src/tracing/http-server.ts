// The HTTP server span: one per request, the parent of every span Tessera records for it.
//
// The incoming W3C traceparent (from the load balancer, or from the client itself) is taken as
// the span's parent. It is only a correlation id: it grants nothing, decides nothing, and its
// worst use is to file this request's span under someone else's trace id, which the sender could
// do to its own requests anyway. A malformed one is ignored by the propagator (a new trace starts).
// Incoming baggage is not kept (see below), so nothing a sender wrote travels on.
//
// Attributes (OpenTelemetry's HTTP semantic conventions, the required ones): the method, the
// route's template (never the path, which can carry an interaction or session handle, nor the
// query string, which can carry a code), the route's name, and the status. Nothing from the
// headers or the body: see spans.ts.
import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Middleware } from 'koa';
import { errorType, tessera } from './spans.ts';

// The methods the semantic conventions name; anything else is recorded as _OTHER, so that a
// client cannot put its own words into span names.
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** A request's route: its template and (for the provider's routes) its name. */
export interface RequestRoute {
  template: string;
  name?: string;
}

/**
 * The route a request matched: @koa/router and oidc-provider's router both leave the template in
 * ctx._matchedRoute (and the provider its route name in ctx._matchedRouteName); a request answered
 * before any router (the fast paths, cached documents) is matched against `staticRoutes`.
 */
export function matchedRoute(ctx: Context, staticRoutes: ReadonlyMap<string, string>): RequestRoute | undefined {
  const state = ctx as unknown as { _matchedRoute?: unknown; _matchedRouteName?: unknown };
  if (typeof state._matchedRoute === 'string') {
    return {
      template: state._matchedRoute,
      ...(typeof state._matchedRouteName === 'string' ? { name: state._matchedRouteName } : undefined),
    };
  }
  const path = ctx.path.toLowerCase().replace(/(?<=.)\/$/, '');
  const name = staticRoutes.get(path);
  return name === undefined ? undefined : { template: path, name };
}

/**
 * The server span's middleware, first in the app. `staticRoutes` maps the paths answered before
 * any router (lower case) to their route names.
 */
export function serverSpans(staticRoutes: ReadonlyMap<string, string>): Middleware {
  const tracer = tessera();
  return async function traceRequest(ctx, next) {
    const method = KNOWN_METHODS.has(ctx.method) ? ctx.method : '_OTHER';
    // Baggage is dropped: it would be the sender's words, passed on to whoever Tessera calls next.
    const parent = propagation.deleteBaggage(propagation.extract(ROOT_CONTEXT, ctx.headers));
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': method },
      },
      parent,
    );
    let failed: unknown;
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (err) {
      failed = err;
      throw err;
    } finally {
      if (span.isRecording()) finish(span, ctx, method, failed);
      span.end();
    }
  };
  /** The server span's name and attributes, once the request is answered (sampled spans only). */
  function finish(span: Span, ctx: Context, method: string, failed: unknown) {
    const route = matchedRoute(ctx, staticRoutes);
    if (route) {
      span.updateName(`${method} ${route.template}`);
      span.setAttribute('http.route', route.template);
      if (route.name) span.setAttribute('tessera.route', route.name);
    }
    // An error that escaped every handler becomes Koa's 500.
    const status = failed === undefined ? ctx.status : 500;
    span.setAttribute('http.response.status_code', status);
    // Server spans: only 5xx is the server's failure (semantic conventions, HTTP spans status).
    if (status >= 500) {
      span.setAttribute('error.type', failed === undefined ? String(status) : errorType(failed));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
}
