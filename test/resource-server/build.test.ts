// dist/resource-server is what `tessera/resource-server` resolves to (package.json "exports"):
// plain JavaScript with declarations, because Node does not strip types under node_modules.
// It is built by `npm run build:kit` and committed; this test fails when it is stale.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

describe('the built kit', () => {
  it('dist/resource-server is what `npm run build:kit` makes of src/resource-server', () => {
    const out = mkdtempSync(join(tmpdir(), 'tessera-kit-'));
    try {
      execFileSync(
        process.execPath,
        [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.kit.json', '--outDir', out],
        { cwd: root },
      );
      const committed = join(root, 'dist/resource-server');
      const built = readdirSync(out).sort();
      expect(readdirSync(committed).sort(), 'run `npm run build:kit` and commit dist/').toEqual(built);
      for (const file of built) {
        expect(readFileSync(join(committed, file), 'utf8'), `${file} is stale: run \`npm run build:kit\``).toBe(
          readFileSync(join(out, file), 'utf8'),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it("resolves through the package's own name, as a dependent project imports it", async () => {
    const kit = await import('tessera/resource-server');
    expect(Object.keys(kit).sort()).toEqual([
      'AuthorizationServerUnavailable',
      'InsufficientScope',
      'InvalidDpopProof',
      'InvalidRequest',
      'InvalidToken',
      'InvalidWebhookSignature',
      'MissingToken',
      'QuotaExceeded',
      'ResourceServerError',
      'createResourceServer',
      'memoryReplayCache',
      'requireTokenExpress',
      'requireTokenKoa',
      'toProtectedRequest',
      'verifyWebhook',
    ]);
  });

  it('a project with Tessera in its node_modules imports the kit (JavaScript), where TypeScript would be refused', () => {
    const project = mkdtempSync(join(tmpdir(), 'tessera-consumer-'));
    try {
      // What an installed Tessera holds of the kit: its package.json and dist/; and jose.
      const installed = join(project, 'node_modules/tessera');
      mkdirSync(installed, { recursive: true });
      cpSync(join(root, 'package.json'), join(installed, 'package.json'));
      cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true });
      cpSync(join(root, 'src/resource-server'), join(installed, 'src/resource-server'), { recursive: true });
      symlinkSync(join(root, 'node_modules/jose'), join(project, 'node_modules/jose'));
      const run = (code: string) =>
        execFileSync(process.execPath, ['--input-type=module', '-e', code], {
          cwd: project,
          encoding: 'utf8',
          stdio: 'pipe',
        });
      expect(
        run("const kit = await import('tessera/resource-server'); console.log(typeof kit.createResourceServer)").trim(),
      ).toBe('function');
      // The reason for dist/: Node does not strip types under node_modules.
      expect(() => run("await import('./node_modules/tessera/src/resource-server/index.ts')")).toThrow(
        /ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING/,
      );
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
