// dist/resource-server is what `tessera/resource-server` resolves to (package.json "exports"):
// plain JavaScript with declarations, because Node does not strip types under node_modules.
// It is built by `npm run build:kit` and committed; this test fails when it is stale.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

describe('the built kit', () => {
  it('dist/resource-server is what `npm run build:kit` makes of src/resource-server', () => {
    const out = mkdtempSync(join(tmpdir(), 'tessera-kit-'));
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.kit.json', '--outDir', out], { cwd: root });
      const committed = join(root, 'dist/resource-server');
      const built = readdirSync(out).sort();
      expect(readdirSync(committed).sort(), 'run `npm run build:kit` and commit dist/').toEqual(built);
      for (const file of built) {
        expect(readFileSync(join(committed, file), 'utf8'), `${file} is stale: run \`npm run build:kit\``).toBe(readFileSync(join(out, file), 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('resolves through the package\'s own name, as a dependent project imports it', async () => {
    const kit = await import('tessera/resource-server');
    expect(Object.keys(kit).sort()).toEqual([
      'AuthorizationServerUnavailable', 'InsufficientScope', 'InvalidDpopProof', 'InvalidRequest', 'InvalidToken', 'MissingToken',
      'ResourceServerError', 'createResourceServer', 'memoryReplayCache', 'requireTokenExpress', 'requireTokenKoa', 'toProtectedRequest',
    ]);
  });
});
