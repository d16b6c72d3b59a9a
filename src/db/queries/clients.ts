// clients, client_secrets, client_apis and api_servers: the registered OAuth clients.
import type { PrismaClient } from '../client.ts';
import type { Prisma } from '../generated/client.ts';
import { NotFound, PreconditionFailed } from '../../errors.ts';
import { afterPosition, type PagePosition } from './paging.ts';

const withRelations = {
  secrets: { select: { id: true, hint: true, createdAt: true, expiresAt: true }, orderBy: { createdAt: 'asc' } },
  // A stable order, so that a client reads the same twice: the default API first, then by audience.
  apis: {
    include: { api: { select: { audience: true } } },
    orderBy: [{ isDefault: 'desc' }, { api: { audience: 'asc' } }],
  },
  serves: { include: { api: { select: { audience: true } } }, orderBy: { api: { audience: 'asc' } } },
  exchanges: { include: { api: { select: { audience: true } } }, orderBy: { api: { audience: 'asc' } } },
} satisfies Prisma.ClientInclude;

export type ClientRecord = Prisma.ClientGetPayload<{ include: typeof withRelations }>;

// Everything the token, introspection and authorization paths read about one client, in one
// query, for the cache in src/cache/client-catalog.ts.
const snapshotRelations = {
  secrets: { select: { hash: true, expiresAt: true } },
  apis: { include: { api: true }, orderBy: { isDefault: 'desc' } },
  serves: { select: { api: { select: { audience: true } } } },
  // RBAC: the client's roles with their permissions, for client-credentials tokens; cached with
  // the rest, and dropped on the catalog's notifications (roles and permissions notify '*').
  roles: {
    select: {
      role: { select: { name: true, permissions: { select: { scope: true, api: { select: { audience: true } } } } } },
    },
  },
} satisfies Prisma.ClientInclude;

export type ClientSnapshot = Prisma.ClientGetPayload<{ include: typeof snapshotRelations }>;
export type ApiGrant = ClientSnapshot['apis'][number];

export interface ClientWrite {
  name: string;
  grantTypes: string[];
  responseTypes: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  tokenEndpointAuthMethod: string;
  scope: string;
  metadata: Record<string, unknown>;
  /** A user must have confirmed their address before a code is issued. */
  requireVerifiedEmail: boolean;
  /** A user must pass a second factor before a code is issued. */
  requireMfa: boolean;
  /** RBAC: refuse (access_denied, invalid_scope) rather than narrow. */
  rbacStrict: boolean;
  apis: { apiId: string; scopes: string[]; isDefault: boolean }[];
  serves: string[];
}

