// Step-up: the login prompt (oidc-provider's interaction policy) is due again for a signed-in
// session that has not given a second factor when the request needs one: the client requires it
// (clients.require_mfa, or MFA_REQUIRED for every client), the request is for an organization
// that requires it of its members (mfa/policy.ts), or acr_values asks for
// urn:tessera:acr:mfa. The provider's own login checks already cover prompt=login and max_age
// (their reasons then re-authenticate fully); this one's reason, alone, lets the interaction ask
// the session's user for the factor only (interactions/second-factor.ts).
//
// acr_values is a voluntary claim request (OIDC Core §5.5.1.1) and the provider's essential_acr
// checks only act on essential ones; Tessera honours its MFA level when it is asked for at all.
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { acrValuesAskForMfa, AMR_MFA } from '../mfa/levels.ts';
import type { SecondFactorPolicy } from '../mfa/policy.ts';
import { sessionAccountCheck } from './session-account.ts';

/** Must match interactions/second-factor.ts SECOND_FACTOR_REASON. */
const REASON = 'second_factor';

export function secondFactorCheck(requiredFor: SecondFactorPolicy): interactionPolicy.Check {
  return new interactionPolicy.Check(REASON, 'a second factor is required', async (ctx: KoaContextWithOIDC) => {
    const { oidc } = ctx;
    // No session: the no_session check asks for a sign-in, which includes the factor. A login
    // just finished in this request is what the interaction decided (it asks for the factor).
    if (!oidc.session?.accountId || oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    if (oidc.session.amr?.includes(AMR_MFA)) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    const needed =
      acrValuesAskForMfa(oidc.params?.acr_values) ||
      (await requiredFor({
        clientId: oidc.client!.clientId,
        accountId: oidc.session.accountId,
        params: oidc.params as Record<string, unknown> | undefined,
      }));
    return needed ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
  });
}

/** The policy with the step-up check (and the gone-account check) added to its login prompt. */
export function withStepUp(
  policy: interactionPolicy.DefaultPolicy,
  requiredFor: SecondFactorPolicy,
): interactionPolicy.DefaultPolicy {
  const login = policy.get('login')!;
  login.checks.add(sessionAccountCheck());
  login.checks.add(secondFactorCheck(requiredFor));
  return policy;
}
