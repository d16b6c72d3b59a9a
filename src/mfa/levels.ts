// What an ID token says about how the user signed in: `amr` (RFC 8176 §2 values) and `acr`, one of
// two documented levels. Tessera names its levels with URNs of its own (OIDC Core §2: acr values
// are agreed between the parties; none of the registered ones fits "password" vs "two factors").
/** A password alone (the base level). */
export const ACR_PASSWORD = 'urn:tessera:acr:pwd';
/** A password and a second factor (or enrolment of one during this sign-in). */
export const ACR_MFA = 'urn:tessera:acr:mfa';
/** acr_values_supported in discovery, lowest first. */
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA] as const;

/** RFC 8176 §2: "mfa", multiple-factor authentication. */
export const AMR_MFA = 'mfa';

/** The amr of a sign-in that added a second factor to what was used before (deduplicated, mfa last). */
export function withSecondFactor(before: readonly string[], factor: readonly string[]): string[] {
  return [...new Set([...before, ...factor].filter((v) => v !== AMR_MFA)), AMR_MFA];
}

/** Whether an authorization request's acr_values (space-separated, OIDC Core §3.1.2.1) ask for MFA. */
export function acrValuesAskForMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
}
