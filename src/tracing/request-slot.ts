// A value that follows a request through its async calls (request-reads.ts keeps the request's
// reads and held writes in one), stored where it costs least.
//
// Tracing off, the slot is an AsyncLocalStorage of its own. Tracing on, the SDK's context manager
// already enters an AsyncLocalStorage for every request (the active span), and on Node 22 each
// AsyncLocalStorage the process has ever entered costs something on every promise created
// afterwards, in every request (async_hooks' init hook copies each one's store onto the new
// promise). A second one for the slot cost more CPU per client-credentials request than all the
// spans and their export together (bench/README.md, Tracing), so tracing on, the slot is a key of
// the OpenTelemetry context instead: one AsyncLocalStorage for both.
//
// The OpenTelemetry context holds it only if the registered context manager carries values across
// async calls (the SDK's does; a disabled SDK's no-op one would lose them): checked once, when
// tracing is enabled (spans.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';

export interface RequestSlot<T> {
  /** The value of the innermost run() this call descends from, or undefined outside any. */
  get(): T | undefined;
  /** Runs `fn` (and whatever it starts) with `value` in the slot. */
  run<R>(value: T, fn: () => R): R;
}

let inTraceContext = false;

/**
 * Called once by enableTracing(), before any slot is used: from now on slots live in the
 * OpenTelemetry context, if its manager keeps values (a synchronous probe is enough: the SDK's
 * manager is an AsyncLocalStorage, the API's no-op one keeps nothing at all).
 */
export function keepSlotsInTraceContext(): void {
  const probe = createContextKey('tessera.probe');
  inTraceContext = context.with(ROOT_CONTEXT.setValue(probe, true), () => context.active().getValue(probe) === true);
}

export function requestSlot<T>(name: string): RequestSlot<T> {
  const own = new AsyncLocalStorage<T>();
  const key = createContextKey(name);
  return {
    get: () => (inTraceContext ? (context.active().getValue(key) as T | undefined) : own.getStore()),
    run: (value, fn) => (inTraceContext ? context.with(context.active().setValue(key, value), fn) : own.run(value, fn)),
  };
}
