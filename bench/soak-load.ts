// The soak: Tessera as its own process, in production mode, on a migrated database, under a
// steady mixed load (client credentials, authorization code + PKCE with refresh rotation, device
// flow, introspection, revocation) for a fixed time. Every answer is recorded; the process's RSS
// and heap are sampled each second. bench/soak.ts runs it for minutes and records the result;
// test/hardening/soak.test.ts runs a short form in CI. No vitest in here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as oauth from 'oauth4webapi';
import { freePort } from '../src/db/embedded.ts';
import { authorize, newJar } from '../test/setup/sign-in.ts';
import { approveDevice, form } from '../test/hardening/device-approval.ts';

const root = new URL('..', import.meta.url).pathname;
const REDIRECT = 'https://app.soak.test/callback';
const AUDIENCE = 'https://api.soak.test';
const PASSWORD = 'correct horse battery';
const METRICS_TOKEN = 'soak-metrics-token-0123456789';
// Operations in flight at most: a steady rate must not turn into an unbounded queue when the
// server slows down; a skipped start is counted and reported instead.
const MAX_IN_FLIGHT = 32;

export interface SoakOptions {
  databaseUrl: string;
  seconds: number;
  /** Operations started per second (each is one to a dozen requests). */
  rate: number;
  /** Length of a reporting window, in seconds. */
  windowSeconds: number;
  log?: (line: string) => void;
}

export interface WindowStats {
  fromSecond: number;
  requests: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
  status5xx: number;
  unexpected: number;
  rssMb: { min: number; max: number };
  heapMb: { min: number; max: number };
}

export interface SoakResult {
  date: string;
  settings: { seconds: number; rate: number; windowSeconds: number; maxInFlight: number };
  mix: Record<string, number>;
  operations: Record<string, { started: number; failed: number }>;
  skippedStarts: number;
  totals: { requests: number; status5xx: number; unexpected: number; statuses: Record<string, number> };
  windows: WindowStats[];
  memory: { rssFirstMb: number; rssLastMb: number; heapFirstMb: number; heapLastMb: number };
  /** Examples of what went wrong, for a reader (never a token or secret). */
  problems: string[];
}

interface Sample {
  at: number;
  route: string;
  status: number;
  ms: number;
  expected: boolean;
}

