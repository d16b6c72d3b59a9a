// `npm run bench`: Tessera on a real PostgreSQL beside the bare oidc-provider library (in-memory,
// same token format), under the same load, with the machine's raw RS256 signing rate as the
// physical limit. Writes bench/results/<date>.json and the table in bench/README.md.
//
// Environment: BENCH_DATABASE_URL (a superuser URL; default: TEST_DATABASE_URL, else an embedded
// PostgreSQL), BENCH_SECONDS per load (default 5), BENCH_CONCURRENCY (default "1,16,64").
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/db/embedded.ts';
import { createScratchDatabase, startPostgres } from '../test/setup/postgres.ts';
import { measureSignRate } from './sign-rate.ts';
import { runWrk, type Load, type LoadResult } from './wrk.ts';

const root = new URL('..', import.meta.url).pathname;
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const AUDIENCE = 'https://api.bench.test';

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  readyMs: number;
  peakRssMb: number;
}

function ensureWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk --version exits 1 but prints; only a missing binary throws ENOENT.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
    if (process.getuid?.() !== 0) throw new Error('the benchmark needs wrk: apt-get install wrk');
    console.log('installing wrk from Debian…');
    execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
  }
}

async function database(): Promise<{ url: string; drop(): Promise<void> }> {
  const postgres = await startPostgres(process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL);
  const database = await createScratchDatabase(postgres.adminUrl, 'tessera_bench');
  return {
    url: database.url,
    async drop() {
      await database.drop();
      await postgres.stop();
    },
  };
}

