// Passing the trace on: W3C Trace Context (traceparent, tracestate) for requests Tessera makes
// itself, so that the receiver's spans join the trace of the request that caused them.
//
// For outgoing deliveries (webhooks, back-channel logout): build the request's headers, then
// `injectTraceContext(headers)` while the causing request's span is active (anywhere under its
// handler, or in a callback started from it: the context follows async calls). Tracing off, or
// outside any request, it adds nothing. It writes only the trace context (the propagators of
// OTEL_PROPAGATORS, by default tracecontext and baggage; Tessera puts no baggage), never anything
// from the incoming request's own headers.
import { context, propagation } from '@opentelemetry/api';

/** Adds the active trace context's headers (traceparent, tracestate) to `headers`, and returns it. */
export function injectTraceContext<H extends Record<string, string>>(headers: H): H {
  propagation.inject(context.active(), headers);
  return headers;
}
