// What the audit trail records of the email typed at a failed sign-in: the account's id when
// the email names an account, otherwise a keyed hash of the normalised email. Never the typed
// text: it may be a password typed into the wrong field, and it has no length limit (a 15 KB
// "email" must not become a 15 KB row).
import { createHmac } from 'node:crypto';
import type { UserQueries } from '../db/queries/users.ts';
import { normalizeEmail } from './users.ts';

// RFC 3696 §3 (with its erratum): 64 characters before the @ and 255 after, so no account's
// email is longer than 320 characters; a longer input names no account and is not looked up.
const EMAIL_MAX = 320;

// Derived from a server secret with a label of its own, so the hash is useless to anyone without
// the server's configuration (an unkeyed hash of a guessable email is the email) and says
// nothing about the secret it is derived from.
const LABEL = 'tessera audit: login identifier';

export type LoginIdentifier = (typed: string) => Promise<string>;

export function loginIdentifier(serverSecret: Buffer, users: Pick<UserQueries, 'findByEmail'>): LoginIdentifier {
  const key = createHmac('sha256', serverSecret).update(LABEL).digest();
  return async function identify(typed) {
    const email = normalizeEmail(typed);
    const user = email.length <= EMAIL_MAX ? await users.findByEmail(email) : null;
    // 43 characters whatever was typed: a 256-bit HMAC, base64url.
    return user ? user.id : `email-hmac:${createHmac('sha256', key).update(email).digest('base64url')}`;
  };
}
