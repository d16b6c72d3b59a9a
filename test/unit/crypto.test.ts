// Client-secret hashing and private-key sealing.
import { describe, expect, it } from 'vitest';
import { generateSecret, hashSecret, secretMatches } from '../../src/services/client-secrets.ts';
import { seal, unseal } from '../../src/keys/seal.ts';

const pepper = Buffer.alloc(32, 3);

describe('client secrets', () => {
  it('are 256-bit, prefixed, and stored as a keyed hash that depends on the pepper', () => {
    const secret = generateSecret(pepper);
    expect(secret.value).toMatch(/^tessera_cs_[A-Za-z0-9_-]{43}$/);
    expect(secret.hash).toHaveLength(32);
    expect(secret.hint).toBe(secret.value.slice(-4));
    expect(hashSecret(secret.value, Buffer.alloc(32, 4)).equals(secret.hash)).toBe(false);
    expect(generateSecret(pepper).value).not.toBe(secret.value);
  });

  it('match only the right secret, among several valid hashes', () => {
    const a = generateSecret(pepper);
    const b = generateSecret(pepper);
    expect(secretMatches(a.value, [b.hash, a.hash], pepper)).toBe(true);
    expect(secretMatches(`${a.value}x`, [a.hash, b.hash], pepper)).toBe(false);
    expect(secretMatches(a.value, [], pepper)).toBe(false);
  });
});

describe('sealing', () => {
  const kek = Buffer.alloc(32, 5);
  it('round-trips, and refuses another key, another kid or a flipped bit', () => {
    const sealed = seal(Buffer.from('private jwk'), kek, 'kid-1');
    expect(sealed.toString('utf8')).not.toContain('private jwk');
    expect(unseal(sealed, kek, 'kid-1').toString()).toBe('private jwk');
    expect(() => unseal(sealed, Buffer.alloc(32, 6), 'kid-1')).toThrow(
      'cannot be decrypted with the configured KEYS_ENCRYPTION_KEY',
    );
    expect(() => unseal(sealed, kek, 'kid-2')).toThrow();
    const flipped = Buffer.from(sealed);
    flipped[15]! ^= 1;
    expect(() => unseal(flipped, kek, 'kid-1')).toThrow();
  });
});
