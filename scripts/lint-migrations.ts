// The expand/contract rule for migrations, checked: during a rolling upgrade the previous release
// keeps running on the database this release migrates, so a migration may only add (new tables,
// nullable or defaulted columns, indexes). Removing or reshaping what the previous release reads
// — dropping or renaming a table, column or constraint, changing a column's type, making a column
// NOT NULL — waits for a later release, as the contract step of an earlier expand, marked in the
// migration with
//
//   -- tessera:contract <expand-migration-name>
//
// naming a migration that the previous release already shipped (so that the release now running
// no longer reads what the contract removes). Run by `npm run lint` (this file as a script) and
// by test/unit/migration-lint.test.ts.
//
// "The previous release" is what test/upgrade/previous-release.test.ts runs: the newest `v*` tag,
// or without one the parent of the commit that added the newest migration
// (scripts/previous-release.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrationsAt, previousRelease } from './previous-release.ts';

export interface MigrationSource {
  name: string;
  sql: string;
}

export interface LintResult {
  /** Refuse the migration: it breaks the previous release. */
  errors: string[];
  /** Allowed, but worth a look (long locks on tables in use). */
  warnings: string[];
}

const CONTRACT_MARKER = /^--\s*tessera:contract\s+(\S+)\s*$/m;

/** The SQL without comments, string literals and dollar-quoted bodies, split into statements. */
function statements(sql: string): string[] {
  const bare = sql
    .replace(/\$(\w*)\$[\s\S]*?\$\1\$/g, "''") // function bodies, DO blocks
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ');
  return bare
    .split(';')
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

const ident = String.raw`(?:"([^"]+)"|([A-Za-z_][\w$]*))`;
const name = (m: RegExpExecArray, i: number) => (m[i] ?? m[i + 1])!;

/** The actions of an ALTER TABLE, split at top-level commas. */
function actions(rest: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of rest) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/**
 * Lints one migration. `earlier` are the migrations before it; `released`, when known, the names
 * of the migrations the previous release shipped (a contract must follow an expand in it).
 */
export function lintMigration(
  migration: MigrationSource,
  options: { earlier: string[]; released?: ReadonlySet<string> | undefined },
): LintResult {
  const breaking: string[] = [];
  const warnings: string[] = [];
  const all = statements(migration.sql);
  // Tables this migration creates: nothing reads them yet, so anything goes on them.
  const created = new Set<string>();
  for (const s of all) {
    const m = new RegExp(`^CREATE (?:UNLOGGED )?TABLE (?:IF NOT EXISTS )?${ident}`, 'i').exec(s);
    if (m) created.add(name(m, 1));
  }

  const alterTable = new RegExp(`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?${ident} (.*)$`, 'i');
  const createIndex = new RegExp(`^CREATE (?:UNIQUE )?INDEX (CONCURRENTLY )?.*? ON (?:ONLY )?${ident}`, 'i');
  for (const s of all) {
    const drop = /^DROP (TABLE|VIEW|MATERIALIZED VIEW|TYPE|SCHEMA|SEQUENCE)\b/i.exec(s);
    const alter = alterTable.exec(s);
    const index = createIndex.exec(s);
    if (drop) {
      breaking.push(`drops a ${drop[1]!.toLowerCase()}: ${s}`);
    } else if (/^TRUNCATE\b/i.test(s)) {
      breaking.push(`truncates a table: ${s}`);
    } else if (/^ALTER (TYPE|INDEX|SEQUENCE|VIEW|MATERIALIZED VIEW)\b.* RENAME\b/i.test(s)) {
      breaking.push(`renames: ${s}`);
    } else if (/^ALTER TYPE\b.* DROP\b/i.test(s)) {
      breaking.push(`removes from a type: ${s}`);
    } else if (alter) {
      const table = name(alter, 1);
      if (created.has(table)) continue;
      for (const action of actions(alter[3]!)) {
        const a = action.toUpperCase();
        if (/^RENAME\b/.test(a)) breaking.push(`renames (table ${table}): ${action}`);
        else if (/^DROP CONSTRAINT\b/.test(a)) breaking.push(`drops a constraint (table ${table}): ${action}`);
        else if (
          /^DROP (COLUMN\b|(?!CONSTRAINT\b))/.test(a) &&
          !/^DROP (DEFAULT|NOT NULL|EXPRESSION|IDENTITY)\b/.test(a)
        )
          breaking.push(`drops a column (table ${table}): ${action}`);
        else if (/^ALTER (COLUMN )?\S+ (SET DATA )?TYPE\b/.test(a))
          breaking.push(`changes a column's type (table ${table}): ${action}`);
        else if (/^ALTER (COLUMN )?\S+ SET NOT NULL\b/.test(a))
          breaking.push(`makes an existing column NOT NULL (table ${table}): ${action}`);
        else if (/^ADD (COLUMN )?/.test(a) && !/^ADD (CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK|EXCLUDE)\b/.test(a)) {
          // The previous release's INSERTs do not name the new column.
          if (/\bNOT NULL\b/.test(a) && !/\bDEFAULT\b/.test(a))
            breaking.push(`adds a NOT NULL column without a default (table ${table}): ${action}`);
        } else if (/^ADD\b.*\b(CHECK|FOREIGN KEY|REFERENCES)\b/.test(a) && !/\bNOT VALID\b/.test(a))
          warnings.push(
            `validates a new constraint on every row under a lock (table ${table}); add it NOT VALID, VALIDATE later: ${action}`,
          );
      }
    } else if (index) {
      const table = name(index, 2);
      if (!index[1] && !created.has(table))
        warnings.push(
          `builds an index on ${table} without CONCURRENTLY: writes to it wait until the index is built: ${s}`,
        );
    }
  }

  const marker = CONTRACT_MARKER.exec(migration.sql);
  if (!breaking.length) return { errors: [], warnings };
  if (!marker) {
    return {
      errors: breaking.map(
        (b) =>
          `${migration.name} ${b} — the previous release may still use it (expand/contract: remove it in a later release, marked "-- tessera:contract <expand-migration>")`,
      ),
      warnings,
    };
  }
  const expand = marker[1]!;
  if (!options.earlier.includes(expand))
    return {
      errors: [`${migration.name} is marked as the contract of ${expand}, which is not an earlier migration`],
      warnings,
    };
  if (options.released && !options.released.has(expand))
    return {
      errors: [
        `${migration.name} is marked as the contract of ${expand}, which the previous release did not ship: the contract waits a release`,
      ],
      warnings,
    };
  return { errors: [], warnings };
}

/** Lints a migrations directory in order. */
export function lintMigrations(
  migrations: MigrationSource[],
  options: { released?: ReadonlySet<string> | undefined } = {},
): LintResult {
  const result: LintResult = { errors: [], warnings: [] };
  const sorted = [...migrations].sort((a, b) => a.name.localeCompare(b.name));
  sorted.forEach((migration, i) => {
    const r = lintMigration(migration, { earlier: sorted.slice(0, i).map((m) => m.name), released: options.released });
    result.errors.push(...r.errors);
    result.warnings.push(...r.warnings.map((w) => `${migration.name}: ${w}`));
  });
  return result;
}

export function readMigrationSources(dir: string): MigrationSource[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ name: e.name, sql: readFileSync(join(dir, e.name, 'migration.sql'), 'utf8') }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../prisma/migrations', import.meta.url));
  // The previous release's migrations, where the git history is at hand (not in an image build).
  let released: Set<string> | undefined;
  try {
    const repo = fileURLToPath(new URL('..', import.meta.url));
    released = migrationsAt(repo, previousRelease(repo).commit);
  } catch {
    released = undefined;
  }
  const { errors, warnings } = lintMigrations(readMigrationSources(dir), { released });
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  for (const e of errors) process.stderr.write(`error: ${e}\n`);
  if (errors.length) process.exit(1);
}
