// `npm run migration:sql -- <name>`: writes the next migration for a change to
// prisma/schema.prisma, as prisma/migrations/<UTC timestamp>_<name>/migration.sql.
//
// The starting point is the schema as committed (`git show HEAD:prisma/schema.prisma`, or
// `--from <ref>`): on a green main the committed schema is exactly what the migrations build,
// because test/integration/schema-drift.test.ts fails otherwise. So diffing it against the
// working tree's schema gives the migration for the change, with no shadow database.
// A reachable PostgreSQL is needed by the diff tool only (DATABASE_URL or TEST_DATABASE_URL;
// otherwise a throw-away embedded one).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgres } from '../test/setup/postgres.ts';
import { diffSchemas } from './prisma-diff.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string', default: 'HEAD' } },
});
const name = positionals[0];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run migration:sql -- <name_in_snake_case> [--from <git ref>]');
  process.exit(2);
}

const before = execFileSync('git', ['show', `${values.from}:prisma/schema.prisma`], { cwd: root, encoding: 'utf8' });
const after = readFileSync(join(root, 'prisma/schema.prisma'), 'utf8');
const postgres = await startPostgres(process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL);
try {
  const sql = await diffSchemas(before, after, postgres.adminUrl);
  if (!sql.trim()) {
    console.log(`prisma/schema.prisma does not differ from ${values.from}: no migration written`);
  } else {
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const dir = join(root, 'prisma/migrations', `${stamp}_${name}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'migration.sql'), sql);
    console.log(`wrote ${join('prisma/migrations', `${stamp}_${name}`, 'migration.sql')}`);
  }
} finally {
  await postgres.stop();
}
