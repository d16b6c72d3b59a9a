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
