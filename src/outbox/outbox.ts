// The outbox: work that must not be lost and must not hold up the request that asked for it. A
// request adds a row (in its own statement: if that fails, the request fails); a worker in every
// process (worker.ts) claims due rows, hands each to the handler of its kind, and deletes it when
// the handler succeeds. Payloads are sealed under KEYS_ENCRYPTION_KEY (AES-256-GCM, the kind as
// additional data): a mail in the outbox carries a one-time link, which must not be readable by
// whoever can read the table.
import type { Config } from '../config/config.ts';
import type { OutboxQueries } from '../db/queries/outbox.ts';
import { seal, unsealWithAny } from '../keys/seal.ts';

export interface Outbox {
  /** Stores `payload` (JSON) for the handler of `kind`; resolves once the row is stored. */
  enqueue(kind: string, payload: unknown): Promise<void>;
}

export interface OutboxKeys {
  /** The key-encryption key payloads are sealed with. */
  current: Buffer;
  /** Every key a payload may have been sealed with (current and previous). */
  all: Buffer[];
}

const aad = (kind: string) => `outbox:${kind}`;

/** The keys of KEYS_ENCRYPTION_KEY and PREVIOUS_KEYS_ENCRYPTION_KEY. */
export function outboxKeys(config: Pick<Config, 'keysEncryptionKey' | 'previousKeysEncryptionKey'>): OutboxKeys {
  return {
    current: config.keysEncryptionKey,
    all: [config.keysEncryptionKey, ...(config.previousKeysEncryptionKey ? [config.previousKeysEncryptionKey] : [])],
  };
}

export function sealPayload(keys: OutboxKeys, kind: string, payload: unknown): Buffer {
  return seal(Buffer.from(JSON.stringify(payload)), keys.current, aad(kind));
}

export function openPayload(keys: OutboxKeys, kind: string, sealed: Buffer): unknown {
  return JSON.parse(unsealWithAny(sealed, keys.all, aad(kind)).toString('utf8'));
}

export function outbox(
  queries: Pick<OutboxQueries, 'add'>,
  issuer: string,
  keys: OutboxKeys,
  onEnqueued: () => void = () => {},
): Outbox {
  return {
    async enqueue(kind, payload) {
      await queries.add(issuer, kind, sealPayload(keys, kind, payload));
      // This process's worker looks at once rather than at its next poll.
      onEnqueued();
    },
  };
}
