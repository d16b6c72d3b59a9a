// The expand/contract lint (scripts/lint-migrations.ts): a migration that removes or reshapes what
// the previous release reads is refused unless it is the marked contract step of a shipped expand.
import { describe, expect, it } from 'vitest';
import { lintMigration, lintMigrations, readMigrationSources } from '../../scripts/lint-migrations.ts';
import { MIGRATIONS_DIR } from '../../src/db/migrate.ts';

const EXPAND = '20270101000000_add_display_name';
const lint = (sql: string, released?: string[]) =>
  lintMigration(
    { name: '20270201000000_fixture', sql },
    { earlier: ['20261122000000_init', EXPAND], released: released ? new Set(released) : undefined },
  );

describe('expand/contract migration lint', () => {
  it('passes every migration this repository ships (none is grandfathered)', () => {
    const result = lintMigrations(readMigrationSources(MIGRATIONS_DIR));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it.each([
    [
      'a new table with its index',
      'CREATE TABLE "things" ("id" TEXT NOT NULL, "n" INT NOT NULL);\nCREATE INDEX "things_n_idx" ON "things"("n");',
    ],
    ['a nullable column', 'ALTER TABLE "users" ADD COLUMN "display_name" TEXT;'],
    ['a NOT NULL column with a default', `ALTER TABLE "users" ADD COLUMN "locale" TEXT NOT NULL DEFAULT 'en';`],
    ['an index built concurrently', 'CREATE INDEX CONCURRENTLY "users_locale_idx" ON "users"("locale");'],
    [
      'dropping a default or NOT NULL',
      'ALTER TABLE "users" ALTER COLUMN "locale" DROP DEFAULT, ALTER COLUMN "x" DROP NOT NULL;',
    ],
    [
      'a DROP inside a function body or comment',
      "-- DROP TABLE users;\nCREATE FUNCTION f() RETURNS void AS $$ BEGIN EXECUTE 'DROP TABLE x'; END $$ LANGUAGE plpgsql;",
    ],
    [
      'reshaping a table created in the same migration',
      'CREATE TABLE "t" ("a" INT);\nALTER TABLE "t" RENAME COLUMN "a" TO "b";\nALTER TABLE "t" ALTER COLUMN "b" SET NOT NULL;',
    ],
  ])('passes %s', (_what, sql) => {
    expect(lint(sql)).toEqual({ errors: [], warnings: [] });
  });

  it.each([
    ['DROP TABLE', 'DROP TABLE "consents";', 'drops a table'],
    ['DROP COLUMN', 'ALTER TABLE "users" DROP COLUMN "email";', 'drops a column (table users)'],
    ['DROP without COLUMN', 'ALTER TABLE users DROP email;', 'drops a column (table users)'],
    ['DROP CONSTRAINT', 'ALTER TABLE "users" DROP CONSTRAINT "users_pkey";', 'drops a constraint (table users)'],
    ['RENAME COLUMN', 'ALTER TABLE "users" RENAME COLUMN "email" TO "mail";', 'renames (table users)'],
    ['RENAME TO', 'ALTER TABLE "users" RENAME TO "people";', 'renames (table users)'],
    ['a type change', 'ALTER TABLE "users" ALTER COLUMN "email" TYPE VARCHAR(64);', "changes a column's type"],
    [
      'SET NOT NULL',
      'ALTER TABLE "users" ALTER COLUMN "display_name" SET NOT NULL;',
      'makes an existing column NOT NULL',
    ],
    [
      'NOT NULL without default',
      'ALTER TABLE "users" ADD COLUMN "tenant" TEXT NOT NULL;',
      'adds a NOT NULL column without a default',
    ],
    ['an enum value renamed', `ALTER TYPE "kind" RENAME VALUE 'a' TO 'b';`, 'renames'],
  ])('refuses %s', (_what, sql, message) => {
    const { errors } = lint(sql);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`20270201000000_fixture ${message}`);
    expect(errors[0]).toContain('the previous release may still use it');
  });

  it('warns about an index built without CONCURRENTLY on a table in use', () => {
    expect(lint('CREATE INDEX "users_x_idx" ON "users"("x");')).toEqual({
      errors: [],
      warnings: [
        'builds an index on users without CONCURRENTLY: writes to it wait until the index is built: CREATE INDEX "users_x_idx" ON "users"("x")',
      ],
    });
  });

  it('allows the contract step of an expand the previous release shipped, and nothing less', () => {
    const contract = (expand: string) => `-- tessera:contract ${expand}\nALTER TABLE "users" DROP COLUMN "name";`;
    expect(lint(contract(EXPAND), ['20261122000000_init', EXPAND])).toEqual({ errors: [], warnings: [] });
    // Without the release history, an earlier expand suffices.
    expect(lint(contract(EXPAND)).errors).toEqual([]);
    expect(lint(contract(EXPAND), ['20261122000000_init']).errors).toEqual([
      `20270201000000_fixture is marked as the contract of ${EXPAND}, which the previous release did not ship: the contract waits a release`,
    ]);
    expect(lint(contract('20990101000000_nope')).errors).toEqual([
      '20270201000000_fixture is marked as the contract of 20990101000000_nope, which is not an earlier migration',
    ]);
  });
});
