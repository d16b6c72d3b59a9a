// The previous release, built from git for the upgrade test (test/upgrade/previous-release.test.ts)
// and reusable by the fleet test: its tree (`git archive`, so the repository's worktrees are left
// alone) in a temporary directory, with node_modules and the Prisma client it needs.
//
// node_modules: when every package the previous release's package-lock.json lists is in this
// release's lock at the same version (the usual case: a release adds packages or bumps a few),
// this checkout's node_modules serves it through a symlink — seconds, no network. Otherwise
// `npm ci` installs its own (minutes, and the registry must be reachable). CI runs on a clean
// clone with full history; a shallow clone has no previous release and the test fails, loudly.
import { execFile as execFileCallback, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { previousRelease } from '../../scripts/previous-release.ts';
import { SERVER_NODE_FLAGS } from '../../src/node-flags.ts';
import { eventually } from './eventually.ts';

const execFile = promisify(execFileCallback);
const repo = new URL('../..', import.meta.url).pathname;

export interface PreviousReleaseTree {
  dir: string;
  commit: string;
  reason: string;
  /** How node_modules was provided. */
  install: 'reused' | 'npm ci';
  remove(): void;
}

type Lock = { packages: Record<string, { version?: string }> };

/** Whether this checkout's node_modules has every package of `old` at the same version. */
function lockCovers(current: Lock, old: Lock): boolean {
  return Object.entries(old.packages).every(
    ([path, pkg]) => path === '' || current.packages[path]?.version === pkg.version,
  );
}

export function buildPreviousRelease(): PreviousReleaseTree {
  const { commit, reason } = previousRelease(repo);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-previous-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync('sh', ['-c', `git archive --format=tar ${commit} | tar -x -C '${dir}'`], { cwd: repo });
    const oldLock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as Lock;
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as Lock;
    let install: PreviousReleaseTree['install'] = 'reused';
    if (lockCovers(lock, oldLock)) {
      symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
      // The Prisma client is generated from the previous release's own schema.
      execFileSync(process.execPath, ['scripts/prisma-generate.ts'], { cwd: dir, stdio: 'pipe' });
    } else {
      install = 'npm ci';
      execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, stdio: 'pipe' });
    }
    return { dir, commit, reason, install, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

export interface ReleaseProcess {
  issuer: string;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node src/main.ts` of a release tree and waits until it serves discovery. */
export async function startRelease(dir: string, env: Record<string, string>, issuer: string): Promise<ReleaseProcess> {
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_FLAGS, 'src/main.ts'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const ready = () =>
    fetch(`${issuer}/.well-known/openid-configuration`).then(
      (r) => r.ok,
      () => false,
    );
  await eventually(async () => child.exitCode !== null || ready(), { timeoutMs: 60_000, intervalMs: 100 }).catch(() => {
    throw new Error(`the previous release did not start: ${output}`);
  });
  if (child.exitCode !== null) throw new Error(`the previous release exited: ${output}`);
  return {
    issuer,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Runs a release's CLI (`node src/cli/main.ts --json ...`) and parses its output. Asynchronous:
 * a test's event loop must keep running (an HTTP client blocked for seconds reuses sockets the
 * server has closed meanwhile).
 */
export async function releaseCli<T>(dir: string, env: Record<string, string>, args: string[], input = ''): Promise<T> {
  const child = execFile(process.execPath, ['src/cli/main.ts', '--json', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
  });
  child.child.stdin?.end(input);
  const { stdout } = await child.catch((err: { stderr?: string }) => {
    throw new Error(`tessera ${args.join(' ')} (previous release): ${err.stderr ?? err}`);
  });
  return JSON.parse(stdout) as T;
}
