// Passkeys (WebAuthn Level 2/3) with @simplewebauthn/server: registering several per account and
// signing in with one alone (a discoverable credential, user verification required).
//
// What this module decides, and why:
// - The RP ID and the expected origin come from ISSUER, never from the request's Host: a
//   response made for another origin (a phishing site's) carries that origin in its signed
//   client data and its RP ID hash, and is refused (WebAuthn §7.1 steps 9 and 13, §7.2 11 and 15).
// - Every challenge is stored server-side (its SHA-256 only) with what it was issued for (the
//   account registering, or the sign-in request's interaction), and is consumed by one atomic
//   DELETE before anything else is checked: a replayed or unknown challenge fails, and any
//   attempt, good or bad, burns the challenge it used.
// - The user handle a discoverable credential returns must be the account the credential is
//   registered to (§7.2 step 6): an assertion cannot be passed off as another user's.
// - The signature counter moves forward in the statement that records the use (queries/passkeys.ts).
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { ChallengePurpose, PasskeyQueries, StoredPasskey } from '../db/queries/passkeys.ts';

// How long a ceremony may take: WebAuthn §15.1 recommends 5 minutes when user verification is
// required (time to find the key, type a PIN); the browser's own timeout says the same.
const CEREMONY_MS = 5 * 60_000;
// 32 random bytes: WebAuthn §13.4.3 asks for at least 16.
const CHALLENGE_BYTES = 32;
/** Longest name a person may give a passkey (it is shown in a list, one line). */
export const PASSKEY_NAME_MAX = 64;

export type PasskeyFailure =
  /** Not a WebAuthn response of the expected shape. */
  | 'malformed'
  /** Its challenge is unknown, used, expired, or issued for something else. */
  | 'challenge'
  /** No enabled account has this credential. */
  | 'unknown_credential'
  /** The signature, origin, RP ID, user verification or user handle did not check out. */
  | 'verification'
  /** The signature counter went backwards (a cloned authenticator, or a concurrent use). */
  | 'counter'
  /** Registration: the credential is registered already. */
  | 'duplicate'
  /** The account's sign-in limit is spent (admit said so); retryAfter says for how long. */
  | 'locked';

export class PasskeyRejected extends Error {
  readonly reason: PasskeyFailure;
  /** The account the credential belongs to, when it was found. */
  readonly userId: string | undefined;
  readonly retryAfter: number;
  constructor(reason: PasskeyFailure, userId?: string, retryAfter = 0) {
    super(`passkey rejected: ${reason}`);
    this.name = this.constructor.name;
    this.reason = reason;
    this.userId = userId;
    this.retryAfter = retryAfter;
  }
}

export interface PasskeySignIn {
  userId: string;
  passkeyId: string;
  /**
   * RFC 8176 §2: `hwk` for a key that stays in its authenticator's hardware, `swk` for a
   * synced (backup-eligible, multi-device) passkey, whose key is also held in software;
   * user verification was required, so the sign-in is multi-factor (`mfa`).
   */
  amr: string[];
}

const hash = (challenge: string) => createHash('sha256').update(challenge).digest('base64url');

