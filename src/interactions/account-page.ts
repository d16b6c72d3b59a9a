// The account page (/account): the signed-in person's password, email, sessions and apps, and
// links to the sections other features add (account-sections.ts). Plain forms, no script, a
// CSRF token bound to the session (account-session.ts) on every POST; each POST redirects back
// (303) with a fixed message key, so that a reload does not post again and nothing typed is
// reflected into a URL.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { PasswordChange } from '../account/password-change.ts';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import type { AccountSessionQueries } from '../db/queries/account-sessions.ts';
import type { ConsentQueries } from '../db/queries/consents.ts';
import { InvalidInput } from '../errors.ts';
import { mailLocale, requestedLocaleOf, translatorOf } from '../i18n/locale.ts';
import type { Locale, PlainKey } from '../i18n/messages.ts';
import { ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import type { Limiter } from '../db/queries/rate-limits.ts';
import type { SessionsEnded } from '../oidc/backchannel-logout.ts';
import type { Audit } from '../services/audit.ts';
import { sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import type { AccountSection } from './account-sections.ts';
import { ACCOUNT_PATH, type AccountSession, signedInAccount } from './account-session.ts';
import { readForm } from './form-body.ts';
import { describeScopes } from './scope-descriptions.ts';
import { scopeTokens } from '../services/scopes.ts';

export interface AccountPageDeps {
  session: AccountSession;
  sessions: AccountSessionQueries;
  /** Back-channel logout for the clients of the sessions a form ends (oidc/backchannel-logout.ts). */
  sessionsEnded: SessionsEnded;
  consents: Pick<ConsentQueries, 'revoke'>;
  clients: Pick<ClientCatalog, 'get'>;
  passwords: PasswordChange;
  audit: Audit;
  brand: Brand;
  passwordMinLength: number;
  /** Wrong current passwords, counted per account: a stolen session cannot guess the password. */
  passwordAttempts: Limiter;
  /** Mails a verification link; absent without mail. */
  verification?: {
    send(userId: string, actor: string, ip?: string, locale?: Locale): Promise<boolean>;
    perAccount: Limiter;
  };
  sections: AccountSection[];
}

// What a redirect after a form may say: by key, so that the URL carries no text of its own.
const DONE: Record<string, PlainKey> = {
  password: 'account.done.password',
  verification: 'account.done.verification',
  session: 'account.done.session',
  app: 'account.done.app',
};

// RFC 8176 method names as a person reads them; an unknown one is shown as it is.
const METHODS: Record<string, PlainKey> = {
  pwd: 'account.method.pwd',
  otp: 'account.method.otp',
  hwk: 'account.method.hwk',
  swk: 'account.method.swk',
  mfa: 'account.method.mfa',
};
// A time as "2026-12-04 13:16 UTC": the same for every reader, whatever their time zone.
const when = (seconds: number) => `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

// oidc-provider's uids (nanoid, 21 characters) and Tessera's client ids are short, plain strings.
const UID = /^[A-Za-z0-9_-]{1,64}$/;
const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;

export function accountPageRoutes(deps: AccountPageDeps): Router {
  const router = new Router({ prefix: ACCOUNT_PATH });
  router.use(deps.session.required);

  async function show(ctx: Context, extra: { error?: string; errorFor?: string } = {}, status = 200) {
    const { user, session, csrf } = signedInAccount(ctx);
    const tr = translatorOf(ctx);
    const { t } = tr;
    const [sessions, grants] = await Promise.all([deps.sessions.sessions(user.id), deps.sessions.apps(user.id)]);
    const apps = await Promise.all(
      grants
        .filter((g) => g.clientId !== ACCOUNT_CLIENT_ID)
        .map(async (g) => ({
          clientId: g.clientId,
          name: (await deps.clients.get(g.clientId))?.name ?? g.clientId,
          scopes: describeScopes(tr, scopeTokens(g.scope)),
          grantedAt: g.grantedAt ? when(g.grantedAt) : undefined,
        })),
    );
    const doneKey = typeof ctx.query.done === 'string' ? DONE[ctx.query.done] : undefined;
    const done = doneKey && t(doneKey);
    sendPage(
      ctx,
      renderView(
        'account',
        deps.brand,
        {
          csrf,
          email: user.email,
          emailVerified: user.emailVerified,
          canVerify: deps.verification !== undefined,
          hasPassword: user.passwordHash !== null,
          minLength: deps.passwordMinLength,
          sessions: sessions.map((s) => ({
            uid: s.uid,
            current: s.uid === session.uid,
            signedInAt: s.loginTs ? when(s.loginTs) : undefined,
            methods: s.amr.map((m) => (METHODS[m] ? t(METHODS[m]) : m)).join(', '),
          })),
          apps,
          sections: deps.sections,
          done,
          ...extra,
        },
        tr.locale,
      ),
      status,
    );
  }

  const back = (ctx: Context, done: keyof typeof DONE) => {
    ctx.status = 303;
    ctx.redirect(`${ACCOUNT_PATH}?done=${done}`);
  };

  /** The form, after its CSRF check (403 without a valid token). */
  async function form(ctx: Context): Promise<URLSearchParams> {
    const body = await readForm(ctx);
    deps.session.checkCsrf(ctx, body.get('csrf'));
    return body;
  }

  router.get('/', (ctx) => show(ctx));

  router.post('/password', async (ctx) => {
    const body = await form(ctx);
    const { user, session } = signedInAccount(ctx);
    const next = body.get('password') ?? '';
    if (next !== (body.get('confirm') ?? ''))
      return show(ctx, { error: translatorOf(ctx).t('account.password.differ'), errorFor: 'password' }, 400);
    // Counted before the password is checked, one atomic statement (as the sign-in's limits).
    const wait = await deps.passwordAttempts.spend(user.id);
    if (wait) {
      ctx.set('Retry-After', String(wait));
      return show(
        ctx,
        {
          error: translatorOf(ctx).t('common.tooManyAttempts', { minutes: Math.ceil(wait / 60) }),
          errorFor: 'password',
        },
        429,
      );
    }
    const current = body.get('current') ?? '';
    const result = await deps.passwords.change(
      user,
      current,
      next,
      session.id,
      ctx.ip,
      mailLocale(requestedLocaleOf(ctx), user.locale),
    );
    if (result.outcome === 'wrong_password')
      return show(ctx, { error: translatorOf(ctx).t('account.password.wrong'), errorFor: 'password' }, 400);
    if (result.outcome === 'weak')
      return show(ctx, { error: result.problem(translatorOf(ctx)), errorFor: 'password' }, 400);
    if (result.outcome === 'conflict')
      return show(ctx, { error: translatorOf(ctx).t('account.password.conflict'), errorFor: 'password' }, 409);
    back(ctx, 'password');
  });

  router.post('/email/verify', async (ctx) => {
    await form(ctx);
    const { user } = signedInAccount(ctx);
    const verification = deps.verification;
    if (!verification || user.emailVerified) throw new InvalidInput('there is no address to confirm');
    // The same per-account budget as the other mailed links (account/features.ts).
    const wait = await verification.perAccount.spend(`verify:${user.id}`);
    if (wait) {
      ctx.set('Retry-After', String(wait));
      return show(
        ctx,
        {
          error: translatorOf(ctx).t('common.tooManyLinks', { minutes: Math.ceil(wait / 60) }),
          errorFor: 'email',
        },
        429,
      );
    }
    await verification.send(user.id, user.id, ctx.ip, requestedLocaleOf(ctx));
    back(ctx, 'verification');
  });

  router.post('/sessions/end', async (ctx) => {
    const body = await form(ctx);
    const { user, session } = signedInAccount(ctx);
    const uid = body.get('session') ?? '';
    const logouts = UID.test(uid) ? await deps.sessions.endSession(user.id, uid) : undefined;
    if (!logouts) throw new InvalidInput('there is no such session');
    await deps.sessionsEnded(logouts);
    await deps.audit.record({ type: 'session.ended', actor: user.id, subject: user.id, ip: ctx.ip });
    if (uid === session.uid) return signedOut(ctx, 'account.signedOut.here');
    back(ctx, 'session');
  });

  router.post('/sessions/end-all', async (ctx) => {
    await form(ctx);
    const { user } = signedInAccount(ctx);
    const ended = await deps.sessions.endAll(user.id);
    await deps.sessionsEnded(ended.logouts);
    await deps.audit.record({
      type: 'user.sessions_revoked',
      actor: user.id,
      subject: user.id,
      ip: ctx.ip,
      details: { sessions: ended.sessions, grants: ended.grants },
    });
    signedOut(ctx, 'account.signedOut.everywhere');
  });

  router.post('/apps/revoke', async (ctx) => {
    const body = await form(ctx);
    const { user } = signedInAccount(ctx);
    const clientId = body.get('client_id') ?? '';
    if (!CLIENT_ID.test(clientId) || clientId === ACCOUNT_CLIENT_ID) throw new InvalidInput('there is no such app');
    const grants = await deps.sessions.revokeApp(user.id, clientId);
    await deps.consents.revoke(user.id, clientId);
    if (!grants) throw new InvalidInput('there is no such app');
    await deps.audit.record({
      type: 'grant.revoked',
      actor: user.id,
      subject: user.id,
      ip: ctx.ip,
      details: { client_id: clientId, grants },
    });
    back(ctx, 'app');
  });

  const signedOut = (ctx: Context, message: PlainKey) => {
    const { t, locale } = translatorOf(ctx);
    sendPage(
      ctx,
      renderView(
        'notice',
        deps.brand,
        {
          heading: t('account.signedOut.heading'),
          message: t(message),
          linkHref: ACCOUNT_PATH,
          linkText: t('common.signInAgain'),
        },
        locale,
      ),
    );
  };

  return router;
}
