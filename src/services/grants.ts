// What users have authorized (grants: refresh-token families): listing a user's and revoking one.
// One implementation for `tessera grants` and the admin API.
import type { AccountSessionQueries } from '../db/queries/account-sessions.ts';
import type { ConsentQueries } from '../db/queries/consents.ts';
import type { OidcPayloadQueries } from '../db/queries/oidc-payloads.ts';
import { NotFound } from '../errors.ts';
import type { SessionsEnded } from '../oidc/backchannel-logout.ts';
import { noAudit, type Audit } from './audit.ts';

export interface GrantView {
  grant_id: string;
  client_id: string;
  scope: string;
  expires_at: string | null;
}

/** A grant as its client's page shows it: who authorized what, and when. */
export interface ClientGrantView {
  grant_id: string;
  user_id: string;
  /** The user's address; null when the user is gone (the grant outlived them). */
  user_email: string | null;
  /** The OpenID scopes (sign-in: openid, profile, email, offline_access…). */
  scope: string;
  /** The API scopes, per API (RFC 8707 resource). */
  apis: { audience: string; scope: string }[];
  granted_at: string | null;
  expires_at: string | null;
}

export interface SessionView {
  session_uid: string;
  /** The clients signed in through the session. */
  client_ids: string[];
  login_at: string | null;
  /** How the user signed in (RFC 8176 values: pwd, otp, hwk, mfa, ...). */
  amr: string[];
  expires_at: string | null;
}

export function grantService(deps: {
  payloads: OidcPayloadQueries;
  sessions: Pick<AccountSessionQueries, 'endAll'>;
  consents: ConsentQueries;
  audit?: Audit;
  actor?: string;
  /** Back-channel logout for the clients of a session an admin ends. */
  sessionsEnded?: SessionsEnded;
}) {
  const audit = deps.audit ?? noAudit;
  const actor = deps.actor ?? 'system';
  return {
    async list(userId: string): Promise<GrantView[]> {
      return (await deps.payloads.listGrants(userId)).map((g) => ({
        grant_id: g.id,
        client_id: String(g.payload.clientId),
        scope: (g.payload.openid as { scope?: string } | undefined)?.scope ?? '',
        expires_at: g.expiresAt?.toISOString() ?? null,
      }));
    },

    /**
     * One page of a client's grants, newest first: `take` rows after the position `before`
     * (the granted_at and grant_id of the previous page's last).
     */
    async listByClient(
      clientId: string,
      take: number,
      before?: { createdAt: Date; id: string },
    ): Promise<ClientGrantView[]> {
      const rows = await deps.payloads.listGrantsByClient(
        clientId,
        take,
        before && { iat: Math.floor(before.createdAt.getTime() / 1000), id: before.id },
      );
      return rows.map((g) => {
        const resources = (g.payload.resources as Record<string, unknown> | undefined) ?? {};
        return {
          grant_id: g.id,
          user_id: String(g.payload.accountId),
          user_email: g.email,
          scope: (g.payload.openid as { scope?: string } | undefined)?.scope ?? '',
          apis: Object.entries(resources)
            .filter(([, scope]) => typeof scope === 'string')
            .map(([audience, scope]) => ({ audience, scope: scope as string })),
          granted_at: typeof g.payload.iat === 'number' ? new Date(g.payload.iat * 1000).toISOString() : null,
          expires_at: g.expiresAt?.toISOString() ?? null,
        };
      });
    },

    /** A user's sign-in sessions (never their ids: those are the session cookies' values). */
    /** The user's sessions, the latest sign-in first. */
    async listSessions(userId: string): Promise<SessionView[]> {
      const sessions = (await deps.payloads.listSessions(userId)).map((s) => ({
        session_uid: s.uid,
        client_ids: Object.keys((s.payload.authorizations as Record<string, unknown> | undefined) ?? {}),
        login_at: typeof s.payload.loginTs === 'number' ? new Date(s.payload.loginTs * 1000).toISOString() : null,
        amr: Array.isArray(s.payload.amr) ? s.payload.amr.map(String) : [],
        expires_at: s.expiresAt?.toISOString() ?? null,
      }));
      return sessions.sort((a, b) => (b.login_at ?? '').localeCompare(a.login_at ?? ''));
    },

    /** Ends a session and the grants it holds: the user signs in again everywhere it served. */
    async endSession(uid: string): Promise<void> {
      const logouts = await deps.payloads.endSession(uid);
      if (!logouts) throw new NotFound(`no session ${uid}`);
      await deps.sessionsEnded?.(logouts);
      await audit.record({ type: 'session.revoked', actor, subject: uid });
    },

    /** Signs a user out everywhere: every session, grant and refresh token ends; the apps are told. */
    async endAllSessions(userId: string): Promise<{ sessions: number; grants: number }> {
      const { logouts, ...ended } = await deps.sessions.endAll(userId);
      await deps.sessionsEnded?.(logouts);
      await audit.record({ type: 'user.sessions_revoked', actor, subject: userId, details: ended });
      return ended;
    },

    /** Its refresh tokens stop working, its access tokens introspect inactive. */
    async revoke(grantId: string, options: { forgetConsent?: boolean } = {}): Promise<void> {
      const grant = await deps.payloads.find('Grant', grantId);
      if (!grant || !(await deps.payloads.revokeGrant(grantId))) throw new NotFound(`no grant ${grantId}`);
      await audit.record({
        type: 'grant.revoked',
        actor,
        subject: grantId,
        details: { client_id: grant.payload.clientId },
      });
      if (options.forgetConsent) {
        await deps.consents.revoke(String(grant.payload.accountId), String(grant.payload.clientId));
        await audit.record({
          type: 'consent.revoked',
          actor,
          subject: String(grant.payload.accountId),
          details: { client_id: grant.payload.clientId },
        });
      }
    },
  };
}

export type GrantService = ReturnType<typeof grantService>;
