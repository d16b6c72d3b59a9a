// The account's second factors (/account/security): turn on an authenticator app (QR code and
// secret, confirmed by a first code; ten new recovery codes shown once), make new recovery codes,
// and turn two-step verification off with a current code. Signed in with the provider's session
// and CSRF-checked as the account page (account-session.ts). The secret offered for enrolment is
// carried by the form sealed with KEYS_ENCRYPTION_KEY and bound to the user (mfa/totp.ts), so
// nothing is stored until the first code confirms it.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Limiter } from '../db/queries/rate-limits.ts';
import type { SecondFactorQueries } from '../db/queries/second-factors.ts';
import { InvalidInput } from '../errors.ts';
import type { RecoveryCodes } from '../mfa/recovery-codes.ts';
import { codeShape, type TotpService } from '../mfa/totp.ts';
import type { Audit } from '../services/audit.ts';
import { sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import { ACCOUNT_PATH, type AccountSession, signedInAccount } from './account-session.ts';
import { readForm } from './form-body.ts';
import { translatorOf } from '../i18n/locale.ts';
import type { PlainKey } from '../i18n/messages.ts';

export const SECURITY_PATH = `${ACCOUNT_PATH}/security`;

export interface AccountSecurityDeps {
  session: AccountSession;
  totp: TotpService;
  recoveryCodes: RecoveryCodes;
  queries: Pick<SecondFactorQueries, 'describe' | 'removeAll'>;
  /** The account's second-factor tries (the sign-in step's budget, rate-limit/limits.ts). */
  attempts: Limiter;
  audit: Audit;
  brand: Brand;
}

const DONE: Record<string, PlainKey> = {
  removed: 'security.removed',
};

export function accountSecurityRoutes(deps: AccountSecurityDeps): Router {
  const router = new Router({ prefix: SECURITY_PATH });
  router.use(deps.session.required);

  const page = (ctx: Context, view: string, data: Record<string, unknown>, status = 200) =>
    sendPage(
      ctx,
      renderView(view, deps.brand, { csrf: signedInAccount(ctx).csrf, ...data }, translatorOf(ctx).locale),
      status,
    );

  async function show(ctx: Context, extra: { error?: string } = {}, status = 200) {
    const { user } = signedInAccount(ctx);
    const factors = await deps.queries.describe(user.id);
    const doneKey = typeof ctx.query.done === 'string' ? DONE[ctx.query.done] : undefined;
    const done = doneKey && translatorOf(ctx).t(doneKey);
    page(
      ctx,
      'account-security',
      {
        totp: factors.totp && { createdAt: factors.totp.createdAt.toISOString() },
        recoveryCodes: factors.recoveryCodes,
        done,
        error: undefined,
        ...extra,
      },
      status,
    );
  }

  async function enrolPage(ctx: Context, enrolment: string, error: string | undefined, status = 200) {
    const { user } = signedInAccount(ctx);
    let sealed = enrolment;
    let view = await deps.totp.enrolmentView(sealed, user.id, user.email);
    if (!view) {
      sealed = deps.totp.newEnrolment(user.id);
      view = (await deps.totp.enrolmentView(sealed, user.id, user.email))!;
    }
    page(
      ctx,
      'account-totp',
      { qr: view.svg, secret: view.secret, enrolment: sealed, email: user.email, error },
      status,
    );
  }

  const codesPage = (ctx: Context, codes: string[], heading: PlainKey) =>
    page(ctx, 'account-recovery-codes', { codes, heading: translatorOf(ctx).t(heading) });

  async function form(ctx: Context): Promise<URLSearchParams> {
    const body = await readForm(ctx);
    deps.session.checkCsrf(ctx, body.get('csrf'));
    return body;
  }

  router.get('/', (ctx) => show(ctx));

  router.get('/totp', async (ctx) => {
    const { user } = signedInAccount(ctx);
    if ((await deps.queries.describe(user.id)).totp) {
      ctx.status = 303;
      ctx.redirect(SECURITY_PATH);
      return;
    }
    await enrolPage(ctx, '', undefined);
  });

  router.post('/totp', async (ctx) => {
    const body = await form(ctx);
    const { user } = signedInAccount(ctx);
    const enrolment = body.get('enrolment') ?? '';
    const confirmed = await deps.totp.confirm(user.id, enrolment, body.get('code'));
    if (confirmed === 'wrong_code') return enrolPage(ctx, enrolment, translatorOf(ctx).t('totp.wrong'), 400);
    if (confirmed === 'expired') return enrolPage(ctx, '', translatorOf(ctx).t('totp.expired'), 400);
    if (confirmed === 'already_enrolled') return show(ctx, { error: translatorOf(ctx).t('security.already') }, 409);
    const codes = await deps.recoveryCodes.regenerate(user.id);
    await deps.audit.record({
      type: 'mfa.enrolled',
      actor: user.id,
      subject: user.id,
      ip: ctx.ip,
      details: { factor: 'totp' },
    });
    codesPage(ctx, codes, 'security.codes.on');
  });

  router.post('/recovery-codes', async (ctx) => {
    await form(ctx);
    const { user } = signedInAccount(ctx);
    if (!(await deps.queries.describe(user.id)).totp)
      throw new InvalidInput('recovery codes back up an authenticator app: set one up first');
    const codes = await deps.recoveryCodes.regenerate(user.id);
    await deps.audit.record({ type: 'mfa.recovery_codes_regenerated', actor: user.id, subject: user.id, ip: ctx.ip });
    codesPage(ctx, codes, 'security.codes.new');
  });

  router.post('/remove', async (ctx) => {
    const body = await form(ctx);
    const { user } = signedInAccount(ctx);
    // A current code, not only the session: someone at an unlocked browser cannot turn the
    // second factor off. Tries spend the account's second-factor budget, as at sign-in.
    const wait = await deps.attempts.spend(user.id);
    if (wait) {
      ctx.set('Retry-After', String(wait));
      const minutes = Math.ceil(wait / 60);
      return show(ctx, { error: translatorOf(ctx).t('common.tooManyAttempts', { minutes }) }, 429);
    }
    const code = body.get('code');
    const proven =
      codeShape(code) !== undefined
        ? await deps.totp.verify(user.id, code)
        : (await deps.recoveryCodes.use(user.id, code)) !== undefined;
    if (!proven) return show(ctx, { error: translatorOf(ctx).t('security.wrongCode') }, 400);
    await deps.attempts.refund(user.id);
    const removed = await deps.queries.removeAll(user.id);
    await deps.audit.record({
      type: 'mfa.removed',
      actor: user.id,
      subject: user.id,
      ip: ctx.ip,
      details: { totp: removed.totp, recovery_codes: removed.recoveryCodes },
    });
    ctx.status = 303;
    ctx.redirect(`${SECURITY_PATH}?done=removed`);
  });

  return router;
}
