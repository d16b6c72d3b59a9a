// Starting and stopping a Tessera server: database (external or embedded), migrations, keys,
// app, HTTP listener. main.ts runs it for the process; tests run it in-process on port 0.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { createApp, type TesseraApp } from './app.ts';
import { scheduleCleanup } from './jobs/cleanup.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { auditTrail } from './services/audit.ts';
import { webhookAuditEvents } from './services/webhooks.ts';
import { outboxKeys } from './account/features.ts';
import type { Config } from './config/config.ts';
import type { Database } from './db/client.ts';
import { openDatabase } from './db/open.ts';
import { listenForNotifications, type ListenerOptions, type Notifications } from './db/notifications.ts';
import type { Clock } from './clock.ts';
import { applyMigrationsAt, MIGRATIONS_DIR, pendingMigrations } from './db/migrate.ts';
import { createQueries } from './db/queries/index.ts';
import { keyPolicy } from './keys/key-policy.ts';
import { loadKeySet } from './keys/key-set.ts';
import { watchKeys } from './keys/key-watcher.ts';
import { advanceKeys } from './keys/lifecycle.ts';
import type { Logger } from './logging/logger.ts';

// How often Node checks headersTimeout and requestTimeout. Its default, 30 s, let a connection
// that never finished its headers live up to 30 s past a 60 s headersTimeout (~79 s measured);
// checking every second costs one walk over the open connections per second.
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

export interface RunningTessera {
  url: string;
  db: Database;
  /** The change listener (db/notifications.ts). */
  notifications: Notifications;
  /** The application being served (its routers and provider, for tests that sweep every route). */
  tessera: TesseraApp;
  /** Stops at once: no new connections, in-flight requests get SHUTDOWN_TIMEOUT_MS. */
  close(): Promise<void>;
  /**
   * Graceful shutdown, for SIGTERM: /readyz answers 503 and every response closes its
   * connection, while requests are still served for `drainMs` (SHUTDOWN_DRAIN_MS) so the load
   * balancer takes this replica out before anything is refused; then close().
   */
  shutdown(drainMs?: number): Promise<void>;
}

export interface StartOptions {
  clusterWorker?: boolean;
  /** For tests: the listener's database URL (through a proxy they can freeze) and heartbeat. */
  listener?: Partial<Omit<ListenerOptions, 'retryMs'>>;
  /** For tests: Tessera's clock (src/clock.ts), which they move instead of waiting. */
  clock?: Clock;
  /** For tests: count database statements per request, by request id (db.statements.request). */
  countStatementsPerRequest?: boolean;
}

