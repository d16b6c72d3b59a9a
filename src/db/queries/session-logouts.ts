// Who must be told that a session ended (OpenID Connect Back-Channel Logout 1.0 §2.7): every
// statement that deletes Session rows (the account page, `tessera users sessions revoke`, the
// admin API, a password change or reset) also returns, from the rows it deleted, one entry per
// client of the session that registered a backchannel_logout_uri, with the account and the sid
// the client saw in its ID tokens. oidc-provider keeps both in the session: `authorizations` is
// `{ [clientId]: { sid, grantId, ... } }` (lib/models/session.js, sidFor). The caller hands the
// entries to the outbox (oidc/backchannel-logout.ts), as /session/end does for its one session.

export interface SessionLogout {
  clientId: string;
  /** The account (the logout token's `sub`). */
  sub: string;
  /** The session's id for this client (session.sidFor). */
  sid: string | undefined;
}

/**
 * A SQL expression: the json array of logouts for the Session payloads in column `column` of the
 * relation `ended` (a CTE of deleted rows). Only clients with a backchannel_logout_uri: the others
 * would make outbox rows that do nothing (the worker checks the registration again when it sends).
 */
export function logoutsOf(ended: string, column = 'payload'): string {
  return `COALESCE((
    SELECT json_agg(json_build_object('client_id', a.key, 'sub', s.${column}->>'accountId', 'sid', a.value->>'sid'))
    FROM ${ended} s
    CROSS JOIN LATERAL jsonb_each(COALESCE(s.${column}->'authorizations', '{}'::jsonb)) a
    JOIN clients c ON c.id = a.key
    WHERE s.${column} IS NOT NULL AND c.metadata->>'backchannel_logout_uri' IS NOT NULL
  ), '[]'::json)`;
}

/** The rows `logoutsOf` built, as the driver returns the json. */
export function readLogouts(value: unknown): SessionLogout[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v: { client_id?: unknown; sub?: unknown; sid?: unknown }) =>
    typeof v?.client_id === 'string' && typeof v.sub === 'string'
      ? [{ clientId: v.client_id, sub: v.sub, sid: typeof v.sid === 'string' ? v.sid : undefined }]
      : [],
  );
}
