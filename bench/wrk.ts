// Runs wrk (C, from Debian's `wrk` package: it leaves the cores to the servers far more than a
// Node load generator would) and parses its summary.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface Load {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
  /** Requests (flows) completed. */
  count: number;
  /** Per request (flow), where measured: statements, commits, CPU (bench/costs.ts). */
  costs?: import('./costs.ts').Costs;
  /** With BENCH_ROUNDS > 1 (bench/run.ts): each round's rate; the other fields are the median round's. */
  rounds?: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
let scripts = 0;

export async function runWrk(load: Load, connections: number, seconds: number): Promise<LoadResult> {
  const script = join(dir, `s${scripts++}.lua`);
  writeFileSync(
    script,
    [
      `wrk.method = ${JSON.stringify(load.method ?? 'GET')}`,
      ...(load.body ? [`wrk.body = ${JSON.stringify(load.body)}`] : []),
      ...Object.entries(load.headers ?? {}).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    ].join('\n'),
  );
  const threads = Math.min(2, connections);
  const { stdout } = await promisify(execFile)('wrk', [
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    '-s',
    script,
    load.url,
  ]);
  return parseWrk(stdout);
}

function parseWrk(out: string): LoadResult {
  const ms = (label: string) => {
    const m = new RegExp(`${label}\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)),
    count: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    p50ms: ms('50%'),
    p99ms: ms('99%'),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}
