// The passkeys page of the account (/account/passkeys): list the signed-in user's passkeys, add
// one (a WebAuthn registration: the page's script asks for options, the browser makes the
// credential, the form posts it), rename and remove them. Every change is audited. The forms
// carry the cookie-bound CSRF token of page-csrf.ts; the page's CSP lets only its nonce's
// scripts (Tessera's own files) run.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Limiter } from '../db/queries/rate-limits.ts';
import type { UserQueries } from '../db/queries/users.ts';
import { InvalidInput, TesseraError } from '../errors.ts';
import type { Audit } from '../services/audit.ts';
import { PASSKEY_NAME_MAX, PasskeyRejected, parseCredential, type PasskeyService } from '../services/passkeys.ts';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { scriptNonce, sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import { readForm } from './form-body.ts';
import type { PageCsrf } from './page-csrf.ts';

export const PASSKEYS_PATH = '/account/passkeys';

/** The signed-in account of this browser, or undefined (the provider's session: account/signed-in.ts). */
export type SignedInAccount = (ctx: Context) => Promise<string | undefined>;

export interface PasskeyAccountDeps {
  passkeys: PasskeyService;
  users: Pick<UserQueries, 'findById'>;
  signedIn: SignedInAccount;
  brand: Brand;
  csrf: PageCsrf;
  audit: Audit;
  /** Ceremonies started per address (each stores a challenge): passkeyLimits().challenges. */
  challenges: Limiter;
  /** Where "Back to your account" leads; none until the account page exists. */
  accountHref?: string;
  onRateLimited: () => void;
}

class SignInRequired extends TesseraError {
  constructor() {
    super('sign in first: this page belongs to a signed-in account', 401, 'login_required');
  }
}

const REGISTRATION_FAILED: Record<string, string> = {
  duplicate: 'This passkey is registered already.',
  challenge: 'The request to add a passkey expired or was used already. Try again.',
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

  async function account(ctx: Context) {
    const id = await deps.signedIn(ctx);
    const user = id ? await deps.users.findById(id) : undefined;
    if (!user || user.disabled) throw new SignInRequired();
    return user;
  }

  async function show(ctx: Context, userId: string, email: string, extra: Record<string, unknown> = {}, status = 200) {
    const nonce = scriptNonce();
    const html = renderView('account-passkeys', deps.brand, {
      email,
      passkeys: await deps.passkeys.list(userId),
      csrf: deps.csrf.issue(ctx),
      nameMax: PASSKEY_NAME_MAX,
      backHref: deps.accountHref,
      scriptNonce: nonce,
      error: undefined,
      message: undefined,
      ...extra,
    });
    sendPage(ctx, html, status, { scriptNonce: nonce });
  }

  function seeList(ctx: Context) {
    ctx.status = 303;
    ctx.redirect(PASSKEYS_PATH);
  }

  router.get(PASSKEYS_PATH, async (ctx) => {
    const user = await account(ctx);
    await show(ctx, user.id, user.email);
  });

  // The registration options (JSON), for the page's script; a new challenge each time.
  router.post(`${PASSKEYS_PATH}/options`, async (ctx) => {
    const user = await account(ctx);
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
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

  router.post(PASSKEYS_PATH, async (ctx) => {
    const user = await account(ctx);
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
    const response = parseCredential<RegistrationResponseJSON>(form.get('credential'));
    if (!response) throw new InvalidInput('the form carries no passkey; use the "Add a passkey" button');
    const name = passkeyName(form.get('name'), 'Passkey');
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
      await show(
        ctx,
        user.id,
        user.email,
        { error: REGISTRATION_FAILED[err.reason] ?? 'The passkey could not be added. Try again.' },
        400,
      );
      return;
    }
    seeList(ctx);
  });

  router.post(`${PASSKEYS_PATH}/:id/rename`, async (ctx) => {
    const user = await account(ctx);
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
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

  router.post(`${PASSKEYS_PATH}/:id/delete`, async (ctx) => {
    const user = await account(ctx);
    const form = await readForm(ctx);
    deps.csrf.check(ctx, form.get('csrf'));
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