// The mix, by weight: the cheap, frequent calls of services, and now and then a person.
const MIX = { clientCredentials: 30, introspection: 25, revocation: 10, refresh: 20, authorizationCode: 10, device: 5 };

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    DATABASE_URL: options.databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: origin,
    ALLOW_INSECURE_ISSUER: 'true', // plain HTTP on loopback: TLS is not what the soak measures
    COOKIE_KEYS: randomBytes(32).toString('base64url'),
    KEYS_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    CLIENT_SECRET_PEPPER: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'warn',
    METRICS_TOKEN,
    DEVICE_POLL_INTERVAL: '1',
    // The limits run on every request (their cost is part of the load) but must not refuse it.
    RATE_LIMIT_TOKEN_PER_MINUTE: '1000000000',
    RATE_LIMIT_LOGIN_PER_IP: '1000000000',
    DEVICE_CODE_ATTEMPTS: '1000',
  };
  const cli = (args: string[]) =>
    JSON.parse(execFileSync(process.execPath, ['src/cli/main.ts', '--json', ...args], { cwd: root, env }).toString());
  cli(['migrate']);
  const server = await start(env, origin);
  const problems: string[] = [];
  const problem = (what: string) => {
    if (problems.length < 20) problems.push(what);
  };
  try {
    cli(['apis', 'create', '--audience', AUDIENCE, '--scope', 'soak:read']);
    const service = cli([
      'clients',
      'create',
      '--name',
      'soak-service',
      '--grant-types',
      'client_credentials',
      '--api',
      AUDIENCE,
      '--scope',
      'soak:read',
    ]);
    const app = cli([
      'clients',
      'create',
      '--name',
      'soak-app',
      '--grant-types',
      'authorization_code,refresh_token',
      '--first-party',
      '--redirect-uri',
      REDIRECT,
      '--api',
      AUDIENCE,
      '--scope',
      'openid offline_access soak:read',
    ]);
    const device = cli([
      'clients',
      'create',
      '--name',
      'soak-tv',
      '--grant-types',
      'device_code,refresh_token',
      '--public',
      '--api',
      AUDIENCE,
      '--scope',
      'openid soak:read',
    ]);
    const users = Array.from({ length: 4 }, (_, i) => ({
      email: `soak-${i}-${randomBytes(3).toString('hex')}@example.test`,
      password: PASSWORD,
    }));
    for (const u of users) {
      execFileSync(process.execPath, ['src/cli/main.ts', 'users', 'create', '--email', u.email, '--password-stdin'], {
        cwd: root,
        env,
        input: PASSWORD,
      });
    }
    const serviceAuth = basic(service.client_id, service.client_secret);
    const appAuth = basic(app.client_id, app.client_secret);

    const samples: Sample[] = [];
    const t0 = performance.now();
    /** One request, timed and recorded; `ok` says which statuses this step expects. */
    async function request(
      route: string,
      url: string,
      init: RequestInit,
      ok: (status: number) => boolean = (s) => s < 400,
    ) {
      const started = performance.now();
      let status = 0;
      let body = '';
      try {
        const res = await fetch(url, { redirect: 'manual', ...init, signal: AbortSignal.timeout(30_000) });
        status = res.status;
        body = await res.text();
      } catch (err) {
        problem(`${route}: ${(err as Error).message}`);
      }
      const expected = ok(status);
      samples.push({ at: (started - t0) / 1000, route, status, ms: performance.now() - started, expected });
      if (!expected) problem(`${route} answered ${status}: ${body.slice(0, 160)}`);
      return { status, body, json: () => JSON.parse(body) as Record<string, unknown> };
    }
    const post = (
      route: string,
      auth: string | undefined,
      fields: Record<string, string>,
      ok?: (s: number) => boolean,
    ) =>
      request(
        route,
        `${origin}${route}`,
        {
          ...form(fields),
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) },
        },
        ok,
      );

    // Tokens to introspect and refresh-token families to rotate, refilled by the operations.
    const accessTokens: string[] = [];
    const families: string[] = [];
    const keep = <T>(list: T[], item: T, max = 50) => {
      list.push(item);
      if (list.length > max) list.shift();
    };

    /** A person signs in in the app (every hop timed as a browser request). */
    async function signIn(): Promise<void> {
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(`${origin}/auth`);
      url.search = new URLSearchParams({
        client_id: app.client_id,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid offline_access soak:read',
        prompt: 'consent',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).toString();
      const started = performance.now();
      let callback: URL;
      try {
        callback = await authorize(url, users[Math.floor(Math.random() * users.length)]!);
      } catch (err) {
        samples.push({
          at: (started - t0) / 1000,
          route: 'sign-in',
          status: Number(
            /unexpected (\d+)|answered (\d+)/
              .exec((err as Error).message)
              ?.slice(1)
              .find(Boolean) ?? 0,
          ),
          ms: performance.now() - started,
          expected: false,
        });
        problem(`sign-in: ${(err as Error).message.slice(0, 160)}`);
        return;
      }
      samples.push({
        at: (started - t0) / 1000,
        route: 'sign-in',
        status: 200,
        ms: performance.now() - started,
        expected: true,
      });
      const tokens = await post('/token', appAuth, {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      });
      if (tokens.status === 200) {
        const body = tokens.json();
        keep(families, body.refresh_token as string);
        keep(accessTokens, body.access_token as string);
      }
    }

    const operations: Record<keyof typeof MIX, () => Promise<void>> = {
      async clientCredentials() {
        const res = await post('/token', serviceAuth, { grant_type: 'client_credentials', scope: 'soak:read' });
        if (res.status === 200) keep(accessTokens, res.json().access_token as string);
      },
      async introspection() {
        const token = accessTokens[Math.floor(Math.random() * accessTokens.length)];
        if (!token) return operations.clientCredentials();
        await post('/token/introspection', serviceAuth, { token });
      },
      async revocation() {
        const res = await post('/token', serviceAuth, { grant_type: 'client_credentials', scope: 'soak:read' });
        if (res.status !== 200) return;
        const token = res.json().access_token as string;
        await post('/token/revocation', serviceAuth, { token });
        const after = await post('/token/introspection', serviceAuth, { token });
        if (after.status === 200 && after.json().active !== false) problem('a revoked token introspected as active');
      },
      async refresh() {
        const token = families.shift();
        if (!token) return signIn();
        const res = await post('/token', appAuth, { grant_type: 'refresh_token', refresh_token: token });
        if (res.status === 200) keep(families, res.json().refresh_token as string);
      },
      authorizationCode: signIn,
      async device() {
        const started = await post('/device/auth', undefined, {
          client_id: device.client_id,
          scope: 'openid soak:read',
        });
        if (started.status !== 200) return;
        const { device_code: code, verification_uri_complete: complete } = started.json() as {
          device_code: string;
          verification_uri_complete: string;
        };
        const at = performance.now();
        try {
          await approveDevice(newJar(), origin, complete, users[Math.floor(Math.random() * users.length)]!);
          samples.push({
            at: (at - t0) / 1000,
            route: 'device approval',
            status: 200,
            ms: performance.now() - at,
            expected: true,
          });
        } catch (err) {
          samples.push({
            at: (at - t0) / 1000,
            route: 'device approval',
            status: 0,
            ms: performance.now() - at,
            expected: false,
          });
          problem(`device approval: ${(err as Error).message.slice(0, 160)}`);
          return;
        }
        const polled = await post('/token', undefined, {
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: code,
          client_id: device.client_id,
        });
        if (polled.status === 200) keep(accessTokens, polled.json().access_token as string);
      },
    };

    // Memory: RSS from /proc, heap from the server's own metrics, once a second.
    const memory: { at: number; rssMb: number; heapMb: number }[] = [];
    const sampler = setInterval(() => {
      const at = (performance.now() - t0) / 1000;
      void heapMb(origin).then(
        (heap) => memory.push({ at, rssMb: rssMb(server.pid!), heapMb: heap }),
        () => {},
      );
    }, 1000);

    const counts = Object.fromEntries(
      Object.keys(MIX).map((k) => [k, { started: 0, failed: 0 }]),
    ) as SoakResult['operations'];
    const weighted = Object.entries(MIX).flatMap(([name, weight]) =>
      Array<string>(weight).fill(name),
    ) as (keyof typeof MIX)[];
    let inFlight = 0;
    let skippedStarts = 0;
    const running = new Set<Promise<void>>();
    log(`soak: ${options.seconds} s at ${options.rate} operations/s against ${origin}`);
    // Open model: operations start on a fixed schedule whatever the answers' pace.
    const interval = 1000 / options.rate;
    for (let i = 0; ; i++) {
      const due = t0 + i * interval;
      if (due > t0 + options.seconds * 1000) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (inFlight >= MAX_IN_FLIGHT) {
        skippedStarts++;
        continue;
      }
      const name = weighted[Math.floor(Math.random() * weighted.length)]!;
      const count = counts[name]!;
      count.started++;
      inFlight++;
      const op = operations[name]()
        .catch((err: unknown) => {
          count.failed++;
          problem(`${name}: ${(err as Error).message.slice(0, 160)}`);
        })
        .finally(() => {
          inFlight--;
          running.delete(op);
        });
      running.add(op);
      if (i % (options.rate * 10) === 0 && i > 0)
        log(
          `  ${Math.round((performance.now() - t0) / 1000)} s: ${samples.length} requests, rss ${memory.at(-1)?.rssMb ?? '?'} MB`,
        );
    }
    await Promise.all(running);
    clearInterval(sampler);

    const windows: WindowStats[] = [];
    for (let from = 0; from < options.seconds; from += options.windowSeconds) {
      const inWindow = samples.filter((s) => s.at >= from && s.at < from + options.windowSeconds);
      const mem = memory.filter((m) => m.at >= from && m.at < from + options.windowSeconds);
      const ms = inWindow.map((s) => s.ms).sort((a, b) => a - b);
      windows.push({
        fromSecond: from,
        requests: inWindow.length,
        perSecond: round(inWindow.length / Math.min(options.windowSeconds, options.seconds - from)),
        p50ms: round(quantile(ms, 0.5)),
        p99ms: round(quantile(ms, 0.99)),
        maxMs: round(ms.at(-1) ?? 0),
        status5xx: inWindow.filter((s) => s.status >= 500).length,
        unexpected: inWindow.filter((s) => !s.expected).length,
        rssMb: { min: Math.min(...mem.map((m) => m.rssMb)), max: Math.max(...mem.map((m) => m.rssMb)) },
        heapMb: {
          min: round(Math.min(...mem.map((m) => m.heapMb))),
          max: round(Math.max(...mem.map((m) => m.heapMb))),
        },
      });
    }
    const statuses: Record<string, number> = {};
    for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    // Memory compared between the second window (the first is warm-up: JIT, pools, caches) and
    // the last, by their minimums, which are what is left after the garbage collector ran.
    const second = windows[Math.min(1, windows.length - 1)]!;
    const last = windows.at(-1)!;
    return {
      date: new Date().toISOString(),
      settings: {
        seconds: options.seconds,
        rate: options.rate,
        windowSeconds: options.windowSeconds,
        maxInFlight: MAX_IN_FLIGHT,
      },
      mix: MIX,
      operations: counts,
      skippedStarts,
      totals: {
        requests: samples.length,
        status5xx: samples.filter((s) => s.status >= 500).length,
        unexpected: samples.filter((s) => !s.expected).length,
        statuses,
      },
      windows,
      memory: {
        rssFirstMb: second.rssMb.min,
        rssLastMb: last.rssMb.min,
        heapFirstMb: second.heapMb.min,
        heapLastMb: last.heapMb.min,
      },
      problems,
    };
  } finally {
    await stop(server);
  }
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const round = (n: number) => Math.round(n * 100) / 100;
const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

async function heapMb(origin: string): Promise<number> {
  const text = await (
    await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith('tessera_process_nodejs_heap_size_used_bytes '));
  return line ? Number(line.split(' ')[1]) / 2 ** 20 : 0;
}

async function start(env: Record<string, string>, origin: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['src/main.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`tessera exited: ${stderr}`);
    if (i > 600) throw new Error(`tessera did not start: ${stderr}`);
    try {
      if ((await fetch(`${origin}/readyz`)).ok) return child;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
