// createApp(deps): the Koa application. Tessera's middleware and routes wrap the mounted
// oidc-provider, which serves every OAuth/OIDC endpoint.
import Koa from 'koa';
import mount from 'koa-mount';
import type { Provider } from 'oidc-provider';
import type { Config } from './config/config.ts';
import { DISCOVERY_PATH, OIDC_SCOPES, ROUTES } from './oidc/provider-config.ts';
import { clientCatalog } from './cache/client-catalog.ts';
import { clusterMetricsSource } from './metrics/cluster-metrics.ts';
import { revocationList } from './cache/revocations.ts';
import type { Database } from './db/client.ts';
import type { Notifications } from './db/notifications.ts';
import type { Clock } from './clock.ts';
import { createQueries } from './db/queries/index.ts';
import type { KeySet } from './keys/key-store.ts';
import type { Logger } from './logging/logger.ts';
import { clientAddressBoundary, trustedProxies } from './middleware/client-address.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { memoizedDocuments } from './middleware/memoized-documents.ts';
import { pinRequestOrigin } from './middleware/issuer-origin.ts';
import { publicCache } from './middleware/public-cache.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { accessTokenPolicy } from './oidc/access-token-policy.ts';
import { basicCredentials } from './oidc/basic-credentials.ts';
import { jwtAccessTokenEndpoints } from './oidc/jwt-access-tokens.ts';
import { clientCredentialsFastPath } from './oidc/client-credentials-fast-path.ts';
import { accessTokenVerifier } from './oidc/access-token-verifier.ts';
import { createProvider } from './oidc/provider.ts';
import { tokenIssuedRecorder } from './oidc/events.ts';
import { interactionRoutes, type LoginAttempt } from './interactions/routes.ts';
import { assetRoutes } from './routes/assets.ts';
import { createLimiter, rateLimit, tokenRateLimit } from './middleware/rate-limit.ts';
import { batchedQuota } from './rate-limit/batched-quota.ts';
import { deviceAuthorizationInterval, deviceAuthorizationMethods } from './oidc/device-authorization.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { MIGRATIONS_DIR } from './db/migrate.ts';
import { httpMetrics } from './metrics/http-metrics.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { auditTrail, type Audit } from './services/audit.ts';
import { sendPage } from './views/page.ts';
import { renderView } from './views/render.ts';
import { userService } from './services/users.ts';
import { loginIdentifier } from './services/login-identifier.ts';

// The window for device-code entry attempts: as long as a device code lives by default.
const DEVICE_CODE_ENTRY_WINDOW = 600;
// Sign-in limits count over 15 minutes (OWASP's usual lockout period): long enough to stop
// guessing, short enough that a locked-out user is not locked out for long.
const LOGIN_WINDOW = 15 * 60;

/** What a sign-in attempt leaves behind: a metric and an audit event (never the password). */
function recordLogin(metrics: Metrics, audit: Audit) {
  return async (attempt: LoginAttempt) => {
    metrics.logins.inc({ outcome: attempt.outcome });
    if (attempt.outcome === 'success') {
      await audit.record({ type: 'login.succeeded', actor: attempt.userId, subject: attempt.userId, ip: attempt.ip });
    } else if (attempt.subject !== undefined) {
      await audit.record({ type: 'login.failed', actor: 'anonymous', subject: attempt.subject, ip: attempt.ip, details: { reason: attempt.outcome } });
    }
  };
}

export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Database;
  keys: KeySet;
  /** Change notifications from other processes; without them, caches are bypassed. */
  notifications?: Notifications;
  /** This process is one of a node:cluster's workers (WORKERS > 1). */
  clusterWorker?: boolean;
  /** Tessera's clock (src/clock.ts): caches' ages, payloads' expiry, the reuse grace; tests move it. */
  clock?: Clock;
}

export interface TesseraApp {
  app: Koa;
  metrics: Metrics;
  /** The provider serving now (replaced when the signing keys change). */
  provider(): Provider;
  /** Swaps in a provider built on these keys; requests already in flight finish on the old one. */
  setKeys(keys: KeySet): void;
  /** Writes out what is counted in memory and stops timers; the database stays open. */
  close(): Promise<void>;
}

