// apis: the resource servers Tessera issues access tokens for.
import type { PrismaClient } from '../client.ts';

export interface ApiWrite {
  audience: string;
  name: string | null;
  scopes: string[];
  accessTokenTtl: number;
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
    async delete(audience: string): Promise<boolean> {
      const { count } = await prisma.api.deleteMany({ where: { audience } });
      return count === 1;
    },
  };
}

export type ApiQueries = ReturnType<typeof apiQueries>;
