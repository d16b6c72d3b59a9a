// Private keys at rest: AES-256-GCM under the key-encryption key, with the kid as
// additional authenticated data so a sealed key cannot be moved to another row.
// Layout: 12-byte nonce || ciphertext || 16-byte tag.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const NONCE_BYTES = 12; // the GCM standard nonce size (NIST SP 800-38D)
const TAG_BYTES = 16;

export function seal(plaintext: Buffer, kek: Buffer, aad: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]);
}

export function unseal(sealed: Buffer, kek: Buffer, aad: string): Buffer {
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const ciphertext = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', kek, nonce);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // Deliberately vague: the usual cause is a KEYS_ENCRYPTION_KEY that is not the one the
    // keys were sealed with.
    throw new Error(`signing key ${aad} cannot be decrypted with the configured KEYS_ENCRYPTION_KEY`);
  }
}

/**
 * Unseals with the first key-encryption key that fits: during a change of KEYS_ENCRYPTION_KEY
 * the previous one (KEYS_ENCRYPTION_KEY_PREVIOUS) still opens the keys not yet re-sealed.
 */
export function unsealWithAny(sealed: Buffer, keks: Buffer[], aad: string): Buffer {
  for (const kek of keks.slice(0, -1)) {
    try {
      return unseal(sealed, kek, aad);
    } catch {
      /* try the next one */
    }
  }
  return unseal(sealed, keks[keks.length - 1]!, aad);
}
