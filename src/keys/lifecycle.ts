// The signing-key lifecycle: next → current → retired → gone.
//
// A new key is published (state next) a publication delay before it signs, so that resource
// servers' JWKS caches hold it before any token needs it. It becomes current when the delay
// has passed and the current key is due (or at once after an operator's `keys rotate`, once the
// delay has passed). The key it replaces is retired: it signs nothing, but stays in the JWKS
// until every token it signed has expired, then is deleted. Every step runs under one advisory
// lock, so replicas taking the same decision at once make it once.
import type { SigningKeyQueries, SigningKeyTx } from '../db/queries/signing-keys.ts';
import { NotFound } from '../errors.ts';
import { generateKey, type SigningAlg } from './key-generation.ts';

export interface KeyPolicy {
  /** Seals new keys. */
  kek: Buffer;
  /** Opens keys: the current key-encryption key, then the previous one, if any. */
  keks: Buffer[];
  rsaBits: number;
  /** RS256, and any further algorithm keys are kept for (each with its own lifecycle). */
  algs: SigningAlg[];
  /** Seconds a key signs before the next one takes over. */
  rotationPeriod: number;
  /** Seconds a new key is published before it signs. */
  publicationDelay: number;
  /** Seconds the longest-lived token signed now stays valid (retired keys stay this long). */
  retention: () => Promise<number>;
}

const addSeconds = (d: Date, s: number) => new Date(d.getTime() + s * 1000);

async function promote(
  tx: SigningKeyTx,
  nextKid: string,
  current: { kid: string } | undefined,
  policy: KeyPolicy,
  now: Date,
) {
  if (current) {
    await tx.setState(current.kid, {
      state: 'retired',
      retiredAt: now,
      unpublishAt: addSeconds(now, await policy.retention()),
    });
  }
  await tx.setState(nextKid, { state: 'current', activatedAt: now });
}

/** Takes every step that is due, for every algorithm; true when anything changed. Safe to call often, from anywhere. */
export function advanceKeys(queries: SigningKeyQueries, policy: KeyPolicy, now = new Date()): Promise<boolean> {
  return queries.change(async (tx) => {
    let changed = (await tx.deleteUnpublished(now)).length > 0;
    const all = await tx.list();
    for (const alg of policy.algs) {
      if (
        await advanceAlg(
          tx,
          all.filter((k) => k.alg === alg),
          alg,
          policy,
          now,
        )
      )
        changed = true;
    }
    return changed;
  });
}

async function advanceAlg(
  tx: SigningKeyTx,
  keys: { kid: string; state: string; createdAt: Date; activatedAt: Date | null }[],
  alg: SigningAlg,
  policy: KeyPolicy,
  now: Date,
): Promise<boolean> {
  const current = keys.find((k) => k.state === 'current');
  const next = keys.find((k) => k.state === 'next');
  if (!current) {
    // First start (or after an emergency): a key must sign now; there is nothing to wait for.
    if (next) await promote(tx, next.kid, undefined, policy, now);
    else await tx.insert(generateKey(alg, policy.kek, policy.rsaBits), 'current', now);
    return true;
  }
  const due = addSeconds(current.activatedAt ?? current.createdAt, policy.rotationPeriod);
  if (!next && now >= addSeconds(due, -policy.publicationDelay)) {
    await tx.insert(generateKey(alg, policy.kek, policy.rsaBits), 'next', now);
    return true;
  }
  // Scheduled, the next key was published a delay before `due`; after `keys rotate`, it takes
  // over as soon as it has been published for the delay.
  if (next && now >= addSeconds(next.createdAt, policy.publicationDelay)) {
    await promote(tx, next.kid, current, policy, now);
    return true;
  }
  return false;
}

export interface KeySchedule {
  activatesAt: Date;
  retiresAt: Date;
  unpublishAt: Date;
}

/**
 * When each key starts signing, stops, and leaves the JWKS: what happened for the past steps,
 * what advanceKeys will do for the future ones under the policy as it is now (a server takes a
 * due step within its key-check interval; `keys rotate` or `keys retire` change the plan).
 * `retention` is policy.retention(), read once by the caller.
 */
export function keySchedule(
  keys: {
    kid: string;
    alg: string;
    state: string;
    createdAt: Date;
    activatedAt: Date | null;
    retiredAt: Date | null;
    unpublishAt: Date | null;
  }[],
  policy: Pick<KeyPolicy, 'rotationPeriod' | 'publicationDelay'>,
  retention: number,
): Map<string, KeySchedule> {
  const schedule = new Map<string, KeySchedule>();
  for (const key of keys) {
    const next = keys.find((k) => k.alg === key.alg && k.state === 'next');
    const activatesAt =
      key.state === 'next' ? addSeconds(key.createdAt, policy.publicationDelay) : (key.activatedAt ?? key.createdAt);
    let retiresAt = key.retiredAt ?? addSeconds(activatesAt, policy.rotationPeriod);
    // A current key with a successor retires when the successor takes over (see advanceAlg).
    if (key.state === 'current' && next) retiresAt = addSeconds(next.createdAt, policy.publicationDelay);
    const unpublishAt = key.unpublishAt ?? addSeconds(retiresAt, retention);
    schedule.set(key.kid, { activatesAt, retiresAt, unpublishAt });
  }
  return schedule;
}

/**
 * `tessera keys rotate`: publish a new key now for every algorithm; each signs once the
 * publication delay has passed. Returns the new (or already pending) RS256 kid first.
 */
export async function rotateKeys(queries: SigningKeyQueries, policy: KeyPolicy, now = new Date()): Promise<string[]> {
  const kids: string[] = [];
  await queries.change(async (tx) => {
    const keys = await tx.list();
    let changed = false;
    for (const alg of policy.algs) {
      const existing = keys.find((k) => k.state === 'next' && k.alg === alg);
      if (existing) {
        kids.push(existing.kid);
        continue;
      }
      const key = generateKey(alg, policy.kek, policy.rsaBits);
      await tx.insert(key, 'next', now);
      kids.push(key.kid);
      changed = true;
    }
    return changed;
  });
  return kids;
}

/**
 * `tessera keys retire KID --compromised`: the key leaves the JWKS at once, so every token it
 * signed stops verifying; if it was signing, a new key signs immediately, with no publication
 * delay (resource servers fetch it on the unknown kid).
 */
export async function retireCompromised(
  queries: SigningKeyQueries,
  policy: KeyPolicy,
  kid: string,
  now = new Date(),
): Promise<{ newKid: string | undefined }> {
  let newKid: string | undefined;
  const found = await queries.change(async (tx) => {
    const keys = await tx.list();
    const key = keys.find((k) => k.kid === kid);
    if (!key) return false;
    await tx.setState(kid, { state: 'retired', retiredAt: now, unpublishAt: now });
    if (key.state === 'current') {
      const next = keys.find((k) => k.state === 'next' && k.alg === key.alg);
      if (next) {
        await tx.setState(next.kid, { state: 'current', activatedAt: now });
        newKid = next.kid;
      } else {
        const fresh = generateKey(key.alg as SigningAlg, policy.kek, policy.rsaBits);
        await tx.insert(fresh, 'current', now);
        newKid = fresh.kid;
      }
    }
    await tx.deleteUnpublished(now);
    return true;
  });
  if (!found) throw new NotFound(`no signing key has kid ${kid}`);
  return { newKid };
}
