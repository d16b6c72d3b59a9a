// The second step of signing in, inside the login prompt's interaction: after a correct password,
// a user who has a second factor is asked for it; a user without one, when the client or the
// request needs one (--require-mfa, MFA_REQUIRED, an organization's --mfa-required,
// acr_values=urn:tessera:acr:mfa: mfa/policy.ts), enrols an
// authenticator app first. Only then does the interaction end with a login (amr with "mfa", acr
// urn:tessera:acr:mfa), so no session is ever signed in halfway. Between the steps the state is
// kept in the interaction itself (its `result`, stored server-side and bound to this browser by
// oidc-provider's interaction cookie), never in a form.
//
// A signed-in session that a request needs stepped up (the login prompt's second_factor check,
// oidc/step-up.ts) comes here without a password: its account gives the factor, or enrols one.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Interaction, Provider } from 'oidc-provider';
import type { Limiter } from '../db/queries/rate-limits.ts';
import type { UserQueries } from '../db/queries/users.ts';
import { InvalidInput } from '../errors.ts';
import { translatorOf } from '../i18n/locale.ts';
import type { SecondFactors } from '../mfa/factors.ts';
import { ACR_MFA, acrValuesAskForMfa, withSecondFactor } from '../mfa/levels.ts';
import type { SecondFactorPolicy } from '../mfa/policy.ts';
import type { RecoveryCodes } from '../mfa/recovery-codes.ts';
import type { TotpService } from '../mfa/totp.ts';
import type { Audit } from '../services/audit.ts';
import { csrfToken } from './csrf.ts';

/** The step the user is at, kept in the interaction's result under PENDING. */
export interface PendingLogin {
  accountId: string;
  /** What was used so far (RFC 8176): ["pwd"], or the session's for a step-up. */
  amr: string[];
  stage: 'verify' | 'enrol' | 'done';
  /** The sealed secret offered for enrolment (mfa/totp.ts), while stage is enrol. */
  enrolment?: string;
  /** For stage done: what to say before the user continues. */
  notice?: string;
}

const PENDING = 'tessera_second_factor';
/** The reason the login prompt's step-up check gives (oidc/step-up.ts, which must agree). */
export const SECOND_FACTOR_REASON = 'second_factor';

export interface SecondFactorDeps {
  factors: SecondFactors;
  totp: TotpService;
  recoveryCodes: RecoveryCodes;
  userQueries: Pick<UserQueries, 'findById'>;
  /** Whether this request demands a second factor: its client, its organization, MFA_REQUIRED. */
  requiredFor: SecondFactorPolicy;
  limits: { perIp: Limiter; perAccount: Limiter; lockedRecords: Limiter };
  audit: Audit;
  csrfKey: string;
  onRateLimited: () => void;
}

/** What routes.ts lends the step: its page, interaction and form helpers. */
export interface InteractionHelpers {
  details(ctx: Context): Promise<{ provider: Provider; found: Interaction; clientName: string }>;
  finish(ctx: Context, provider: Provider, result: Record<string, unknown>): Promise<void>;
  checkedForm(ctx: Context): Promise<URLSearchParams>;
  page(ctx: Context, view: string, data: Record<string, unknown>, status?: number): void;
}

export function pendingOf(found: Interaction): PendingLogin | undefined {
  const pending = (found.result as Record<string, unknown> | undefined)?.[PENDING];
  return pending && typeof pending === 'object' ? (pending as PendingLogin) : undefined;
}

async function hold(found: Interaction, pending: PendingLogin): Promise<void> {
  found.result = { [PENDING]: pending };
  await found.persist();
}

