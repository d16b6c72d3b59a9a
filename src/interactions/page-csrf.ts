// CSRF tokens for the pages that belong to no sign-in request (forgotten password, reset, sign-up,
// verification): an HMAC of a random value kept in an httpOnly, SameSite=Lax cookie of this site.
// Another site can make the browser post a form, but can neither read the cookie nor compute
// the HMAC without the cookie key, so its form carries no valid token.
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { InvalidInput } from '../errors.ts';
import { csrfToken, csrfValid } from './csrf.ts';

const COOKIE = 'tessera.form';

export function pageCsrf(key: string) {
  return {
    /** The token for a form on this page (setting the cookie when the browser has none). */
    issue(ctx: Context): string {
      let nonce = ctx.cookies.get(COOKIE, { signed: false });
      if (!nonce || !/^[A-Za-z0-9_-]{22}$/.test(nonce)) {
        nonce = randomBytes(16).toString('base64url');
        // Secure whenever the request came over TLS (directly or through a trusted proxy).
        ctx.cookies.set(COOKIE, nonce, {
          httpOnly: true,
          sameSite: 'lax',
          secure: ctx.secure,
          signed: false,
          path: '/',
        });
      }
      return csrfToken(key, `page:${nonce}`);
    },
    /** Throws unless the form's token matches this browser's cookie. */
    check(ctx: Context, presented: string | null): void {
      const nonce = ctx.cookies.get(COOKIE, { signed: false });
      if (!nonce || !csrfValid(key, `page:${nonce}`, presented ?? undefined))
        throw new InvalidInput('the form has expired or did not come from this site; go back and try again');
    },
  };
}

export type PageCsrf = ReturnType<typeof pageCsrf>;
