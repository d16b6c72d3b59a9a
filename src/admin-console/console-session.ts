// Who is signed in to the admin console (/admin), and with what: the console is a client of
// Tessera like any other (oidc/admin-console-client.ts). It signs the browser in with
// Authorization Code + PKCE, redeems the code at the token endpoint itself, and keeps the access
// token on the server, sealed (AES-256-GCM under KEYS_ENCRYPTION_KEY) in the payload store under
// the hash of a random console-session id; the browser holds only that id, in an httpOnly cookie.
// The page never sees a token, so a script injected into it could steal none.
//
// The token lives as long as the admin API's tokens (five minutes); the console session with it.
// After that a GET signs in again, which the person's Tessera session makes silent (no form) —
// and a disabled user, a revoked role or a revoked session is noticed then at the latest, and at
// once by the admin API's own token check (revoked tokens, disabled users).
import { createHash, randomBytes } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { ROUTES } from '../oidc/provider-config.ts';
import type { OidcPayloadQueries } from '../db/queries/oidc-payloads.ts';
import { CONSOLE_CALLBACK_PATH, CONSOLE_CLIENT_ID, CONSOLE_PATH } from '../oidc/admin-console-client.ts';
import { ADMIN_AUDIENCE, ADMIN_SCOPES } from '../services/admin-api.ts';
import { seal, unseal } from '../keys/seal.ts';
import { csrfToken, csrfValid } from '../interactions/csrf.ts';
import { Forbidden } from '../errors.ts';
import { type AdminCaller, authenticateToken } from '../admin/auth.ts';
import type { AccessTokenVerifier } from '../oidc/access-token-verifier.ts';
import { scopeTokens } from '../services/scopes.ts';

const SESSION_COOKIE = 'tessera.admin';
const SIGN_IN_COOKIE = 'tessera.admin.sign-in';
// Models of the payload store (oidc_payloads): its expiry and its cleanup job serve these too.
const SESSION_MODEL = 'AdminConsoleSession';
const SIGN_IN_MODEL = 'AdminConsoleSignIn';
// As long as the provider's interaction (provider-config.ts INTERACTION_TTL): a person has that
// long to finish signing in.
const SIGN_IN_TTL = 15 * 60;
// A token this close to its expiry is not used for a page: its forms would post with a dead one.
const EXPIRY_MARGIN = 60;
// 256 bits: a console-session id is a bearer credential for the cookie's holder.
const idBytes = 32;
const ID = /^[A-Za-z0-9_-]{43}$/;

// Where sign-in may return to: a console path, nothing else (no open redirect).
const RETURN_PATH = /^\/admin(?:\/[A-Za-z0-9._~-]+)*\/?$/;