/** The challenge a response signed, read from its client data; undefined when it has none. */
function challengeOf(response: { response?: { clientDataJSON?: unknown } }): string | undefined {
  const encoded = response.response?.clientDataJSON;
  if (typeof encoded !== 'string' || encoded.length > 4096) return undefined;
  try {
    const data = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' && data.challenge.length <= 256 ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}

/** A credential response as the browser posted it (JSON text), or undefined when it is none. */
export function parseCredential<T extends AuthenticationResponseJSON | RegistrationResponseJSON>(
  text: string | null | undefined,
): T | undefined {
  // Real responses are a few kilobytes; an attestation with a certificate chain stays under 16.
  if (!text || text.length > 32_768) return undefined;
  try {
    const value = JSON.parse(text) as Partial<T>;
    if (!value || typeof value !== 'object') return undefined;
    if (typeof value.id !== 'string' || typeof value.rawId !== 'string' || value.type !== 'public-key')
      return undefined;
    if (!value.response || typeof value.response !== 'object') return undefined;
    return value as T;
  } catch {
    return undefined;
  }
}

export function passkeyService(deps: { issuer: string; rpName: string; passkeys: PasskeyQueries }) {
  const issuer = new URL(deps.issuer);
  const rpID = issuer.hostname;
  const origin = issuer.origin;

  /** A new challenge, stored: its bytes (the options carry them base64url, as does the client data). */
  async function newChallenge(purpose: ChallengePurpose, boundTo: string): Promise<Uint8Array<ArrayBuffer>> {
    const challenge = randomBytes(CHALLENGE_BYTES);
    await deps.passkeys.storeChallenge(hash(challenge.toString('base64url')), purpose, boundTo, CEREMONY_MS);
    // A string would be taken as UTF-8 text and encoded again; bytes are used as they are.
    return new Uint8Array(challenge);
  }

  async function consume(
    response: { response?: { clientDataJSON?: unknown } },
    purpose: ChallengePurpose,
    boundTo: string,
  ): Promise<string> {
    const challenge = challengeOf(response);
    if (!challenge) throw new PasskeyRejected('malformed');
    if (!(await deps.passkeys.consumeChallenge(hash(challenge), purpose, boundTo)))
      throw new PasskeyRejected('challenge');
    return challenge;
  }

  /** The assertion checks common to sign-in and second factor (see the top of this file). */
  async function assertion(
    purpose: ChallengePurpose,
    interactionUid: string,
    response: AuthenticationResponseJSON,
    options: { admit?: (userId: string) => Promise<number>; expectedUser?: string; userVerification: boolean },
  ): Promise<PasskeySignIn> {
    const challenge = await consume(response, purpose, interactionUid);
    const passkey = await deps.passkeys.findByCredentialId(response.id);
    if (!passkey) throw new PasskeyRejected('unknown_credential');
    if (options.expectedUser !== undefined && passkey.userId !== options.expectedUser)
      throw new PasskeyRejected('unknown_credential');
    const wait = (await options.admit?.(passkey.userId)) ?? 0;
    if (wait) throw new PasskeyRejected('locked', passkey.userId, wait);
    const rejected = (reason: PasskeyFailure) => new PasskeyRejected(reason, passkey.userId);
    // A discoverable credential returns its user handle; an allowCredentials one may not (§5.2.2).
    const handle = response.response.userHandle;
    if (
      (handle !== undefined || options.expectedUser === undefined) &&
      (typeof handle !== 'string' || Buffer.from(handle, 'base64url').toString('utf8') !== passkey.userId)
    )
      throw rejected('verification');
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        credential: {
          id: passkey.credentialId,
          publicKey: passkey.publicKey as Uint8Array<ArrayBuffer>,
          counter: passkey.counter,
          transports: passkey.transports as AuthenticatorTransport[],
        },
        requireUserVerification: options.userVerification,
      });
    } catch {
      // A counter that went backwards is thrown too; either way the assertion is refused.
      throw rejected('verification');
    }
    if (!verified.verified) throw rejected('verification');
    const info = verified.authenticationInfo;
    if (!(await deps.passkeys.recordUse(passkey.id, info.newCounter, info.credentialBackedUp)))
      throw rejected('counter');
    const kind = passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk';
    return { userId: passkey.userId, passkeyId: passkey.id, amr: options.userVerification ? [kind, 'mfa'] : [kind] };
  }

  return {
    rpID,
    origin,
    /**
     * Whether a browser can use passkeys here at all: an RP ID is a domain, never an IP address
     * (WebAuthn §5.1.4.1, "valid domain"), so an issuer such as http://127.0.0.1 offers none.
     */
    offered: isIP(rpID) === 0,

    list: (userId: string) => deps.passkeys.listByUser(userId),

    /** Options for navigator.credentials.create(): a discoverable credential, verified user. */
    async registrationOptions(user: {
      id: string;
      email: string;
      name: string | null;
    }): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const existing = await deps.passkeys.listByUser(user.id);
      return generateRegistrationOptions({
        rpName: deps.rpName,
        rpID,
        userName: user.email,
        userDisplayName: user.name ?? user.email,
        // The user handle is the account id, so that a sign-in's handle names the account.
        userID: new TextEncoder().encode(user.id),
        challenge: await newChallenge('registration', user.id),
        timeout: CEREMONY_MS,
        attestationType: 'none',
        // An authenticator that already holds one of this account's passkeys says so (§5.4.3).
        excludeCredentials: existing.map((p) => ({
          id: p.credentialId,
          transports: p.transports as AuthenticatorTransport[],
        })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      });
    },

    /** Verifies a registration response for the account and stores the passkey under the name. */
    async register(userId: string, response: RegistrationResponseJSON, name: string): Promise<StoredPasskey> {
      const challenge = await consume(response, 'registration', userId);
      let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        verified = await verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
      } catch {
        throw new PasskeyRejected('verification');
      }
      if (!verified.verified) throw new PasskeyRejected('verification');
      const info = verified.registrationInfo;
      const stored = await deps.passkeys.add(userId, {
        credentialId: info.credential.id,
        publicKey: info.credential.publicKey,
        counter: info.credential.counter,
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        transports: (response.response.transports ?? []).filter((t) => typeof t === 'string').slice(0, 8),
        aaguid: info.aaguid,
        name,
      });
      if (!stored) throw new PasskeyRejected('duplicate');
      return stored;
    },

    /** Options for navigator.credentials.get() in a sign-in request: any of the site's passkeys. */
    async authenticationOptions(interactionUid: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
      return generateAuthenticationOptions({
        rpID,
        challenge: await newChallenge('authentication', interactionUid),
        timeout: CEREMONY_MS,
        // Empty: the authenticator offers the user's discoverable credentials for this RP ID.
        allowCredentials: [],
        userVerification: 'required',
      });
    },

    /**
     * Verifies a sign-in assertion made for this interaction; the account it signs in. `admit`
     * is asked once the credential names an account, before its signature is checked: seconds
     * to wait (the account's sign-in limit is spent) or 0.
     */
    authenticate: (
      interactionUid: string,
      response: AuthenticationResponseJSON,
      admit: (userId: string) => Promise<number> = async () => 0,
    ): Promise<PasskeySignIn> =>
      assertion('authentication', interactionUid, response, { admit, userVerification: true }),

    /** Options for a second factor after the password: one of this user's passkeys. */
    async secondFactorOptions(userId: string, interactionUid: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const own = await deps.passkeys.listByUser(userId);
      return generateAuthenticationOptions({
        rpID,
        challenge: await newChallenge('second_factor', interactionUid),
        timeout: CEREMONY_MS,
        allowCredentials: own.map((p) => ({
          id: p.credentialId,
          transports: p.transports as AuthenticatorTransport[],
        })),
        // The password was the first factor: possession of the key is the second; a PIN or
        // biometric on top is welcome but not required.
        userVerification: 'preferred',
      });
    },

    /** Verifies a second-factor assertion: it must be one of `userId`'s passkeys. */
    verifySecondFactor: (userId: string, interactionUid: string, response: AuthenticationResponseJSON) =>
      assertion('second_factor', interactionUid, response, { expectedUser: userId, userVerification: false }),

    rename: (userId: string, id: string, name: string) => deps.passkeys.rename(userId, id, name),
    remove: (userId: string, id: string) => deps.passkeys.remove(userId, id),
  };
}

export type PasskeyService = ReturnType<typeof passkeyService>;