export function secondFactorStep(deps: SecondFactorDeps) {
  /** What comes after the password (or a session's sign-in): a factor, an enrolment, or nothing. */
  async function nextStage(accountId: string, found: Interaction): Promise<'verify' | 'enrol' | undefined> {
    if ((await deps.factors.of(accountId)).length > 0) return 'verify';
    const asked = found.prompt.reasons.includes(SECOND_FACTOR_REASON) || acrValuesAskForMfa(found.params.acr_values);
    if (asked) return 'enrol';
    const required = await deps.requiredFor({
      clientId: String(found.params.client_id),
      accountId,
      params: found.params,
    });
    return required ? 'enrol' : undefined;
  }

  /**
   * A request that only needs the session stepped up (its sole reason is second_factor): the
   * session's account goes straight to the factor, without its password again.
   */
  async function stepUp(found: Interaction): Promise<PendingLogin | undefined> {
    const session = found.session;
    if (!session?.accountId || found.prompt.reasons.some((r) => r !== SECOND_FACTOR_REASON)) return undefined;
    const stage = await nextStage(session.accountId, found);
    if (!stage) return undefined;
    return { accountId: session.accountId, amr: session.amr ?? ['pwd'], stage };
  }

  const loginResult = (pending: PendingLogin, amr: string[]) => ({
    login: { accountId: pending.accountId, amr, acr: ACR_MFA, remember: true },
  });

  async function render(
    ctx: Context,
    h: InteractionHelpers,
    found: Interaction,
    clientName: string,
    pending: PendingLogin,
    extra: { error?: string; status?: number } = {},
  ): Promise<void> {
    const base = { uid: found.uid, csrf: csrfToken(deps.csrfKey, found.uid), clientName, error: extra.error };
    if (pending.stage === 'done') {
      h.page(ctx, 'second-factor-done', { ...base, notice: pending.notice, codes: undefined }, extra.status);
      return;
    }
    if (pending.stage === 'verify') {
      const kinds = await deps.factors.of(pending.accountId);
      if (kinds.length > 0) {
        const context = { uid: found.uid, ip: ctx.ip };
        const factors = await Promise.all(
          kinds.map(async (k) => ({ name: k.name, ...(await k.prepare?.(pending.accountId, context)) })),
        );
        h.page(ctx, 'second-factor', { ...base, factors }, extra.status);
        return;
      }
      // The factors were removed since (an admin's reset): enrol a new one.
      pending = { ...pending, stage: 'enrol' };
    }
    const user = await deps.userQueries.findById(pending.accountId);
    if (!user) throw new InvalidInput('this sign-in request has expired; start again from the app');
    let view = pending.enrolment && (await deps.totp.enrolmentView(pending.enrolment, pending.accountId, user.email));
    if (!view) {
      // A new secret for this interaction, kept (sealed) until it is confirmed, so that a reload
      // shows the same QR code; one shown to another interaction is never offered here.
      pending = { ...pending, stage: 'enrol', enrolment: deps.totp.newEnrolment(pending.accountId) };
      await hold(found, pending);
      view = (await deps.totp.enrolmentView(pending.enrolment!, pending.accountId, user.email))!;
    }
    h.page(ctx, 'totp-enrol', { ...base, qr: view.svg, secret: view.secret, email: user.email }, extra.status);
  }

  /** The attempt's budget: the address's sign-in attempts and the account's second-factor tries. */
  async function spend(ctx: Context, accountId: string): Promise<number> {
    const locked = (await deps.limits.perIp.spend(ctx.ip)) || (await deps.limits.perAccount.spend(accountId));
    if (locked) {
      deps.onRateLimited();
      // One audit row per locked-out account per window, however often it is tried.
      if (!(await deps.limits.lockedRecords.spend(`mfa:${accountId}`)))
        await deps.audit.record({ type: 'mfa.locked', actor: accountId, subject: accountId, ip: ctx.ip });
      ctx.set('Retry-After', String(locked));
    }
    return locked;
  }

  return {
    /**
     * After a correct password: true when a second factor (or an enrolment) is due, the pending
     * login saved and the browser sent to its page; false when the login may finish now.
     */
    async afterPassword(ctx: Context, found: Interaction, accountId: string): Promise<boolean> {
      const stage = await nextStage(accountId, found);
      if (!stage) return false;
      await hold(found, { accountId, amr: ['pwd'], stage });
      // Post/redirect/get: a reload of the factor page does not post the password again.
      ctx.status = 303;
      ctx.redirect(`/interaction/${found.uid}`);
      return true;
    },

    /** GET /interaction/:uid during the login prompt: true when the step's page was shown. */
    async show(ctx: Context, h: InteractionHelpers, found: Interaction, clientName: string): Promise<boolean> {
      let pending = pendingOf(found);
      if (!pending) {
        pending = await stepUp(found);
        if (!pending) return false;
        await hold(found, pending);
      }
      await render(ctx, h, found, clientName, pending);
      return true;
    },

    register(router: Router, h: InteractionHelpers): void {
      router.post('/:uid/factor/:kind', async (ctx) => {
        const { provider, found, clientName } = await h.details(ctx);
        const form = await h.checkedForm(ctx);
        const pending = pendingOf(found) ?? (await stepUp(found));
        if (pending?.stage !== 'verify')
          throw new InvalidInput('this sign-in request does not ask for a second factor');
        const kind = deps.factors.get(ctx.params.kind!);
        const has = kind && (await deps.factors.of(pending.accountId)).includes(kind);
        if (!kind || !has) throw new InvalidInput('that kind of second factor is not set up for this account');
        const locked = await spend(ctx, pending.accountId);
        if (locked) {
          await render(ctx, h, found, clientName, pending, {
            error: translatorOf(ctx).t('common.tooManyAttempts', { minutes: Math.ceil(locked / 60) }),
            status: 429,
          });
          return;
        }
        const outcome = await kind.verify(pending.accountId, form, { uid: found.uid, ip: ctx.ip });
        if (!outcome.ok) {
          await deps.audit.record({
            type: 'mfa.failed',
            actor: pending.accountId,
            subject: pending.accountId,
            ip: ctx.ip,
            details: { factor: kind.name },
          });
          await render(ctx, h, found, clientName, pending, { error: outcome.error(translatorOf(ctx)), status: 401 });
          return;
        }
        // A right answer gives its try back: the budget counts wrong ones.
        await deps.limits.perAccount.refund(pending.accountId);
        await deps.audit.record({
          type: 'mfa.verified',
          actor: pending.accountId,
          subject: pending.accountId,
          ip: ctx.ip,
          details: { factor: kind.name },
        });
        const amr = withSecondFactor(pending.amr, outcome.amr);
        if (outcome.notice) {
          const done: PendingLogin = {
            accountId: pending.accountId,
            amr,
            stage: 'done',
            notice: outcome.notice(translatorOf(ctx)),
          };
          await hold(found, done);
          await render(ctx, h, found, clientName, done);
          return;
        }
        await h.finish(ctx, provider, loginResult(pending, amr));
      });

      router.post('/:uid/enrol', async (ctx) => {
        const { found, clientName } = await h.details(ctx);
        const form = await h.checkedForm(ctx);
        const pending = pendingOf(found);
        if (pending?.stage !== 'enrol' || !pending.enrolment)
          throw new InvalidInput('this sign-in request does not ask to set up a second factor');
        const locked = await deps.limits.perIp.spend(ctx.ip);
        if (locked) {
          deps.onRateLimited();
          ctx.set('Retry-After', String(locked));
          await render(ctx, h, found, clientName, pending, {
            error: translatorOf(ctx).t('common.tooManyAttempts', { minutes: Math.ceil(locked / 60) }),
            status: 429,
          });
          return;
        }
        const confirmed = await deps.totp.confirm(pending.accountId, pending.enrolment, form.get('code'));
        if (confirmed === 'wrong_code' || confirmed === 'expired') {
          const error =
            confirmed === 'expired' ? translatorOf(ctx).t('totp.expired') : translatorOf(ctx).t('totp.wrong');
          await render(
            ctx,
            h,
            found,
            clientName,
            confirmed === 'expired' ? { ...pending, enrolment: undefined } : pending,
            {
              error,
              status: 400,
            },
          );
          return;
        }
        if (confirmed === 'already_enrolled') {
          // Enrolled meanwhile (another tab): that authenticator is asked for instead.
          await hold(found, { accountId: pending.accountId, amr: pending.amr, stage: 'verify' });
          ctx.status = 303;
          ctx.redirect(`/interaction/${found.uid}`);
          return;
        }
        const codes = await deps.recoveryCodes.regenerate(pending.accountId);
        await deps.audit.record({
          type: 'mfa.enrolled',
          actor: pending.accountId,
          subject: pending.accountId,
          ip: ctx.ip,
          details: { factor: 'totp' },
        });
        const done: PendingLogin = {
          accountId: pending.accountId,
          amr: withSecondFactor(pending.amr, ['otp']),
          stage: 'done',
        };
        await hold(found, done);
        // The codes are on this answer only: a reload shows the page without them.
        h.page(ctx, 'second-factor-done', {
          uid: found.uid,
          csrf: csrfToken(deps.csrfKey, found.uid),
          clientName,
          error: undefined,
          notice: undefined,
          codes,
        });
      });

      router.post('/:uid/continue', async (ctx) => {
        const { provider, found } = await h.details(ctx);
        await h.checkedForm(ctx);
        const pending = pendingOf(found);
        if (pending?.stage !== 'done') throw new InvalidInput('this sign-in request is not finished yet');
        await h.finish(ctx, provider, loginResult(pending, pending.amr));
      });
    },
  };
}

export type SecondFactorStep = ReturnType<typeof secondFactorStep>;
