// A user's second factors as an admin sees them (by kind and age, never a secret), and removing
// them all for a user who lost their authenticator and their recovery codes. One implementation
// for `tessera users mfa` and the admin API (GET/DELETE /admin/v1/users/{user}/mfa).
import type { UserRecord } from '../db/queries/users.ts';
import type { SecondFactorQueries } from '../db/queries/second-factors.ts';
import type { Audit } from './audit.ts';

export type SecondFactorView =
  | { kind: 'totp'; created_at: string; last_used_at: string | null }
  | { kind: 'recovery_codes'; unused: number };

export interface UserMfaView {
  user_id: string;
  email: string;
  factors: SecondFactorView[];
}

export interface UserMfaReset {
  user_id: string;
  email: string;
  /** Whether an authenticator app was removed. */
  totp: boolean;
  /** How many unused recovery codes were removed. */
  recovery_codes: number;
}

export function userMfaService(deps: {
  secondFactors: Pick<SecondFactorQueries, 'describe' | 'removeAll'>;
  findUser: (idOrEmail: string) => Promise<UserRecord>;
  audit: Audit;
  actor: string;
}) {
  return {
    async list(idOrEmail: string): Promise<UserMfaView> {
      const user = await deps.findUser(idOrEmail);
      const { totp, recoveryCodes } = await deps.secondFactors.describe(user.id);
      const factors: SecondFactorView[] = [
        ...(totp
          ? [
              {
                kind: 'totp' as const,
                created_at: totp.createdAt.toISOString(),
                last_used_at: totp.lastUsedAt?.toISOString() ?? null,
              },
            ]
          : []),
        ...(recoveryCodes > 0 ? [{ kind: 'recovery_codes' as const, unused: recoveryCodes }] : []),
      ];
      return { user_id: user.id, email: user.email, factors };
    },

    /** The user signs in with the password again, and enrols anew where a client requires it. */
    async reset(idOrEmail: string): Promise<UserMfaReset> {
      const user = await deps.findUser(idOrEmail);
      const removed = await deps.secondFactors.removeAll(user.id);
      await deps.audit.record({
        type: 'mfa.reset',
        actor: deps.actor,
        subject: user.id,
        details: { totp: removed.totp, recovery_codes: removed.recoveryCodes },
      });
      return { user_id: user.id, email: user.email, totp: removed.totp, recovery_codes: removed.recoveryCodes };
    },
  };
}

export type UserMfaService = ReturnType<typeof userMfaService>;
