// Dynamic client registration's admin side (README "Dynamic client registration"): initial
// access tokens for DCR=initial-token, and approving a self-registered client. One
// implementation for `tessera dcr` and the admin API (/admin/v1/dcr/…). An initial access token
// is returned once; only its SHA-256 is stored (db/queries/registrations.ts).
import { createHash, randomBytes } from 'node:crypto';
import type { RegistrationQueries } from '../db/queries/registrations.ts';
import { NotFound } from '../errors.ts';
import type { Audit } from './audit.ts';

// An initial access token lives a week unless told otherwise, and at most a year.
export const DEFAULT_INITIAL_TOKEN_TTL = 7 * 86_400;
export const MAX_INITIAL_TOKEN_TTL = 365 * 86_400;
// Registrations one token allows at most: far more than any real roll-out needs.
export const MAX_INITIAL_TOKEN_USES = 1_000_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface InitialTokenView {
  id: string;
  description: string;
  uses: number;
  max_uses: number;
  expires_at: string;
  revoked_at: string | null;
}

export function dcrService(deps: {
  registrations: Pick<
    RegistrationQueries,
    'createInitialToken' | 'listInitialTokens' | 'revokeInitialToken' | 'approve'
  >;
  audit: Audit;
  actor: string;
  now?: () => number;
}) {
  const { registrations, audit, actor } = deps;
  const now = deps.now ?? Date.now;
  return {
    /** A new initial access token: the token itself is in this answer only. */
    async createToken(input: { maxUses: number; expiresIn: number; description: string }) {
      // 256 random bits: a hash without a key is as good as any (nothing to guess from).
      const token = randomBytes(32).toString('base64url');
      const row = await registrations.createInitialToken({
        tokenHash: createHash('sha256').update(token).digest('base64url'),
        description: input.description,
        maxUses: input.maxUses,
        expiresAt: new Date(now() + input.expiresIn * 1000),
      });
      await audit.record({
        type: 'dcr.token_created',
        actor,
        subject: row.id,
        details: { max_uses: row.maxUses, expires_at: row.expiresAt.toISOString() },
      });
      return { id: row.id, token, max_uses: row.maxUses, expires_at: row.expiresAt.toISOString() };
    },

    /** Every initial access token, never the tokens themselves. */
    async listTokens(): Promise<InitialTokenView[]> {
      return (await registrations.listInitialTokens()).map((t) => ({
        id: t.id,
        description: t.description,
        uses: t.uses,
        max_uses: t.maxUses,
        expires_at: t.expiresAt.toISOString(),
        revoked_at: t.revokedAt?.toISOString() ?? null,
      }));
    },

    async revokeToken(id: string): Promise<void> {
      if (!UUID.test(id) || !(await registrations.revokeInitialToken(id)))
        throw new NotFound(`no live initial access token has id ${id}`);
      await audit.record({ type: 'dcr.token_revoked', actor, subject: id });
    },

    /** Marks a self-registered client reviewed: its consent page stops warning users. */
    async approve(clientId: string): Promise<void> {
      if (!(await registrations.approve(clientId))) throw new NotFound(`no self-registered client has id ${clientId}`);
      await audit.record({ type: 'client.approved', actor, subject: clientId });
    },
  };
}

export type DcrService = ReturnType<typeof dcrService>;
