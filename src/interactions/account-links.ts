// The pages reached from a mailed verification link (/email/verify) and the sign-up page
// (/signup, SIGNUP=open). A verification link opens a page with a button rather than verifying
// on GET: mail scanners fetch links, and a fetch must not act for the person.
import Router from '@koa/router';
import type { Context } from 'koa';
import { verifyPath, type EmailVerification } from '../account/email-verification.ts';
import type { Signup } from '../account/signup.ts';
import type { MailLimits } from '../rate-limit/limits.ts';
import { sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import { readForm } from './form-body.ts';
import { requestedLocaleOf, translatorOf } from '../i18n/locale.ts';
import type { Translator } from '../i18n/messages.ts';
import type { PageCsrf } from './page-csrf.ts';
import { accountLimitKey } from './password-reset.ts';

export const signupPath = '/signup';

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const EMAIL_MAX = 320;
// An interaction uid as oidc-provider makes them (nanoid): where "sign in" goes back to.
const INTERACTION_UID = /^[A-Za-z0-9_-]{1,64}$/;

const invalidVerification = ({ t }: Translator) => ({
  heading: t('confirmEmail.invalid.heading'),
  message: t('confirmEmail.invalid.message'),
});

export function accountLinkRoutes(deps: {
  verification: EmailVerification;
  signup: Signup | undefined;
  brand: Brand;
  csrf: PageCsrf;
  limits: MailLimits;
  passwordMinLength: number;
  onRateLimited: () => void;
}): Router {
  const router = new Router();
  const page = (ctx: Context, view: string, data: Record<string, unknown>, status = 200) =>
    sendPage(ctx, renderView(view, deps.brand, data, translatorOf(ctx).locale), status);

  router.get(verifyPath, async (ctx) => {
    const live = await deps.verification.check(ctx.query.token);
    if (!live) {
      page(ctx, 'notice', invalidVerification(translatorOf(ctx)), 400);
      return;
    }
    page(ctx, 'confirm-email', { csrf: deps.csrf.issue(ctx), token: ctx.query.token, email: live.email });
  });

  router.post(verifyPath, async (ctx) => {
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
    const verified = await deps.verification.confirm(form.get('token'), ctx.ip, requestedLocaleOf(ctx));
    if (!verified) {
      page(ctx, 'notice', invalidVerification(translatorOf(ctx)), 400);
      return;
    }
    const { t } = translatorOf(ctx);
    page(ctx, 'notice', {
      heading: t('confirmEmail.done.heading'),
      message: t('confirmEmail.done.message', { email: verified.email }),
    });
  });

  const { signup } = deps;
  if (!signup) return router;

  const signupForm = (ctx: Context, data: { email: string; returnTo: string; error?: string }, status = 200) =>
    page(
      ctx,
      'signup',
      { csrf: deps.csrf.issue(ctx), minLength: deps.passwordMinLength, error: undefined, ...data },
      status,
    );
  const returnOf = (value: unknown) => (typeof value === 'string' && INTERACTION_UID.test(value) ? value : '');

  router.get(signupPath, (ctx) => signupForm(ctx, { email: '', returnTo: returnOf(ctx.query.return) }));

  router.post(signupPath, async (ctx) => {
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
    const email = (form.get('email') ?? '').trim();
    const password = form.get('password') ?? '';
    const returnTo = returnOf(form.get('return'));
    if (!EMAIL.test(email) || email.length > EMAIL_MAX) {
      signupForm(ctx, { email, returnTo, error: translatorOf(ctx).t('form.enterEmail') }, 400);
      return;
    }
    if (password !== (form.get('confirm') ?? '')) {
      signupForm(ctx, { email, returnTo, error: translatorOf(ctx).t('form.passwordsDiffer') }, 400);
      return;
    }
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
          message: translatorOf(ctx).t('common.tryAgainIn', { minutes: Math.ceil(wait / 60) }),
        },
        429,
      );
      return;
    }
    const tr = translatorOf(ctx);
    const result = await signup.register(email, password, ctx.ip, requestedLocaleOf(ctx));
    if (result.outcome === 'weak') {
      signupForm(ctx, { email, returnTo, error: result.problem(tr) }, 400);
      return;
    }
    page(ctx, 'notice', {
      heading: tr.t('signup.sent.heading'),
      message: tr.t('signup.sent.message', { email }),
      ...(returnTo ? { linkHref: `/interaction/${returnTo}`, linkText: tr.t('signup.sent.link') } : {}),
    });
  });

  return router;
}
