// passkeys and webauthn_challenges: users' WebAuthn credentials and the challenges of their
// ceremonies. A challenge is stored as its SHA-256 only and consumed by one DELETE … RETURNING
// whose WHERE clause is the whole check (purpose, what it is bound to, not expired), so of two
// concurrent verifications of one challenge exactly one finds the row. A sign-in's counter moves
// forward in one UPDATE that also checks it, so two concurrent uses of a cloned authenticator
// cannot both pass (WebAuthn L2 §6.1.1, signature counter).
import type { Clock } from '../../clock.ts';
import type { PrismaClient } from '../client.ts';
import { isUserId } from './users.ts';

export type ChallengePurpose = 'registration' | 'authentication' | 'second_factor';

export interface StoredPasskey {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports: string[];
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface NewPasskey {
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports: string[];
  aaguid: string;
  name: string;
}

interface PasskeyRow {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: Uint8Array;
  counter: bigint | number;
  device_type: string;
  backed_up: boolean;
  transports: string[] | null;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}

/** The columns fromRow reads, of the passkeys row `p`. */
const COLUMNS = `p.id::text, p.user_id::text, p.credential_id, p.public_key, p.counter, p.device_type, p.backed_up,
  p.transports, p.name, p.created_at, p.last_used_at`;

function fromRow(row: PasskeyRow): StoredPasskey {
  return {
    id: row.id,
    userId: row.user_id,
    credentialId: row.credential_id,
    publicKey: new Uint8Array(row.public_key),
    counter: Number(row.counter),
    deviceType: row.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
    backedUp: row.backed_up,
    transports: row.transports ?? [],
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export function passkeyQueries(prisma: PrismaClient, now: Clock = Date.now) {
  return {
    async storeChallenge(challengeHash: string, purpose: ChallengePurpose, boundTo: string, ttlMs: number) {
      const at = now();
      await prisma.$executeRawUnsafe(
        `INSERT INTO webauthn_challenges (challenge_hash, purpose, bound_to, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5)`,
        challengeHash,
        purpose,
        boundTo,
        new Date(at + ttlMs),
        new Date(at),
      );
    },

    /** Deletes the challenge if it is live and issued for this purpose and binding; whether it was. */
    async consumeChallenge(challengeHash: string, purpose: ChallengePurpose, boundTo: string): Promise<boolean> {
      const rows = await prisma.$queryRawUnsafe<unknown[]>(
        `DELETE FROM webauthn_challenges
         WHERE challenge_hash = $1 AND purpose = $2 AND bound_to = $3 AND expires_at > $4
         RETURNING 1`,
        challengeHash,
        purpose,
        boundTo,
        new Date(now()),
      );
      return rows.length === 1;
    },

    async listByUser(userId: string): Promise<StoredPasskey[]> {
      if (!isUserId(userId)) return [];
      const rows = await prisma.$queryRawUnsafe<PasskeyRow[]>(
        `SELECT ${COLUMNS} FROM passkeys p WHERE p.user_id = $1::uuid ORDER BY p.created_at, p.id`,
        userId,
      );
      return rows.map(fromRow);
    },

    /** The credential, if it belongs to an enabled user. */
    async findByCredentialId(credentialId: string): Promise<StoredPasskey | undefined> {
      const rows = await prisma.$queryRawUnsafe<PasskeyRow[]>(
        `SELECT ${COLUMNS}
         FROM passkeys p JOIN users u ON u.id = p.user_id
         WHERE p.credential_id = $1 AND NOT u.disabled`,
        credentialId,
      );
      return rows[0] && fromRow(rows[0]);
    },

    /** Stores a new passkey; undefined when the credential is already registered (to anyone). */
    async add(userId: string, passkey: NewPasskey): Promise<StoredPasskey | undefined> {
      const rows = await prisma.$queryRawUnsafe<PasskeyRow[]>(
        `INSERT INTO passkeys AS p (user_id, credential_id, public_key, counter, device_type, backed_up, transports,
           aaguid, name, created_at)
         SELECT u.id, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM users u WHERE u.id = $1::uuid AND NOT u.disabled
         ON CONFLICT (credential_id) DO NOTHING
         RETURNING ${COLUMNS}`,
        userId,
        passkey.credentialId,
        Buffer.from(passkey.publicKey),
        passkey.counter,
        passkey.deviceType,
        passkey.backedUp,
        passkey.transports,
        passkey.aaguid,
        passkey.name,
        new Date(now()),
      );
      return rows[0] && fromRow(rows[0]);
    },

    /**
     * Records a verified sign-in: the new counter and backup state, when. False when the counter
     * did not move forward from what is stored now (a cloned authenticator, or a concurrent use);
     * authenticators that keep no counter report 0 every time (WebAuthn L2 §6.1.1).
     */
    async recordUse(id: string, counter: number, backedUp: boolean): Promise<boolean> {
      const rows = await prisma.$queryRawUnsafe<unknown[]>(
        `UPDATE passkeys SET counter = $2, backed_up = $3, last_used_at = $4
         WHERE id = $1::uuid AND (counter < $2 OR (counter = 0 AND $2 = 0))
         RETURNING 1`,
        id,
        counter,
        backedUp,
        new Date(now()),
      );
      return rows.length === 1;
    },

    async rename(userId: string, id: string, name: string): Promise<boolean> {
      if (!isUserId(userId) || !isUserId(id)) return false;
      const count = await prisma.$executeRawUnsafe(
        `UPDATE passkeys SET name = $3 WHERE id = $2::uuid AND user_id = $1::uuid`,
        userId,
        id,
        name,
      );
      return count === 1;
    },

    /** Deletes the user's passkey; its name, or undefined when the user has no such passkey. */
    async remove(userId: string, id: string): Promise<string | undefined> {
      if (!isUserId(userId) || !isUserId(id)) return undefined;
      const rows = await prisma.$queryRawUnsafe<{ name: string }[]>(
        `DELETE FROM passkeys WHERE id = $2::uuid AND user_id = $1::uuid RETURNING name`,
        userId,
        id,
      );
      return rows[0]?.name;
    },
  };
}

export type PasskeyQueries = ReturnType<typeof passkeyQueries>;
