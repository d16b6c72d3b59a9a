// Tessera as its own OS process (`node src/main.ts`), as operators run it: for tests of
// restarts, several replicas, and the zero-configuration start.
import { spawn, type ChildProcess } from 'node:child_process';
import { SERVER_NODE_FLAGS } from '../../src/node-flags.ts';
import { eventually } from './eventually.ts';

const root = new URL('../..', import.meta.url).pathname;

export interface ServerProcess {
  issuer: string;
  pid: number;
  output(): string;
  stop(): Promise<number | null>;
  /** SIGKILL: the process dies at once, as in a crash or an OOM kill, with nothing drained. */
  kill(): Promise<void>;
}

/**
 * Starts `node src/main.ts` with exactly this environment and waits until it serves discovery.
 * `checkout`: another checkout's server (test/setup/previous-release.ts), instead of this one.
 */
export async function startServerProcess(
  env: Record<string, string>,
  issuer: string,
  checkout = root,
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_FLAGS, 'src/main.ts'], {
    cwd: checkout,
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
  // A cold start (migrations, first key) takes a few seconds; 60 s is slack for a loaded machine.
  const ready = () =>
    fetch(`${issuer}/.well-known/openid-configuration`).then(
      (r) => r.ok,
      () => false,
    ); // false: not listening yet
  await eventually(async () => child.exitCode !== null || ready(), { timeoutMs: 60_000, intervalMs: 100 }).catch(() => {
    throw new Error(`tessera did not start: ${output}`);
  });
  if (child.exitCode !== null) throw new Error(`tessera exited: ${output}`);
  return {
    issuer,
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      return child.exitCode;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
