// createApp(deps): the Koa application. Tessera's middleware and routes wrap the mounted
// oidc-provider, which serves every OAuth/OIDC endpoint.
import Koa from 'koa';
import type { Provider } from 'oidc-provider';
import type { Config } from './config/config.ts';
import { DISCOVERY_PATH, ROUTES } from './oidc/provider-config.ts';
import { clientCatalog } from './cache/client-catalog.ts';
import { withConsoleClient } from './oidc/admin-console-grant.ts';
import { clusterMetricsSource } from './metrics/cluster-metrics.ts';
import { revocationList } from './cache/revocations.ts';
import type { Database } from './db/client.ts';
import type { Notifications } from './db/notifications.ts';
import { type Clock, systemClock } from './clock.ts';
import { createQueries } from './db/queries/index.ts';
import { requestReads, requestReadsScope } from './oidc/request-reads.ts';
import { loginRecorder } from './interactions/login-recorder.ts';
import type { KeySet } from './keys/key-set.ts';
import type { Logger } from './logging/logger.ts';
import { clientAddressBoundary, trustedProxies } from './middleware/client-address.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { memoizedDocuments } from './middleware/memoized-documents.ts';
import { pinRequestOrigin } from './middleware/issuer-origin.ts';
import { publicCache } from './middleware/public-cache.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { accessTokenPolicy } from './oidc/access-token-policy.ts';
import { jwtAccessTokenEndpoints } from './oidc/jwt-access-tokens.ts';
import { clientCredentialsFastPath } from './oidc/client-credentials-fast-path.ts';
import { accessTokenVerifier } from './oidc/access-token-verifier.ts';
import { providerSlot } from './oidc/provider-slot.ts';
import { tokenIssuedRecorder } from './oidc/events.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { grantableScopes } from './oidc/resource-servers.ts';
import { standing } from './oidc/organizations.ts';
import { isUserId } from './db/queries/users.ts';
import { assetRoutes } from './routes/assets.ts';
import {
  accountPasswordLimit,
  apiKeyQuotas,
  deviceCodeEntryLimit,
  loginLimits,
  passkeyChallengeLimit,
  registrationLimit,
  tokenEndpointLimit,
  tokenQuota,
} from './rate-limit/limits.ts';
import { registrationRoutes } from './registration/routes.ts';
import { apiKeyIntrospection } from './oidc/api-key-introspection.ts';
import { cachedApiKeys } from './cache/api-keys.ts';
import { usageMeter } from './api-keys/usage-meter.ts';
import {
  deviceAuthorizationInterval,
  deviceAuthorizationMethods,
  deviceCodeEntryConfirms,
} from './oidc/device-authorization.ts';
import { healthRoutes } from './routes/health.ts';
import { homeRoutes } from './routes/home.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { MIGRATIONS_DIR } from './db/migrate.ts';
import { httpMetrics } from './metrics/http-metrics.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { auditTrail } from './services/audit.ts';
import { webhookAuditEvents } from './services/webhooks.ts';
import { clientService } from './services/clients.ts';
import { PROVIDER_SCOPES } from './services/scopes.ts';
import { userService } from './services/users.ts';
import { loginIdentifier } from './services/login-identifier.ts';
import { serverSpans } from './tracing/http-server.ts';
import { tracingEnabled } from './tracing/spans.ts';
import { accountFeatures, outboxKeys } from './account/features.ts';
import { backchannelLogouts, enqueueBackchannelLogout } from './oidc/backchannel-logout.ts';
import { PASSKEYS_SECTION, passkeyAccountRoutes } from './interactions/passkey-account.ts';
import { passkeyService } from './services/passkeys.ts';
import { mfaFeatures } from './mfa/features.ts';
import { secondFactorPolicy } from './mfa/policy.ts';
import { passwordChange } from './account/password-change.ts';
import { accountPageRoutes } from './interactions/account-page.ts';
import { ACCOUNT_SECTIONS } from './interactions/account-sections.ts';
import { accountCallbackRoutes, accountSession } from './interactions/account-session.ts';
import { accountSecurityRoutes } from './interactions/account-security.ts';
import { adminApi } from './admin/admin-api.ts';
import { consoleRoutes } from './admin-console/routes.ts';
import { consoleSession, consoleTokenVerifier } from './admin-console/console-session.ts';

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
  /** True once the process is shutting down: /readyz then answers 503 (server.ts shutdown). */
  draining?: () => boolean;
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
  // The admin console's static client gets its admin-API grant here (oidc/admin-console-grant.ts).
  const catalog = withConsoleClient(clientCatalog(queries.clients, deps.notifications, deps.clock), queries.apis);
  const apiKeys = cachedApiKeys(queries.apiKeys, deps.notifications, deps.clock ?? systemClock);
  const revocations = revocationList({
    revoked: queries.revoked,
    payloads: queries.payloads,
    notifications: deps.notifications,
    now: deps.clock,
  });
  const policy = accessTokenPolicy(catalog);
  const metrics = createMetrics(db.pool, db.statements.total);
  // Audit events of types a webhook subscribes to enqueue their deliveries in the same transaction.
  const audit = auditTrail(webhookAuditEvents(queries.webhooks, config.issuer, outboxKeys(config)), logger);
  const recordTokenIssued = tokenIssuedRecorder(logger, metrics);
  // MFA_REQUIRED, a client's --require-mfa (clients.require_mfa), or an organization's
  // --mfa-required for a request for that organization (mfa/policy.ts).
  const secondFactorRequired = secondFactorPolicy({
    everyone: config.mfaRequired,
    clientRequires: async (clientId) => (await catalog.get(clientId))?.requireMfa === true,
    organizationRequires: (ref, accountId) => queries.organizations.mfaRequiredFor(ref, accountId),
  });
  const verifyAccessToken = accessTokenVerifier({
    issuer: config.issuer,
    publicJwks: () => slot.keys().publicJwks,
    revocations,
  });
  const slot = providerSlot(
    {
      issuer: config.issuer,
      behindProxies: config.trustedProxies.length > 0,
      cookieKeys: config.cookieKeys,
      clientSecretPepper: config.clientSecretPepper,
      payloads: queries.payloads,
      now: deps.clock,
      clients: catalog,
      users: queries.users,
      organizations: queries.organizations,
      consents: queries.consents,
      devicePolls: queries.devicePolls,
      config,
      policy,
      logger,
      metrics,
      audit,
      verifyAccessToken,
      // Called at logout, long after `account` below exists.
      backchannelLogout: enqueueBackchannelLogout(() => account.outbox),
      secondFactorRequired,
      tokenExchange: {
        verify: verifyAccessToken,
        policies: queries.tokenExchange,
        mayActOn: (client, claims) =>
          policy.mayIntrospect(undefined, client, { clientId: claims.client_id, aud: claims.aud }),
        // A client's own token (client credentials) has its client id as sub.
        subjectRoles: async ({ sub, client_id: clientId }) => {
          if (sub === clientId) return (await catalog.rbac(clientId)).roles;
          return sub && isUserId(sub) ? ((await queries.users.findAccount(sub))?.roles ?? []) : [];
        },
      },
    },
    deps.keys,
  );

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

  const health = healthRoutes({
    pool: db.pool,
    migrationsDir: MIGRATIONS_DIR,
    keysLoaded: () => slot.keys().signingKid !== undefined,
    draining: deps.draining,
    listener: () => deps.notifications?.health ?? 'reconnecting',
  });
  const tokens = tokenQuota(db.pool, config.rateLimits);
  const keyQuotas = apiKeyQuotas(db.pool, deps.clock);
  const keyUsage = usageMeter(queries.apiKeys.addUsage, deps.clock);
  // Mail, the outbox worker, and the password-reset pages (src/account/).
  const account = accountFeatures({
    config,
    queries,
    pool: db.pool,
    logger,
    audit,
    metrics,
    clients: catalog,
    provider: slot.current,
  });
  // Passkeys (services/passkeys.ts): sign-in on the sign-in page, and the /account/passkeys page.
  const passkeys = config.passkeys
    ? {
        service: passkeyService({ issuer: config.issuer, rpName: config.brand.name, passkeys: queries.passkeys }),
        challenges: passkeyChallengeLimit(db.pool),
      }
    : undefined;
  const limits = loginLimits(db.pool, config.rateLimits);
  const onLoginRateLimited = () => metrics.rateLimited.inc({ limit: 'login' });
  // Second factors: TOTP and recovery codes, asked for after the password (src/mfa/).
  const mfa = mfaFeatures({
    config,
    queries,
    pool: db.pool,
    audit,
    loginLimits: limits,
    requiredFor: secondFactorRequired,
    onRateLimited: onLoginRateLimited,
    // A passkey is a second factor too, where browsers can use passkeys at all (passkeys.offered).
    ...(passkeys?.service.offered ? { passkeys: passkeys.service } : {}),
    ...(deps.clock ? { now: deps.clock } : {}),
  });
  const interactions = interactionRoutes({
    provider: slot.current,
    users: userService(queries.users),
    userQueries: queries.users,
    consents: queries.consents,
    brand: config.brand,
    csrfKey: config.cookieKeys[0]!,
    limits,
    identify: loginIdentifier(config.clientSecretPepper, queries.users),
    audit,
    onLogin: loginRecorder(metrics, audit),
    // The statement answers which second factors the user has: the step after the password asks.
    signedIn: async (userId, ip, counterKey, locale) => {
      const factors = await queries.users.recordSignIn(userId, ip, counterKey, locale);
      requestReads()?.secondFactors.set(userId, factors);
    },
    onRateLimited: onLoginRateLimited,
    grantable: grantableScopes(
      catalog,
      async (id) => (await queries.users.findAccount(id))?.roles ?? [],
      async (organization, id) => {
        const found = await queries.organizations.membership(organization, id);
        return found?.member ? standing(found) : undefined;
      },
    ),
    unreviewed: (clientId) => queries.registrations.unapproved(clientId),
    loginLinks: account.loginLinks,
    verifiedEmail: account.verifiedEmail,
    secondFactor: mfa.step,
    passkeys,
    organizationId: async (ref) => (await queries.organizations.find(ref))?.id,
  });
  // The account page, signed in with the provider's session (interactions/account-session.ts);
  // pages of other features under /account use the same `session`.
  const session = accountSession({
    provider: slot.current,
    users: queries.users,
    csrfKey: config.cookieKeys[0]!,
    issuer: config.issuer,
  });
  // Back-channel logout for the sessions the account page ends (as /session/end does for its one).
  const sessionsEnded = backchannelLogouts(() => account.outbox);
  const accountPage = accountPageRoutes({
    session,
    sessions: queries.accountSessions,
    sessionsEnded,
    consents: queries.consents,
    clients: catalog,
    passwords: passwordChange({
      sessions: queries.accountSessions,
      sessionsEnded,
      audit,
      passwordMinLength: config.passwordMinLength,
      notify: account.passwordChangedMail,
    }),
    audit,
    brand: config.brand,
    passwordMinLength: config.passwordMinLength,
    passwordAttempts: accountPasswordLimit(db.pool, config.rateLimits),
    verification: account.sendVerification && {
      send: account.sendVerification,
      perAccount: account.mailLimits.perAccount,
    },
    sections: passkeys ? [...ACCOUNT_SECTIONS, PASSKEYS_SECTION] : ACCOUNT_SECTIONS,
  });
  // In a cluster worker, /metrics reports the whole cluster (asked of the primary).
  const metricsText = deps.clusterWorker ? clusterMetricsSource(metrics.registry) : () => metrics.registry.metrics();

  // The order: the address boundary first, so that everything after it (logs, limits, audit,
  // mTLS) sees only what a trusted proxy said; then logging, metrics and the error handler, so
  // that they see every request and every error below them; then the cheapest answers (cached
  // documents, health, metrics, assets) and Tessera's own pages, which spend their own limits;
  // then the limits on the provider's endpoints, before the fast paths that answer some of its
  // requests; the provider last, for everything else.
  // Tracing (off unless configured): the server span first, so that it times everything.
  if (tracingEnabled()) app.use(serverSpans(providerPaths()));
  app.use(
    clientAddressBoundary(trustedProxies(config.trustedProxies), { certHeader: config.security.mtls?.certHeader }),
  );
  app.use(requestContext(logger));
  app.use(function countStatements(ctx, next) {
    return db.statements.scope(ctx.state.requestId, next);
  });
  app.use(httpMetrics(metrics));
  app.use(errorHandler(config.brand));
  app.use(requestReadsScope());
  app.use(securityHeaders({ https: config.issuer.startsWith('https:') }));
  // Early, so that the most fetched documents pass through no router. A JWKS cached for less than half the publication delay is refetched before a new key signs.
  app.use(
    publicCache(
      [DISCOVERY_PATH, ROUTES.jwks],
      Math.max(1, Math.min(300, Math.floor(config.keys.publicationDelay / 2))),
    ),
  );
  app.use(memoizedDocuments([DISCOVERY_PATH, ROUTES.jwks], slot.current));
  app.use(health.routes());
  if (config.metrics.token) app.use(metricsRoutes(metricsText, config.metrics.token).routes());
  app.use(assetRoutes().routes());
  app.use(homeRoutes({ issuer: config.issuer, brand: config.brand, development: !config.production }).routes());
  app.use(interactions.routes());
  if (config.registration.mode !== 'off') {
    const registration = registrationRoutes({
      issuer: config.issuer,
      mode: config.registration.mode,
      policy: config.registration.policy,
      registrations: queries.registrations,
      clients: clientService({
        clients: queries.clients,
        apis: queries.apis,
        pepper: config.clientSecretPepper,
        audit,
        actor: 'dcr',
      }),
      audit,
      perAddress: registrationLimit(db.pool, config.registration.perHour),
    });
    app.use(registration.routes());
  }
  for (const routes of account.routes) app.use(routes.routes());
  app.use(accountCallbackRoutes(config.brand).routes());
  app.use(accountPage.routes());
  if (passkeys) {
    app.use(
      passkeyAccountRoutes({
        passkeys: passkeys.service,
        challenges: passkeys.challenges,
        session,
        brand: config.brand,
        audit,
        onRateLimited: () => metrics.rateLimited.inc({ limit: 'passkey_challenge' }),
      }).routes(),
    );
  }
  app.use(
    accountSecurityRoutes({
      session,
      totp: mfa.totp,
      recoveryCodes: mfa.recoveryCodes,
      queries: queries.secondFactors,
      attempts: mfa.attempts,
      audit,
      brand: config.brand,
    }).routes(),
  );
  // The admin API (/admin/v1): its own problem-details errors, its own bearer-token check.
  const admin = adminApi({ config, queries, audit, verify: verifyAccessToken });
  app.use(admin);
  // The admin console (/admin): pages over the same operations, as the signed-in admin.
  app.use(
    consoleRoutes({
      session: consoleSession({
        issuer: config.issuer,
        payloads: queries.payloads,
        keysEncryptionKey: config.keysEncryptionKey,
        csrfKey: config.cookieKeys[0]!,
        verify: consoleTokenVerifier(verifyAccessToken),
      }),
      call: admin.call,
      brand: config.brand,
    }).routes(),
  );
  app.use(deviceAuthorizationMethods(ROUTES.device_authorization));
  app.use(deviceAuthorizationInterval(ROUTES.device_authorization, config.deviceFlow.pollInterval));
  app.use(deviceCodeEntryLimit(db.pool, config, ROUTES.code_verification));
  app.use(deviceCodeEntryConfirms(ROUTES.code_verification));
  app.use(tokenEndpointLimit(tokens, ROUTES.token, metrics));
  app.use(
    clientCredentialsFastPath({
      provider: slot.current,
      clients: catalog,
      tokenPath: ROUTES.token,
      oidcScopes: PROVIDER_SCOPES,
      // What the provider's grant.success records, and which path answered.
      onIssued: (ctx, clientId) => recordTokenIssued(ctx, 'client_credentials', clientId, { fast_path: true }),
    }),
  );
  app.use(
    apiKeyIntrospection({
      provider: slot.current,
      introspectionPath: ROUTES.introspection,
      pepper: config.clientSecretPepper,
      keys: apiKeys,
      clients: catalog,
      quotas: keyQuotas,
      meter: keyUsage,
      onQuotaExceeded: () => metrics.rateLimited.inc({ limit: 'api_key' }),
    }),
  );
  app.use(
    jwtAccessTokenEndpoints({
      provider: slot.current,
      verify: verifyAccessToken,
      revoked: queries.revoked,
      revocations,
      policy,
      audit,
      introspectionPath: ROUTES.introspection,
      revocationPath: ROUTES.revocation,
    }),
  );
  app.use(slot.middleware);
  return {
    app,
    metrics,
    provider: slot.current,
    setKeys: slot.setKeys,
    async close() {
      revocations.stop();
      await account.close();
      await tokens.stop();
      await Promise.all([keyQuotas.perMinute.stop(), keyQuotas.perDay.stop(), keyUsage.stop()]);
    },
  };
}

/** The provider's paths (lower case) and their route names: what the fast paths answer before its router. */
function providerPaths(): Map<string, string> {
  const paths = new Map<string, string>(Object.entries(ROUTES).map(([name, path]) => [path.toLowerCase(), name]));
  paths.set(DISCOVERY_PATH, 'discovery');
  return paths;
}
