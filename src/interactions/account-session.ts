// Who is signed in on Tessera's own pages (/account and below): the account of oidc-provider's
// session cookie, the very session the apps' sign-ins make and reuse. Nobody signed in: a GET
// is sent to sign in through the authorization endpoint, as Tessera's own first-party client
// (oidc/account-client.ts), so that the provider's login interaction — its limits, lockout and
// whatever factors it asks for — is the only way in; any other method is sent to /account.
//
// Use (for /account/... routes of other features):
//   router.use('/account/thing', session.required);           // or per route
//   const { user, session: s, csrf } = signedInAccount(ctx);   // csrf: the forms' token
//   session.checkCsrf(ctx, form.get('csrf'));                  // on every POST: 403 without it
import { createHash, randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { UserQueries, UserRecord } from '../db/queries/users.ts';
import { isUserId } from '../db/queries/users.ts';
import { Forbidden } from '../errors.ts';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import { ROUTES } from '../oidc/provider-config.ts';
import { type SignedInSession, signedInSession } from '../oidc/upstream.ts';
import { sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import { csrfToken, csrfValid } from './csrf.ts';
import { translatorOf } from '../i18n/locale.ts';

export const ACCOUNT_PATH = '/account';

export interface SignedInAccount {
  user: UserRecord;
  session: SignedInSession;
  /** The CSRF token for this session's forms (a hidden `csrf` field). */
  csrf: string;
}

// Where sign-in may return to: a path of the account pages, nothing else (no open redirect).
const RETURN_PATH = /^\/account(?:\/[A-Za-z0-9._~-]+)*\/?$/;

/** The signed-in account set by `required`; throws if the route forgot to require it. */
export function signedInAccount(ctx: Context): SignedInAccount {
  const account = ctx.state.account as SignedInAccount | undefined;
  if (!account) throw new Error('signedInAccount: the route does not use accountSession().required');
  return account;
}

export function accountSession(deps: {
  provider: () => Provider;
  users: Pick<UserQueries, 'findById'>;
  csrfKey: string;
  issuer: string;
}) {
  // The token is an HMAC of the session's uid under the cookie key: another site can make the
  // browser post, but cannot read the page's token or compute the HMAC without the key. The uid,
  // not the id: the provider gives the session a new id at each sign-in (resetIdentifier), and a
  // sign-in in another tab must not break the forms open in this one. It dies with the session.
  const csrfOf = (session: SignedInSession) => csrfToken(deps.csrfKey, `account:${session.uid}`);

  /** The authorization request that signs the browser in and comes back to `returnTo`. */
  function signInUrl(returnTo: string, forceLogin: boolean): string {
    // PKCE is required of every client (provider-config.ts); the verifier is thrown away at
    // once, so that the code this request ends with is worthless to anyone who sees it: the
    // account pages never redeem it, they read the session the sign-in made.
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    const params = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${deps.issuer}${ACCOUNT_CALLBACK_PATH}`,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: RETURN_PATH.test(returnTo) ? returnTo : ACCOUNT_PATH,
      ...(forceLogin ? { prompt: 'login' } : {}),
    });
    return `${ROUTES.authorization}?${params}`;
  }

  async function current(ctx: Context): Promise<{ account?: SignedInAccount; stale: boolean }> {
    const session = await signedInSession(deps.provider(), ctx);
    if (!session) return { stale: false };
    const user = isUserId(session.accountId) ? await deps.users.findById(session.accountId) : null;
    // A session whose account was disabled or deleted signs nobody in; sign-in must then ask
    // for credentials again rather than reuse it (or the browser would go round in circles).
    if (!user || user.disabled) return { stale: true };
    return { account: { user, session, csrf: csrfOf(session) }, stale: false };
  }

  const required: Middleware = async function requireAccount(ctx, next) {
    const { account, stale } = await current(ctx);
    if (!account) {
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(ctx.method === 'GET' ? signInUrl(ctx.path, stale) : signInUrl(ACCOUNT_PATH, stale));
      return;
    }
    ctx.state.account = account;
    await next();
  };

  return {
    required,
    /** Throws Forbidden (403) unless `presented` is this session's token. */
    checkCsrf(ctx: Context, presented: string | null): void {
      const { session } = signedInAccount(ctx);
      if (!csrfValid(deps.csrfKey, `account:${session.uid}`, presented ?? undefined))
        throw new Forbidden('the form has expired or did not come from this site; go back and try again');
    },
  };
}

export type AccountSession = ReturnType<typeof accountSession>;

/**
 * Where the account client's sign-in comes back: the provider's session is now set, so this
 * only sends the browser on to the page it asked for (the state, checked to be an account
 * page). The code in the query is left unredeemed (see signInUrl). An error (the person
 * cancelled, or the request failed) is shown as a page.
 */
export function accountCallbackRoutes(brand: Brand): Router {
  const router = new Router();
  router.get(ACCOUNT_CALLBACK_PATH, (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (typeof ctx.query.error === 'string' || typeof ctx.query.code !== 'string') {
      const { t, locale } = translatorOf(ctx);
      sendPage(
        ctx,
        renderView(
          'notice',
          brand,
          {
            heading: t('account.notSignedIn.heading'),
            message: t('account.notSignedIn.message'),
            linkHref: ACCOUNT_PATH,
            linkText: t('account.notSignedIn.link'),
          },
          locale,
        ),
        400,
      );
      return;
    }
    const state = ctx.query.state;
    ctx.status = 303;
    ctx.redirect(typeof state === 'string' && RETURN_PATH.test(state) ? state : ACCOUNT_PATH);
  });
  return router;
}