export interface ConsoleAdmin {
  /** The admin API access token, for in-process calls; never rendered. */
  token: string;
  sub: string;
  scopes: string[];
  /** The CSRF token for this console session's forms. */
  csrf: string;
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');

/** The signed-in admin set by `required`. */
export function consoleAdmin(ctx: Context): ConsoleAdmin {
  const admin = ctx.state.consoleAdmin as ConsoleAdmin | undefined;
  if (!admin) throw new Error('consoleAdmin: the route does not use consoleSession().required');
  return admin;
}

/**
 * The console's check of the token its sign-in got: the admin API's own (admin/auth.ts), and
 * issued to the console's client, not to some other client that got a code to this callback.
 */
export function consoleTokenVerifier(verify: AccessTokenVerifier): ConsoleSessionDeps['verify'] {
  return async (token) => {
    let caller: AdminCaller;
    try {
      caller = await authenticateToken(token, verify);
    } catch {
      return undefined;
    }
    const { claims } = caller;
    if (claims.client_id !== CONSOLE_CLIENT_ID || typeof claims.sub !== 'string') return undefined;
    return { sub: claims.sub, scopes: scopeTokens(claims.scope) };
  };
}

export interface ConsoleSessionDeps {
  issuer: string;
  payloads: Pick<OidcPayloadQueries, 'upsert' | 'find' | 'consume' | 'destroy'>;
  keysEncryptionKey: Buffer;
  csrfKey: string;
  /** Verifies an access token as the admin API does; undefined when it is not good. */
  verify(token: string): Promise<{ sub: string; scopes: string[] } | undefined>;
  /** The token endpoint's answer (fetch by default; the issuer's own /token). */
  fetch?: typeof fetch;
}

export function consoleSession(deps: ConsoleSessionDeps) {
  const doFetch = deps.fetch ?? fetch;
  const cookie = (secure: boolean, maxAge?: number) => ({
    httpOnly: true,
    // Strict: the console is only ever reached from itself or by typing its address, and a
    // cross-site navigation then signs in again (silently) instead of carrying the cookie.
    sameSite: 'strict' as const,
    secure,
    signed: false,
    path: CONSOLE_PATH,
    ...(maxAge ? { maxAge: maxAge * 1000 } : {}),
  });

  /** Starts a sign-in: a fresh state and PKCE verifier, kept server-side; the authorization URL. */
  async function startSignIn(ctx: Context, returnTo: string, forceLogin = false): Promise<string> {
    const state = randomBytes(idBytes).toString('base64url');
    const verifier = randomBytes(idBytes).toString('base64url');
    await deps.payloads.upsert(
      SIGN_IN_MODEL,
      hashOf(state),
      { verifier, returnTo: RETURN_PATH.test(returnTo) ? returnTo : CONSOLE_PATH },
      SIGN_IN_TTL,
    );
    // Lax, unlike the session's: the callback is a redirect from the sign-in pages, which a
    // person may reach from another site's link; the state binds it to this browser.
    ctx.cookies.set(SIGN_IN_COOKIE, state, { ...cookie(ctx.secure, SIGN_IN_TTL), sameSite: 'lax' });
    const params = new URLSearchParams({
      client_id: CONSOLE_CLIENT_ID,
      response_type: 'code',
      scope: `openid ${ADMIN_SCOPES.join(' ')}`,
      resource: ADMIN_AUDIENCE,
      redirect_uri: `${deps.issuer}${CONSOLE_CALLBACK_PATH}`,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state,
      ...(forceLogin ? { prompt: 'login' } : {}),
    });
    return `${ROUTES.authorization}?${params}`;
  }

  type Finished = { outcome: 'signed-in'; returnTo: string } | { outcome: 'no-rights' } | { outcome: 'failed' };

  /**
   * The callback: the state must be this browser's and unused (consumed by one atomic update),
   * the code is redeemed with the verifier, and the token kept. A token with no admin scope
   * opens no console session: its holder is no admin.
   */
  async function finishSignIn(ctx: Context): Promise<Finished> {
    const { state, code } = ctx.query;
    const expected = ctx.cookies.get(SIGN_IN_COOKIE, { signed: false });
    ctx.cookies.set(SIGN_IN_COOKIE, null, cookie(ctx.secure));
    if (typeof state !== 'string' || typeof code !== 'string' || !expected || state !== expected || !ID.test(state))
      return { outcome: 'failed' };
    const pending = await deps.payloads.find(SIGN_IN_MODEL, hashOf(state));
    if (!pending || !(await deps.payloads.consume(SIGN_IN_MODEL, hashOf(state)))) return { outcome: 'failed' };
    const { verifier, returnTo } = pending.payload as { verifier: string; returnTo: string };
    const response = await doFetch(`${deps.issuer}${ROUTES.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: `${deps.issuer}${CONSOLE_CALLBACK_PATH}`,
        client_id: CONSOLE_CLIENT_ID,
        code_verifier: verifier,
      }),
      redirect: 'error',
    });
    if (!response.ok) return { outcome: 'failed' };
    const answer = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof answer.access_token !== 'string' || typeof answer.expires_in !== 'number') return { outcome: 'failed' };
    const verified = await deps.verify(answer.access_token);
    if (!verified) return { outcome: 'failed' };
    if (!verified.scopes.some((s) => (ADMIN_SCOPES as readonly string[]).includes(s))) return { outcome: 'no-rights' };
    const id = randomBytes(idBytes).toString('base64url');
    const key = hashOf(id);
    await deps.payloads.upsert(
      SESSION_MODEL,
      key,
      {
        sub: verified.sub,
        scopes: verified.scopes,
        expiresAt: Date.now() + answer.expires_in * 1000,
        // The row's own key as associated data: a sealed token cannot be moved to another session.
        token: seal(Buffer.from(answer.access_token), deps.keysEncryptionKey, `${SESSION_MODEL}:${key}`).toString(
          'base64',
        ),
      },
      answer.expires_in,
    );
    ctx.cookies.set(SESSION_COOKIE, id, cookie(ctx.secure, answer.expires_in));
    return { outcome: 'signed-in', returnTo: RETURN_PATH.test(returnTo) ? returnTo : CONSOLE_PATH };
  }

  async function current(ctx: Context): Promise<ConsoleAdmin | undefined> {
    const id = ctx.cookies.get(SESSION_COOKIE, { signed: false });
    if (!id || !ID.test(id)) return undefined;
    const key = hashOf(id);
    const stored = await deps.payloads.find(SESSION_MODEL, key);
    if (!stored) return undefined;
    const { sub, scopes, expiresAt, token } = stored.payload as {
      sub: string;
      scopes: string[];
      expiresAt: number;
      token: string;
    };
    if (expiresAt - EXPIRY_MARGIN * 1000 < Date.now()) return undefined;
    let clear: string;
    try {
      clear = unseal(Buffer.from(token, 'base64'), deps.keysEncryptionKey, `${SESSION_MODEL}:${key}`).toString();
    } catch {
      // Sealed under a previous KEYS_ENCRYPTION_KEY: sign in again.
      return undefined;
    }
    return { token: clear, sub, scopes, csrf: csrfToken(deps.csrfKey, `admin:${key}`) };
  }

  /** Every console route but the callback: an admin is signed in, or the browser is sent to sign in. */
  const required: Middleware = async function requireConsoleAdmin(ctx, next) {
    const admin = await current(ctx);
    if (!admin) {
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      // A form posted with an expired session goes back to its page (a GET): nothing is posted twice.
      ctx.redirect(await startSignIn(ctx, ctx.method === 'GET' ? ctx.path : CONSOLE_PATH));
      return;
    }
    ctx.state.consoleAdmin = admin;
    await next();
  };

  return {
    required,
    finishSignIn,
    /** Throws Forbidden (403) unless `presented` is this console session's CSRF token. */
    checkCsrf(ctx: Context, presented: string | null): void {
      const id = ctx.cookies.get(SESSION_COOKIE, { signed: false }) ?? '';
      if (!csrfValid(deps.csrfKey, `admin:${hashOf(id)}`, presented ?? undefined))
        throw new Forbidden('the form has expired or did not come from this site; go back and try again');
    },
    /**
     * After the admin API refused the token (401: the user was disabled, the token or session
     * revoked): ends the console session and answers with a sign-in that asks for credentials
     * again, as the account page does for a stale session, rather than reuse the session that
     * no longer signs anyone in.
     */
    async restart(ctx: Context, returnTo: string): Promise<void> {
      await this.signOut(ctx);
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(await startSignIn(ctx, returnTo, true));
    },
    /** Ends this browser's console session (the Tessera session stays: that is /session/end's). */
    async signOut(ctx: Context): Promise<void> {
      const id = ctx.cookies.get(SESSION_COOKIE, { signed: false });
      if (id && ID.test(id)) await deps.payloads.destroy(SESSION_MODEL, hashOf(id));
      ctx.cookies.set(SESSION_COOKIE, null, cookie(ctx.secure));
    },
  };
}

export type ConsoleSession = ReturnType<typeof consoleSession>;
