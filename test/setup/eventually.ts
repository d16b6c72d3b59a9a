// The one way a test waits for a condition: ask again until it holds or a deadline passes.
// Never a fixed sleep: a fixed sleep is either too short on a busy machine (a flaky test) or
// longer than needed everywhere else (a slow one).

export interface EventuallyOptions {
  /** Give up after this long. Default 5000: notifications and background writes take milliseconds. */
  timeoutMs?: number;
  /** Ask again after this long. Default 50: frequent enough not to add much, rare enough not to load the server. */
  intervalMs?: number;
}

/**
 * Runs `check` until it returns without throwing and without returning `false`, and returns
 * what it returned. Past the deadline, throws the last failure (so an `expect` inside `check`
 * reports what it saw last).
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  options: EventuallyOptions = {},
): Promise<Exclude<T, false>> {
  const { timeoutMs = 5_000, intervalMs = 50 } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      const result = await check();
      if (result !== false) return result as Exclude<T, false>;
      failure = new Error(`still false after ${timeoutMs} ms: ${check.toString().slice(0, 200)}`);
    } catch (err) {
      failure = err;
    }
    if (performance.now() >= deadline) throw failure;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
