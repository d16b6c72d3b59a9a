// WORKERS > 1: this process is the primary of a node:cluster. It owns what there must be one of
// (the embedded database, the metrics port, the signal handling) and runs WORKERS server
// processes that share the listening port; a worker that dies is replaced. Each worker is a
// whole Tessera (its own pool, caches and change listener); they agree through PostgreSQL as
// replicas on different machines do.
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:http';
import Koa from 'koa';
import type { Config } from './config/config.ts';
import type { Logger } from './logging/logger.ts';
import { startEmbeddedDatabase } from './db/open.ts';
import { answerClusterMetricsRequests } from './metrics/cluster-metrics.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { applyLimits, CONNECTIONS_CHECKING_INTERVAL_MS } from './server.ts';

// A worker that keeps dying is restarted no faster than this, so a broken deployment does not
// spin a core on restarts.
const RESTART_DELAY_MS = 1_000;
// Beyond a worker's own drain window and in-flight bound (SHUTDOWN_DRAIN_MS, SHUTDOWN_TIMEOUT_MS,
// server.ts shutdown), the time a worker takes to close its pool and exit.
const STOP_MARGIN_MS = 5_000;

export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const env: Record<string, string> = {};
  let stopEmbedded = async () => {};
  if (!config.databaseUrl) {
    const embedded = await startEmbeddedDatabase(config, logger);
    env.DATABASE_URL = embedded.url;
    stopEmbedded = embedded.stop;
  }

  // Every worker's metrics, added up: on METRICS_PORT, and for a worker asked on the main port.
  const aggregator = answerClusterMetricsRequests();
  if (config.metrics.port !== undefined) {
    const app = new Koa();
    app.use(metricsRoutes(() => aggregator.clusterMetrics(), undefined).routes());
    const server = applyLimits(
      createServer({ connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS }, app.callback()),
      config,
    );
    await new Promise<void>((resolve) => server.listen(config.metrics.port, config.metrics.host, resolve));
  }

  let stopping = false;
  const fork = () => {
    const worker = cluster.fork(env);
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ pid: worker.process.pid, code, signal }, 'a worker stopped; starting another');
      setTimeout(fork, RESTART_DELAY_MS).unref();
    });
  };
  for (let i = 0; i < config.workers; i++) fork();
  logger.info({ workers: config.workers }, 'started the server workers');

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the workers');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    const exited = workers.map(
      (w) =>
        new Promise((resolve) => {
          if (w.isDead()) return resolve(undefined);
          w.once('exit', resolve);
          w.process.kill('SIGTERM');
        }),
    );
    const timer = setTimeout(
      () => {
        for (const w of workers) w.process.kill('SIGKILL');
      },
      config.shutdown.drainMs + config.shutdown.timeoutMs + STOP_MARGIN_MS,
    );
    void Promise.all(exited).then(async () => {
      clearTimeout(timer);
      await stopEmbedded();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
