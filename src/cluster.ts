// WORKERS > 1: this process is the primary of a node:cluster. It owns what there must be one of
// (the embedded database, the metrics port, the signal handling) and runs WORKERS server
// processes that share the listening port; a worker that dies is replaced. Each worker is a
// whole Tessera (its own pool, caches and change listener); they agree through PostgreSQL as
// replicas on different machines do.
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:http';
import Koa from 'koa';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config/config.ts';
import type { Logger } from './logging/logger.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { applyLimits, CONNECTIONS_CHECKING_INTERVAL_MS, startEmbeddedDatabase } from './server.ts';

// A worker that keeps dying is restarted no faster than this, so a broken deployment does not
// spin a core on restarts.
const RESTART_DELAY_MS = 1_000;
// Longer than a worker's own drain (server.ts), shorter than the 30 s an orchestrator waits.
const STOP_TIMEOUT_MS = 25_000;

const METRICS_REQUEST = 'tessera:metrics-request';
const METRICS_RESPONSE = 'tessera:metrics-response';

export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const env: Record<string, string> = {};
  let stopEmbedded = async () => {};
  if (!config.databaseUrl) {
    const embedded = await startEmbeddedDatabase(config, logger);
    env.DATABASE_URL = embedded.url;
    stopEmbedded = embedded.stop;
  }

  // Every worker's metrics, added up: on METRICS_PORT, and for a worker asked on the main port.
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_RESPONSE, id: message.id, text }),
      (err: Error) => worker.send({ type: METRICS_RESPONSE, id: message.id, error: err.message }),
    );
  });
  if (config.metrics.port !== undefined) {
    const app = new Koa();
    app.use(metricsRoutes(() => aggregator.clusterMetrics(), undefined).routes());
    const server = applyLimits(createServer({ connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS }, app.callback()), config);
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
    const exited = workers.map((w) => new Promise((resolve) => {
      if (w.isDead()) return resolve(undefined);
      w.once('exit', resolve);
      w.process.kill('SIGTERM');
    }));
    const timer = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), STOP_TIMEOUT_MS);
    void Promise.all(exited).then(async () => {
      clearTimeout(timer);
      await stopEmbedded();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * In a worker: lets the primary read this worker's registry, and returns the source of the
 * whole cluster's metrics (asked of the primary) for the main port's /metrics.
 */
export function clusterMetricsSource(registry: import('prom-client').Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's answering listener in this worker.
  new AggregatorRegistry();
  let next = 0;
  const waiting = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  process.on('message', (message: { type?: string; id?: number; text?: string; error?: string }) => {
    if (message?.type !== METRICS_RESPONSE || message.id === undefined) return;
    const w = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error !== undefined) w?.reject(new Error(message.error));
    else w?.resolve(message.text ?? '');
  });
  return () => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    process.send!({ type: METRICS_REQUEST, id });
  });
}
