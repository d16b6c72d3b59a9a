// `npm run bench`: Tessera on a real PostgreSQL — with one worker and with one per core — beside
// the bare oidc-provider library (in-memory, same token format), under the same load, with the
// machine's raw RS256 signing rate as the physical limit. Writes bench/results/<date>.json and
// the table in bench/README.md.
//
// Environment: BENCH_DATABASE_URL (a superuser URL; default: TEST_DATABASE_URL, else an embedded
// PostgreSQL), BENCH_SECONDS per load (default 4), BENCH_CONCURRENCY (default "1,16,64"),
// BENCH_ROUNDS (default 1: each cell this many times, every server in turn in each round, the
// median round kept: on a host whose speed drifts by tens of percent from minute to minute),
// BENCH_ONLY (scenario names separated by "|", since names hold commas: for a quick look at a
// few; such a run writes bench/results/<date>-<BENCH_NAME or "partial">.json and leaves the
// README's table alone), BENCH_PROFILE (a folder:
// each server process writes a V8 CPU profile there when it stops; read one with
// `node bench/profile-summary.ts FILE`).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/db/embedded.ts';
import { runFixedRate, type FixedRateResult } from './fixed-rate.ts';
import { costMeter, perRequest, type CostMeter, type Costs } from './costs.ts';
import { authorizationCodeFlow, refreshGrant, runFlowAtRate, runLoops, type FlowTarget } from './flows.ts';
import { BENCH_ORGANIZATION, seedOrganizations } from './organizations.ts';
import { measureSignRate } from './sign-rate.ts';
import { medianItem } from './median.ts';
import {
  AUDIENCE,
  benchEnv,
  benchSecrets,
  clientCredentialsToken,
  type Credentials,
  database,
  ensureWrk,
  form,
  METRICS_TOKEN,
  provision,
  REDIRECT_URI,
  root,
  sampled,
  type Server,
  serverPids,
  startProcess,
  stopProcess,
  USER,
} from './tessera.ts';
import { type Load, runWrk, type LoadResult } from './wrk.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const only = process.env.BENCH_ONLY?.split('|').map((n) => n.trim());
// Rounds per cell: each round loads every server in turn; a cell's figure is its median round.
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));

type Results = Record<string, Record<number, LoadResult>>;

const wanted = (name: string) => !only || only.includes(name);

/** One server's benchmark: its scenarios, each run at a concurrency, and what they measured. */
interface Subject {
  server: Server;
  creds: Credentials;
  run: Record<string, (c: number, ready?: () => Promise<void>) => Promise<LoadResult>>;
  results: Results;
  halfRate?: FixedRateResult;
  /** Refresh grants at a fixed rate, for the refresh's latency at half its best rate. */
  refreshAtRate: (rate: number, seconds: number) => Promise<FixedRateResult>;
  refreshHalfRate?: FixedRateResult;
}

/**
 * `organizations`: fills the database with 10,000 organizations (once; bench/organizations.ts)
 * before the scenarios that are named for them, which run last. Tessera's only: the library has
 * no organizations and runs the same loads as its baseline.
 */
