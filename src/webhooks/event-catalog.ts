// The webhook event catalog: the names subscribers use, one per audit event type (the audit
// trail is the source, services/audit.ts). Most audit types are published under their own name;
// a few under the names of issue 19's catalog, which read better from outside Tessera
// (`user.login.failed` says whose login; `signing_key.rotated` which key). The audit trail keeps
// its own names (`tessera audit --type login.failed` goes on working), and a subscription may
// still name the audit type: it is stored under the catalog's name.
import { AUDIT_EVENT_TYPES, type AuditEventType } from '../services/audit.ts';

/** Audit types published under another name. */
const PUBLISHED_AS: Partial<Record<AuditEventType, string>> = {
  'login.failed': 'user.login.failed',
  'key.rotated': 'signing_key.rotated',
};

/** The name an audit event of `auditType` is delivered under (the body's `type`, Tessera-Event-Type). */
export function webhookEventType(auditType: string): string {
  return PUBLISHED_AS[auditType as AuditEventType] ?? auditType;
}

/** Every event a webhook may subscribe to, by its catalog name. */
export const WEBHOOK_EVENT_TYPES: readonly string[] = AUDIT_EVENT_TYPES.map(webhookEventType);

/** What `--events` accepts: the catalog's names, and the audit names of the renamed ones. */
export const SUBSCRIBABLE_EVENT_TYPES: readonly string[] = [
  ...WEBHOOK_EVENT_TYPES,
  ...Object.keys(PUBLISHED_AS).filter((t) => !WEBHOOK_EVENT_TYPES.includes(t)),
];

/** A subscription's event name as stored: the catalog's; undefined for no such event. */
export function subscribedEventType(name: string): string | undefined {
  if (!SUBSCRIBABLE_EVENT_TYPES.includes(name)) return undefined;
  return webhookEventType(name);
}

/**
 * The names under which a webhook may be subscribed to `auditType`: the catalog's, and the audit
 * type's own (subscriptions stored before the catalog renamed it).
 */
export function subscriptionNames(auditType: string): string[] {
  return [...new Set([webhookEventType(auditType), auditType])];
}
