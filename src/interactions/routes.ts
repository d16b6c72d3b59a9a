// The pages a person sees during an authorization request: sign in, then (unless remembered or
// first-party) approve the app; for a device, always its one confirmation (device-confirm). oidc-provider decides which prompt is due and resumes the
// request when Tessera hands back the interaction's result.
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import type { ConsentQueries } from '../db/queries/consents.ts';
import type { Limiter } from '../db/queries/rate-limits.ts';
import type { UserQueries } from '../db/queries/users.ts';
import { InvalidInput } from '../errors.ts';
import type { UserService } from '../services/users.ts';
import { scriptNonce, sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import { localeOf, requestedLocaleOf, translatorOf, useInteractionLocale } from '../i18n/locale.ts';
import type { Locale } from '../i18n/messages.ts';
import { displayedUserCode } from '../oidc/device-authorization.ts';
import { organizationGrantId, requestedOrganization } from '../oidc/organizations.ts';
import { csrfToken, csrfValid } from './csrf.ts';
import { readForm } from './form-body.ts';
import { describeScopes } from './scope-descriptions.ts';
import type { Audit } from '../services/audit.ts';
import { normalizeEmail } from '../services/users.ts';
import { scopeTokens } from '../services/scopes.ts';
import type { LoginIdentifier } from '../services/login-identifier.ts';
import type { PasskeyService } from '../services/passkeys.ts';
import { passkeyLoginRoutes } from './passkey-login.ts';
import type { Interaction, LoginAttempt, LoginLimits } from './sign-in-types.ts';
import { ACR_PASSWORD } from '../mfa/levels.ts';
import type { InteractionHelpers, SecondFactorStep } from './second-factor.ts';

export type { LoginAttempt } from './sign-in-types.ts';

export interface InteractionDeps {
  provider: () => Provider;
  users: UserService;
  userQueries: UserQueries;
  consents: ConsentQueries;
  brand: Brand;
  csrfKey: string;
  limits: LoginLimits;
  identify: LoginIdentifier;
  audit: Audit;
  /** Counts and records the attempt; awaited, so that the audit row exists when the answer is sent. */
  onLogin: (attempt: LoginAttempt) => Promise<void>;
  /**
   * A successful sign-in's writes in one statement: last_login_at, the account's failure count
   * (this rate_limits key) forgotten, the login.succeeded audit row.
   */
  /** Records a sign-in; `locale`: the language its pages asked for (kept as the user's, users.locale). */
  signedIn: (userId: string, ip: string, counterKey: string, locale?: Locale) => Promise<void>;
  onRateLimited: () => void;
  /** The requested scopes that can be granted to this user (RBAC: resource-servers.ts grantableScopes). */
  grantable?: (
    accountId: string,
    clientId: string,
    resource: string | undefined,
    requested: string[],
    organization?: string,
  ) => Promise<string[]>;
  /** Whether a client registered itself and no admin has approved it yet (registration/). */
  unreviewed?: (clientId: string) => Promise<boolean>;
  /** Links on the sign-in page to what is configured (account/features.ts). */
  loginLinks?: { forgotPassword: string | undefined; signup: string | undefined };
  /** Clients that require a verified email (clients.require_verified_email), and the reminder mail. */
  verifiedEmail?: {
    required(clientId: string): Promise<boolean>;
    /** Mails a verification link, at most as often as the mail limits allow. */
    remind(userId: string, ip: string, locale?: Locale): Promise<void>;
  };
  /** "Use a passkey" on the sign-in page (passkey-login.ts); absent: the password form alone. */
  passkeys?: {
    service: PasskeyService;
    /** Ceremonies started per address (each stores a challenge). */
    challenges: Limiter;
  };
  /** Second factors after the password (interactions/second-factor.ts); none: password only. */
  secondFactor?: SecondFactorStep;
  /** The id of the organization with this id or name (oidc/organizations.ts); undefined: none. */
  organizationId?: (ref: string) => Promise<string | undefined>;
}

export function interactionRoutes(deps: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction' });
  const page = (ctx: Context, view: string, data: Record<string, unknown>, status = 200) => {
    // The pages that run the passkey script (sign-in, a passkey as second factor) when passkeys
    // are on: a nonce of their own; every other page runs none.
    const passkeyPage =
      view === 'login' ||
      (view === 'second-factor' && (data.factors as { name: string }[]).some((f) => f.name === 'passkey'));
    const nonce = passkeyPage && deps.passkeys?.service.offered ? scriptNonce() : undefined;
    sendPage(
      ctx,
      renderView(view, deps.brand, { ...data, links: deps.loginLinks ?? {}, scriptNonce: nonce }, localeOf(ctx)),
      status,
      { scriptNonce: nonce },
    );
  };

  async function details(ctx: Context) {
    const provider = deps.provider();
    const found = await provider.interactionDetails(ctx.req, ctx.res);
    if (found.uid !== ctx.params.uid) throw new InvalidInput('this sign-in request does not belong to this browser');
    // Every page of this sign-in, and its errors, in the language the request asked for.
    useInteractionLocale(ctx, found.params);
    const client = await provider.Client.find(String(found.params.client_id));
    return { provider, found, clientName: client?.clientName ?? String(found.params.client_id) };
  }

  /** The scopes of the request that can be granted (all of them without RBAC). */
  async function grantableOf(found: Awaited<ReturnType<Provider['interactionDetails']>>): Promise<string[]> {
    const requested = scopeTokens(found.params.scope);
    const accountId = found.session?.accountId;
    if (!deps.grantable || !accountId) return requested;
    const resource = typeof found.params.resource === 'string' ? found.params.resource : undefined;
    const organization = requestedOrganization(found.params);
    return deps.grantable(accountId, String(found.params.client_id), resource, requested, organization);
  }

  async function finish(ctx: Context, provider: Provider, result: Record<string, unknown>) {
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(to);
  }

  /**
   * A client that needs a confirmed address gets no code for an unconfirmed one: the user is
   * mailed a link and signs in again here after following it (the interaction stays open).
   * True when it stopped the sign-in (and answered the page).
   */
  async function unverifiedEmailStops(
    ctx: Context,
    found: Interaction,
    clientName: string,
    user: { id: string; email: string; emailVerified: boolean },
  ): Promise<boolean> {
    if (
      user.emailVerified ||
      !deps.verifiedEmail ||
      !(await deps.verifiedEmail.required(String(found.params.client_id)))
    )
      return false;
    await deps.verifiedEmail.remind(user.id, ctx.ip, requestedLocaleOf(ctx));
    const { t } = translatorOf(ctx);
    page(
      ctx,
      'notice',
      {
        heading: t('login.confirmEmail.heading'),
        message: t('login.confirmEmail.message', { client: clientName, email: user.email }),
        linkHref: `/interaction/${found.uid}`,
        linkText: t('common.signInAgain'),
      },
      403,
    );
    return true;
  }

  async function checkedForm(ctx: Context) {
    const form = await readForm(ctx);
    if (!csrfValid(deps.csrfKey, ctx.params.uid!, form.get('csrf'))) {
      throw new InvalidInput('the form has expired or did not come from this site; go back and try again');
    }
    return form;
  }

  const helpers: InteractionHelpers = { details, finish, checkedForm, page };
  deps.secondFactor?.register(router, helpers);

  router.get('/:uid', async (ctx) => {
    const { provider, found, clientName } = await details(ctx);
    const csrf = csrfToken(deps.csrfKey, found.uid);
    if (found.prompt.name === 'login') {
      // A second factor due (after the password, or to step a session up): its page instead.
      if (deps.secondFactor && (await deps.secondFactor.show(ctx, helpers, found, clientName))) return;
      page(ctx, 'login', {
        uid: found.uid,
        csrf,
        clientName,
        email: String(found.params.login_hint ?? ''),
        error: undefined,
      });
      return;
    }
    const user = await deps.userQueries.findById(String(found.session?.accountId));
    const requested = await grantableOf(found);
    // A device's one confirmation (oidc/device-authorization.ts): the code to compare with the
    // device's (RFC 8628 §5.4), the client, the scopes, Connect or Deny.
    if (found.deviceCode !== undefined) {
      const code = await provider.DeviceCode.find(found.deviceCode, { ignoreExpiration: true });
      if (!code) throw new InvalidInput('this device request has expired; start again on your device');
      page(ctx, 'device-confirm', {
        uid: found.uid,
        csrf,
        clientName,
        email: user?.email ?? '',
        userCode: displayedUserCode(code.userCode),
        scopes: describeScopes(translatorOf(ctx), requested),
      });
      return;
    }
    page(ctx, 'consent', {
      uid: found.uid,
      csrf,
      clientName,
      email: user?.email ?? '',
      scopes: describeScopes(translatorOf(ctx), requested),
      unreviewed: (await deps.unreviewed?.(String(found.params.client_id))) ?? false,
    });
  });

  router.post('/:uid/login', async (ctx) => {
    const { provider, found, clientName } = await details(ctx);
    const form = await checkedForm(ctx);
    const email = form.get('email') ?? '';
    // Hashed: a fixed length whatever was typed (the counters' key column is 255 characters),
    // and no typed email address sits in the rate_limits table.
    const accountKey = createHash('sha256')
      .update(`${normalizeEmail(email)}|${ctx.ip}`)
      .digest('base64url');
    const again = (error: string, status: number) =>
      page(
        ctx,
        'login',
        { uid: found.uid, csrf: csrfToken(deps.csrfKey, found.uid), clientName, email, error },
        status,
      );

    // Every attempt counts against the address, and against the account from the address,
    // *before* its password is checked: each count is one atomic statement, so N parallel
    // attempts get N different counts and only those within the limits reach argon2. (Checking
    // the counts first and adding failures afterwards let 40 parallel guesses check 21.) When
    // the address is over its limit, the account's count is left alone.
    const ipWait = await deps.limits.perIp.spend(ctx.ip);
    const account = ipWait ? undefined : await deps.limits.perAccount.spendTripping(accountKey);
    const locked = ipWait || account!.wait;
    // The account's lockout (from this address) tripped with this attempt: one `user.locked` per
    // lockout, decided by the count's own statement, however many attempts race into it.
    if (account?.tripped) {
      const subject = await deps.identify(email);
      if (subject)
        await deps.audit.record({
          type: 'user.locked',
          actor: 'anonymous',
          subject,
          ip: ctx.ip,
          details: { retry_after_seconds: locked },
        });
    }
    if (locked) {
      deps.onRateLimited();
      // A locked-out source leaves one audit row per window, however often it tries; the
      // metric counts every attempt.
      const recorded = !(await deps.limits.lockedRecords.spend(ctx.ip));
      await deps.onLogin({ outcome: 'locked', ip: ctx.ip, subject: recorded ? await deps.identify(email) : undefined });
      ctx.set('Retry-After', String(locked));
      again(translatorOf(ctx).t('common.tooManyAttempts', { minutes: Math.ceil(locked / 60) }), 429);
      return;
    }
    const user = await deps.users.authenticate(email, form.get('password') ?? '');
    if (!user) {
      await deps.onLogin({ outcome: 'failure', ip: ctx.ip, subject: await deps.identify(email) });
      again(translatorOf(ctx).t('login.failed'), 401);
      return;
    }
    // Success gives back the account's count, this attempt's included; the address keeps it.
    await deps.signedIn(user.id, ctx.ip, deps.limits.perAccount.storedKey(accountKey), requestedLocaleOf(ctx));
    await deps.onLogin({ outcome: 'success', ip: ctx.ip, userId: user.id });
    if (await unverifiedEmailStops(ctx, found, clientName, user)) return;
    // A user with a second factor gives it next, and one without enrols when it is required
    // (interactions/second-factor.ts): the login is finished there.
    if (deps.secondFactor && (await deps.secondFactor.afterPassword(ctx, found, user.id))) return;
    // amr "pwd" (RFC 8176 §2): a password was used. acr "0"-style levels are not claimed; the
    // acr names the method so that relying parties can require it (mfa/levels.ts).
    await finish(ctx, provider, {
      login: { accountId: user.id, amr: ['pwd'], acr: ACR_PASSWORD, remember: true },
    });
  });

  router.post('/:uid/confirm', async (ctx) => {
    const { provider, found } = await details(ctx);
    await checkedForm(ctx);
    if (found.prompt.name !== 'consent') throw new InvalidInput('there is nothing to approve for this request');
    const accountId = String(found.session?.accountId);
    const clientId = String(found.params.client_id);
    // A grant for an organization carries it in its id (oidc/organizations.ts); membership was
    // checked when the request was resumed after sign-in, and is checked again when it resumes.
    const organization = requestedOrganization(found.params);
    const organizationId = organization === undefined ? undefined : await deps.organizationId?.(organization);
    const grant = found.grantId
      ? await provider.Grant.find(found.grantId)
      : new provider.Grant({
          accountId,
          clientId,
          ...(organizationId ? { jti: organizationGrantId(organizationId) } : {}),
        });
    if (!grant) throw new InvalidInput('this sign-in request has expired; start again from the app');
    const d = found.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    // What the page showed: with RBAC, a scope the user's roles do not grant is not approved, so
    // that it is asked for once a role grants it.
    const approved = await grantableOf(found);
    await deps.consents.grant(accountId, clientId, approved);
    await deps.audit.record({
      type: 'consent.granted',
      actor: accountId,
      subject: clientId,
      ip: ctx.ip,
      details: { scopes: approved },
    });
    await finish(ctx, provider, { consent: { grantId } });
  });

  router.post('/:uid/abort', async (ctx) => {
    const { provider } = await details(ctx);
    await checkedForm(ctx);
    await finish(ctx, provider, { error: 'access_denied', error_description: 'the user denied the request' });
  });

  if (deps.passkeys) {
    passkeyLoginRoutes(router, {
      ...deps.passkeys,
      limits: deps.limits,
      onRateLimited: deps.onRateLimited,
      onLogin: deps.onLogin,
      signedIn: deps.signedIn,
      details,
      checkedForm,
      finish,
      unverifiedEmailStops,
      findUser: (id) => deps.userQueries.findById(id),
      loginPage: (ctx, found, clientName, error, status) =>
        page(
          ctx,
          'login',
          { uid: found.uid, csrf: csrfToken(deps.csrfKey, found.uid), clientName, email: '', error },
          status,
        ),
    });
  }
  return router;
}
