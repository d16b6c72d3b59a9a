// The audit trail: security events with who, what, from where and when. Recording never fails
// the action it records (a database hiccup there is logged instead); no secret is ever a detail.
import type { AuditEntry, AuditEventQueries } from '../db/queries/audit-events.ts';
import type { Logger } from '../logging/logger.ts';

// Every event type, as a value too: `tessera audit --type` accepts exactly these.
export const AUDIT_EVENT_TYPES = [
  'client.created',
  'client.updated',
  'client.deleted',
  'client.secret_rotated',
  'client.exchange_allowed',
  'client.exchange_disallowed',
  // Written by a migration (20261203220000_public_clients_serve_no_api), not by the code.
  'client.serves_removed',
  // Dynamic client registration (registration/): a client registered itself, an admin approved
  // it, initial access tokens issued and revoked.
  'client.registered',
  'client.approved',
  'dcr.token_created',
  'dcr.token_revoked',
  'api.created',
  'api.updated',
  'api.deleted',
  'role.created',
  'role.updated',
  'role.deleted',
  'role.permission_granted',
  'role.permission_revoked',
  'user.role_assigned',
  'user.role_removed',
  'client.role_assigned',
  'client.role_removed',
  'api_key.created',
  'api_key.rotated',
  'api_key.revoked',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.password_set',
  'user.deleted',
  'user.password_reset_requested',
  'user.password_reset',
  'user.invited',
  'user.invitation_accepted',
  'user.signed_up',
  'user.verification_sent',
  'user.email_verified',
  // The account page (/account) and `tessera users sessions revoke`.
  'user.password_changed',
  'user.password_reset_link_sent',
  'session.ended',
  'user.sessions_revoked',
  // /account/passkeys.
  'user.passkey_added',
  'user.passkey_renamed',
  'user.passkey_removed',
  'login.succeeded',
  'login.failed',
  // The sign-in's per-account failure limit tripped (interactions/routes.ts): once per lockout.
  'user.locked',
  'mfa.enrolled',
  'mfa.verified',
  'mfa.failed',
  'mfa.locked',
  'mfa.reset',
  'mfa.removed',
  'mfa.recovery_codes_regenerated',
  'consent.granted',
  'consent.revoked',
  'grant.revoked',
  'session.revoked',
  'refresh_token.reuse_detected',
  'token.revoked',
  'key.published',
  'key.rotated',
  'key.retired_compromised',
  'key.rewrapped',
  // The admin API (src/admin/): every call, with the caller; and `tessera admin bootstrap`.
  'admin.call',
  'admin.bootstrapped',
  'webhook.created',
  'webhook.deleted',
  'webhook.secret_rotated',
  'webhook.redelivered',
  'organization.created',
  'organization.updated',
  'organization.deleted',
  'organization.member_added',
  'organization.member_removed',
  // A user who joined by their verified email's domain (just-in-time membership).
  'organization.member_joined',
  'organization.role_created',
  'organization.role_updated',
  'organization.role_deleted',
  'organization.role_assigned',
  'organization.role_removed',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface Audit {
  record(entry: AuditEntry & { type: AuditEventType }): Promise<void>;
}

/** `events`: the plain insert, or services/webhooks.ts's, which also enqueues webhook deliveries. */
export function auditTrail(events: Pick<AuditEventQueries, 'add'>, logger: Logger): Audit {
  return {
    async record(entry) {
      try {
        await events.add(entry);
      } catch (err) {
        logger.error({ err, audit_type: entry.type }, 'could not record an audit event');
      }
    },
  };
}

/** For code paths that run without an audit trail (unit tests of pure logic). */
export const noAudit: Audit = { record: async () => {} };
