// apis: the resource servers Tessera issues access tokens for.
import type { PrismaClient } from '../client.ts';

export interface ApiWrite {
  audience: string;
  name: string | null;
  scopes: string[];
  accessTokenTtl: number;
  rbac: string;
  tokenClaims: string[];
}

export function apiQueries(prisma: PrismaClient) {
  return {
    findByAudience(audience: string) {
      return prisma.api.findUnique({ where: { audience } });
    },
    findManyByAudience(audiences: string[]) {
      return prisma.api.findMany({ where: { audience: { in: audiences } } });
    },
    /** The longest access-token lifetime of any API, in seconds (0 when there are none). */
    async maxAccessTokenTtl(): Promise<number> {
      const { _max } = await prisma.api.aggregate({ _max: { accessTokenTtl: true } });
      return _max.accessTokenTtl ?? 0;
    },
    list() {
      return prisma.api.findMany({ orderBy: { createdAt: 'asc' } });
    },
    create(data: ApiWrite) {
      return prisma.api.create({ data });
    },
    update(audience: string, data: Partial<ApiWrite>) {
      return prisma.api.update({ where: { audience }, data });
    },
    /** The ids of the clients that may get tokens for, serve, or exchange towards the API. */
    async clientsUsing(audience: string): Promise<string[]> {
      const api = await prisma.api.findUnique({
        where: { audience },
        select: {
          clients: { select: { clientId: true } },
          servers: { select: { clientId: true } },
          exchanges: { select: { clientId: true } },
        },
      });
      const ids = [...(api?.clients ?? []), ...(api?.servers ?? []), ...(api?.exchanges ?? [])].map((r) => r.clientId);
      return [...new Set(ids)].sort();
    },
    /**
     * Deletes the API; its clients' grants to it go with it (ON DELETE CASCADE). With `unlessUsed`
     * the statement itself refuses an API that any client uses, so a client given the API after
     * the caller looked is not silently stripped of it.
     */
    async delete(audience: string, options: { unlessUsed?: boolean } = {}): Promise<boolean> {
      const unused = { clients: { none: {} }, servers: { none: {} }, exchanges: { none: {} } };
      const { count } = await prisma.api.deleteMany({ where: { audience, ...(options.unlessUsed ? unused : {}) } });
      return count === 1;
    },
  };
}

export type ApiQueries = ReturnType<typeof apiQueries>;
