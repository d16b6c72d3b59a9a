// The previous release, for upgrade tests: this repository as it was just before its newest
// migration was added, extracted from git into a directory of its own, ready to run.
//
// "Previous" is the first-parent parent of the commit that brought the newest directory under
// prisma/migrations into this branch: the last state whose code knows nothing of that migration,
// which is what is still running while an upgrade applies it. The tree is extracted with `git
// archive` (it only reads the repository, so it leaves no worktree entries behind) into
// $TMPDIR/tessera-previous-<commit>, kept for later runs. node_modules is this checkout's,
// linked, when both package-lock.json files are the same; otherwise the previous release gets
// its own `npm ci`. Its Prisma client is generated from its own schema.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from './server-process.ts';

const root = new URL('../..', import.meta.url).pathname;

export interface PreviousRelease {
  /** The commit it was built from. */
  commit: string;
  /** The newest migration, which the previous release does not have. */
  newestMigration: string;
  /** Its checkout, ready to run. */
  dir: string;
  /** Its own migrations directory, for bringing a database to its schema. */
  migrationsDir: string;
  /** Starts its server (`node src/main.ts` in dir) and waits until it serves discovery. */
  start(env: Record<string, string>, issuer: string): Promise<ServerProcess>;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

/** The commit before the newest migration: where the previous release is built from. */
export function previousReleaseCommit(): { commit: string; newestMigration: string } {
  const migrations = readdirSync(join(root, 'prisma/migrations'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const newestMigration = migrations.at(-1)!;
  let added: string;
  try {
    added = git('rev-list', '-1', '--first-parent', 'HEAD', '--', `prisma/migrations/${newestMigration}`);
  } catch (err) {
    throw new Error(`previous release: git could not read the history (${err}); the tests need a full clone`);
  }
  if (!added)
    throw new Error(
      `previous release: no commit in this history adds prisma/migrations/${newestMigration}; ` +
        'the tests need a clone with full history (not shallow, not an export)',
    );
  let commit: string;
  try {
    commit = git('rev-parse', '--verify', `${added}^1`);
  } catch {
    throw new Error(`previous release: the parent of ${added} is missing; the tests need a clone with full history`);
  }
  return { commit, newestMigration };
}

/** Extracts and prepares the previous release once; later calls (and runs) reuse it. */
export async function preparePreviousRelease(): Promise<PreviousRelease> {
  const { commit, newestMigration } = previousReleaseCommit();
  const dir = join(tmpdir(), `tessera-previous-${commit.slice(0, 12)}`);
  if (!existsSync(join(dir, '.prepared'))) {
    // Built beside its final place and renamed, so a run that stops halfway leaves nothing used.
    const building = `${dir}.building-${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const archive = spawnSync('git', ['archive', '--format=tar', commit], { cwd: root, maxBuffer: 1 << 30 });
    if (archive.status !== 0) throw new Error(`previous release: git archive ${commit}: ${archive.stderr}`);
    const untar = spawnSync('tar', ['-x', '-C', building], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`previous release: tar: ${untar.stderr}`);

    const sameLock =
      readFileSync(join(root, 'package-lock.json'), 'utf8') ===
      readFileSync(join(building, 'package-lock.json'), 'utf8');
    if (sameLock) symlinkSync(join(root, 'node_modules'), join(building, 'node_modules'), 'dir');
    else run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], building);
    // Its own Prisma client, from its own schema (src/db/generated is not in git).
    run(process.execPath, ['scripts/prisma-generate.ts'], building);
    writeFileSync(join(building, '.prepared'), `${commit}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(building, dir);
  }
  return {
    commit,
    newestMigration,
    dir,
    migrationsDir: join(dir, 'prisma/migrations'),
    start: (env, issuer) => startServerProcess(env, issuer, dir),
  };
}

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: process.env });
  if (result.status !== 0)
    throw new Error(`previous release: ${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
}