export function clientQueries(prisma: PrismaClient) {
  return {
    /** Whether a client with this id is registered. */
    async exists(id: string): Promise<boolean> {
      return (await prisma.client.count({ where: { id } })) > 0;
    },

    /** The client with its secret hashes, API grants (default first) and served APIs. */
    findSnapshot(id: string): Promise<ClientSnapshot | null> {
      return prisma.client.findUnique({ where: { id }, include: snapshotRelations });
    },

    find(id: string): Promise<ClientRecord | null> {
      return prisma.client.findUnique({ where: { id }, include: withRelations });
    },

    list(): Promise<ClientRecord[]> {
      return prisma.client.findMany({ include: withRelations, orderBy: { createdAt: 'asc' } });
    },

    /** Up to `limit` clients after `after` in (created_at, id) order: the admin API's pages. */
    page(limit: number, after?: PagePosition, search?: string): Promise<ClientRecord[]> {
      // A search is a case-insensitive part of the id or the name: admins look clients up by
      // either; a full scan is fine at the scale of a client table and an admin's pace.
      const matching = search
        ? {
            OR: [
              { id: { contains: search, mode: 'insensitive' as const } },
              { name: { contains: search, mode: 'insensitive' as const } },
            ],
          }
        : {};
      return prisma.client.findMany({
        include: withRelations,
        where: { AND: [after ? afterPosition(after) : {}, matching] },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: limit,
      });
    },

    // The writes below are flat statements, one after another, and the client is read back
    // after the commit. A nested write (`apis: { create }`) or an `include` inside a transaction
    // makes Prisma 7's query interpreter send several statements at once on the transaction's
    // one connection; @prisma/adapter-pg (7.10) passes them straight to pg.Client.query, which
    // queues them but prints pg 8's DeprecationWarning ("client.query() when the client is
    // already executing a query"), and pg 9 will refuse them.

    /** Creates the client with its API grants and, when given, its first secret hash. */
    async create(id: string, data: ClientWrite, secret?: { hash: Buffer; hint: string }): Promise<ClientRecord> {
      const { apis, serves, metadata, ...columns } = data;
      await prisma.$transaction(async (tx) => {
        await tx.client.create({ data: { id, ...columns, metadata: metadata as Prisma.InputJsonValue } });
        await writeRelations(tx, id, apis, serves);
        if (secret)
          await tx.clientSecret.create({
            data: { clientId: id, hash: new Uint8Array(secret.hash), hint: secret.hint },
          });
      });
      return (await prisma.client.findUnique({ where: { id }, include: withRelations })) as ClientRecord;
    },

    /**
     * Replaces the client's settings, API grants and served APIs in one transaction; with
     * `version`, only if the client's updated_at is still that (else PreconditionFailed, and
     * nothing changed): one conditional UPDATE decides, so of two concurrent updates from the
     * same version exactly one succeeds.
     */
    async update(id: string, data: ClientWrite, version?: Date): Promise<ClientRecord> {
      const { apis, serves, metadata, ...columns } = data;
      await prisma.$transaction(async (tx) => {
        const { count } = await tx.client.updateMany({
          where: { id, ...(version ? { updatedAt: version } : {}) },
          data: { ...columns, metadata: metadata as Prisma.InputJsonValue },
        });
        if (count === 0) throw version ? new PreconditionFailed() : new NotFound(`no client has id ${id}`);
        await tx.clientApi.deleteMany({ where: { clientId: id } });
        await tx.apiServer.deleteMany({ where: { clientId: id } });
        await writeRelations(tx, id, apis, serves);
      });
      return (await prisma.client.findUnique({ where: { id }, include: withRelations })) as ClientRecord;
    },

    async delete(id: string): Promise<boolean> {
      const { count } = await prisma.client.deleteMany({ where: { id } });
      return count === 1;
    },

    /** Hashes of the secrets that are valid now (an expired grace-period secret is not). */
    async activeSecretHashes(clientId: string): Promise<Buffer[]> {
      const rows = await prisma.clientSecret.findMany({
        where: { clientId, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
        select: { hash: true },
      });
      return rows.map((r) => Buffer.from(r.hash));
    },

    /**
     * Adds a new secret; every older secret that has no earlier expiry now expires at
     * `oldExpiresAt` (the rotation's grace period).
     */
    async rotateSecret(clientId: string, secret: { hash: Buffer; hint: string }, oldExpiresAt: Date) {
      await prisma.$transaction([
        prisma.clientSecret.updateMany({
          where: { clientId, OR: [{ expiresAt: null }, { expiresAt: { gt: oldExpiresAt } }] },
          data: { expiresAt: oldExpiresAt },
        }),
        prisma.clientSecret.create({ data: { clientId, hash: new Uint8Array(secret.hash), hint: secret.hint } }),
      ]);
    },
  };
}

export type ClientQueries = ReturnType<typeof clientQueries>;

async function writeRelations(
  tx: Prisma.TransactionClient,
  clientId: string,
  apis: ClientWrite['apis'],
  serves: string[],
): Promise<void> {
  if (apis.length) await tx.clientApi.createMany({ data: apis.map((a) => ({ clientId, ...a })) });
  if (serves.length) await tx.apiServer.createMany({ data: serves.map((apiId) => ({ clientId, apiId })) });
}