async function subject(
  server: Server,
  creds: Credentials,
  opaqueResource?: string,
  organizations?: () => Promise<void>,
): Promise<Subject> {
  const introspected = await clientCredentialsToken(server.url, creds.auth, opaqueResource);
  const revoked = await clientCredentialsToken(server.url, creds.auth, opaqueResource);
  const loads: Record<string, Load> = {
    'client credentials': {
      url: `${server.url}/token`,
      ...form(creds.auth, 'grant_type=client_credentials&scope=a:read'),
    },
    // The client's role grants a:read; its roles come with the cached client (no round trip).
    'client credentials, RBAC enforced': {
      url: `${server.url}/token`,
      ...form(creds.rbac?.auth ?? creds.auth, 'grant_type=client_credentials&scope=a:read'),
    },
    introspection: { url: `${server.url}/token/introspection`, ...form(creds.auth, `token=${introspected}`) },
    revocation: { url: `${server.url}/token/revocation`, ...form(creds.auth, `token=${revoked}`) },
    // Issue 18: what an API pays to check a caller's API key, against the same API checking a JWT
    // (both asked by the API's own client, which serves AUDIENCE; the key is metered on every call).
    ...(creds.api
      ? {
          'introspection, API key': {
            url: `${server.url}/token/introspection`,
            ...form(creds.api.auth, `token=${creds.api.key}`),
          },
          'introspection, JWT by the API': {
            url: `${server.url}/token/introspection`,
            ...form(creds.api.auth, `token=${introspected}`),
          },
        }
      : undefined),
    jwks: { url: `${server.url}/jwks` },
    discovery: { url: `${server.url}/.well-known/openid-configuration` },
  };
  const flow = creds.flow;
  const refreshLoop =
    (target: FlowTarget, extra: Record<string, string> = {}) =>
    (c: number, ready?: () => Promise<void>): Promise<LoadResult> =>
      runLoops(
        c,
        seconds,
        async () =>
          (await authorizationCodeFlow(target, new Map(), 'openid offline_access a:read', 'consent', extra))
            .refresh_token!,
        async (rt) => (await refreshGrant(target, rt)).refresh_token!,
        ready,
      );
  const signedInJar = async () => {
    const jar = new Map<string, string>();
    await authorizationCodeFlow(flow, jar, 'openid a:read');
    return jar;
  };
  const flows: Record<string, (c: number, ready?: () => Promise<void>) => Promise<LoadResult>> = {
    'refresh token': refreshLoop(flow),
    // The user's roles are read in the refresh's own statement (db/queries/users.ts ACCOUNT_JSON).
    'refresh token, RBAC enforced': refreshLoop(creds.rbac?.flow ?? flow),
    // A person already signed in (a session cookie): authorization request, code, tokens.
    'auth code + PKCE, signed in': (c, ready) =>
      runLoops(
        c,
        seconds,
        signedInJar,
        async (jar) => {
          await authorizationCodeFlow(flow, jar, 'openid a:read');
          return jar;
        },
        ready,
      ),
    // A new browser each time: the sign-in form too (Tessera: argon2id; the library: none).
    'auth code + PKCE, with sign-in': (c, ready) =>
      runLoops(
        c,
        seconds,
        async () => undefined,
        async () => {
          await authorizationCodeFlow(flow, new Map(), 'openid a:read');
          return undefined;
        },
        ready,
      ),
  };
  // With 10,000 organizations and 100,000 memberships in the database: the same client-credentials
  // and refresh loads, to compare with the ones above; and refreshing an organization's token
  // (org_id, the member's roles there: one more indexed read per refresh).
  const withOrganizations = async (ready?: () => Promise<void>) => {
    await organizations?.();
    await ready?.();
  };
  flows['client credentials, 10k organizations'] = async (c, ready) => {
    await withOrganizations(ready);
    return runWrk(loads['client credentials']!, c, seconds);
  };
  flows['refresh token, 10k organizations'] = async (c, ready) => {
    await organizations?.();
    return refreshLoop(flow)(c, ready);
  };
  flows['refresh token, organization token'] = async (c, ready) => {
    await organizations?.();
    return refreshLoop(flow, organizations ? { organization: BENCH_ORGANIZATION } : {})(c, ready);
  };
  const run = {
    ...Object.fromEntries(
      Object.entries(loads).map(([name, l]) => [
        name,
        async (c: number, ready?: () => Promise<void>) => {
          await ready?.();
          return runWrk(l, c, seconds);
        },
      ]),
    ),
    ...flows,
  };
  // Families enough that a rate the server keeps up with never waits for a free one.
  const refreshAtRate = async (rate: number, s: number) => {
    const families = await Promise.all(
      Array.from(
        { length: 32 },
        async () =>
          (await authorizationCodeFlow(flow, new Map(), 'openid offline_access a:read', 'consent')).refresh_token!,
      ),
    );
    return runFlowAtRate(rate, s, families, async (rt) => (await refreshGrant(flow, rt)).refresh_token!);
  };
  return { server, creds, run, results: {}, refreshAtRate };
}

