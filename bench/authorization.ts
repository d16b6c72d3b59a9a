// `npm run bench:authorization`: issue 18's ratios, what a caller pays for roles, organizations and
// API keys, each against the same scenario without them:
// - client credentials and refresh with RBAC enforced, against the plain ones;
// - client credentials and refresh with 10,000 organizations and 100,000 memberships in the
//   database, and refreshing an organization's token, against the plain ones on an empty database;
// - introspecting an API key, against introspecting a JWT (both by the API's own client).
// Two Tessera servers (one worker each) on two databases of one PostgreSQL: a plain one and one
// with the organizations. A machine shared with other work drifts by tens of percent from one
// minute to the next, so every scenario runs once per round, the rounds in rotating order, and
// each pair is compared round by round (seconds apart) and summarised by the median.
//
// Environment: BENCH_DATABASE_URL (a superuser URL; default TEST_DATABASE_URL, else an embedded
// PostgreSQL), BENCH_SECONDS per load (default 4), BENCH_ROUNDS (default 5), BENCH_CONNECTIONS
// (default 16). Writes bench/results/authorization-<date>.json.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/db/embedded.ts';
import { createScratchDatabase, startPostgres } from '../test/setup/postgres.ts';
import { costMeter, perRequest, type CostMeter } from './costs.ts';
import { authorizationCodeFlow, type FlowTarget, refreshGrant, runLoops } from './flows.ts';
import { BENCH_ORGANIZATION, seedOrganizations } from './organizations.ts';
import {
  AUDIENCE,
  benchEnv,
  benchSecrets,
  clientCredentialsToken,
  type Credentials,
  ensureWrk,
  form,
  METRICS_TOKEN,
  provision,
  root,
  type Server,
  serverPids,
  startProcess,
  stopProcess,
  USER,
} from './tessera.ts';
import { type LoadResult, runWrk } from './wrk.ts';
import { median } from './median.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);

/** A server under test: its process, what it may be called with, and its database's meter. */
interface Target {
  server: Server;
  creds: Credentials;
  meter: CostMeter;
}

type Load = (ready: () => Promise<void>) => Promise<LoadResult>;

// Each variant and the scenario it is measured against (issue 18: each within 10%).
const PAIRS: [variant: string, baseline: string][] = [
  ['client credentials, RBAC enforced', 'client credentials'],
  ['client credentials, 10k organizations', 'client credentials'],
  ['refresh token, RBAC enforced', 'refresh token'],
  ['refresh token, 10k organizations', 'refresh token'],
  ['refresh token, organization token', 'refresh token'],
  ['introspection, API key', 'introspection, JWT by the API'],
];

const wrk =
  (url: string, auth: string, body: string): Load =>
  async (ready) => {
    await ready();
    return runWrk({ url, ...form(auth, body) }, connections, seconds);
  };

/** Refreshes back to back, each loop on its own token family (signed in once per round). */
const refreshing =
  (flow: FlowTarget, extra: Record<string, string> = {}): Load =>
  (ready) =>
    runLoops(
      connections,
      seconds,
      async () =>
        (await authorizationCodeFlow(flow, new Map(), 'openid offline_access a:read', 'consent', extra)).refresh_token!,
      async (rt) => (await refreshGrant(flow, rt)).refresh_token!,
      ready,
    );

async function scenarios(plain: Target, organizations: Target): Promise<Record<string, [Target, Load]>> {
  const token = (t: Target) => `${t.server.url}/token`;
  const cc = 'grant_type=client_credentials&scope=a:read';
  const jwt = await clientCredentialsToken(plain.server.url, plain.creds.auth);
  const api = plain.creds.api!;
  const introspect = (token: string): Load =>
    wrk(`${plain.server.url}/token/introspection`, api.auth, `token=${token}`);
  return {
    'client credentials': [plain, wrk(token(plain), plain.creds.auth, cc)],
    'client credentials, RBAC enforced': [plain, wrk(token(plain), plain.creds.rbac!.auth, cc)],
    'client credentials, 10k organizations': [organizations, wrk(token(organizations), organizations.creds.auth, cc)],
    'refresh token': [plain, refreshing(plain.creds.flow)],
    'refresh token, RBAC enforced': [plain, refreshing(plain.creds.rbac!.flow)],
    'refresh token, 10k organizations': [organizations, refreshing(organizations.creds.flow)],
    'refresh token, organization token': [
      organizations,
      refreshing(organizations.creds.flow, { organization: BENCH_ORGANIZATION }),
    ],
    'introspection, JWT by the API': [plain, introspect(jwt)],
    'introspection, API key': [plain, introspect(api.key)],
  };
}

