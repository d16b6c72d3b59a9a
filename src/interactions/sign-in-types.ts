// What the sign-in routes (routes.ts) and the passkey sign-in (passkey-login.ts) share.
import type { Provider } from 'oidc-provider';
import type { Limiter } from '../db/queries/rate-limits.ts';

export type LoginAttempt =
  | { outcome: 'success'; ip: string; userId: string }
  | {
      outcome: 'failure' | 'locked';
      ip: string;
      /** The account's id or a keyed hash of the email (login-identifier.ts); undefined: counted, not recorded. */
      subject: string | undefined;
    };

/** The sign-in limits (rate-limit/limits.ts loginLimits), spent by every way of signing in. */
export interface LoginLimits {
  perIp: Limiter;
  perAccount: Limiter;
  lockedRecords: Limiter;
}

/** A sign-in request as oidc-provider describes it (provider.interactionDetails). */
export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;
