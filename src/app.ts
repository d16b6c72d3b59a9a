// createApp(deps): the Koa application. Tessera's middleware and routes wrap the mounted
// oidc-provider, which serves every OAuth/OIDC endpoint.
import Koa from 'koa';
import mount from 'koa-mount';
import type { Provider } from 'oidc-provider';
import type { Config } from './config/config.ts';
import { DISCOVERY_PATH, ROUTES } from './config/provider-config.ts';
import type { Database } from './db/client.ts';
import { createQueries } from './db/queries/index.ts';
import type { KeySet } from './keys/key-store.ts';
import type { Logger } from './logging/logger.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { publicCache } from './middleware/public-cache.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { accessTokenPolicy } from './oidc/access-token-policy.ts';
import { jwtAccessTokenEndpoints } from './oidc/jwt-access-tokens.ts';
import { createProvider } from './oidc/provider.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { assetRoutes } from './routes/assets.ts';
import { createLimiter, rateLimit } from './middleware/rate-limit.ts';
import { deviceAuthorizationInterval } from './oidc/device-authorization.ts';
import { healthRoutes } from './routes/health.ts';
import { sendPage } from './views/page.ts';
import { renderView } from './views/render.ts';
import { userService } from './services/users.ts';

// The window for device-code entry attempts: as long as a device code lives by default.
const DEVICE_CODE_ENTRY_WINDOW = 600;

export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Database;
  keys: KeySet;
}

export interface TesseraApp {
  app: Koa;
  /** The provider serving now (replaced when the signing keys change). */
  provider(): Provider;
  /** Swaps in a provider built on these keys; requests already in flight finish on the old one. */
  setKeys(keys: KeySet): void;
}

export function createApp(deps: AppDeps): TesseraApp {
  const { config, logger, db } = deps;
  const queries = createQueries(db.prisma);
  const policy = accessTokenPolicy(queries.clients);
  // oidc-provider fixes its keys when it is constructed, so a key change builds a new one.
  const build = (keys: KeySet) => {
    const provider = createProvider({
      issuer: config.issuer,
      trustProxy: config.trustProxy,
      cookieKeys: config.cookieKeys,
      clientSecretPepper: config.clientSecretPepper,
      keys,
      payloads: queries.payloads,
      clients: queries.clients,
      users: queries.users,
      consents: queries.consents,
      devicePolls: queries.devicePolls,
      config,
      policy,
      logger,
    });
    return { keys, provider, mounted: mount(provider as unknown as Koa) };
  };
  let current = build(deps.keys);

  const app = new Koa();
  app.proxy = config.trustProxy;
  // The mounted provider runs on this app's context, so its signed cookies are signed with this
  // app's keys; they must be the provider's (cookies.keys), or it cannot read them back.
  app.keys = config.cookieKeys;
  // Koa prints unhandled errors itself unless told otherwise; the error handler has logged them.
  app.silent = true;

  const health = healthRoutes(db.pool);
  const interactions = interactionRoutes({
    provider: () => current.provider,
    users: userService(queries.users),
    userQueries: queries.users,
    consents: queries.consents,
    brand: config.brand,
    csrfKey: config.cookieKeys[0]!,
  });
  app.use(requestContext(logger));
  app.use(errorHandler(config.brand));
  app.use(securityHeaders({ https: config.issuer.startsWith('https:') }));
  app.use(health.routes());
  app.use(assetRoutes().routes());
  app.use(interactions.routes());
  // A JWKS cached for less than half the publication delay is refetched before a new key signs.
  app.use(publicCache([DISCOVERY_PATH, ROUTES.jwks], Math.max(1, Math.min(300, Math.floor(config.keys.publicationDelay / 2)))));
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
  app.use(jwtAccessTokenEndpoints({
    issuer: config.issuer,
    publicJwks: () => current.keys.publicJwks,
    revoked: queries.revoked,
    payloads: queries.payloads,
    policy,
    introspectionPath: ROUTES.introspection,
    revocationPath: ROUTES.revocation,
  }));
  app.use(function provider(ctx, next) {
    return current.mounted(ctx, next);
  });
  return {
    app,
    provider: () => current.provider,
    setKeys(keys) {
      current = build(keys);
    },
  };
}
