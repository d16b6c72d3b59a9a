// webhooks and webhook_deliveries: the subscriptions and the delivery log. The fan-out of an
// audit event is one transaction: the audit row, a delivery per subscribed webhook of the same
// issuer, and an outbox row (kind 'webhook') per delivery, so that an event that is recorded is
// delivered and one that is not is not. Raw SQL through Prisma for the transaction's inserts.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { PrismaClient } from '../client.ts';
import type { Prisma } from '../generated/client.ts';
import type { AuditEntry } from './audit-events.ts';

export const WEBHOOK_KIND = 'webhook';

export interface WebhookRow {
  id: string;
  issuer: string;
  url: string;
  events: string[];
  description: string | null;
  secretSealed: Uint8Array;
  previousSecretSealed: Uint8Array | null;
  previousUntil: Date | null;
  createdAt: Date;
  secretRotatedAt: Date | null;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** `seal(deliveryId)`: the outbox payload that names the delivery (sealed as every outbox payload). */
export type SealDelivery = (deliveryId: string) => Buffer;

const auditRow = (entry: AuditEntry) => ({
  type: entry.type,
  actor: entry.actor,
  subject: entry.subject ?? null,
  ip: entry.ip ?? null,
  details: (entry.details ?? {}) as Prisma.InputJsonValue,
});

export function webhookQueries(prisma: PrismaClient, now: Clock = Date.now) {
  return {
    create(row: Pick<WebhookRow, 'id' | 'issuer' | 'url' | 'events' | 'description' | 'secretSealed'>) {
      return prisma.webhook.create({
        data: { ...row, secretSealed: Buffer.from(row.secretSealed) as Uint8Array<ArrayBuffer> },
      });
    },
    list(issuer: string) {
      return prisma.webhook.findMany({ where: { issuer }, orderBy: { createdAt: 'asc' } });
    },
    async find(issuer: string, id: string): Promise<WebhookRow | undefined> {
      return (await prisma.webhook.findFirst({ where: { issuer, id } })) ?? undefined;
    },
    async remove(issuer: string, id: string): Promise<boolean> {
      const { count } = await prisma.webhook.deleteMany({ where: { issuer, id } });
      if (count) await prisma.webhookDelivery.deleteMany({ where: { webhookId: id } });
      return count === 1;
    },
    /** The new secret signs from now on; the current one too, until `previousUntil`. */
    async rotateSecret(issuer: string, id: string, secretSealed: Buffer, previousUntil: Date): Promise<boolean> {
      const n = await prisma.$executeRaw`
        UPDATE webhooks SET previous_secret_sealed = secret_sealed, previous_until = ${previousUntil},
          secret_sealed = ${secretSealed}, secret_rotated_at = ${new Date(now())}
        WHERE issuer = ${issuer} AND id = ${id}::uuid`;
      return n === 1;
    },

    /** Records an audit event and enqueues its deliveries, in one transaction. */
    /**
     * `published`: the name the event is delivered under (webhooks/event-catalog.ts), and the names a
     * webhook subscribed to it may have stored.
     */
    async addEvent(
      entry: AuditEntry,
      issuer: string,
      seal: SealDelivery,
      published: { type: string; names: string[] } = { type: entry.type, names: [entry.type] },
    ): Promise<void> {
      // Most events have no subscriber: those are one insert, not a transaction (sign-ins record
      // one each). A webhook created between this look and the insert misses this one event, as
      // one created a moment later would.
      const subscribed = await prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM webhooks WHERE issuer = ${issuer} AND events && ${published.names}::text[]`;
      if (subscribed[0]?.n === 0) {
        await prisma.auditEvent.create({ data: auditRow(entry) });
        return;
      }
      await prisma.$transaction(async (tx) => {
        const event = await tx.auditEvent.create({ data: auditRow(entry) });
        const hooks = await tx.$queryRaw<{ id: string }[]>`
          SELECT id::text FROM webhooks WHERE issuer = ${issuer} AND events && ${published.names}::text[]`;
        if (hooks.length === 0) return;
        const eventId = randomUUID();
        const body = JSON.stringify({
          id: eventId,
          type: published.type,
          created_at: event.createdAt.toISOString(),
          data: {
            actor: entry.actor,
            subject: entry.subject ?? null,
            ip: entry.ip ?? null,
            details: entry.details ?? {},
          },
        });
        const at = new Date(now());
        for (const hook of hooks) {
          const deliveryId = randomUUID();
          await tx.$executeRaw`
            INSERT INTO webhook_deliveries (id, webhook_id, event_id, type, body, created_at)
            VALUES (${deliveryId}::uuid, ${hook.id}::uuid, ${eventId}::uuid, ${published.type}, ${body}, ${at})`;
          await tx.$executeRaw`
            INSERT INTO outbox (issuer, kind, payload, available_at)
            VALUES (${issuer}, ${WEBHOOK_KIND}, ${seal(deliveryId)}, ${at})`;
        }
      });
    },

    /** A delivery and its webhook, for the worker; undefined when the webhook was deleted. */
    async delivery(id: string) {
      const delivery = await prisma.webhookDelivery.findUnique({ where: { id } });
      if (!delivery) return undefined;
      const webhook = await prisma.webhook.findUnique({ where: { id: delivery.webhookId } });
      return webhook ? { delivery, webhook } : undefined;
    },

    /** The outcome of one attempt. */
    async recordAttempt(
      id: string,
      outcome: { status: DeliveryStatus; responseStatus?: number | undefined; error?: string | undefined },
    ): Promise<void> {
      await prisma.webhookDelivery.update({
        where: { id },
        data: {
          status: outcome.status,
          attempts: { increment: 1 },
          responseStatus: outcome.responseStatus ?? null,
          lastError: outcome.error?.slice(0, 1000) ?? null,
          ...(outcome.status === 'delivered' ? { deliveredAt: new Date(now()) } : {}),
        },
      });
    },

    async listDeliveries(options: { issuer: string; webhookId?: string; status?: DeliveryStatus; limit: number }) {
      // Only this issuer's webhooks' deliveries.
      const hooks = await prisma.webhook.findMany({ where: { issuer: options.issuer }, select: { id: true } });
      const ids = hooks.map((h) => h.id).filter((id) => !options.webhookId || id === options.webhookId);
      return prisma.webhookDelivery.findMany({
        where: { webhookId: { in: ids }, ...(options.status ? { status: options.status } : {}) },
        orderBy: { createdAt: 'desc' },
        take: options.limit,
      });
    },

    /** Sends a delivery again (the same event id), as a new outbox row; false when unknown. */
    async redeliver(issuer: string, id: string, seal: SealDelivery): Promise<boolean> {
      return prisma.$transaction(async (tx) => {
        const n = await tx.$executeRaw`
          UPDATE webhook_deliveries d SET status = 'pending' FROM webhooks w
          WHERE d.id = ${id}::uuid AND w.id = d.webhook_id AND w.issuer = ${issuer}`;
        if (n !== 1) return false;
        await tx.$executeRaw`
          INSERT INTO outbox (issuer, kind, payload, available_at)
          VALUES (${issuer}, ${WEBHOOK_KIND}, ${seal(id)}, ${new Date(now())})`;
        return true;
      });
    },
  };
}

export type WebhookQueries = ReturnType<typeof webhookQueries>;
