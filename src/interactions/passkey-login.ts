// "Use a passkey" on the sign-in page: passwordless sign-in with a discoverable credential. The
// page's script asks for a challenge (POST /interaction/:uid/passkey/options, JSON), the browser
// signs it, and the form posts the assertion (POST /interaction/:uid/passkey); success finishes
// the interaction exactly as the password does, with the passkey's amr; user verification was
// required (a PIN or biometric with the key), so the sign-in is multi-factor: acr mfa. The challenge is bound
// to this interaction and used once (services/passkeys.ts). Attempts spend the sign-in limits
// the password form spends: per address before anything is checked, per account (and address)
// once the credential names one, before its signature is checked.
import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import type { Limiter } from '../db/queries/rate-limits.ts';
import { InvalidInput } from '../errors.ts';
import { requestedLocaleOf, translatorOf } from '../i18n/locale.ts';
import type { Locale } from '../i18n/messages.ts';
import { ACR_MFA } from '../mfa/levels.ts';
import { parseCredential, PasskeyRejected, type PasskeyService } from '../services/passkeys.ts';
import type { Interaction, LoginAttempt, LoginLimits } from './sign-in-types.ts';

export interface PasskeyLoginDeps {
  limits: LoginLimits;
  onRateLimited: () => void;
  onLogin: (attempt: LoginAttempt) => Promise<void>;
  signedIn: (userId: string, ip: string, counterKey: string, locale?: Locale) => Promise<void>;
  service: PasskeyService;
  challenges: Limiter;
  details(ctx: Context): Promise<{ provider: Provider; found: Interaction; clientName: string }>;
  checkedForm(ctx: Context): Promise<URLSearchParams>;
  finish(ctx: Context, provider: Provider, result: Record<string, unknown>): Promise<void>;
  unverifiedEmailStops(
    ctx: Context,
    found: Interaction,
    clientName: string,
    user: { id: string; email: string; emailVerified: boolean },
  ): Promise<boolean>;
  findUser(id: string): Promise<{ id: string; email: string; emailVerified: boolean; disabled: boolean } | null>;
  loginPage(ctx: Context, found: Interaction, clientName: string, error: string, status: number): void;
}

/** The per-account sign-in counter's key for a passkey's account from this address. */
const accountKey = (userId: string, ip: string) =>
  createHash('sha256').update(`passkey|${userId}|${ip}`).digest('base64url');

export function passkeyLoginRoutes(router: Router, deps: PasskeyLoginDeps): void {
  async function loginDetails(ctx: Context) {
    const details = await deps.details(ctx);
    if (details.found.prompt.name !== 'login') throw new InvalidInput('this sign-in request is past signing in');
    return details;
  }

  router.post('/:uid/passkey/options', async (ctx) => {
    const { found } = await loginDetails(ctx);
    await deps.checkedForm(ctx);
    const wait = await deps.challenges.spend(ctx.ip);
    if (wait) {
      deps.onRateLimited();
      ctx.set('Retry-After', String(wait));
      ctx.status = 429;
      ctx.body = { error: 'rate_limited', error_description: `too many passkey requests; retry after ${wait} s` };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.service.authenticationOptions(found.uid);
  });

  router.post('/:uid/passkey', async (ctx) => {
    const { provider, found, clientName } = await loginDetails(ctx);
    const form = await deps.checkedForm(ctx);
    const locked = async (seconds: number, subject: string | undefined) => {
      deps.onRateLimited();
      const recorded = !(await deps.limits.lockedRecords.spend(ctx.ip));
      await deps.onLogin({ outcome: 'locked', ip: ctx.ip, subject: recorded ? subject : undefined });
      ctx.set('Retry-After', String(seconds));
      deps.loginPage(
        ctx,
        found,
        clientName,
        translatorOf(ctx).t('common.tooManyAttempts', { minutes: Math.ceil(seconds / 60) }),
        429,
      );
    };
    // Counted before the assertion is read, as the password form counts before argon2.
    const ipWait = await deps.limits.perIp.spend(ctx.ip);
    if (ipWait) {
      await locked(ipWait, undefined);
      return;
    }
    const response = parseCredential<AuthenticationResponseJSON>(form.get('credential'));
    if (!response) {
      deps.loginPage(ctx, found, clientName, translatorOf(ctx).t('login.passkeyFailed'), 400);
      return;
    }
    let counterKey = '';
    let signIn: Awaited<ReturnType<PasskeyService['authenticate']>>;
    try {
      signIn = await deps.service.authenticate(found.uid, response, async (userId) => {
        counterKey = accountKey(userId, ctx.ip);
        return deps.limits.perAccount.spend(counterKey);
      });
    } catch (err) {
      if (!(err instanceof PasskeyRejected)) throw err;
      if (err.reason === 'locked') {
        await locked(err.retryAfter, err.userId);
        return;
      }
      await deps.onLogin({ outcome: 'failure', ip: ctx.ip, subject: err.userId });
      deps.loginPage(ctx, found, clientName, translatorOf(ctx).t('login.passkeyFailed'), 401);
      return;
    }
    const user = await deps.findUser(signIn.userId);
    if (!user || user.disabled) {
      deps.loginPage(ctx, found, clientName, translatorOf(ctx).t('login.passkeyFailed'), 401);
      return;
    }
    await deps.signedIn(user.id, ctx.ip, deps.limits.perAccount.storedKey(counterKey), requestedLocaleOf(ctx));
    await deps.onLogin({ outcome: 'success', ip: ctx.ip, userId: user.id });
    if (await deps.unverifiedEmailStops(ctx, found, clientName, user)) return;
    await deps.finish(ctx, provider, {
      login: { accountId: user.id, amr: signIn.amr, acr: ACR_MFA, remember: true },
    });
  });
}
