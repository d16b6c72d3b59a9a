// `npm run bench:tracing`: what tracing costs on the client-credentials token endpoint. Three
// servers on one PostgreSQL, loaded with wrk in turn, round after round, in a rotating order (the
// development machines drift by tens of percent from one minute to the next, so the servers are
// compared seconds apart, many times, and by the median):
// - baseline: another checkout, built (BENCH_BASELINE, e.g. the commit before tracing), tracing off;
// - off: this tree, without OTEL_EXPORTER_OTLP_ENDPOINT (the SDK is not even loaded);
// - on: this tree, exporting every span over OTLP/HTTP (protobuf, the default) to a null receiver
//   in this process that reads each export and answers 200, as a collector would.
//
// Environment: BENCH_BASELINE (a directory holding a built Tessera: build/main.js; without it the
// baseline is skipped), BENCH_DATABASE_URL (or TEST_DATABASE_URL; else an embedded PostgreSQL),
// BENCH_SECONDS per load (default 4), BENCH_ROUNDS (default 6), BENCH_CONNECTIONS (default 16),
// BENCH_PAIRED=true (load the servers at the same time, each with its own wrk of
// BENCH_CONNECTIONS, rather than in turn: on a host whose load moves from second to second, the
// servers then share the same neighbours), BENCH_PROFILE (a folder for each server's V8 CPU profile), BENCH_ON_ENV (JSON: more environment for
// the traced server, e.g. {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE":"64"}; BENCH_NODE_FLAGS there sets its Node flags, "" for none:
// bench/tessera.ts), BENCH_VARIANTS
// (JSON: more traced servers by name, each with its own extra environment), BENCH_CONTROL=true (a
// second untraced server, an A/A control of the noise), BENCH_UNTRACED_VARIANTS (JSON: more untraced
// servers by name, e.g. under another Node flag), BENCH_BASELINE_TRACED=true (the baseline
// exports its spans as "on" does), BENCH_RESULT (the
// result file's name, default tracing-<date>.json).
// Writes bench/results/tracing-<date>.json.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { freePort } from '../src/db/embedded.ts';
import { createScratchDatabase, startPostgres } from '../test/setup/postgres.ts';
import { type Server, startProcess, stopProcess } from './tessera.ts';
import { runWrk, type LoadResult } from './wrk.ts';
import { median } from './median.ts';

const root = new URL('..', import.meta.url).pathname;
const baseline = process.env.BENCH_BASELINE;
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const paired = process.env.BENCH_PAIRED === 'true';
const AUDIENCE = 'https://api.bench.test';

type Measured = LoadResult & { cpuUsPerRequest: number };

/** Each server on a port of its own, so each has its own issuer; they share the database. */
async function start(name: string, cwd: string, env: Record<string, string>): Promise<Server> {
  const issuer = `http://127.0.0.1:${await freePort()}`;
  return startProcess(
    name,
    ['build/main.js'],
    { ...env, PORT: new URL(issuer).port, ISSUER: issuer },
    `${issuer}/readyz`,
    cwd,
  );
}