export function createApp(deps: AppDeps): TesseraApp {
  const { config, logger, db } = deps;
  const queries = createQueries(db, deps.clock);
  // Read on every request, kept in memory while change notifications arrive (src/cache/).
  const catalog = clientCatalog(queries.clients, deps.notifications, deps.clock);
  const revocations = revocationList({ revoked: queries.revoked, payloads: queries.payloads, notifications: deps.notifications, now: deps.clock });
  const policy = accessTokenPolicy(catalog);
  const metrics = createMetrics(db.pool);
  const audit = auditTrail(queries.auditEvents, logger);
  const recordTokenIssued = tokenIssuedRecorder(logger, metrics);
  const verifyAccessToken = accessTokenVerifier({
    issuer: config.issuer,
    publicJwks: () => current.keys.publicJwks,
    revocations,
  });
  // oidc-provider fixes its keys when it is constructed, so a key change builds a new one.
  const build = (keys: KeySet) => {
    const provider = createProvider({
      issuer: config.issuer,
      behindProxies: config.trustedProxies.length > 0,
      cookieKeys: config.cookieKeys,
      clientSecretPepper: config.clientSecretPepper,
      keys,
      payloads: queries.payloads,
      now: deps.clock,
      clients: catalog,
      users: queries.users,
      consents: queries.consents,
      devicePolls: queries.devicePolls,
      config,
      policy,
      logger,
      metrics,
      audit,
      tokenExchange: {
        verify: verifyAccessToken,
        policies: queries.tokenExchange,
        mayActOn: (client, claims) => policy.mayIntrospect(undefined, client, { clientId: claims.client_id, aud: claims.aud }),
      },
    });
    return { keys, provider, mounted: mount(provider as unknown as Koa) };
  };
  let current = build(deps.keys);

  const app = new Koa();
  // Koa reads X-Forwarded-* only with app.proxy; clientAddressBoundary removes them from every
  // request whose peer is not a trusted proxy, and sets ctx.ip itself.
  app.proxy = config.trustedProxies.length > 0;
  // Every URL the provider publishes or checks is the issuer's, whatever Host or X-Forwarded-* say.
  pinRequestOrigin(app, { issuer: config.issuer, mtlsEndpointBase: config.security.mtls?.endpointBase });
  // The mounted provider runs on this app's context, so its signed cookies are signed with this
  // app's keys; they must be the provider's (cookies.keys), or it cannot read them back.
  app.keys = config.cookieKeys;
  // Koa prints unhandled errors itself unless told otherwise; the error handler has logged them.
  app.silent = true;

  const health = healthRoutes({ pool: db.pool, migrationsDir: MIGRATIONS_DIR, keysLoaded: () => current.keys.signingKid !== undefined, listener: () => deps.notifications?.health ?? 'reconnecting' });
  const loginLimits = {
    // A password guesser spraying accounts from one address.
    perIp: createLimiter(db.pool, { name: 'login_ip', points: config.rateLimits.loginPerIp, windowSeconds: LOGIN_WINDOW }),
    // A password guesser on one account: counted per account *and* IP, so that an attacker
    // cannot lock the real user out from the user's own network.
    perAccount: createLimiter(db.pool, { name: 'login_account', points: config.rateLimits.loginFailures, windowSeconds: LOGIN_WINDOW }),
    // What a locked-out address may write to the audit trail: one row per window.
    lockedRecords: createLimiter(db.pool, { name: 'login_locked_record', points: 1, windowSeconds: LOGIN_WINDOW }),
  };
  // The token endpoint's per-client limit, counted in memory and shared in batches.
  const tokenQuota = batchedQuota(db.pool, { name: 'token', points: config.rateLimits.tokenPerMinute, windowSeconds: 60 });
  const interactions = interactionRoutes({
    provider: () => current.provider,
    users: userService(queries.users),
    userQueries: queries.users,
    consents: queries.consents,
    brand: config.brand,
    csrfKey: config.cookieKeys[0]!,
    limits: loginLimits,
    identify: loginIdentifier(config.clientSecretPepper, queries.users),
    audit,
    onLogin: recordLogin(metrics, audit),
    onRateLimited: () => metrics.rateLimited.inc({ limit: 'login' }),
  });
  // First: everything after it (logs, limits, audit, mTLS) sees only what a trusted proxy said.
  app.use(clientAddressBoundary(trustedProxies(config.trustedProxies), { certHeader: config.security.mtls?.certHeader }));
  app.use(requestContext(logger));
  app.use(httpMetrics(metrics));
  app.use(errorHandler(config.brand));
  app.use(securityHeaders({ https: config.issuer.startsWith('https:') }));
  // Early, so that the most fetched documents pass through no router. A JWKS cached for less than half the publication delay is refetched before a new key signs.
  app.use(publicCache([DISCOVERY_PATH, ROUTES.jwks], Math.max(1, Math.min(300, Math.floor(config.keys.publicationDelay / 2)))));
  app.use(memoizedDocuments([DISCOVERY_PATH, ROUTES.jwks], () => current.provider));
  app.use(health.routes());
  // In a cluster worker, /metrics reports the whole cluster (asked of the primary).
  const metricsText = deps.clusterWorker ? clusterMetricsSource(metrics.registry) : () => metrics.registry.metrics();
  if (config.metrics.token) app.use(metricsRoutes(metricsText, config.metrics.token).routes());
  app.use(assetRoutes().routes());
  app.use(interactions.routes());
  app.use(deviceAuthorizationMethods(ROUTES.device_authorization));
  app.use(deviceAuthorizationInterval(ROUTES.device_authorization, config.deviceFlow.pollInterval));
  // Guessing user codes: a bounded number of code entries per client IP (RFC 8628 §5.1).
  app.use(rateLimit(
    createLimiter(db.pool, { name: 'device_code_entry', points: config.deviceFlow.attemptsPerWindow, windowSeconds: DEVICE_CODE_ENTRY_WINDOW }),
    (ctx) => ctx.method === 'POST' && ctx.path === ROUTES.code_verification,
    (ctx) => ctx.ip,
    (ctx, retryAfter) => sendPage(ctx, renderView('device-done', config.brand, {
      heading: 'Too many attempts',
      message: `Too many codes were entered from your network. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`,
    }), 429),
  ));
  // Per client (the Basic-authentication user) and per address at the token endpoint.
  app.use(tokenRateLimit(
    tokenQuota,
    (ctx) => ctx.method === 'POST' && ctx.path === ROUTES.token,
    (ctx) => {
      const basic = basicCredentials(ctx.get('authorization'));
      return basic && `client:${basic.clientId}`;
    },
    (ctx, retryAfter) => {
      metrics.rateLimited.inc({ limit: 'token' });
      ctx.status = 429;
      ctx.body = { error: 'rate_limited', error_description: `too many token requests for this client; retry after ${retryAfter} s` };
    },
  ));
  app.use(clientCredentialsFastPath({
    provider: () => current.provider,
    clients: catalog,
    tokenPath: ROUTES.token,
    oidcScopes: OIDC_SCOPES,
    // What the provider's grant.success records, and which path answered.
    onIssued: (ctx, clientId) => recordTokenIssued(ctx, 'client_credentials', clientId, { fast_path: true }),
  }));
  app.use(jwtAccessTokenEndpoints({
    provider: () => current.provider,
    verify: verifyAccessToken,
    revoked: queries.revoked,
    revocations,
    policy,
    audit,
    introspectionPath: ROUTES.introspection,
    revocationPath: ROUTES.revocation,
  }));
  app.use(function provider(ctx, next) {
    return current.mounted(ctx, next);
  });
  return {
    app,
    metrics,
    provider: () => current.provider,
    setKeys(keys) {
      current = build(keys);
    },
    async close() {
      revocations.stop();
      await tokenQuota.stop();
    },
  };
}
