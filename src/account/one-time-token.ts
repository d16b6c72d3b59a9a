// The tokens in mailed links: 32 random bytes (256 bits: unguessable however many are live),
// base64url in the link; only their SHA-256 is stored (user_tokens.token_hash), so that a copy of
// the database opens no account. A plain hash, not a slow one: the input is random, not chosen.
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;
// base64url of 32 bytes, unpadded: 43 characters.
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const newLinkToken = (): string => randomBytes(TOKEN_BYTES).toString('base64url');

/** The stored form of a token; undefined for anything that cannot be one (no lookup is made). */
export function linkTokenHash(token: unknown): string | undefined {
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return undefined;
  return createHash('sha256').update(token).digest('base64url');
}
