// users: the accounts people sign in with.
import type { PrismaClient } from '../client.ts';
import type { Prisma } from '../generated/client.ts';

// users.id is a Postgres uuid: any other string makes the query fail rather than match nothing,
// so callers check the shape first (canonical 8-4-4-4-12 hex, as Tessera generates them).
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether this string can be a user's id; if not, there is no such user. */
export const isUserId = (id: string) => USER_ID.test(id);

export type UserRecord = Prisma.UserGetPayload<object>;
export type UserWrite = Omit<Prisma.UserCreateInput, 'id' | 'consents' | 'createdAt' | 'updatedAt'>;

export function userQueries(prisma: PrismaClient) {
  return {
    findById: (id: string) => prisma.user.findUnique({ where: { id } }),
    findByEmail: (emailNormalized: string) => prisma.user.findUnique({ where: { emailNormalized } }),
    list: () => prisma.user.findMany({ orderBy: { createdAt: 'asc' } }),
    create: (data: UserWrite) => prisma.user.create({ data }),
    update: (id: string, data: Partial<UserWrite>) => prisma.user.update({ where: { id }, data }),
    async delete(id: string): Promise<boolean> {
      return (await prisma.user.deleteMany({ where: { id } })).count === 1;
    },
    async recordLogin(id: string) {
      await prisma.user.update({ where: { id }, data: { lastLoginAt: new Date() } });
    },
  };
}

export type UserQueries = ReturnType<typeof userQueries>;
