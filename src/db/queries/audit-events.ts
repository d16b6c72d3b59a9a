// audit_events: the security audit trail.
import type { PrismaClient } from '../client.ts';
import type { Prisma } from '../generated/client.ts';

export interface AuditEntry {
  type: string;
  actor: string;
  subject?: string | undefined;
  ip?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

export function auditEventQueries(prisma: PrismaClient) {
  return {
    async add(entry: AuditEntry) {
      await prisma.auditEvent.create({
        data: {
          type: entry.type,
          actor: entry.actor,
          subject: entry.subject ?? null,
          ip: entry.ip ?? null,
          details: (entry.details ?? {}) as Prisma.InputJsonValue,
        },
      });
    },
    /** Newest first; `before` (an event id) continues a page where the last one ended. */
    list(options: { since?: Date; type?: string; actor?: string; subject?: string; before?: bigint; limit: number }) {
      return prisma.auditEvent.findMany({
        where: {
          ...(options.since ? { createdAt: { gte: options.since } } : {}),
          ...(options.type ? { type: options.type } : {}),
          ...(options.actor ? { actor: options.actor } : {}),
          ...(options.subject ? { subject: options.subject } : {}),
          ...(options.before !== undefined ? { id: { lt: options.before } } : {}),
        },
        orderBy: { id: 'desc' },
        take: options.limit,
      });
    },
  };
}

export type AuditEventQueries = ReturnType<typeof auditEventQueries>;
