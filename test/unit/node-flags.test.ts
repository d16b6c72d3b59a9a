// src/node-flags.ts lists the Node flags the server runs with. The files that start the server
// outside TypeScript spell them out; this holds each of them to the list, and checks that each
// flag is one this Node knows (an unknown flag stops node before it runs anything).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../src/node-flags.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The server's command in each file that starts it, as the words before the entry point. */
const COMMANDS: Record<string, () => string> = {
  'package.json start': () => (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start,
  'Dockerfile CMD': () => /^CMD (\[.*\])$/m.exec(read('Dockerfile'))![1]!,
  'deploy/kubernetes Deployment': () =>
    /^\s*command: (\[.*build\/main\.js.*\])$/m.exec(read('deploy/kubernetes/base/deployment.yaml'))![1]!,
  'scripts/check-image-recipe.sh': () =>
    /exec (node [^"]*build\/main\.js)/.exec(read('scripts/check-image-recipe.sh'))![1]!,
};

/** The words of a command, from a JSON array or a shell line. */
const words = (command: string): string[] =>
  command.startsWith('[') ? (JSON.parse(command) as string[]) : command.split(/\s+/);

/** The flags between `node` and the entry point. */
const flagsOf = (command: string): string[] => {
  const all = words(command);
  return all.slice(all.indexOf('node') + 1).filter((w) => w.startsWith('--'));
};

describe('Node flags (src/node-flags.ts)', () => {
  for (const [where, command] of Object.entries(COMMANDS)) {
    it(`${where} runs the server with exactly them`, () => {
      expect(flagsOf(command())).toEqual(SERVER_NODE_FLAGS);
    });
  }

  it('the comparison sees a missing flag (it is not vacuous)', () => {
    expect(flagsOf('node build/main.js')).not.toEqual(SERVER_NODE_FLAGS);
    expect(flagsOf('["node", "build/main.js"]')).not.toEqual(SERVER_NODE_FLAGS);
  });

  it('the test workers run under them (vitest.config.ts), as the servers they start do', () => {
    for (const flag of SERVER_NODE_FLAGS) expect(process.execArgv).toContain(flag);
  });

  it('this Node accepts each of them', () => {
    for (const flag of SERVER_NODE_FLAGS) {
      const run = spawnSync(process.execPath, [flag, '-e', '0'], { encoding: 'utf8' });
      expect(run.status, `${flag}: ${run.stderr}`).toBe(0);
    }
    expect(spawnSync(process.execPath, ['--no-such-flag-anywhere', '-e', '0']).status).not.toBe(0);
  });
});
