// Prometheus metrics (prom-client): one registry per Tessera server, so that two servers in one
// process (tests) count apart.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type pg from 'pg';
import type { Tally } from '../db/statement-count.ts';

/** `statements`: the pool's running totals of statements and write commits (db/statement-count.ts). */
export function createMetrics(pool: pg.Pool, statements: Tally = { statements: 0, commits: 0 }) {
  // What the counters below have reported so far, to add only what is new at each collection.
  const reported = { statements: 0, commits: 0 };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_process_' });
  return {
    registry,
    requests: new Counter({
      name: 'tessera_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    // Buckets from 1 ms (JWKS) to 2.5 s (a slow password check under load).
    latency: new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    tokensIssued: new Counter({
      name: 'tessera_tokens_issued_total',
      help: 'Token responses by grant type and client',
      labelNames: ['grant_type', 'client_id'],
      registers: [registry],
    }),
    oauthErrors: new Counter({
      name: 'tessera_oauth_errors_total',
      help: 'OAuth error responses by code and endpoint',
      labelNames: ['error', 'endpoint'],
      registers: [registry],
    }),
    logins: new Counter({
      name: 'tessera_logins_total',
      help: 'Sign-in attempts by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    refreshReuse: new Counter({
      name: 'tessera_refresh_token_reuse_total',
      help: 'Reuses of a consumed refresh token (family revoked)',
      registers: [registry],
    }),
    refreshRetries: new Counter({
      name: 'tessera_refresh_token_retry_total',
      help: 'Retries of a refresh within the grace, answered with the refresh token first issued',
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'tessera_rate_limited_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['limit'],
      registers: [registry],
    }),
    pool: new Gauge({
      name: 'tessera_db_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    }),
    statements: new Counter({
      name: 'tessera_db_statements_total',
      help: 'Statements sent to PostgreSQL through the pool (BEGIN/COMMIT not counted)',
      registers: [registry],
      collect() {
        this.inc(statements.statements - reported.statements);
        reported.statements = statements.statements;
      },
    }),
    commits: new Counter({
      name: 'tessera_db_commits_total',
      help: 'Write transactions committed through the pool',
      registers: [registry],
      collect() {
        this.inc(statements.commits - reported.commits);
        reported.commits = statements.commits;
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
