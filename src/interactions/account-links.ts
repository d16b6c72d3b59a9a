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
import type { PageCsrf } from './page-csrf.ts';
import { accountLimitKey } from './password-reset.ts';

export const signupPath = '/signup';

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const EMAIL_MAX = 320;
// An interaction uid as oidc-provider makes them (nanoid): where "sign in" goes back to.
const INTERACTION_UID = /^[A-Za-z0-9_-]{1,64}$/;

const INVALID_VERIFICATION = {
  heading: 'This link does not work',
  message: 'The link is invalid, has expired or was used already. Sign in to ask for a new one.',
};

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
    sendPage(ctx, renderView(view, deps.brand, data), status);

  router.get(verifyPath, async (ctx) => {
    const live = await deps.verification.check(ctx.query.token);
    if (!live) {
      page(ctx, 'notice', INVALID_VERIFICATION, 400);
      return;
    }
    page(ctx, 'confirm-email', { csrf: deps.csrf.issue(ctx), token: ctx.query.token, email: live.email });
  });

  router.post(verifyPath, async (ctx) => {
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
    const verified = await deps.verification.confirm(form.get('token'), ctx.ip);
    if (!verified) {
      page(ctx, 'notice', INVALID_VERIFICATION, 400);
      return;
    }
    page(ctx, 'notice', {
      heading: 'Your email address is confirmed',
      message: `${verified.email} is confirmed. You can close this page and go back to the app.`,
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
      signupForm(ctx, { email, returnTo, error: 'Enter your email address.' }, 400);
      return;
    }
    if (password !== (form.get('confirm') ?? '')) {
      signupForm(ctx, { email, returnTo, error: 'The two passwords are not the same.' }, 400);
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
        { heading: 'Too many requests', message: `Try again in ${Math.ceil(wait / 60)} minute(s).` },
        429,
      );
      return;
    }
    const result = await signup.register(email, password, ctx.ip);
    if (result.outcome === 'weak') {
      signupForm(ctx, { email, returnTo, error: result.message }, 400);
      return;
    }
    page(ctx, 'notice', {
      heading: 'Check your email',
      message: `We have sent a link to ${email} to confirm the address. Then sign in with your email and password.`,
      ...(returnTo ? { linkHref: `/interaction/${returnTo}`, linkText: 'Sign in' } : {}),
    });
  });

  return router;
}
