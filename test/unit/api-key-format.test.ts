// The API key format (issue 18): 256 random bits behind `tsk_`, and a checksum that refuses
// every single-character typo and every truncation without a database.
import { describe, expect, it } from 'vitest';
import { API_KEY_LENGTH, generateApiKey, hashApiKey, isWellFormedApiKey } from '../../src/api-keys/key-format.ts';

const pepper = Buffer.alloc(32, 1);
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('API key format', () => {
  it('generates distinct, well-formed keys of the documented length, hashed with the pepper', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey(pepper));
    expect(new Set(keys.map((k) => k.value)).size).toBe(200);
    for (const k of keys) {
      expect(k.value).toMatch(/^tsk_[0-9A-Za-z]{49}$/);
      expect(k.value).toHaveLength(API_KEY_LENGTH);
      expect(isWellFormedApiKey(k.value)).toBe(true);
      expect(k.hash.equals(hashApiKey(k.value, pepper))).toBe(true);
      expect(k.hash.equals(hashApiKey(k.value, Buffer.alloc(32, 2)))).toBe(false);
      expect(k.hint).toBe(k.value.slice(-4));
    }
  });

  it('refuses every single-character change, every truncation and an extension', () => {
    const { value } = generateApiKey(pepper);
    for (let i = 4; i < value.length; i++) {
      for (const c of ALPHABET) {
        if (c === value[i]) continue;
        expect(isWellFormedApiKey(value.slice(0, i) + c + value.slice(i + 1))).toBe(false);
      }
    }
    for (let n = 0; n < value.length; n++) expect(isWellFormedApiKey(value.slice(0, n))).toBe(false);
    expect(isWellFormedApiKey(`${value}0`)).toBe(false);
    expect(isWellFormedApiKey(value.replace('tsk_', 'tsK_'))).toBe(false);
  });
});
