// The audit trail as admins read it, newest first and filtered: the admin API pages through it
// (GET /admin/v1/audit-events), `tessera audit` lists it, in both of the CLI's modes.
import type { AuditEventQueries } from '../db/queries/audit-events.ts';

export interface AuditEventView {
  /** The event's sequence number (a bigint, as a string); a page ends before the smallest. */
  id: string;
  time: string;
  type: string;
  actor: string;
  subject: string | null;
  ip: string | null;
  details: unknown;
}

export interface AuditFilter {
  since?: Date;
  type?: string;
  actor?: string;
  subject?: string;
}

type AuditRow = Awaited<ReturnType<AuditEventQueries['list']>>[number];

const describeEvent = (e: AuditRow): AuditEventView => ({
  id: String(e.id),
  time: e.createdAt.toISOString(),
  type: e.type,
  actor: e.actor,
  subject: e.subject,
  ip: e.ip,
  details: e.details,
});

export function auditEventService(events: Pick<AuditEventQueries, 'list'>) {
  return {
    /** At most `limit` events older than the event `before`, and whether more follow. */
    async page(filter: AuditFilter & { before?: bigint; limit: number }) {
      const rows = await events.list({ ...filter, limit: filter.limit + 1 });
      return { items: rows.slice(0, filter.limit).map(describeEvent), more: rows.length > filter.limit };
    },
    /** The newest `limit` events. */
    async list(filter: AuditFilter & { limit: number }): Promise<AuditEventView[]> {
      return (await events.list(filter)).map(describeEvent);
    },
  };
}

export type AuditEventService = ReturnType<typeof auditEventService>;
