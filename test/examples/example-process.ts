// Runs an example exactly as its README says (`node examples/<name>/<file>.ts` with its
// environment) and watches what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/db/embedded.ts';
import { randomId, tesseraJson } from '../setup/tessera.ts';

const root = new URL('../..', import.meta.url).pathname;

export interface ExampleProcess {
  output(): string;
  /** Resolves with the first match of `pattern` in the output, or fails after `seconds`. */
  waitFor(pattern: RegExp, seconds?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code once the example has ended. */
  exit(): Promise<number | null>;
  stop(): Promise<void>;
}

export function runExample(script: string, env: Record<string, string>): ExampleProcess {
  const child: ChildProcess = spawn(process.execPath, [script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (d: Buffer) => {
    output += d;
    for (const l of listeners) l();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      for (const l of listeners) l();
      resolve(code);
    }),
  );
  return {
    output: () => output,
    waitFor(pattern, seconds = 30) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`${script} did not print ${pattern} within ${seconds} s:\n${output}`)),
          seconds * 1000,
        );
        const check = () => {
          const match = pattern.exec(output);
          if (match) done(undefined, match);
          else if (child.exitCode !== null)
            done(new Error(`${script} exited ${child.exitCode} before printing ${pattern}:\n${output}`));
        };
        function done(err?: Error, match?: RegExpMatchArray) {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve(match!);
        }
        listeners.add(check);
        check();
      });
    },
    exit: () => exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** An orders API for this test file (a fresh audience) and the API example serving it. */
export async function startOrdersApi(issuer: string, extraEnv: Record<string, string> = {}) {
  const audience = `https://${randomId('orders')}.example.test`;
  await tesseraJson([
    'apis',
    'create',
    '--audience',
    audience,
    '--name',
    'Orders',
    '--scope',
    'orders:read orders:write',
  ]);
  const port = await freePort();
  const api = runExample('examples/api/server.ts', {
    ISSUER: issuer,
    AUDIENCE: audience,
    PORT: String(port),
    ...extraEnv,
  });
  await api.waitFor(/orders API listening/);
  return { audience, url: `http://localhost:${port}`, process: api };
}