export async function startTessera(
  config: Config,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningTessera> {
  for (const notice of config.notices) logger.warn(notice);
  const { db, embedded } = await openDatabase(config, logger, {
    countPerRequest: options.countStatementsPerRequest ?? false,
  });
  let draining = false;
  try {
    if (config.migrateOnStart) {
      const { applied } = await applyMigrationsAt(db.directUrl, {
        migrationsDir: MIGRATIONS_DIR,
        log: (msg, fields) => logger.info(fields ?? {}, msg),
      });
      if (applied.length) logger.info({ applied }, 'applied database migrations');
    } else {
      const pending = await pendingMigrations(db.pool, MIGRATIONS_DIR);
      if (pending.length)
        throw new Error(`the database lacks migrations ${pending.join(', ')}: run \`tessera migrate\` first`);
    }
    const queries = createQueries(db);
    const policy = keyPolicy(config, queries.apis);
    // On first start this creates the first key; later it catches up on anything due.
    await advanceKeys(queries.signingKeys, policy);
    const keys = await loadKeySet(queries.signingKeys, policy.keks);
    const notifications = listenForNotifications({
      // LISTEN needs a session of its own: through a transaction-mode pooler it would hear nothing.
      databaseUrl: db.directUrl,
      retryMs: config.keys.checkInterval * 1000,
      ...options.listener,
    });
    const tessera = createApp({
      config,
      logger,
      db,
      keys,
      notifications,
      clusterWorker: options.clusterWorker,
      clock: options.clock,
      draining: () => draining,
    });
    const cleanup = scheduleCleanup(queries.cleanup, config.cleanupInterval, logger);
    // Metrics on their own listener, for an internal network (see routes/metrics.ts).
    let metricsServer: Server | undefined;
    // (In a cluster, the primary serves METRICS_PORT for every worker: cluster.ts.)
    if (config.metrics.port !== undefined && !options.clusterWorker) {
      const metricsApp = new Koa();
      metricsApp.use(metricsRoutes(() => tessera.metrics.registry.metrics(), undefined).routes());
      metricsServer = createServer(
        { connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS },
        metricsApp.callback(),
      );
      applyLimits(metricsServer, config);
      // Unauthenticated, so loopback unless METRICS_HOST widens it (not HOST: that is public).
      await listen(metricsServer, config.metrics.port, config.metrics.host);
    }
    const watcher = watchKeys({
      notifications,
      queries: queries.signingKeys,
      policy,
      initial: keys,
      intervalMs: config.keys.checkInterval * 1000,
      logger,
      onChange: tessera.setKeys,
      audit: auditTrail(webhookAuditEvents(queries.webhooks, config.issuer, outboxKeys(config)), logger),
    });
    const handle = tessera.app.callback();
    // Draining: no connection outlives its current response (Node then sends Connection: close),
    // so clients and the balancer open their next one to another replica. That holds for the
    // requests that began before the signal too, whose answers are not written yet: they are
    // kept here until they end, and marked when draining starts.
    const unanswered = new Set<ServerResponse>();
    const forget = function (this: ServerResponse) {
      unanswered.delete(this);
    };
    const startDraining = () => {
      draining = true;
      for (const res of unanswered) if (!res.headersSent) res.shouldKeepAlive = false;
    };
    const server = createListener(config, (req: IncomingMessage, res: ServerResponse) => {
      if (draining) res.shouldKeepAlive = false;
      else {
        unanswered.add(res);
        res.once('close', forget);
      }
      return handle(req, res);
    });
    await listen(server, config.port, config.host);
    const { port } = server.address() as AddressInfo;
    const url = `${config.security.tls ? 'https' : 'http'}://${config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host}:${port}`;
    logger.info({ url, issuer: config.issuer }, 'tessera is listening');

    const timeoutMs = config.shutdown.timeoutMs;
    const close = async () => {
      startDraining();
      cleanup.stop();
      await watcher.stop();
      await notifications.stop();
      if (metricsServer) await drain(metricsServer, timeoutMs);
      await drain(server, timeoutMs);
      await tessera.close();
      await db.close();
      await embedded?.stop();
    };
    return {
      url,
      db,
      notifications,
      tessera,
      close,
      async shutdown(drainMs = config.shutdown.drainMs) {
        // Kept-alive connections are not cut now (a request may be on its way on one): each
        // closes after its next response, and close() closes those still idle at the end.
        startDraining();
        logger.info({ drainMs, timeoutMs }, 'not ready: draining before stopping');
        await new Promise((resolve) => setTimeout(resolve, drainMs));
        await close();
      },
    };
  } catch (err) {
    await db.close().catch(() => {});
    await embedded?.stop().catch(() => {});
    throw err;
  }
}

/**
 * HTTP, or HTTPS when TLS_CERT_FILE/TLS_KEY_FILE are set. HTTPS asks every client for a
 * certificate but lets the handshake finish without one or with one no CA vouches for: whether a
 * certificate is needed, and which, is each client's registration (RFC 8705 §2: tls_client_auth
 * chains to TLS_CLIENT_CA_FILE, self_signed_tls_client_auth matches the client's JWKS), and
 * browsers at the sign-in pages have none.
 */
function createListener(config: Config, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const { tls } = config.security;
  const http = { connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS };
  const server = tls
    ? (createHttpsServer(
        {
          ...http,
          cert: tls.cert,
          key: tls.key,
          ...(tls.clientCa ? { ca: tls.clientCa } : {}),
          requestCert: true,
          rejectUnauthorized: false,
        },
        handler,
      ) as unknown as Server)
    : createServer(http, handler);
  return applyLimits(server, config);
}

/**
 * A client that sends its headers (or body) slowly, or opens connections and sends nothing, is
 * cut off after HTTP_HEADERS_TIMEOUT / HTTP_REQUEST_TIMEOUT; beyond HTTP_MAX_CONNECTIONS open
 * connections new ones are closed at once, so such clients cannot use up memory and descriptors.
 */
export function applyLimits(server: Server, config: Pick<Config, 'http'>): Server {
  server.headersTimeout = config.http.headersTimeoutMs;
  server.requestTimeout = config.http.requestTimeoutMs;
  server.keepAliveTimeout = config.http.keepAliveTimeoutMs;
  server.maxConnections = config.http.maxConnections;
  return server;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Stops accepting connections, closes the idle ones, lets in-flight requests finish (their
 * connections close after the response: server.close marks them), and after `timeoutMs` cuts
 * whatever is left.
 */
function drain(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
