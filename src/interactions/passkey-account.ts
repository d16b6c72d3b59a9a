// The passkeys page of the account (/account/passkeys): list the signed-in user's passkeys, add
// one (a WebAuthn registration: the page's script asks for options, the browser makes the
// credential, the form posts it), rename and remove them. Every change is audited. Signed in
// with the account page's session (account-session.ts: nobody signed in is sent to sign in), the
// forms carry its CSRF token; the page's CSP lets only its nonce's scripts (Tessera's own) run.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Limiter } from '../db/queries/rate-limits.ts';
import { InvalidInput } from '../errors.ts';
import type { Audit } from '../services/audit.ts';
import { PASSKEY_NAME_MAX, PasskeyRejected, parseCredential, type PasskeyService } from '../services/passkeys.ts';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { scriptNonce, sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import type { AccountSection } from './account-sections.ts';
import { ACCOUNT_PATH, type AccountSession, signedInAccount } from './account-session.ts';
import { readForm } from './form-body.ts';
import { localeOf, translatorOf } from '../i18n/locale.ts';
import type { PlainKey } from '../i18n/messages.ts';

export const PASSKEYS_PATH = `${ACCOUNT_PATH}/passkeys`;

/** The account page's link to this one (account-sections.ts). */
export const PASSKEYS_SECTION: AccountSection = {
  title: 'account.section.passkeys',
  description: 'account.section.passkeys.detail',
  href: PASSKEYS_PATH,
};

export interface PasskeyAccountDeps {
  passkeys: PasskeyService;
  session: Pick<AccountSession, 'required' | 'checkCsrf'>;
  brand: Brand;
  audit: Audit;
  /** Ceremonies started per address (each stores a challenge): rate-limit/limits.ts. */
  challenges: Limiter;
  onRateLimited: () => void;
}

const REGISTRATION_FAILED: Record<string, PlainKey> = {
  duplicate: 'passkeys.duplicate',
  challenge: 'passkeys.challenge',
};

/** A passkey's name as typed: trimmed, one line, at most PASSKEY_NAME_MAX characters. */
function passkeyName(raw: string | null, fallback: string): string {
  const name = (raw ?? '').replace(/\s+/g, ' ').trim();
  if (name.length > PASSKEY_NAME_MAX)
    throw new InvalidInput(`a passkey's name has at most ${PASSKEY_NAME_MAX} characters`);
  return name || fallback;
}

export function passkeyAccountRoutes(deps: PasskeyAccountDeps): Router {
  const router = new Router();

  const required = deps.session.required;
  /** The signed-in user, after the form's CSRF token is checked against the session. */
  async function checkedForm(ctx: Context) {
    const form = await readForm(ctx);
    deps.session.checkCsrf(ctx, form.get('csrf'));
    return { user: signedInAccount(ctx).user, form };
  }

  async function show(ctx: Context, extra: Record<string, unknown> = {}, status = 200) {
    const { user, csrf } = signedInAccount(ctx);
    const nonce = scriptNonce();
    const html = renderView(
      'account-passkeys',
      deps.brand,
      {
        email: user.email,
        passkeys: await deps.passkeys.list(user.id),
        csrf,
        nameMax: PASSKEY_NAME_MAX,
        backHref: ACCOUNT_PATH,
        scriptNonce: nonce,
        error: undefined,
        message: undefined,
        ...extra,
      },
      localeOf(ctx),
    );
    sendPage(ctx, html, status, { scriptNonce: nonce });
  }

  function seeList(ctx: Context) {
    ctx.status = 303;
    ctx.redirect(PASSKEYS_PATH);
  }

  router.get(PASSKEYS_PATH, required, async (ctx) => {
    await show(ctx);
  });

  // The registration options (JSON), for the page's script; a new challenge each time.
  router.post(`${PASSKEYS_PATH}/options`, required, async (ctx) => {
    const { user } = await checkedForm(ctx);
    const wait = await deps.challenges.spend(ctx.ip);
    if (wait) {
      deps.onRateLimited();
      ctx.set('Retry-After', String(wait));
      ctx.status = 429;
      ctx.body = { error: 'rate_limited', error_description: `too many passkey requests; retry after ${wait} s` };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.passkeys.registrationOptions(user);
  });

  router.post(PASSKEYS_PATH, required, async (ctx) => {
    const { user, form } = await checkedForm(ctx);
    const response = parseCredential<RegistrationResponseJSON>(form.get('credential'));
    if (!response) throw new InvalidInput('the form carries no passkey; use the "Add a passkey" button');
    const name = passkeyName(form.get('name'), translatorOf(ctx).t('passkeys.defaultName'));
    try {
      const added = await deps.passkeys.register(user.id, response, name);
      await deps.audit.record({
        type: 'user.passkey_added',
        actor: user.id,
        subject: user.id,
        ip: ctx.ip,
        details: { passkey: added.id, name: added.name, device_type: added.deviceType },
      });
    } catch (err) {
      if (!(err instanceof PasskeyRejected)) throw err;
      await show(ctx, { error: translatorOf(ctx).t(REGISTRATION_FAILED[err.reason] ?? 'passkeys.addFailed') }, 400);
      return;
    }
    seeList(ctx);
  });

  router.post(`${PASSKEYS_PATH}/:id/rename`, required, async (ctx) => {
    const { user, form } = await checkedForm(ctx);
    const name = passkeyName(form.get('name'), '');
    if (!name) throw new InvalidInput('give the passkey a name');
    if (!(await deps.passkeys.rename(user.id, ctx.params.id!, name)))
      throw new InvalidInput('you have no such passkey');
    await deps.audit.record({
      type: 'user.passkey_renamed',
      actor: user.id,
      subject: user.id,
      ip: ctx.ip,
      details: { passkey: ctx.params.id!, name },
    });
    seeList(ctx);
  });

  router.post(`${PASSKEYS_PATH}/:id/delete`, required, async (ctx) => {
    const { user } = await checkedForm(ctx);
    const removed = await deps.passkeys.remove(user.id, ctx.params.id!);
    if (removed === undefined) throw new InvalidInput('you have no such passkey');
    await deps.audit.record({
      type: 'user.passkey_removed',
      actor: user.id,
      subject: user.id,
      ip: ctx.ip,
      details: { passkey: ctx.params.id!, name: removed },
    });
    seeList(ctx);
  });

  return router;
}
