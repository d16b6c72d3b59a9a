// Usage per API key: every introspection of a key counts one request, in memory, and the counts
// go to api_key_usage (per key and UTC day, with the last use's time and address) in one
// statement every FLUSH_MS, so that metering costs no database write per request. The counting
// pattern is the token quota's (rate-limit/batched-quota.ts); its counters cannot hold this:
// they are windows that start again, where usage is a history per day with the last address.
// A process that stops writes what it holds (close); one that crashes loses at most FLUSH_MS of
// counts — metering is for reports and billing estimates, the quota is what enforces.
import type { UsageBatchRow } from '../db/queries/api-keys.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';

// "Every few seconds": at most one statement per process per 2 s whatever the load, and `usage`
// is at most this far behind.
export const USAGE_FLUSH_MS = 2000;

export interface UsageMeter {
  count(keyId: string, ip: string): void;
  /** Writes what is pending now (what the timer does every USAGE_FLUSH_MS). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function usageMeter(write: (batch: UsageBatchRow[]) => Promise<void>, now: Clock = systemClock): UsageMeter {
  let pending = new Map<string, UsageBatchRow>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let stopped = false;

  async function flush(): Promise<void> {
    timer = undefined;
    await flushing;
    if (!pending.size) return;
    const batch = [...pending.values()];
    pending = new Map();
    flushing = write(batch)
      .catch(() => {
        // Not written: merged back for the next flush.
        for (const row of batch) merge(row);
        schedule();
      })
      .finally(() => {
        flushing = undefined;
      });
    await flushing;
  }

  function schedule() {
    if (stopped || timer) return;
    timer = setTimeout(() => void flush(), USAGE_FLUSH_MS);
    timer.unref();
  }

  function merge(row: UsageBatchRow) {
    const id = `${row.keyId}/${row.day}`;
    const known = pending.get(id);
    if (!known) pending.set(id, { ...row });
    else {
      known.requests += row.requests;
      if (row.usedAt > known.usedAt) Object.assign(known, { usedAt: row.usedAt, ip: row.ip });
    }
  }

  return {
    count(keyId, ip) {
      const at = new Date(now());
      merge({ keyId, day: at.toISOString().slice(0, 10), requests: 1, usedAt: at, ip });
      schedule();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      await flush();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}
