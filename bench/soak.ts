// `npm run soak`: a few minutes of steady mixed load on Tessera (bench/soak-load.ts), with zero
// 5xx, stable memory and stable latency as the bar. Writes bench/results/soak-<date>.json and the
// soak section of bench/README.md; exits 1 if the bar is not met.
//
// Environment: SOAK_SECONDS (default 180), SOAK_RATE operations per second (default 10),
// SOAK_WINDOW seconds per reported window (default 60), SOAK_DATABASE_URL (a superuser URL;
// default TEST_DATABASE_URL, else an embedded PostgreSQL; the run makes and drops its own
// database).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { applyMigrations, MIGRATIONS_DIR } from '../src/db/migrate.ts';
import { createScratchDatabase, startPostgres } from '../test/setup/postgres.ts';
import { runSoak, type SoakResult } from './soak-load.ts';

const root = new URL('..', import.meta.url).pathname;

/** What a soak must show; also used by the short form in CI (test/hardening/soak.test.ts). */
export function verdict(result: SoakResult, bounds = { rssGrowthMb: 64, heapGrowthMb: 32, p99Factor: 3 }): string[] {
  const failures: string[] = [];
  if (result.totals.status5xx) failures.push(`${result.totals.status5xx} answers were 5xx`);
  if (result.totals.unexpected) failures.push(`${result.totals.unexpected} answers were not what the step expected`);
  const { rssFirstMb, rssLastMb, heapFirstMb, heapLastMb } = result.memory;
  if (rssLastMb - rssFirstMb > bounds.rssGrowthMb)
    failures.push(`RSS grew ${rssLastMb - rssFirstMb} MB (bound ${bounds.rssGrowthMb})`);
  if (heapLastMb - heapFirstMb > bounds.heapGrowthMb)
    failures.push(`heap grew ${(heapLastMb - heapFirstMb).toFixed(1)} MB (bound ${bounds.heapGrowthMb})`);
  const steady = result.windows.slice(1);
  if (steady.length >= 2) {
    const best = Math.min(...steady.map((w) => w.p99ms));
    const worst = Math.max(...steady.map((w) => w.p99ms));
    if (worst > best * bounds.p99Factor)
      failures.push(`p99 latency drifted from ${best} ms to ${worst} ms (bound ×${bounds.p99Factor})`);
  }
  return failures;
}

function renderSection(r: SoakResult, failures: string[]): string {
  const rows = r.windows.map(
    (w) =>
      `| ${w.fromSecond}–${w.fromSecond + r.settings.windowSeconds} s | ${w.perSecond} | ${w.p50ms} | ${w.p99ms} | ${w.status5xx} | ${w.rssMb.min}–${w.rssMb.max} | ${w.heapMb.min}–${w.heapMb.max} |`,
  );
  return [
    `Run ${r.date}: ${r.settings.seconds} s at ${r.settings.rate} operations/s (${Object.entries(r.mix)
      .map(([k, v]) => `${k} ${v}%`)
      .join(
        ', ',
      )}); ${r.totals.requests} requests, ${r.totals.status5xx} of them 5xx, ${r.totals.unexpected} unexpected; ${r.skippedStarts} starts skipped at ${r.settings.maxInFlight} in flight.`,
    '',
    '| window | requests/s | p50 ms | p99 ms | 5xx | RSS MB (min–max) | heap MB (min–max) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    failures.length
      ? `**Not met:** ${failures.join('; ')}.`
      : 'Met: no 5xx, memory and p99 latency flat within the bounds in bench/soak.ts.',
  ].join('\n');
}

async function main() {
  const seconds = Number(process.env.SOAK_SECONDS ?? 180);
  const rate = Number(process.env.SOAK_RATE ?? 10);
  const windowSeconds = Number(process.env.SOAK_WINDOW ?? 60);
  const postgres = await startPostgres(process.env.SOAK_DATABASE_URL ?? process.env.TEST_DATABASE_URL);
  const database = await createScratchDatabase(postgres.adminUrl, 'tessera_soak');
  try {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    await applyMigrations(pool, { migrationsDir: MIGRATIONS_DIR, log: () => {} });
    await pool.end();
    const result = await runSoak({
      databaseUrl: database.url,
      seconds,
      rate,
      windowSeconds,
      log: (l) => console.log(l),
    });
    const failures = verdict(result);
    const file = join(root, 'bench', 'results', `soak-${result.date.slice(0, 10)}.json`);
    writeFileSync(file, `${JSON.stringify({ ...result, verdict: failures.length ? failures : 'met' }, null, 2)}\n`);
    const section = renderSection(result, failures);
    const readme = join(root, 'bench', 'README.md');
    writeFileSync(
      readme,
      readFileSync(readme, 'utf8').replace(
        /<!-- soak:start -->[\s\S]*<!-- soak:end -->/,
        `<!-- soak:start -->\n${section}\n<!-- soak:end -->`,
      ),
    );
    console.log(`\n${section}\n\nwritten to ${file} and bench/README.md`);
    process.exitCode = failures.length ? 1 : 0;
  } finally {
    await database.drop();
    await postgres.stop();
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  await main();
  process.exit(process.exitCode ?? 0);
}
