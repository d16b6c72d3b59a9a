// The API key's format: `tsk_`, 43 base62 characters from the CSPRNG (43 × log2 62 ≈ 256.03 bits),
// then 6 base62 characters of CRC32 over everything before them — GitHub's token format. The
// prefix lets people and secret scanners recognise a leaked Tessera key; the checksum lets them,
// and Tessera's introspection, tell a real key from a typo, a truncation or noise without a
// database lookup (CRC32 catches every single-character change and every burst up to 32 bits;
// it is no authenticator: only the keyed hash in the database makes a key valid).
//
// Stored only as HMAC-SHA-256 under CLIENT_SECRET_PEPPER, like client secrets
// (services/client-secrets.ts says why a fast keyed hash and not a password hash).
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { hashSecret } from '../services/client-secrets.ts';

export const API_KEY_PREFIX = 'tsk_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// 62^43 > 2^256: 43 characters carry the 256 bits the key must have.
const BODY_LENGTH = 43;
// 62^6 > 2^32: six characters hold any CRC32.
const CHECKSUM_LENGTH = 6;
export const API_KEY_LENGTH = API_KEY_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;
const SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);
// The largest multiple of 62 a byte can hold: bytes at or above it are drawn again, so that every
// character is equally likely (a plain `% 62` would favour the first eight).
const UNBIASED_BELOW = 248;
const HINT_LENGTH = 4;

function base62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function checksum(payload: string): string {
  return base62(crc32(payload), CHECKSUM_LENGTH);
}

export interface NewApiKey {
  /** The key itself: shown once, never stored. */
  value: string;
  hash: Buffer;
  hint: string;
}

export function generateApiKey(pepper: Buffer): NewApiKey {
  let body = '';
  while (body.length < BODY_LENGTH) {
    for (const byte of randomBytes(BODY_LENGTH)) {
      if (byte < UNBIASED_BELOW && body.length < BODY_LENGTH) body += ALPHABET[byte % 62];
    }
  }
  const payload = API_KEY_PREFIX + body;
  const value = payload + checksum(payload);
  return { value, hash: hashApiKey(value, pepper), hint: value.slice(-HINT_LENGTH) };
}

/** Whether the value looks like a Tessera API key at all (the prefix): it is then answered as one. */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}

/** Whether the value is a well-formed key whose checksum matches: pure, no database. */
export function isWellFormedApiKey(value: string): boolean {
  if (!SHAPE.test(value)) return false;
  const split = value.length - CHECKSUM_LENGTH;
  return checksum(value.slice(0, split)) === value.slice(split);
}

export function hashApiKey(value: string, pepper: Buffer): Buffer {
  return hashSecret(value, pepper);
}

export function apiKeyHint(value: string): string {
  return value.slice(-HINT_LENGTH);
}
