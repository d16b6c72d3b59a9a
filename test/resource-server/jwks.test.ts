// The issuer's keys: discovered once, cached, refetched when a token names a kid the cache does
// not hold (a key the issuer just started signing with), at most once per cooldown.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, startProtectedApi, type ProtectedApi } from './apps.ts';
import { newSigningKey, startTestIssuer, type TestIssuer } from './test-issuer.ts';

const AUDIENCE = 'https://orders.example.test';
const COOLDOWN = 1;
let issuer: TestIssuer;
let api: ProtectedApi;

// jose's remote key set reads Date.now() for its cooldown and has no clock option, so this file
// fakes Date alone (timers and I/O stay real) and moves it past the cooldown instead of waiting.
// Frozen in between, so that a slow machine cannot pass a cooldown by accident either.
const passCooldown = () => vi.setSystemTime(Date.now() + COOLDOWN * 1000 + 1);

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  issuer = await startTestIssuer(AUDIENCE);
  api = await startProtectedApi('koa', {
    issuer: issuer.issuer,
    audience: AUDIENCE,
    jwksCooldown: COOLDOWN,
    jwksMaxAge: 300,
  });
});
afterAll(async () => {
  await api?.close();
  await issuer?.close();
  vi.useRealTimers();
});

const get = async (token: string) => (await call(`${api.url}/orders`, { authorization: `Bearer ${token}` })).status;

describe('JWKS cache', () => {
  it('fetches the keys once, then serves from the cache', async () => {
    expect(await get(await issuer.sign())).toBe(200);
    expect(await get(await issuer.sign())).toBe(200);
    expect(await get(await issuer.sign())).toBe(200);
    expect(issuer.jwksFetches).toBe(1);
  });

  it('picks up a rotated key on its first token, and refetches at most once per cooldown for unknown kids', async () => {
    const strangers = await Promise.all(
      Array.from({ length: 10 }, async () => issuer.sign({}, { key: await newSigningKey() })),
    );
    const stranger = await issuer.sign({}, { key: await newSigningKey() });
    passCooldown();
    const before = issuer.jwksFetches;
    // The issuer rotates: a new key is published and signs from now on.
    issuer.published.push(await newSigningKey());
    expect(await get(await issuer.sign())).toBe(200);
    expect(issuer.jwksFetches).toBe(before + 1);
    // The old key's tokens still verify (it is still published), from the cache.
    expect(await get(await issuer.sign({}, { key: issuer.published[0] }))).toBe(200);
    // A flood of tokens with made-up kids: refused, and the issuer is not hammered.
    for (const token of strangers) expect(await get(token)).toBe(401);
    expect(issuer.jwksFetches).toBe(before + 1);
    // After the cooldown, one more refetch for an unknown kid is allowed.
    passCooldown();
    expect(await get(stranger)).toBe(401);
    expect(issuer.jwksFetches).toBe(before + 2);
  });
});
