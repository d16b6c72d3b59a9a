// The module rules of .dependency-cruiser.cjs (no import cycles; config/ depends on nothing else
// of Tessera's), checked over src/ by dependency-cruiser itself, so that a new cycle fails the
// suite as well as `npm run lint`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);

/** The rule violations in `<dir>/src`, as `rule: from → to` (dependency-cruiser resolves from the cwd). */
async function violations(dir: string): Promise<string[]> {
  const cli = `${root}node_modules/dependency-cruiser/bin/dependency-cruiser.mjs`;
  const args = [cli, 'src', '--config', `${root}.dependency-cruiser.cjs`, '--output-type', 'json'];
  const { stdout } = await run(process.execPath, args, { cwd: dir, maxBuffer: 64 * 1024 * 1024 }).catch((err) => err);
  const result = JSON.parse(stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

describe('module structure', () => {
  it('has no import cycle, and config/ imports nothing else of Tessera', async () => {
    expect(await violations(root)).toEqual([]);
  });

  it('the rules catch a cycle and a config/ import (they are not vacuous)', async () => {
    // A tree of three files: a two-file cycle in oidc/, and a config/ file importing oidc/.
    const found = await violations(`${root}test/unit/fixtures/architecture`);
    expect(found.sort()).toEqual([
      'config-is-a-leaf: src/config/leaky.ts → src/oidc/b.ts',
      'no-circular: src/oidc/a.ts → src/oidc/b.ts',
    ]);
  });
});
