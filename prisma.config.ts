// Prisma CLI configuration. Tessera applies migrations itself (src/db/migrate.ts), so the CLI is
// used only for `prisma generate`; the datasource URL is read here because the CLI requires one.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/tessera' },
});
