// user_totp and recovery_codes: a user's second factors. Every decision that must hold under
// concurrent requests is one statement whose WHERE clause is the whole check: a TOTP code is
// accepted by the UPDATE that moves last_step forward (two requests with one code: one row
// updated), a recovery code by the UPDATE that sets used_at, an enrolment by the INSERT that finds
// no authenticator yet. On the pg pool, as the sign-in's other statements (users.recordSignIn).
import type pg from 'pg';

export interface StoredTotp {
  secretEnc: Buffer;
  /** The time step of the last accepted code. */
  lastStep: number;
}

/** The kinds of second factor a user has. */
export interface FactorsOf {
  /** An authenticator app. */
  totp: boolean;
  /** Unused recovery codes. */
  recoveryCodes: number;
  /** Passkeys (which can be a second factor after a password). */
  passkeys: boolean;
}

export interface FactorsRow {
  totp: boolean;
  codes: number;
  passkeys: boolean;
}

/**
 * The select list that answers FactorsOf for the user id in the parameter `param` ('$1'): in
 * factorsOf, and in the sign-in's own statement (users.recordSignIn), which so spares the second
 * factor step a round trip of its own.
 */
export const factorsOfColumns = (param: string) =>
  `EXISTS (SELECT 1 FROM user_totp WHERE user_id = ${param}::uuid) AS totp,
   (SELECT count(*)::int FROM recovery_codes WHERE user_id = ${param}::uuid AND used_at IS NULL) AS codes,
   EXISTS (SELECT 1 FROM passkeys WHERE user_id = ${param}::uuid) AS passkeys`;

export const factorsFromRow = (row: FactorsRow): FactorsOf => ({
  totp: row.totp,
  recoveryCodes: row.codes,
  passkeys: row.passkeys,
});

export function secondFactorQueries(pool: pg.Pool) {
  return {
    /** The kinds of second factor the user has, in one statement. */
    async factorsOf(userId: string): Promise<FactorsOf> {
      const { rows } = await pool.query<FactorsRow>(`SELECT ${factorsOfColumns('$1')}`, [userId]);
      return factorsFromRow(rows[0]!);
    },

    async totpOf(userId: string): Promise<StoredTotp | undefined> {
      const { rows } = await pool.query<{ secret_enc: Buffer; last_step: string }>(
        'SELECT secret_enc, last_step FROM user_totp WHERE user_id = $1::uuid',
        [userId],
      );
      const row = rows[0];
      return row && { secretEnc: row.secret_enc, lastStep: Number(row.last_step) };
    },

    /**
     * Records `step` as used if it is later than every step used before: true for exactly one of
     * any number of concurrent calls with one step (and for none with an earlier one).
     */
    async acceptTotpStep(userId: string, step: number, at: Date): Promise<boolean> {
      const { rowCount } = await pool.query(
        'UPDATE user_totp SET last_step = $2, last_used_at = $3 WHERE user_id = $1::uuid AND last_step < $2',
        [userId, step, at],
      );
      return rowCount === 1;
    },

    /**
     * Stores a confirmed authenticator with the step of its first code as used; false when the
     * user has one already (or is disabled or gone). One statement: of two concurrent
     * enrolments, one is stored.
     */
    async createTotp(userId: string, secretEnc: Buffer, step: number, at: Date): Promise<boolean> {
      const { rowCount } = await pool.query(
        `INSERT INTO user_totp (user_id, secret_enc, last_step, last_used_at, created_at)
         SELECT u.id, $2, $3, $4, $4 FROM users u WHERE u.id = $1::uuid AND NOT u.disabled
         ON CONFLICT (user_id) DO NOTHING`,
        [userId, secretEnc, step, at],
      );
      return rowCount === 1;
    },

    /** Every sealed TOTP secret, for re-sealing under a new key-encryption key (keys rewrap). */
    async sealedSecrets(): Promise<{ userId: string; secretEnc: Buffer }[]> {
      const { rows } = await pool.query<{ user_id: string; secret_enc: Buffer }>(
        'SELECT user_id::text, secret_enc FROM user_totp',
      );
      return rows.map((r) => ({ userId: r.user_id, secretEnc: r.secret_enc }));
    },

    /** Replaces a sealed secret if it is still `before` (a reset or re-enrolment meanwhile wins). */
    async reseal(userId: string, before: Buffer, after: Buffer): Promise<boolean> {
      const { rowCount } = await pool.query(
        'UPDATE user_totp SET secret_enc = $3 WHERE user_id = $1::uuid AND secret_enc = $2',
        [userId, before, after],
      );
      return rowCount === 1;
    },

    /** Replaces the user's recovery codes (their hashes) with these, in one statement. */
    async replaceRecoveryCodes(userId: string, hashes: string[], at: Date): Promise<void> {
      await pool.query(
        `WITH gone AS (DELETE FROM recovery_codes WHERE user_id = $1::uuid)
         INSERT INTO recovery_codes (user_id, code_hash, created_at) SELECT $1::uuid, h, $3 FROM unnest($2::text[]) AS h`,
        [userId, hashes, at],
      );
    },

    /**
     * Uses the recovery code with this hash: the number of unused codes left, or undefined when
     * no unused code has that hash. One statement: of two concurrent uses of a code, one succeeds.
     */
    async useRecoveryCode(userId: string, hash: string, at: Date): Promise<number | undefined> {
      const { rows } = await pool.query<{ used: number; unused: number }>(
        `WITH used AS (
           UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1::uuid AND code_hash = $2 AND used_at IS NULL
           RETURNING 1
         )
         SELECT (SELECT count(*)::int FROM used) AS used,
           (SELECT count(*)::int FROM recovery_codes WHERE user_id = $1::uuid AND used_at IS NULL) AS unused`,
        [userId, hash, at],
      );
      // The statement's snapshot is from before its own update: the code just used still counts.
      const row = rows[0]!;
      return row.used === 1 ? row.unused - 1 : undefined;
    },

    /** Removes every second factor of the user (an admin's reset); what was removed. */
    async removeAll(userId: string): Promise<{ totp: boolean; recoveryCodes: number }> {
      const { rows } = await pool.query<{ totp: number; codes: number }>(
        `WITH t AS (DELETE FROM user_totp WHERE user_id = $1::uuid RETURNING 1),
           c AS (DELETE FROM recovery_codes WHERE user_id = $1::uuid RETURNING used_at)
         SELECT (SELECT count(*)::int FROM t) AS totp, (SELECT count(*)::int FROM c WHERE used_at IS NULL) AS codes`,
        [userId],
      );
      return { totp: rows[0]!.totp > 0, recoveryCodes: rows[0]!.codes };
    },

    /** The user's second factors for an admin: when the authenticator was added and last used, codes left. */
    async describe(userId: string) {
      const { rows } = await pool.query<{ created_at: Date | null; last_used_at: Date | null; codes: number }>(
        `SELECT t.created_at, t.last_used_at,
           (SELECT count(*)::int FROM recovery_codes WHERE user_id = $1::uuid AND used_at IS NULL) AS codes
         FROM (SELECT 1) one LEFT JOIN user_totp t ON t.user_id = $1::uuid`,
        [userId],
      );
      const row = rows[0]!;
      return {
        totp: row.created_at ? { createdAt: row.created_at, lastUsedAt: row.last_used_at } : undefined,
        recoveryCodes: row.codes,
      };
    },
  };
}

export type SecondFactorQueries = ReturnType<typeof secondFactorQueries>;
