// Load for what wrk cannot replay: the authorization-code flow with PKCE (redirects, cookies, a
// sign-in form) and refresh-token rotation (every answer holds the next request's token). A
// number of loops run the flow back to back for a bounded time; each loop has its own cookie
// jar. Works against Tessera's pages and the reference server's automatic interaction alike.
import { createHash, randomBytes } from 'node:crypto';
import type { LoadResult } from './wrk.ts';

export interface FlowTarget {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  user: { email: string; password: string };
  /** Sent with every request of a flow (a client address of its own: X-Forwarded-For). */
  headers?: Record<string, string>;
}

type Jar = Map<string, string>;

async function send(
  jar: Jar,
  url: string,
  init: RequestInit = {},
  headers?: Record<string, string>,
): Promise<Response> {
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: {
      ...headers,
      ...(init.headers as Record<string, string>),
      cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
    },
  });
  for (const c of res.headers.getSetCookie()) {
    const pair = c.split(';')[0]!;
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return res;
}

/**
 * A page of the flow answered otherwise than with the password or consent (a second factor, a
 * passkey): the form to post, or undefined for the default. `post` sends a form with the
 * flow's cookies (a passkey's options request).
 */
export type PageAnswer = (page: {
  html: string;
  uid: string;
  csrf: string;
  post: (path: string, fields: Record<string, string>) => Promise<Response>;
}) => Promise<{ path: string; fields: Record<string, string> } | undefined>;

const basic = (t: FlowTarget) => `Basic ${Buffer.from(`${t.clientId}:${t.clientSecret}`).toString('base64')}`;

async function tokenRequest(t: FlowTarget, body: Record<string, string>): Promise<Record<string, string>> {
  const res = await fetch(`${t.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(t), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  const json = (await res.json()) as Record<string, string>;
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${json.error}`);
  return json;
}

/**
 * One authorization-code flow with PKCE, to the tokens: the authorization request, a sign-in
 * and a consent when a page asks for them, the redirect back, and the code's redemption.
 */
export async function authorizationCodeFlow(
  t: FlowTarget,
  jar: Jar,
  scope: string,
  prompt?: string,
  /** Further authorization parameters (the organization scenario's `organization`). */
  extra: Record<string, string> = {},
  answer?: PageAnswer,
): Promise<Record<string, string>> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const auth = new URL(`${t.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: t.clientId,
    response_type: 'code',
    redirect_uri: t.redirectUri,
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
    ...(prompt ? { prompt } : {}),
    ...extra,
  }).toString();
  let url = auth.href;
  for (let hops = 0; hops < 12; hops++) {
    const res = await send(jar, url, {}, t.headers);
    if (res.status === 302 || res.status === 303) {
      await res.arrayBuffer();
      const next = new URL(res.headers.get('location')!, url);
      if (next.href.startsWith(t.redirectUri)) {
        const code = next.searchParams.get('code');
        if (!code) throw new Error(`no code: ${next.search}`);
        return tokenRequest(t, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: t.redirectUri,
          code_verifier: verifier,
        });
      }
      url = next.href;
      continue;
    }
    const html = await res.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || !csrf) throw new Error(`unexpected ${res.status} at ${url}`);
    const login = html.includes('/login"');
    const uid = new URL(url).pathname.split('/')[2]!;
    const post = (path: string, fields: Record<string, string>) =>
      send(
        jar,
        `${t.issuer}${path}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields),
        },
        t.headers,
      );
    const answered = await answer?.({ html, uid, csrf, post });
    const posted = answered
      ? await post(answered.path, answered.fields)
      : await post(`/interaction/${uid}/${login ? 'login' : 'confirm'}`, {
          csrf,
          ...(login ? { email: t.user.email, password: t.user.password } : {}),
        });
    await posted.arrayBuffer();
    if (posted.status !== 303)
      throw new Error(`${answered?.path ?? (login ? 'login' : 'consent')} answered ${posted.status}`);
    url = new URL(posted.headers.get('location')!, url).href;
  }
  throw new Error('too many redirects');
}

export async function refreshGrant(t: FlowTarget, refreshToken: string): Promise<Record<string, string>> {
  return tokenRequest(t, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

/**
 * Runs `concurrency` loops for `seconds`: each makes its state with `setup`, then calls `step`
 * back to back. Latencies are of `step`; a step that throws counts as an error.
 */
export async function runLoops<S>(
  concurrency: number,
  seconds: number,
  setup: () => Promise<S>,
  step: (state: S) => Promise<S>,
  /** Called once every loop is set up, just before the timed steps (bench/costs.ts's first reading). */
  ready?: () => Promise<void>,
): Promise<LoadResult> {
  const states = await Promise.all(Array.from({ length: concurrency }, setup));
  await ready?.();
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    states.map(async (initial) => {
      let state = initial;
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          state = await step(state);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
          state = await setup().catch(() => state);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN) * 100) / 100;
  return {
    rps: Math.round(latencies.length / elapsed),
    p50ms: at(0.5),
    p99ms: at(0.99),
    non2xx: 0,
    errors,
    count: latencies.length,
  };
}

/**
 * A flow step at a fixed rate, in an open model as bench/fixed-rate.ts does for single requests:
 * step i is due at start + i/rate, takes a free state (a refresh-token family: each is used by one
 * step at a time), waits for one when none is free, and its latency counts from when it was due.
 */
export async function runFlowAtRate<S>(
  rate: number,
  seconds: number,
  states: S[],
  step: (state: S) => Promise<S>,
): Promise<{ rate: number; achieved: number; p50ms: number; p99ms: number; non2xx: number; errors: number }> {
  const total = Math.round(rate * seconds);
  const free = [...states];
  const waiting: ((state: S) => void)[] = [];
  const latencies: number[] = [];
  let errors = 0;
  const take = () => new Promise<S>((resolve) => (free.length ? resolve(free.pop()!) : waiting.push(resolve)));
  const give = (state: S) => {
    const next = waiting.shift();
    if (next) next(state);
    else free.push(state);
  };
  const one = async (due: number) => {
    let state = await take();
    try {
      state = await step(state);
    } catch {
      errors++;
    }
    latencies.push(performance.now() - due);
    give(state);
  };
  const running: Promise<void>[] = [];
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    const now = performance.now();
    while (sent < total && start + (sent * 1000) / rate <= now) running.push(one(start + (sent++ * 1000) / rate));
    if (sent < total)
      await new Promise((r) => setTimeout(r, Math.max(0, start + (sent * 1000) / rate - performance.now())));
  }
  await Promise.all(running);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 100) / 100;
  return { rate, achieved: Math.round(total / elapsed), p50ms: at(0.5), p99ms: at(0.99), non2xx: 0, errors };
}
