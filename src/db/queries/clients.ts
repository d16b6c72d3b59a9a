// clients, client_secrets, client_apis and api_servers: the registered OAuth clients.
import type { PrismaClient } from '../client.ts';
import { Prisma } from '../generated/client.ts';

const withRelations = {
  secrets: { select: { id: true, hint: true, createdAt: true, expiresAt: true }, orderBy: { createdAt: 'asc' } },
  apis: { include: { api: { select: { audience: true } } } },
  serves: { include: { api: { select: { audience: true } } } },
  exchanges: { include: { api: { select: { audience: true } } } },
} satisfies Prisma.ClientInclude;

export type ClientRecord = Prisma.ClientGetPayload<{ include: typeof withRelations }>;

export interface ClientWrite {
  name: string;
  grantTypes: string[];
  responseTypes: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  tokenEndpointAuthMethod: string;
  scope: string;
  metadata: Record<string, unknown>;
  apis: { apiId: string; scopes: string[]; isDefault: boolean }[];
  serves: string[];
}

export function clientQueries(prisma: PrismaClient) {
  return {
    /** The row oidc-provider needs to build a client; no secrets. */
    findForProvider(id: string) {
      return prisma.client.findUnique({ where: { id } });
    },

    find(id: string): Promise<ClientRecord | null> {
      return prisma.client.findUnique({ where: { id }, include: withRelations });
    },

    list(): Promise<ClientRecord[]> {
      return prisma.client.findMany({ include: withRelations, orderBy: { createdAt: 'asc' } });
    },

    /** Creates the client with its API grants and, when given, its first secret hash. */
    create(id: string, data: ClientWrite, secret?: { hash: Buffer; hint: string }): Promise<ClientRecord> {
      const { apis, serves, metadata, ...columns } = data;
      return prisma.client.create({
        data: {
          id,
          ...columns,
          metadata: metadata as Prisma.InputJsonValue,
          apis: { create: apis },
          serves: { create: serves.map((apiId) => ({ apiId })) },
          secrets: secret ? { create: { hash: new Uint8Array(secret.hash), hint: secret.hint } } : undefined,
        },
        include: withRelations,
      });
    },

    /** Replaces the client's settings, API grants and served APIs in one transaction. */
    update(id: string, data: ClientWrite): Promise<ClientRecord> {
      const { apis, serves, metadata, ...columns } = data;
      return prisma.$transaction(async (tx) => {
        await tx.clientApi.deleteMany({ where: { clientId: id } });
        await tx.apiServer.deleteMany({ where: { clientId: id } });
        return tx.client.update({
          where: { id },
          data: {
            ...columns,
            metadata: metadata as Prisma.InputJsonValue,
            apis: { create: apis },
            serves: { create: serves.map((apiId) => ({ apiId })) },
          },
          include: withRelations,
        });
      });
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

    /** The client's grant for an API (the scopes it may ask for), if any. */
    findApiGrant(clientId: string, audience: string) {
      return prisma.clientApi.findFirst({
        where: { clientId, api: { audience } },
        include: { api: true },
      });
    },

    /** The API the client gets tokens for when it names none: its default, or its only one. */
    async defaultApiAudience(clientId: string): Promise<string | undefined> {
      const grants = await prisma.clientApi.findMany({
        where: { clientId },
        select: { isDefault: true, api: { select: { audience: true } } },
        take: 2,
        orderBy: { isDefault: 'desc' },
      });
      const [first, second] = grants;
      if (first && (first.isDefault || !second)) return first.api.audience;
      return undefined;
    },

    /** Whether the client acts for (serves) any of these APIs. */
    async servesAny(clientId: string, audiences: string[]): Promise<boolean> {
      const count = await prisma.apiServer.count({ where: { clientId, api: { audience: { in: audiences } } } });
      return count > 0;
    },
  };
}

export type ClientQueries = ReturnType<typeof clientQueries>;
