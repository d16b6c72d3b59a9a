// The forgotten-password pages: ask for a link (/password/forgot), follow it and choose a new
// password (/password/reset). No script, the pages' CSP, a CSRF token bound to a cookie
// (page-csrf.ts), and answers that say nothing about whether an account exists.
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { forgotPath, resetPath, type PasswordReset } from '../account/password-reset.ts';
import type { MailLimits } from '../rate-limit/limits.ts';
import { normalizeEmail } from '../services/users.ts';
import { sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import { readForm } from './form-body.ts';
import { requestedLocaleOf, translatorOf } from '../i18n/locale.ts';
import type { Translator } from '../i18n/messages.ts';
import type { PageCsrf } from './page-csrf.ts';

export interface PasswordResetRouteDeps {
  reset: PasswordReset;
  brand: Brand;
  csrf: PageCsrf;
  limits: MailLimits;
  passwordMinLength: number;
  onRateLimited: () => void;
}

// Shape only (something@something): a typo gets a message; whether it has an account does not.
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const EMAIL_MAX = 320;

export const invalidLink = ({ t }: Translator) => ({
  heading: t('reset.invalid.heading'),
  message: t('reset.invalid.message'),
  linkHref: forgotPath,
  linkText: t('reset.invalid.link'),
});

/** The key an email is counted under: hashed, so that no typed address sits in rate_limits. */
export const accountLimitKey = (email: string) =>
  createHash('sha256').update(normalizeEmail(email)).digest('base64url');

export function passwordResetRoutes(deps: PasswordResetRouteDeps): Router {
  const router = new Router();
  const page = (ctx: Context, view: string, data: Record<string, unknown>, status = 200) =>
    sendPage(ctx, renderView(view, deps.brand, data, translatorOf(ctx).locale), status);
  const linkDead = (ctx: Context) => page(ctx, 'notice', invalidLink(translatorOf(ctx)), 400);
  const resetForm = (
    ctx: Context,
    token: string,
    live: { email: string; purpose: string },
    error: string | undefined,
    status = 200,
  ) => {
    const { t } = translatorOf(ctx);
    page(
      ctx,
      'reset-password',
      {
        // An invitation's link opens the same page: the account has no password yet.
        heading: live.purpose === 'invitation' ? t('reset.invitation.heading') : t('reset.heading'),
        submit: live.purpose === 'invitation' ? t('reset.invitation.submit') : t('reset.submit'),
        action: resetPath,
        csrf: deps.csrf.issue(ctx),
        token,
        email: live.email,
        error,
        minLength: deps.passwordMinLength,
      },
      status,
    );
  };

  router.get(forgotPath, (ctx) => {
    page(ctx, 'forgot-password', { csrf: deps.csrf.issue(ctx), email: '', error: undefined });
  });

  router.post(forgotPath, async (ctx) => {
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
    const email = (form.get('email') ?? '').trim();
    if (!EMAIL.test(email) || email.length > EMAIL_MAX) {
      const error = translatorOf(ctx).t('form.enterEmail');
      page(ctx, 'forgot-password', { csrf: deps.csrf.issue(ctx), email, error }, 400);
      return;
    }
    // Counted before anything else, in one atomic statement each (db/queries/rate-limits.ts); the
    // account's count is keyed by the address typed, known or not, so that it reveals nothing.
    const wait =
      (await deps.limits.perIp.spend(ctx.ip)) || (await deps.limits.perAccount.spend(accountLimitKey(email)));
    if (wait) {
      deps.onRateLimited();
      ctx.set('Retry-After', String(wait));
      page(
        ctx,
        'notice',
        {
          heading: translatorOf(ctx).t('common.tooManyRequests'),
          message: translatorOf(ctx).t('common.tooManyLinks', { minutes: Math.ceil(wait / 60) }),
        },
        429,
      );
      return;
    }
    await deps.reset.request(email, ctx.ip, requestedLocaleOf(ctx));
    page(ctx, 'notice', {
      heading: translatorOf(ctx).t('forgot.sent.heading'),
      message: translatorOf(ctx).t('forgot.sent.message', { email }),
    });
  });

  router.get(resetPath, async (ctx) => {
    const token = ctx.query.token;
    const live = await deps.reset.check(token);
    if (!live) {
      linkDead(ctx);
      return;
    }
    resetForm(ctx, token as string, live, undefined);
  });

  router.post(resetPath, async (ctx) => {
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
    const token = form.get('token') ?? '';
    const password = form.get('password') ?? '';
    if (password !== (form.get('confirm') ?? '')) {
      const live = await deps.reset.check(token);
      if (!live) linkDead(ctx);
      else resetForm(ctx, token, live, translatorOf(ctx).t('form.passwordsDiffer'), 400);
      return;
    }
    const result = await deps.reset.reset(token, password, ctx.ip, requestedLocaleOf(ctx));
    if (result.outcome === 'invalid_link') {
      linkDead(ctx);
      return;
    }
    if (result.outcome === 'weak') {
      const live = await deps.reset.check(token);
      if (!live) linkDead(ctx);
      else resetForm(ctx, token, live, result.problem(translatorOf(ctx)), 400);
      return;
    }
    const { t } = translatorOf(ctx);
    page(
      ctx,
      'notice',
      result.invitation
        ? { heading: t('reset.ready.heading'), message: t('reset.ready.message', { email: result.email }) }
        : { heading: t('reset.changed.heading'), message: t('reset.changed.message') },
    );
  });

  return router;
}
