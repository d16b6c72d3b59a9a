// The one clock Tessera's own code reads time from where a test must move time on: the caches'
// ages (cache/), the payloads' expiry (db/queries/oidc-payloads.ts) and the refresh-token reuse
// grace (oidc/adapter.ts), the token quota's totals (rate-limit/batched-quota.ts). oidc-provider, jose and PostgreSQL's now() keep their own clocks.

/** Milliseconds since the epoch; injected so that tests can age caches and expire rows without waiting. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