/** A null OTLP/HTTP receiver: reads each export, counts its bytes, answers 200. */
async function nullReceiver() {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: () => ({ exports, bytes }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// The machines these run on are shared: throughput moves with the neighbours' load, by tens of
// percent. CPU time per request moves far less (it counts only the server's own work), so it is
// the figure the comparison rests on; throughput is reported beside it.
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux
function cpuSeconds(pid: number): number {
  // /proc/<pid>/stat: utime and stime (fields 14 and 15), in clock ticks, after the command's parentheses.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function main() {
  console.log('building the server (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const postgres = await startPostgres(process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL);
  const db = await createScratchDatabase(postgres.adminUrl, 'tessera_bench_tracing');
  const receiver = await nullReceiver();
  const servers: Server[] = [];
  try {
    const env = {
      COOKIE_KEYS: randomBytes(32).toString('base64url'),
      KEYS_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
      CLIENT_SECRET_PEPPER: randomBytes(32).toString('base64url'),
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      HOST: '127.0.0.1',
      ISSUER: 'http://127.0.0.1',
      LOG_LEVEL: 'info',
      ALLOW_INSECURE_ISSUER: 'true',
      // As in run.ts: the limiter runs, but the one benchmark client is never refused.
      RATE_LIMIT_TOKEN_PER_MINUTE: '1000000000',
    };
    const cli = (args: string[]) =>
      JSON.parse(
        execFileSync(process.execPath, ['src/cli/main.ts', '--json', ...args], {
          cwd: root,
          env: { PATH: process.env.PATH ?? '', ...env },
        }).toString(),
      );
    cli(['migrate']);
    cli(['apis', 'create', '--audience', AUDIENCE, '--scope', 'a:read']);
    const client = cli([
      'clients',
      'create',
      '--name',
      'bench',
      '--grant-types',
      'client_credentials',
      '--api',
      AUDIENCE,
      '--scope',
      'a:read',
    ]);
    const auth = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;

    servers.push(await start('off', root, env));
    // BENCH_CONTROL=true: a second server exactly like "off", whose ratio to it is the noise.
    if (process.env.BENCH_CONTROL === 'true') servers.push(await start('control', root, env));
    const traced = {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'tessera-bench',
      ...(process.env.BENCH_ON_ENV ? JSON.parse(process.env.BENCH_ON_ENV) : {}),
    };
    servers.push(await start('on', root, traced));
    // BENCH_BASELINE_TRACED=true: the baseline traced too, as "on" is (what a change did to tracing's cost).
    const baselineTraced = process.env.BENCH_BASELINE_TRACED === 'true';
    if (baseline) servers.unshift(await start('baseline', baseline, baselineTraced ? traced : env));
    // BENCH_VARIANTS: more traced servers, each with more environment, e.g. {"sampled-out":
    // {"OTEL_TRACES_SAMPLER":"always_off"}}, compared with "off" in the same rounds.
    const variants: Record<string, Record<string, string>> = JSON.parse(process.env.BENCH_VARIANTS ?? '{}');
    for (const [name, more] of Object.entries(variants)) servers.push(await start(name, root, { ...traced, ...more }));
    // BENCH_UNTRACED_VARIANTS: the same for untraced servers, e.g. "off" under another Node flag.
    const untraced: Record<string, Record<string, string>> = JSON.parse(process.env.BENCH_UNTRACED_VARIANTS ?? '{}');
    for (const [name, more] of Object.entries(untraced)) servers.push(await start(name, root, { ...env, ...more }));

    const load = async (server: Server): Promise<Measured> => {
      const before = cpuSeconds(server.child.pid!);
      const result = await wrk(server);
      const cpu = cpuSeconds(server.child.pid!) - before;
      return { ...result, cpuUsPerRequest: Math.round((cpu * 1e6) / Math.max(1, result.count)) };
    };
    const wrk = (server: Server) =>
      runWrk(
        {
          url: `${server.url}/token`,
          method: 'POST',
          body: 'grant_type=client_credentials&scope=a:read',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        },
        connections,
        seconds,
      );
    // Warm-up: the JIT, the client catalog, the first keys.
    for (const server of servers) await load(server);
    const results: Record<string, Measured[]> = Object.fromEntries(servers.map((s) => [s.name, []]));
    for (let round = 0; round < rounds; round++) {
      const measured: [Server, Measured][] = [];
      if (paired) {
        // All servers at once, each under its own wrk: they share whatever the neighbours leave.
        const each = await Promise.all(servers.map(load));
        for (const [i, server] of servers.entries()) measured.push([server, each[i]!]);
      } else {
        // Each round starts with a different server, so that none is always first after a pause.
        for (let i = 0; i < servers.length; i++) {
          const server = servers[(i + round) % servers.length]!;
          measured.push([server, await load(server)]);
        }
      }
      const line: string[] = [];
      for (const [server, result] of measured) {
        if (result.non2xx) throw new Error(`${server.name}: non-2xx answers: ${JSON.stringify(result)}`);
        results[server.name]!.push(result);
        const timeouts = result.errors ? ` (${result.errors} socket errors)` : '';
        line.push(`${server.name} ${result.rps}/s ${result.cpuUsPerRequest} µs CPU/request${timeouts}`);
      }
      console.log(`round ${round + 1}: ${line.join(', ')}`);
    }

    const summary = Object.fromEntries(
      Object.entries(results).map(([name, rs]) => [
        name,
        {
          medianCpuUsPerRequest: median(rs.map((r) => r.cpuUsPerRequest)),
          medianRps: median(rs.map((r) => r.rps)),
          medianP99ms: median(rs.map((r) => r.p99ms)),
          cpuUsPerRequest: rs.map((r) => r.cpuUsPerRequest),
          rps: rs.map((r) => r.rps),
        },
      ]),
    );
    // Per round ratios too: each compares servers measured seconds apart.
    // a's CPU per request over b's (1.02: a costs 2% more), and a's throughput over b's.
    const ratios = (a: string, b: string) => {
      if (!results[a] || !results[b]) return undefined;
      const ratio = (f: (r: Measured) => number) => {
        const each = results[a]!.map((r, i) => f(r) / f(results[b]![i]!));
        return { median: Number(median(each).toFixed(3)), each: each.map((x) => Number(x.toFixed(3))) };
      };
      return { cpuPerRequest: ratio((r) => r.cpuUsPerRequest), throughput: ratio((r) => r.rps) };
    };
    const report = {
      date: new Date().toISOString(),
      cpu: `${cpus()[0]?.model} (${cpus().length} cores)`,
      node: process.version,
      seconds,
      rounds,
      connections,
      paired,
      baseline: baseline ?? null,
      baselineTraced,
      summary,
      offVsBaseline: ratios('off', 'baseline'),
      onVsOff: ratios('on', 'off'),
      onVsBaseline: ratios('on', 'baseline'),
      controlVsOff: ratios('control', 'off'),
      variantsVsOff: Object.fromEntries(
        servers
          .map((s) => s.name)
          .filter((name) => !['off', 'on', 'control', 'baseline'].includes(name))
          .map((name) => [name, ratios(name, 'off')]),
      ),
      receiver: receiver.stats(),
    };
    console.log(JSON.stringify(report, null, 2));
    writeFileSync(
      resolve(root, 'bench/results', process.env.BENCH_RESULT ?? `tracing-${report.date.slice(0, 10)}.json`),
      `${JSON.stringify(report, null, 2)}\n`,
    );
  } finally {
    for (const server of servers) await stopProcess(server);
    await receiver.close();
    await db.drop();
    await postgres.stop();
  }
}

await main();
