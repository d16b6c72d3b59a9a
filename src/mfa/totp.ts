// Authenticator apps (TOTP, RFC 6238) without Koa: enrolment (a new secret shown as a QR code and
// as text, stored once a first code confirms it) and verification (a code is accepted once).
//
// Parameters: HMAC-SHA1, 6 digits, 30-second steps: RFC 6238's defaults, and the only ones every
// authenticator app honours (several ignore other values in the otpauth:// URI). 20-byte (160-bit)
// secrets, the length RFC 4226 §4 recommends.
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import type { Clock } from '../clock.ts';
import type { SecondFactorQueries } from '../db/queries/second-factors.ts';
import { seal, unsealWithAny } from '../keys/seal.ts';

const PERIOD = 30;
const DIGITS = 6;
const SECRET_BYTES = 20;
// One step either side of now (RFC 6238 §5.2 suggests at most one step of network delay): a
// code typed as it changes, or on a phone whose clock is up to 30 s off, still works.
const WINDOW = 1;
// How long a secret shown for enrolment may be confirmed: an interaction's lifetime.
const ENROLMENT_TTL_MS = 15 * 60_000;

/** The key-encryption keys: the current one seals, any opens (KEYS_ENCRYPTION_KEY_PREVIOUS). */
export interface SealingKeys {
  current: Buffer;
  all: Buffer[];
}

export interface TotpDeps {
  queries: Pick<SecondFactorQueries, 'totpOf' | 'acceptTotpStep' | 'createTotp'>;
  keys: SealingKeys;
  /** The issuer shown in the authenticator app (the product name). */
  issuer: string;
  now?: Clock;
}

/** A secret offered for enrolment, sealed (with its user and time) so that a form or an interaction can carry it. */
interface Enrolment {
  secret: string;
  userId: string;
  issuedAt: number;
}

export type TotpConfirmation = 'enrolled' | 'wrong_code' | 'expired' | 'already_enrolled';

/** The additional data a stored TOTP secret is sealed with: it opens only in its own row. */
export const totpSecretAad = (userId: string) => `totp:${userId}`;

/** A typed code without the spaces people put in it; undefined unless it is 6 digits. */
export function codeShape(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 32) return undefined;
  const code = input.replace(/[\s-]/g, '');
  return /^\d{6}$/.test(code) ? code : undefined;
}

const totpFor = (secret: string, issuer: string, label: string) =>
  new OTPAuth.TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secret),
  });

export function totpService(deps: TotpDeps) {
  const now = deps.now ?? Date.now;
  const enrolmentAad = (userId: string) => `totp-enrolment:${userId}`;
  const storedAad = totpSecretAad;

  /** The time step a code matches (now ± WINDOW), or undefined. */
  function matchingStep(secret: string, code: string): number | undefined {
    const at = now();
    const delta = totpFor(secret, deps.issuer, 'x').validate({ token: code, timestamp: at, window: WINDOW });
    return delta === null ? undefined : Math.floor(at / 1000 / PERIOD) + delta;
  }

  function opened(sealed: string, userId: string): Enrolment | undefined {
    if (!/^[A-Za-z0-9_-]{40,400}$/.test(sealed)) return undefined;
    let enrolment: Enrolment;
    try {
      enrolment = JSON.parse(
        unsealWithAny(Buffer.from(sealed, 'base64url'), deps.keys.all, enrolmentAad(userId)).toString('utf8'),
      ) as Enrolment;
    } catch {
      return undefined; // tampered, for another user, or sealed under a key no longer configured
    }
    if (enrolment.userId !== userId || now() - enrolment.issuedAt > ENROLMENT_TTL_MS) return undefined;
    return enrolment;
  }

  return {
    /** A new secret for the user to enrol, sealed (the enrolment page carries it). */
    newEnrolment(userId: string): string {
      const enrolment: Enrolment = {
        secret: new OTPAuth.Secret({ size: SECRET_BYTES }).base32,
        userId,
        issuedAt: now(),
      };
      return seal(Buffer.from(JSON.stringify(enrolment)), deps.keys.current, enrolmentAad(userId)).toString(
        'base64url',
      );
    },

    /**
     * What the enrolment page shows: the otpauth:// URI as a QR code (SVG, rendered here: no
     * script, no third party sees the secret) and the secret in groups of four for typing.
     */
    async enrolmentView(sealed: string, userId: string, email: string) {
      const enrolment = opened(sealed, userId);
      if (!enrolment) return undefined;
      const uri = totpFor(enrolment.secret, deps.issuer, email).toString();
      const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return { svg, secret: enrolment.secret.match(/.{1,4}/g)!.join(' ') };
    },

    /** Stores the authenticator if `code` is right for the offered secret; the code's step counts as used. */
    async confirm(userId: string, sealed: string, code: unknown): Promise<TotpConfirmation> {
      const enrolment = opened(sealed, userId);
      if (!enrolment) return 'expired';
      const typed = codeShape(code);
      const step = typed === undefined ? undefined : matchingStep(enrolment.secret, typed);
      if (step === undefined) return 'wrong_code';
      const secretEnc = seal(Buffer.from(enrolment.secret), deps.keys.current, storedAad(userId));
      return (await deps.queries.createTotp(userId, secretEnc, step, new Date(now())))
        ? 'enrolled'
        : 'already_enrolled';
    },

    /** Whether `code` is right now and was not used before (one atomic statement decides the latter). */
    async verify(userId: string, code: unknown): Promise<boolean> {
      const typed = codeShape(code);
      if (!typed) return false;
      const stored = await deps.queries.totpOf(userId);
      if (!stored) return false;
      const secret = unsealWithAny(stored.secretEnc, deps.keys.all, storedAad(userId)).toString('utf8');
      const step = matchingStep(secret, typed);
      if (step === undefined || step <= stored.lastStep) return false;
      return deps.queries.acceptTotpStep(userId, step, new Date(now()));
    },
  };
}

export type TotpService = ReturnType<typeof totpService>;
