// The outbox worker: runs in every server process, claims due rows of the kinds it has handlers
// for, and runs each handler. The claim (db/queries/outbox.ts) gives each row to one worker at a
// time, so with several replicas a message is handled once; a worker that dies mid-way leaves its
// rows leased until the lease ends, then another takes them. A handler that throws has its row
// put back with an exponential backoff; past MAX_ATTEMPTS the row is kept as dead, for an
// operator. The one duplicate left: a handler that did its work (the SMTP server accepted the
// mail) in a process that died before deleting the row; the row is handled again after its lease.
import type { ClaimedMessage, OutboxQueries } from '../db/queries/outbox.ts';
import type { Logger } from '../logging/logger.ts';
import { openPayload, type OutboxKeys } from './outbox.ts';

export type OutboxHandler = (payload: unknown, attempt: number) => Promise<void>;

export interface WorkerOptions {
  queries: Pick<OutboxQueries, 'claim' | 'complete' | 'release'>;
  /** The issuer whose rows this worker takes (outbox.issuer). */
  issuer: string;
  keys: OutboxKeys;
  handlers: Record<string, OutboxHandler>;
  logger: Logger;
  /** How often to look for due rows that other processes added or that are due for a retry. */
  pollMs?: number;
}

// A poll a second: a mail asked for on another replica goes out within about a second, and an
// idle process sends one indexed query a second.
const POLL_MS = 1_000;
// Rows taken per claim; the worker goes on claiming while it gets full batches.
const BATCH = 10;
// A row is the worker's for this long. Longer than any handler may take: the SMTP transport's
// connection, greeting and socket timeouts (mail/transport.ts) end a send within about 40 s.
export const LEASE_MS = 120_000;
// Backoff: 10 s after the first failure, doubling to at most an hour; 30 attempts span about a
// day (10 s + 20 s + ... + 1 h × 21), long enough to outlast an SMTP outage over a weekend night,
// short enough that a link inside (valid 30 minutes to a week) is not mailed long after it died.
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_CAP_MS = 3_600_000;
export const MAX_ATTEMPTS = 30;

/** The delay before attempt `attempts + 1`, with ±20 % jitter so that retries of many rows spread out. */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface OutboxWorker {
  /** Looks for due rows now (after an enqueue in this process). */
  wake(): void;
  /** Stops polling and waits for the rows in hand. */
  stop(): Promise<void>;
}

export function startOutboxWorker(options: WorkerOptions): OutboxWorker {
  const { queries, keys, handlers, logger } = options;
  const kinds = Object.keys(handlers);
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function handle(row: ClaimedMessage): Promise<void> {
    try {
      await handlers[row.kind]!(openPayload(keys, row.kind, row.payload), row.attempts);
      await queries.complete(row.id, row.leaseId);
    } catch (err) {
      const last = row.attempts >= MAX_ATTEMPTS;
      const message = err instanceof Error ? err.message : String(err);
      // The error's message only: a handler's payload (an address, a link) is never logged.
      logger.warn(
        { outbox_id: String(row.id), kind: row.kind, attempts: row.attempts, error: message },
        last ? 'outbox message failed for the last time; kept as dead' : 'outbox message failed; retrying later',
      );
      await queries.release(row.id, row.leaseId, message, last ? undefined : backoffMs(row.attempts));
    }
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      for (;;) {
        const rows = await queries.claim(options.issuer, kinds, BATCH, LEASE_MS);
        for (const row of rows) await handle(row);
        if (rows.length < BATCH || stopped) break;
      }
    } while (again && !stopped);
  }

  function wake(): void {
    if (stopped || kinds.length === 0) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((err: unknown) => logger.warn({ err }, 'outbox worker could not claim work; it tries again'))
      .finally(() => {
        running = undefined;
      });
  }

  const timer = setInterval(wake, options.pollMs ?? POLL_MS);
  timer.unref();
  wake();
  return {
    wake,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
