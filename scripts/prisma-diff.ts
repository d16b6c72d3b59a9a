// The SQL Prisma would write to take one schema.prisma to another, computed offline.
//
// Prisma 7's CLI needs a native schema engine that these machines cannot download. Prisma 6.19
// (installed as `prisma-6`) can run `migrate diff` on its WebAssembly schema engine when its
// config selects `engine: 'js'` with a driver adapter. Diffing two datamodels writes nothing, but
// the CLI connects through the adapter all the same, so it needs a reachable PostgreSQL.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Prisma 6 reads neither Prisma 7's generator options nor a datasource without `url`. */
function forPrisma6(schema: string): string {
  return schema
    .replace(/generator\s+\w+\s*\{[^}]*\}/g, '')
    .replace(/datasource\s+db\s*\{/, 'datasource db {\n  url = env("DATABASE_URL")');
}

/** SQL from `from` (undefined: an empty database) to `to`; '' when they are the same. */
export async function diffSchemas(from: string | undefined, to: string, databaseUrl: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-prisma-diff-'));
  try {
    writeFileSync(join(dir, 'to.prisma'), forPrisma6(to));
    if (from !== undefined) writeFileSync(join(dir, 'from.prisma'), forPrisma6(from));
    writeFileSync(
      join(dir, 'prisma.config.ts'),
      [
        `import { defineConfig } from ${JSON.stringify(join(root, 'node_modules/prisma-6/config.js'))};`,
        `import { PrismaPg } from ${JSON.stringify(join(root, 'node_modules/prisma-adapter-pg-6/dist/index.mjs'))};`,
        'export default defineConfig({',
        "  experimental: { adapter: true }, engine: 'js', schema: 'to.prisma',",
        `  adapter: async () => new PrismaPg({ connectionString: ${JSON.stringify(databaseUrl)} }),`,
        '} as never);',
      ].join('\n'),
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(root, 'node_modules/prisma-6/build/index.js'),
        'migrate',
        'diff',
        ...(from === undefined ? ['--from-empty'] : ['--from-schema-datamodel', 'from.prisma']),
        '--to-schema-datamodel',
        'to.prisma',
        '--script',
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: databaseUrl,
          HOME: process.env.HOME,
          // Point the engines Prisma 6 would otherwise download at a file that exists; the wasm
          // schema engine does the work.
          PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
          PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
          CHECKPOINT_DISABLE: '1',
        },
      },
    );
    // A diff from empty starts with CREATE SCHEMA "public", which every database has already.
    return stdout
      .replace(/^-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n\n/, '')
      .replace(/^-- This is an empty migration\.\s*$/, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
