// The request slot (src/tracing/request-slot.ts): a value that follows a request's async calls, in
// an AsyncLocalStorage of its own while tracing is off and in the OpenTelemetry context (the
// SDK's one AsyncLocalStorage) while it is on, and in its own again if the registered context
// manager would lose it.
import { setImmediate as later } from 'node:timers/promises';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { keepSlotsInTraceContext, requestSlot } from '../../src/tracing/request-slot.ts';

const slot = requestSlot<{ id: number }>('test.slot');

/** Runs two requests at once, each checking it sees its own value across awaits, nested runs too. */
async function followsEachRequest() {
  const request = (id: number) =>
    slot.run({ id }, async () => {
      await later();
      expect(slot.get()).toEqual({ id });
      await slot.run({ id: id * 10 }, async () => {
        await later();
        expect(slot.get()).toEqual({ id: id * 10 });
      });
      await Promise.resolve();
      expect(slot.get()).toEqual({ id });
      return slot.get()?.id;
    });
  expect(await Promise.all([request(1), request(2)])).toEqual([1, 2]);
  expect(slot.get()).toBeUndefined();
}

afterAll(() => context.disable());

describe('request slot', () => {
  it('without a context manager that keeps values (the no-op one), uses its own storage', async () => {
    keepSlotsInTraceContext();
    await followsEachRequest();
    await slot.run({ id: 3 }, async () => expect(context.active()).toBe(ROOT_CONTEXT));
  });

  it('with the SDK’s context manager, lives in the OpenTelemetry context', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    keepSlotsInTraceContext();
    await followsEachRequest();
    // The value is in the active OpenTelemetry context: no second AsyncLocalStorage is entered.
    await slot.run({ id: 4 }, async () => {
      await later();
      expect(context.active()).not.toBe(ROOT_CONTEXT);
    });
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});
