// A session whose user is gone or disabled: findAccount answers no account for it (account.ts),
// and the provider would carry on with none (its login checks look only at the session's
// accountId) and fail issuing the code. This check makes the login prompt due instead, so the
// person signs in again (and a disabled account is refused there); with prompt=none the client
// gets login_required.
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

export function sessionAccountCheck(): interactionPolicy.Check {
  return new interactionPolicy.Check(
    'session_account_gone',
    "the session's account no longer exists or is disabled",
    'login_required',
    (ctx: KoaContextWithOIDC) =>
      ctx.oidc.session?.accountId && !ctx.oidc.account
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT,
  );
}
