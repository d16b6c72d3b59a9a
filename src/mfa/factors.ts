// The second factors a user can have, as one small interface, so that each kind (an authenticator
// app, recovery codes, and passkeys next) plugs into the same sign-in step: the step asks each kind
// whether the user has it, shows each one's part of the page (views/factors/<name>.eta), and
// posts each one's form to its own route (/interaction/:uid/factor/<name>), where the kind checks
// it. The step itself (limits, audit, the login result with amr/acr) is the same for every kind.
import type { Message } from '../i18n/messages.ts';
import type { RecoveryCodes } from './recovery-codes.ts';
import type { TotpService } from './totp.ts';

export type FactorOutcome =
  | {
      ok: true;
      /** RFC 8176 amr values this factor adds (mfa is added by the step). */
      amr: string[];
      /** Shown before the user continues (e.g. how many recovery codes are left). */
      notice?: Message;
    }
  | { ok: false; error: Message };

export interface FactorContext {
  /** The interaction's uid (a WebAuthn challenge may be bound to it). */
  uid: string;
  ip: string;
}

export interface SecondFactorKind {
  /** The route segment, the form and the partial's name: 'totp', 'recovery' (passkeys: 'passkey'). */
  name: string;
  /** Offered only beside a kind that is not a backup (recovery codes back up an authenticator). */
  backup?: boolean;
  has(userId: string): Promise<boolean>;
  /** Data for the kind's partial on the page (a WebAuthn challenge, say); called per render. */
  prepare?(userId: string, context: FactorContext): Promise<Record<string, unknown>>;
  /** Checks the kind's posted form. */
  verify(userId: string, form: URLSearchParams, context: FactorContext): Promise<FactorOutcome>;
}

export interface SecondFactors {
  kinds: readonly SecondFactorKind[];
  get(name: string): SecondFactorKind | undefined;
  /** The kinds this user has, or none when they have only backups. */
  of(userId: string): Promise<SecondFactorKind[]>;
}

export function secondFactors(kinds: SecondFactorKind[]): SecondFactors {
  const byName = new Map(kinds.map((k) => [k.name, k]));
  return {
    kinds,
    get: (name) => byName.get(name),
    async of(userId) {
      const has = await Promise.all(kinds.map((k) => k.has(userId)));
      const own = kinds.filter((_, i) => has[i]);
      return own.some((k) => !k.backup) ? own : [];
    },
  };
}

const WRONG_CODE: Message = ({ t }) => t('mfa.totp.wrong');

/** An authenticator app (RFC 6238): amr "otp". */
export function totpFactor(totp: TotpService, has: (userId: string) => Promise<boolean>): SecondFactorKind {
  return {
    name: 'totp',
    has,
    async verify(userId, form) {
      return (await totp.verify(userId, form.get('code')))
        ? { ok: true, amr: ['otp'] }
        : { ok: false, error: WRONG_CODE };
    },
  };
}

/**
 * Recovery codes: one-time passwords too, so amr "otp" (RFC 8176 has no value of their own). The
 * notice says how many are left.
 */
export function recoveryCodeFactor(codes: RecoveryCodes, has: (userId: string) => Promise<boolean>): SecondFactorKind {
  return {
    name: 'recovery',
    backup: true,
    has,
    async verify(userId, form) {
      const left = await codes.use(userId, form.get('code'));
      if (left === undefined) return { ok: false, error: ({ t }) => t('mfa.recovery.wrong') };
      return {
        ok: true,
        amr: ['otp'],
        notice: ({ t, tp }) => (left === 0 ? t('mfa.recovery.last') : tp('mfa.recovery.left', left)),
      };
    },
  };
}