async function startProcess(name: string, args: string[], env: Record<string, string>, readyUrl: string): Promise<Server> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
    try {
      if ((await fetch(readyUrl)).ok) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { name, url: new URL(readyUrl).origin, child, readyMs: Math.round(performance.now() - started), peakRssMb: 0 };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

async function load(server: Server, l: Load, c: number): Promise<LoadResult> {
  const sampler = setInterval(() => { server.peakRssMb = Math.max(server.peakRssMb, rssMb(server.child.pid!)); }, 250);
  try {
    return await runWrk(l, c, seconds);
  } finally {
    clearInterval(sampler);
  }
}

const form = (auth: string, body: string): Omit<Load, 'url'> => ({
  method: 'POST', body, headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
});

async function token(url: string, auth: string, resource?: string): Promise<string> {
  const res = await fetch(`${url}/token`, { method: 'POST', ...form(auth, `grant_type=client_credentials&scope=a:read${resource ? `&resource=${encodeURIComponent(resource)}` : ''}`) } as RequestInit);
  const body = await res.json() as { access_token?: string };
  if (!body.access_token) throw new Error(`no token from ${url}: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function scenarios(server: Server, auth: string, introspected: string, revoked: string) {
  const loads: Record<string, Load> = {
    'client credentials': { url: `${server.url}/token`, ...form(auth, 'grant_type=client_credentials&scope=a:read') },
    introspection: { url: `${server.url}/token/introspection`, ...form(auth, `token=${introspected}`) },
    revocation: { url: `${server.url}/token/revocation`, ...form(auth, `token=${revoked}`) },
    jwks: { url: `${server.url}/jwks` },
    discovery: { url: `${server.url}/.well-known/openid-configuration` },
  };
  const results: Record<string, Record<number, LoadResult>> = {};
  for (const [name, l] of Object.entries(loads)) {
    results[name] = {};
    for (const c of concurrencies) {
      results[name][c] = await load(server, l, c);
      process.stdout.write(`  ${server.name} ${name} c=${c}: ${results[name][c].rps}/s p99 ${results[name][c].p99ms}ms\n`);
    }
  }
  return results;
}

async function main() {
  ensureWrk();
  console.log('measuring raw RS256 signing…');
  const sign = await measureSignRate();
  console.log(`  ${sign.oneCore}/s on one core, ${sign.allCores}/s on ${sign.cores}`);

  const db = await database();
  const servers: Server[] = [];
  try {
    const secrets = {
      COOKIE_KEYS: randomBytes(32).toString('base64url'),
      KEYS_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
      CLIENT_SECRET_PEPPER: randomBytes(32).toString('base64url'),
    };
    const tPort = await freePort();
    const env = {
      ...secrets, NODE_ENV: 'production', DATABASE_URL: db.url, PORT: String(tPort), HOST: '127.0.0.1', ISSUER: `http://127.0.0.1:${tPort}`, LOG_LEVEL: 'info',
      // The per-client limiter still runs on every token request (its cost is measured), but
      // one benchmark client must not be refused: refusals are not throughput.
      RATE_LIMIT_TOKEN_PER_MINUTE: '1000000000',
    };
    const cli = (args: string[]) => JSON.parse(execFileSync(process.execPath, ['src/cli/main.ts', '--json', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } }).toString());
    cli(['migrate']);
    // Ready time is measured on a migrated database, as in a restart or a new replica.
    const tessera = await startProcess('tessera', ['src/main.ts'], env, `http://127.0.0.1:${tPort}/readyz`);
    servers.push(tessera);
    cli(['apis', 'create', '--audience', AUDIENCE, '--scope', 'a:read']);
    const client = cli(['clients', 'create', '--name', 'bench', '--grant-types', 'client_credentials', '--api', AUDIENCE, '--scope', 'a:read']);
    const tAuth = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;

    const rPort = await freePort();
    const rSecret = randomBytes(32).toString('base64url');
    const reference = await startProcess('reference', ['bench/reference-server.ts', String(rPort), 'bench', rSecret, AUDIENCE], {}, `http://127.0.0.1:${rPort}/.well-known/openid-configuration`);
    servers.push(reference);
    const rAuth = `Basic ${Buffer.from(`bench:${rSecret}`).toString('base64')}`;

    console.log(`tessera ready in ${tessera.readyMs} ms, reference in ${reference.readyMs} ms`);
    const tResults = await scenarios(tessera, tAuth, await token(tessera.url, tAuth), await token(tessera.url, tAuth));
    const rResults = await scenarios(reference, rAuth, await token(reference.url, rAuth, 'urn:bench:opaque'), await token(reference.url, rAuth, 'urn:bench:opaque'));

    const result = {
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model, cores: sign.cores, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
      settings: { seconds, concurrencies, loadGenerator: 'wrk -t2' },
      rs256SignaturesPerSecond: sign,
      tessera: { readyMs: tessera.readyMs, peakRssMb: tessera.peakRssMb, results: tResults },
      reference: { readyMs: reference.readyMs, peakRssMb: reference.peakRssMb, results: rResults },
    };
    const file = join(root, 'bench', 'results', `${result.date.slice(0, 10)}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    const table = renderTable(result);
    updateReadme(table);
    console.log(`\n${table}\nwritten to ${file} and bench/README.md`);
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await db.drop();
  }
}

type Result = {
  date: string;
  machine: { cpu: string | undefined; cores: number; memoryGb: number; node: string };
  rs256SignaturesPerSecond: { oneCore: number; allCores: number };
  tessera: { readyMs: number; peakRssMb: number; results: Record<string, Record<number, LoadResult>> };
  reference: { readyMs: number; peakRssMb: number; results: Record<string, Record<number, LoadResult>> };
};

function renderTable(r: Result): string {
  const best = (rs: Record<number, LoadResult>) => Math.max(...Object.values(rs).map((x) => x.rps));
  const rows = Object.keys(r.tessera.results).map((name) => {
    const t = r.tessera.results[name]!;
    const ref = r.reference.results[name]!;
    const tBest = best(t);
    // A cell with any non-2xx answer or socket error is marked: its rate is not all successes.
    const mark = (x: LoadResult | undefined) => (x && (x.non2xx || x.errors) ? '*' : '');
    const cells = concurrencies.map((c) => `${t[c]?.rps ?? '–'}${mark(t[c])} / ${ref[c]?.rps ?? '–'}${mark(ref[c])}`);
    const p99 = concurrencies.map((c) => `${t[c]?.p99ms ?? '–'}`).join(' / ');
    return `| ${name} | ${cells.join(' | ')} | **${(tBest / best(ref)).toFixed(2)}×** | ${(tBest / r.rs256SignaturesPerSecond.allCores).toFixed(2)} | ${p99} |`;
  });
  return [
    `Run ${r.date} on ${r.machine.cpu} (${r.machine.cores} cores, ${r.machine.memoryGb} GiB), Node ${r.machine.node}; wrk -t2, ${seconds} s per cell.`,
    `Raw RS256 (2048-bit) signing: ${r.rs256SignaturesPerSecond.oneCore}/s on one core, ${r.rs256SignaturesPerSecond.allCores}/s on all cores.`,
    '',
    `| requests/s, Tessera / bare library | ${concurrencies.map((c) => `c=${c}`).join(' | ')} | Tessera ÷ library (best) | Tessera ÷ all-core RS256 | Tessera p99 ms (${concurrencies.join(' / ')}) |`,
    `| --- | ${concurrencies.map(() => '---').join(' | ')} | --- | --- | --- |`,
    ...rows,
    '',
    `Ready after start: Tessera ${r.tessera.readyMs} ms (PostgreSQL, migrations applied), library ${r.reference.readyMs} ms. Peak RSS under load: Tessera ${r.tessera.peakRssMb} MB, library ${r.reference.peakRssMb} MB.`,
    'A * marks a cell with non-2xx answers or socket errors.',
    'Introspection: Tessera introspects its JWT access tokens (signature + revocation lookup); the library, which refuses JWTs there, introspects opaque tokens from its memory.',
  ].join('\n');
}

function updateReadme(table: string): void {
  const file = join(root, 'bench', 'README.md');
  const text = readFileSync(file, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  writeFileSync(file, text.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${table}\n${end}`));
}

await main();
process.exit(0);
