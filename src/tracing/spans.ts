// Tessera's spans, over @opentelemetry/api alone (the SDK is loaded by sdk.ts, and only when an
// OTLP endpoint is configured).
//
// Off, which is the default, nothing here is wired in: app.ts, provider.ts and adapter.ts ask
// tracingEnabled() once, when they are built, and add no middleware or wrapper at all; the few
// calls on a hot path that stay (inSpan in the client-credentials fast path) cost one boolean test.
//
// What a span may carry. Span data leaves the process for a tracing backend that more people can
// read than the server's secrets, so attributes are names and ids chosen here, never values taken
// from the request: no URL (a query string or a path can carry a code or a handle), no header, no
// body, no token or its id (an opaque token's id *is* the token), no error message (only the
// RFC 6749 error code or the error's class name).
import { type Attributes, type Span, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { keepSlotsInTraceContext } from './request-slot.ts';

let enabled = false;
let tracer: Tracer | undefined;

/** Whether spans are recorded; decided once at start (sdk.ts), before the app is built. */
export function tracingEnabled(): boolean {
  return enabled;
}

/** Called by sdk.ts once the SDK is registered; everything built after this records spans. */
export function enableTracing(): void {
  enabled = true;
  tracer = trace.getTracer('tessera');
  keepSlotsInTraceContext();
}

/** The tracer (the API's no-op one while tracing is off). */
export function tessera(): Tracer {
  return tracer ?? trace.getTracer('tessera');
}

/** What an error may say in a span: its OAuth error code or its class name, never its message. */
export function errorType(err: unknown): string {
  const code = (err as { error?: unknown } | undefined)?.error;
  if (typeof code === 'string' && /^[a-z_]{1,64}$/.test(code)) return code;
  return err instanceof Error ? err.constructor.name : 'unknown';
}

/** Marks a span failed by `err`, with only its errorType (see the header). */
export function recordError(span: Span, err: unknown): void {
  const type = errorType(err);
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/**
 * Runs `fn` in a span named `name`, a child of the active one. Off, it is `fn()`. `attributes`
 * must follow the rules of the header.
 */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return enabled ? spanned(name, attributes, fn) : fn();
}

/**
 * inSpan for a step that starts no span of its own (signing, a query, the fast path's client
 * authentication): its span is not made the active one, which saves a context (a copy of its
 * values) and a context switch per span. A span started inside `fn` would be its sibling.
 */
export function inLeafSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return enabled ? leafSpanned(name, attributes, fn) : fn();
}

/** inLeafSpan for code that exists only while tracing is on (it records even when off). */
export async function leafSpanned<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const span = tessera().startSpan(name, { attributes });
  try {
    return await fn();
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** inSpan for code that exists only while tracing is on (it records even when off). */
export function spanned<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return tessera().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}