/**
 * Every scenario at every concurrency, on each server in turn: the servers' figures for one cell
 * are taken seconds apart, so a drift of the machine's speed (a shared host's neighbours) moves
 * them together instead of skewing their ratio.
 */
async function measure(subjects: Subject[], meter: CostMeter): Promise<void> {
  for (const name of Object.keys(subjects[0]!.run)) {
    if (!wanted(name)) continue;
    for (const c of concurrencies) {
      const measured = new Map<Subject, LoadResult[]>();
      for (let round = 0; round < rounds; round++) {
        // Each round starts with another server, so that none is always the one loaded first.
        for (const s of [...subjects.slice(round % subjects.length), ...subjects.slice(0, round % subjects.length)]) {
          // Tessera's own scenarios (API keys) have no counterpart in the library.
          if (!s.run[name]) continue;
          const tessera = s.server.name !== 'library';
          const read = () =>
            meter.read(
              serverPids(s.server.child.pid!),
              tessera ? `${s.server.url}/metrics` : undefined,
              tessera ? METRICS_TOKEN : undefined,
            );
          // The first reading once the loops are set up (a flow's setup signs in), the last after.
          let before = await read();
          const r = await sampled(
            s.server,
            () =>
              s.run[name]!(c, async () => {
                before = await read();
              }),
            name,
          );
          r.costs = perRequest(before, await read(), r.count);
          measured.set(s, [...(measured.get(s) ?? []), r]);
          process.stdout.write(
            `  ${s.server.name} ${name} c=${c}${rounds > 1 ? ` (round ${round + 1})` : ''}: ${r.rps}/s p50 ${r.p50ms} ms p99 ${r.p99ms} ms${r.non2xx || r.errors ? ` (${r.non2xx} non-2xx, ${r.errors} errors)` : ''}; per request: ${describeCosts(r.costs)}\n`,
          );
        }
      }
      // A cell's figure is its median round (by rate), whole: its latencies and costs with it.
      for (const [s, rs] of measured) {
        const median = medianItem(rs, (r) => r.rps);
        s.results[name] ??= {};
        s.results[name][c] = rounds > 1 ? { ...median, rounds: rs.map((r) => r.rps) } : median;
      }
    }
    // Right after the best rates are known, and before the flows leave the database and the
    // heaps busy with their aftermath (autovacuum, checkpoints, garbage).
    if (name === 'client credentials') {
      for (const s of subjects) s.halfRate = await latencyAtHalfRate(s.server, s.creds, s.results);
    }
    if (name === 'refresh token') {
      for (const s of subjects) s.refreshHalfRate = await refreshAtHalfRate(s);
    }
  }
}

function describeCosts(c: Costs): string {
  const db = c.statements === undefined ? '' : `${c.statements} statements, ${c.commits} commits, `;
  return `${db}CPU ${c.nodeCpuMs} ms Node${c.pgCpuMs === undefined ? '' : ` + ${c.pgCpuMs} ms PostgreSQL`}`;
}

/** Token-endpoint latency at a fixed rate (open model): half the best client-credentials rate measured. */
async function latencyAtHalfRate(
  server: Server,
  creds: Credentials,
  results: Results,
): Promise<FixedRateResult | undefined> {
  const best = Math.max(...Object.values(results['client credentials'] ?? {}).map((r) => r.rps));
  if (!Number.isFinite(best) || best <= 0) return undefined;
  const load = { url: `${server.url}/token`, ...form(creds.auth, 'grant_type=client_credentials&scope=a:read') };
  const result = await sampled(server, () => runFixedRate(load, Math.round(best / 2), Math.max(seconds, 5)));
  console.log(`  ${server.name} token endpoint at ${result.rate}/s: p50 ${result.p50ms} ms, p99 ${result.p99ms} ms`);
  return result;
}

