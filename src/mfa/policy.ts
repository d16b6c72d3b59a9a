// Who must pass a second factor before an authorization request gets its code: everyone
// (MFA_REQUIRED), the users of a client that requires it (--require-mfa), and the members of an
// organization that requires it (orgs --mfa-required) when the request asks for a token for that
// organization. acr_values=urn:tessera:acr:mfa asks for it per request (levels.ts); that is the
// caller's check, not a policy.
//
// Used twice with the same answer: by the login prompt's step-up check for a signed-in session
// (oidc/step-up.ts) and by the sign-in interaction after the password (interactions/second-factor.ts).
import { requestedOrganization } from '../oidc/organizations.ts';

export interface SecondFactorRequest {
  clientId: string;
  /** The user signing in (or the session's). */
  accountId: string;
  /** The authorization request's parameters (the `organization` parameter, `scope`). */
  params: Record<string, unknown> | undefined;
}

export type SecondFactorPolicy = (request: SecondFactorRequest) => Promise<boolean>;

/** Nobody must: for tests and deployments that build a provider alone. */
export const NO_SECOND_FACTOR_REQUIRED: SecondFactorPolicy = async () => false;

export function secondFactorPolicy(deps: {
  /** MFA_REQUIRED. */
  everyone: boolean;
  /** The client's --require-mfa (from the client cache: no database read). */
  clientRequires(clientId: string): Promise<boolean>;
  /** The organization (by id or name) requires MFA and the user is, or would join as, a member. */
  organizationRequires(ref: string, accountId: string): Promise<boolean>;
}): SecondFactorPolicy {
  return async ({ clientId, accountId, params }) => {
    if (deps.everyone || (await deps.clientRequires(clientId))) return true;
    // Read only when the request is for an organization: every other request reads nothing more.
    // The parameter was checked at the authorization endpoint (organizations.ts); a malformed one
    // never gets this far.
    const ref = requestedOrganization(params);
    return ref !== undefined && deps.organizationRequires(ref, accountId);
  };
}