/** One load on one server, with its costs per request. */
async function measureOnce(target: Target, load: Load): Promise<LoadResult> {
  const read = () =>
    target.meter.read(serverPids(target.server.child.pid!), `${target.server.url}/metrics`, METRICS_TOKEN);
  let before = await read();
  const result = await load(async () => {
    before = await read();
  });
  result.costs = perRequest(before, await read(), result.count);
  return result;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const cpuOf = (r: LoadResult) => (r.costs?.nodeCpuMs ?? 0) + (r.costs?.pgCpuMs ?? 0);

async function main() {
  ensureWrk();
  console.log('building the server (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const postgres = await startPostgres(process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL);
  const databases = [
    await createScratchDatabase(postgres.adminUrl, 'tessera_bench'),
    await createScratchDatabase(postgres.adminUrl, 'tessera_bench_orgs'),
  ];
  const secrets = benchSecrets();
  const targets: Target[] = [];
  try {
    for (const [i, db] of databases.entries()) {
      const env = benchEnv(db.url, secrets);
      const credentialsAt = provision(env);
      if (i === 1) {
        console.log('seeding 10,000 organizations and 100,000 memberships…');
        await seedOrganizations(db.url, AUDIENCE, USER.email);
      }
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      const name = i === 0 ? 'plain' : 'organizations';
      const server = await startProcess(
        name,
        ['build/main.js'],
        { ...env, PORT: String(port), ISSUER: issuer },
        `${issuer}/readyz`,
      );
      targets.push({ server, creds: credentialsAt(issuer), meter: costMeter(db.url) });
    }
    const all = await scenarios(targets[0]!, targets[1]!);
    const names = Object.keys(all);
    const results: Record<string, LoadResult[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      // A rotating order: no scenario always follows the same one (a refresh load leaves work behind).
      const order = names.map((_, i) => names[(i + r * 3) % names.length]!);
      for (const name of order) {
        const [target, load] = all[name]!;
        const result = await measureOnce(target, load);
        results[name]!.push(result);
        console.log(
          `  round ${r + 1} ${name}: ${result.rps}/s, ${result.costs?.statements} statements, CPU ${result.costs?.nodeCpuMs} ms Node + ${result.costs?.pgCpuMs} ms PostgreSQL${result.errors || result.non2xx ? ` (${result.errors} errors, ${result.non2xx} non-2xx)` : ''}`,
        );
      }
    }
    const comparisons = PAIRS.map(([variant, baseline]) => {
      const v = results[variant]!;
      const b = results[baseline]!;
      const throughput = v.map((x, i) => round3(x.rps / b[i]!.rps));
      const cpu = v.map((x, i) => round3(cpuOf(x) / cpuOf(b[i]!)));
      return {
        variant,
        baseline,
        throughput: { median: round3(median(throughput)), each: throughput },
        cpuPerRequest: { median: round3(median(cpu)), each: cpu },
        rps: { variant: median(v.map((x) => x.rps)), baseline: median(b.map((x) => x.rps)) },
      };
    });
    const result = {
      date: new Date().toISOString(),
      cpu: `${cpus()[0]?.model} (${cpus().length} cores)`,
      node: process.version,
      settings: { seconds, rounds, connections },
      comparisons,
      results,
    };
    const file = join(root, 'bench', 'results', `authorization-${result.date.slice(0, 10)}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      [
        '',
        `| at c=${connections}, median of ${rounds} rounds | rate (variant / baseline) | throughput ratio | CPU per request ratio |`,
        '| --- | --- | --- | --- |',
        ...comparisons.map(
          (c) =>
            `| ${c.variant} ÷ ${c.baseline} | ${c.rps.variant} / ${c.rps.baseline} | **${c.throughput.median}×** | ${c.cpuPerRequest.median}× |`,
        ),
        '',
        `written to ${file}`,
      ].join('\n'),
    );
  } finally {
    for (const t of targets) {
      await stopProcess(t.server);
      await t.meter.close();
    }
    for (const db of databases) await db.drop();
    await postgres.stop();
  }
}

await main();
