// src/oidc/upstream.ts holds every assumption Tessera makes about oidc-provider's internals and
// states the versions it was checked against. An oidc-provider outside that range (an upgrade,
// or a lock file that drifted) fails here, so that the seam is re-read before it is trusted.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { CHECKED_AGAINST } from '../../src/oidc/upstream.ts';

/** The version of the oidc-provider that Tessera's own imports resolve to. */
function installedVersion(): string {
  const manifest = createRequire(new URL('../../src/oidc/upstream.ts', import.meta.url)).resolve(
    'oidc-provider/package.json',
  );
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

describe('the oidc-provider seam (src/oidc/upstream.ts)', () => {
  it('was checked against the installed oidc-provider', () => {
    const version = installedVersion();
    expect(semver.validRange(CHECKED_AGAINST), 'CHECKED_AGAINST is a semver range').not.toBeNull();
    expect(
      semver.satisfies(version, CHECKED_AGAINST),
      `oidc-provider ${version} is outside ${CHECKED_AGAINST}: re-read every upstream module upstream.ts names, then widen the range`,
    ).toBe(true);
  });

  it('the range check refuses versions the seam was not checked against (it is not vacuous)', () => {
    expect(semver.satisfies('9.13.3', CHECKED_AGAINST)).toBe(true);
    for (const other of ['9.12.0', '9.14.0', '10.0.0', '9.13.4-beta.1'])
      expect(semver.satisfies(other, CHECKED_AGAINST), other).toBe(false);
  });

  it('package.json pins oidc-provider within the range', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const pinned = pkg.dependencies['oidc-provider']!;
    // Every version the pin admits lies within the checked range.
    expect(semver.subset(pinned, CHECKED_AGAINST), `${pinned} ⊄ ${CHECKED_AGAINST}`).toBe(true);
  });
});
