// Keeps a running server's keys current without a restart: it takes the lifecycle's due steps
// on a timer, and reloads the published set whenever any process changes it (Postgres
// LISTEN/NOTIFY on the keys channel), with the timer as the fallback when a notification is
// missed. A changed set is handed to `onChange`, which swaps in a provider built on it.
import type { Notifications } from '../db/notifications.ts';
import { KEYS_CHANNEL, type SigningKeyQueries } from '../db/queries/signing-keys.ts';
import type { Logger } from '../logging/logger.ts';
import type { Audit } from '../services/audit.ts';
import { loadKeySet, type KeySet } from './key-set.ts';
import { advanceKeys, type KeyPolicy } from './lifecycle.ts';

export interface KeyWatcher {
  stop(): Promise<void>;
}

export function watchKeys(options: {
  notifications: Notifications;
  queries: SigningKeyQueries;
  policy: KeyPolicy;
  initial: KeySet;
  intervalMs: number;
  logger: Logger;
  audit?: Audit;
  onChange: (keys: KeySet) => void;
}): KeyWatcher {
  const { queries, policy, logger } = options;
  let fingerprint = options.initial.fingerprint;
  let reloading: Promise<void> | undefined;

  async function reload() {
    const keys = await loadKeySet(queries, policy.keks);
    if (keys.fingerprint === fingerprint) return;
    fingerprint = keys.fingerprint;
    logger.info(
      { signing_kid: keys.signingKid, published: keys.publicJwks.keys.map((k) => k.kid) },
      'signing keys changed',
    );
    options.onChange(keys);
  }

  // One reload at a time; a notification during one is covered by the reload that follows it.
  const scheduleReload = () => {
    reloading ??= reload()
      .catch((err: unknown) => logger.warn({ err }, 'could not reload signing keys'))
      .finally(() => {
        reloading = undefined;
      });
    return reloading;
  };

  const timer = setInterval(() => {
    void advanceKeys(queries, policy)
      // Only the process that took a scheduled step sees `true`, so it is recorded once.
      .then(async (changed) => {
        if (changed)
          await options.audit?.record({ type: 'key.rotated', actor: 'system', details: { reason: 'schedule' } });
        await scheduleReload();
      })
      .catch((err: unknown) => logger.warn({ err }, 'could not advance the signing-key lifecycle'));
  }, options.intervalMs);
  timer.unref();
  // A (re)connected listener may have missed a change: reload then too.
  options.notifications.subscribe(KEYS_CHANNEL, {
    notify: () => void scheduleReload(),
    connected: () => void scheduleReload(),
  });

  return {
    async stop() {
      clearInterval(timer);
      await reloading;
    },
  };
}
