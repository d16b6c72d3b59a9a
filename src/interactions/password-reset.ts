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

export const INVALID_LINK = {
  heading: 'This link does not work',
  message: 'The link is invalid, has expired or was used already. Ask for a new one.',
  linkHref: forgotPath,
  linkText: 'Ask for a new link',
};

/** The key an email is counted under: hashed, so that no typed address sits in rate_limits. */
export const accountLimitKey = (email: string) =>
  createHash('sha256').update(normalizeEmail(email)).digest('base64url');

export function passwordResetRoutes(deps: PasswordResetRouteDeps): Router {
  const router = new Router();
  const page = (ctx: Context, view: string, data: Record<string, unknown>, status = 200) =>
    sendPage(ctx, renderView(view, deps.brand, data), status);
  const resetForm = (
    ctx: Context,
    token: string,
    live: { email: string; purpose: string },
    error: string | undefined,
    status = 200,
  ) =>
    page(
      ctx,
      'reset-password',
      {
        // An invitation's link opens the same page: the account has no password yet.
        heading: live.purpose === 'invitation' ? 'Choose your password' : 'Choose a new password',
        submit: live.purpose === 'invitation' ? 'Set password' : 'Set new password',
        action: resetPath,
        csrf: deps.csrf.issue(ctx),
        token,
        email: live.email,
        error,
        minLength: deps.passwordMinLength,
      },
      status,
    );

  router.get(forgotPath, (ctx) => {
    page(ctx, 'forgot-password', { csrf: deps.csrf.issue(ctx), email: '', error: undefined });
  });

  router.post(forgotPath, async (ctx) => {
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
    const email = (form.get('email') ?? '').trim();
    if (!EMAIL.test(email) || email.length > EMAIL_MAX) {
      page(ctx, 'forgot-password', { csrf: deps.csrf.issue(ctx), email, error: 'Enter your email address.' }, 400);
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
          heading: 'Too many requests',
          message: `Too many links were asked for. Try again in ${Math.ceil(wait / 60)} minute(s).`,
        },
        429,
      );
      return;
    }
    await deps.reset.request(email, ctx.ip);
    page(ctx, 'notice', {
      heading: 'Check your email',
      message: `If an account exists for ${email}, we have sent it a link to choose a new password. The link works for 30 minutes.`,
    });
  });

  router.get(resetPath, async (ctx) => {
    const token = ctx.query.token;
    const live = await deps.reset.check(token);
    if (!live) {
      page(ctx, 'notice', INVALID_LINK, 400);
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
      if (!live) page(ctx, 'notice', INVALID_LINK, 400);
      else resetForm(ctx, token, live, 'The two passwords are not the same.', 400);
      return;
    }
    const result = await deps.reset.reset(token, password, ctx.ip);
    if (result.outcome === 'invalid_link') {
      page(ctx, 'notice', INVALID_LINK, 400);
      return;
    }
    if (result.outcome === 'weak') {
      const live = await deps.reset.check(token);
      if (!live) page(ctx, 'notice', INVALID_LINK, 400);
      else resetForm(ctx, token, live, result.message, 400);
      return;
    }
    page(
      ctx,
      'notice',
      result.invitation
        ? {
            heading: 'Your account is ready',
            message: `Sign in to your app with ${result.email} and the password you chose.`,
          }
        : {
            heading: 'Your password was changed',
            message:
              'You are signed out everywhere. Go back to the app you were using and sign in with your new password.',
          },
    );
  });

  return router;
}