/** Refresh-grant latency at a fixed rate (open model): half the best refresh rate measured. */
async function refreshAtHalfRate(s: Subject): Promise<FixedRateResult | undefined> {
  const best = Math.max(...Object.values(s.results['refresh token'] ?? {}).map((r) => r.rps));
  if (!Number.isFinite(best) || best <= 0) return undefined;
  const result = await sampled(s.server, () => s.refreshAtRate(Math.round(best / 2), Math.max(seconds, 5)));
  console.log(`  ${s.server.name} refresh at ${result.rate}/s: p50 ${result.p50ms} ms, p99 ${result.p99ms} ms`);
  return result;
}

async function main() {
  ensureWrk();
  // Tessera runs as its image runs it: the compiled JavaScript (Dockerfile).
  console.log('building the server (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  console.log('measuring raw RS256 signing…');
  const sign = await measureSignRate();
  console.log(`  ${sign.oneCore}/s on one core, ${sign.allCores}/s on ${sign.cores}`);

  const db = await database();
  try {
    const env = benchEnv(db.url, benchSecrets());
    const credentialsAt = provision(env);

    // Ready time is measured one server at a time, on a migrated database, as in a restart or a
    // new replica. Then all of them stay up (an idle one takes no CPU to speak of) and are loaded
    // in turn, one at a time (measure()).
    const subjects: Subject[] = [];
    const workerCounts = [1, availableParallelism()].filter((n, i, all) => all.indexOf(n) === i);
    try {
      for (const workers of workerCounts) {
        const name = workers === 1 ? 'tessera' : `tessera ×${workers}`;
        // Each on its own port, so each has its own issuer; they share the database, its clients and keys.
        const port = await freePort();
        const issuer = `http://127.0.0.1:${port}`;
        const server = await startProcess(
          name,
          ['build/main.js'],
          { ...env, PORT: String(port), ISSUER: issuer, WORKERS: String(workers) },
          `${issuer}/readyz`,
        );
        console.log(`${name} ready in ${server.readyMs} ms`);
        subjects.push(
          await subject(server, credentialsAt(issuer), undefined, () =>
            seedOrganizations(db.url, AUDIENCE, USER.email),
          ),
        );
      }
      const rPort = await freePort();
      const rSecret = randomBytes(32).toString('base64url');
      const reference = await startProcess(
        'library',
        ['bench/reference-server.ts', String(rPort), 'bench', rSecret, AUDIENCE, REDIRECT_URI],
        {},
        `http://127.0.0.1:${rPort}/.well-known/openid-configuration`,
      );
      console.log(`library ready in ${reference.readyMs} ms`);
      subjects.push(
        await subject(
          reference,
          {
            auth: `Basic ${Buffer.from(`bench:${rSecret}`).toString('base64')}`,
            flow: {
              issuer: reference.url,
              clientId: 'bench-web',
              clientSecret: rSecret,
              redirectUri: REDIRECT_URI,
              user: USER,
            },
          },
          'urn:bench:opaque',
        ),
      );

      const meter = costMeter(db.url);
      try {
        await measure(subjects, meter);
      } finally {
        await meter.close();
      }
    } finally {
      for (const s of subjects) await stopProcess(s.server);
    }
    const runs: Record<string, Run> = Object.fromEntries(
      subjects.map(({ server, results, halfRate, refreshHalfRate }) => [
        server.name,
        {
          readyMs: server.readyMs,
          peakRssMb: server.peakRssMb,
          peakTotalRssMb: server.peakTotalRssMb,
          peaks: server.peaks,
          results,
          halfRate,
          refreshHalfRate,
        },
      ]),
    );

    const result = {
      date: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model,
        cores: sign.cores,
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      settings: {
        seconds,
        concurrencies,
        loadGenerators:
          'wrk -t2 (single requests), Node loops (flows), an open-model Node load at a fixed rate (bench/fixed-rate.ts)',
      },
      rs256SignaturesPerSecond: sign,
      runs,
    };
    // A run of a few scenarios is kept beside the day's full run, never over it or its table.
    const name = process.env.BENCH_NAME ?? (only ? 'partial' : '');
    const file = join(root, 'bench', 'results', `${result.date.slice(0, 10)}${name ? `-${name}` : ''}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    const table = renderTable(result);
    if (!only) updateReadme(table);
    console.log(`\n${table}\nwritten to ${file}${only ? '' : ' and bench/README.md'}`);
  } finally {
    await db.drop();
  }
}

type Run = {
  readyMs: number;
  peakRssMb: number;
  peakTotalRssMb: number;
  peaks: Server['peaks'];
  results: Results;
  halfRate?: FixedRateResult;
  refreshHalfRate?: FixedRateResult;
};
type Result = {
  date: string;
  machine: { cpu: string | undefined; cores: number; memoryGb: number; node: string };
  rs256SignaturesPerSecond: { oneCore: number; allCores: number };
  runs: Record<string, Run>;
};

function renderTable(r: Result): string {
  const names = Object.keys(r.runs).filter((n) => n !== 'library');
  const [one, all] = [names[0]!, names[names.length - 1]!];
  const lib = r.runs.library!;
  const best = (rs: Record<number, LoadResult> | undefined) =>
    Math.max(0, ...Object.values(rs ?? {}).map((x) => x.rps));
  // A cell with any non-2xx answer or error is marked: its rate is not all successes.
  const cell = (x: LoadResult | undefined) => (x ? `${x.rps}${x.non2xx || x.errors ? '*' : ''}` : '–');
  const ratio = (a: number, b: number) => (b ? `${(a / b).toFixed(2)}×` : '–');
  const rows = Object.keys(lib.results).map((scenario) => {
    const t1 = r.runs[one]!.results[scenario];
    const tn = r.runs[all]!.results[scenario];
    const l = lib.results[scenario];
    const cells = concurrencies.map((c) => `${cell(t1?.[c])} / ${cell(tn?.[c])} / ${cell(l?.[c])}`);
    const p99 = concurrencies.map((c) => `${t1?.[c]?.p99ms ?? '–'}`).join(' / ');
    const mem = [one, all, 'library']
      .map((n) => {
        const p = r.runs[n]!.peaks?.[scenario];
        return p ? `${p.rssMb} (${p.anonMb})` : '–';
      })
      .join(' / ');
    return `| ${scenario} | ${cells.join(' | ')} | **${ratio(best(t1), best(l))}** | **${ratio(best(tn), best(l))}** | ${(best(tn) / r.rs256SignaturesPerSecond.allCores).toFixed(2)} | ${p99} | ${mem} |`;
  });
  // Costs per request (per flow for the flows) at the concurrency nearest 16, where the
  // servers are busy but not yet queueing much.
  const at = concurrencies.reduce((a, c) => (Math.abs(c - 16) < Math.abs(a - 16) ? c : a), concurrencies[0]!);
  const fmt = (v: number | undefined) => (v === undefined ? '–' : String(v));
  const costRows = Object.keys(lib.results).map((scenario) => {
    const t = r.runs[one]!.results[scenario]?.[at]?.costs;
    const l = lib.results[scenario]?.[at]?.costs;
    return `| ${scenario} | ${fmt(t?.statements)} | ${fmt(t?.commits)} | ${fmt(t?.nodeCpuMs)} | ${fmt(t?.pgCpuMs)} | ${fmt(l?.nodeCpuMs)} |`;
  });
  // Issue 18's bar: API-key introspection within 10% of JWT introspection (Tessera only).
  const keyVsJwt = names
    .map((n) => {
      const key = best(r.runs[n]!.results['introspection, API key']);
      const jwt = best(r.runs[n]!.results['introspection, JWT by the API']);
      return key && jwt ? `${n} ${key}/s vs ${jwt}/s = ${ratio(key, jwt)}` : undefined;
    })
    .filter(Boolean);
  const half = (n: string, h = r.runs[n]?.halfRate) =>
    h ? `${n}: p99 ${h.p99ms} ms (p50 ${h.p50ms} ms) at ${h.rate}/s` : `${n}: –`;
  return [
    `Run ${r.date} on ${r.machine.cpu} (${r.machine.cores} cores, ${r.machine.memoryGb} GiB), Node ${r.machine.node}; ${seconds} s per cell${rounds > 1 ? `, the median of ${rounds} rounds` : ''}.`,
    `Raw RS256 (2048-bit) signing: ${r.rs256SignaturesPerSecond.oneCore}/s on one core, ${r.rs256SignaturesPerSecond.allCores}/s on all cores.`,
    '',
    `| requests (flows) per second: ${one} / ${all} / bare library | ${concurrencies.map((c) => `c=${c}`).join(' | ')} | ${one} ÷ library | ${all} ÷ library | ${all} ÷ all-core RS256 | ${one} p99 ms (${concurrencies.join(' / ')}) | peak MB per process, resident (anonymous): ${one} / ${all} / library |`,
    `| --- | ${concurrencies.map(() => '---').join(' | ')} | --- | --- | --- | --- | --- |`,
    ...rows,
    '',
    `Per request (per flow for the flows: a refresh is one request, "signed in" two, "with sign-in" five), ${one} at c=${at}; CPU from /proc (bench/costs.ts), PostgreSQL's being the backends serving the benchmark's database:`,
    '',
    `| per request (flow) at c=${at} | statements | write commits | ${one} CPU ms (Node) | PostgreSQL CPU ms | library CPU ms |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...costRows,
    '',
    ...(keyVsJwt.length
      ? [
          `API-key introspection ÷ JWT introspection, both by the API's own client (best rate): ${keyVsJwt.join('; ')}.`,
          '',
        ]
      : []),
    `Token endpoint latency at half each server's best client-credentials rate (requests sent on a fixed schedule, latency from when each was due: bench/fixed-rate.ts): ${[...names, 'library'].map((n) => half(n)).join('; ')}.`,
    `Refresh-grant latency at half each server's best refresh rate (the same open model, 32 refresh-token families taking turns: bench/flows.ts runFlowAtRate): ${[...names, 'library'].map((n) => half(n, r.runs[n]?.refreshHalfRate)).join('; ')}.`,
    `Ready after start (PostgreSQL, migrations applied): ${names.map((n) => `${n} ${r.runs[n]!.readyMs} ms`).join(', ')}; library ${lib.readyMs} ms.`,
    `Peak resident memory under load, per process: ${names.map((n) => `${n} ${r.runs[n]!.peakRssMb} MB`).join(', ')} (all workers together ${r.runs[all]!.peakTotalRssMb} MB); library ${lib.peakRssMb} MB. Resident includes the node binary's code (~60 MB, file pages shared by every Node process on the host); anonymous is the process's own memory (heaps, buffers).`,
    'A * marks a cell with non-2xx answers or errors. Introspection: Tessera introspects its JWT access tokens (signature + revocation check; a token it verified before, as here where one token is introspected over and over like a resource server does for each call carrying it, skips the RSA verification, not the revocation check); the library, which refuses JWTs there, introspects opaque tokens from its memory.',
    'Flows: "signed in" has a session cookie already; "with sign-in" starts from a new browser, so Tessera checks an argon2id password (m = 19 MiB, t = 2) while the library\'s reference interaction signs in without one.',
  ].join('\n');
}

function updateReadme(table: string): void {
  const file = join(root, 'bench', 'README.md');
  const text = readFileSync(file, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  writeFileSync(file, text.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${table}\n${end}`));
  // The table as `npm run lint` wants it (aligned columns), so that a recorded run lands as is.
  execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', file], { stdio: 'ignore' });
}

await main();
process.exit(0);
