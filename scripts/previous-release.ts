// "The previous release": what runs while this release's migrations are applied during a rolling
// upgrade. The newest `v*` tag before HEAD; without tags, the parent of the commit that added the
// newest migration (the code as it was just before this release's schema change). Used by the
// migration lint (scripts/lint-migrations.ts) and the previous-release test
// (test/upgrade/previous-release.test.ts). It needs the git history: a shallow clone has none,
// and this fails loudly rather than pretending there is no previous release.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export interface PreviousRelease {
  commit: string;
  /** How it was chosen, for messages. */
  reason: string;
}

export function previousRelease(repo: string): PreviousRelease {
  if (git(repo, 'rev-parse', '--is-shallow-repository') === 'true')
    throw new Error('the git clone is shallow: the previous release cannot be found (clone with full history)');
  let tag: string | undefined;
  try {
    tag = git(repo, 'describe', '--tags', '--abbrev=0', '--match', 'v*', 'HEAD^');
  } catch {
    tag = undefined; // no tag: fall back to the newest migration's parent
  }
  if (tag) return { commit: git(repo, 'rev-parse', `${tag}^{commit}`), reason: `tag ${tag}` };
  const dir = join(repo, 'prisma', 'migrations');
  const newest = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .at(-1);
  if (!newest) throw new Error('no migrations in prisma/migrations');
  const added = git(
    repo,
    'log',
    // Along the mainline, merges compared with their first parent: a migration that arrived by a
    // merge (or was renamed in one, to sort after main's) is added by that merge, and the previous
    // release is the mainline before it.
    '--first-parent',
    '-m',
    '--diff-filter=A',
    '--format=%H',
    '-1',
    '--',
    `prisma/migrations/${newest}/migration.sql`,
  );
  // Not committed yet (a migration being written): the previous release is the committed code.
  if (!added) return { commit: git(repo, 'rev-parse', 'HEAD'), reason: `HEAD (${newest} is not committed yet)` };
  return { commit: git(repo, 'rev-parse', `${added}^1`), reason: `the commit before ${newest} was added` };
}

/** The migration names a commit ships. */
export function migrationsAt(repo: string, commit: string): Set<string> {
  const listed = git(repo, 'ls-tree', '--name-only', `${commit}:prisma/migrations`);
  return new Set(listed.split('\n').filter((n) => /^\d{14}_/.test(n)));
}
