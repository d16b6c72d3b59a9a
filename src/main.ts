// The server process: read the configuration, start (one server, or a cluster of WORKERS), and
// drain on SIGTERM/SIGINT. SIGTERM is the orchestrator's stop, so it gets the drain window
// (not ready, still serving: server.ts shutdown); SIGINT is a person at a terminal, who wants
// the process gone, so it skips the window and only lets in-flight requests finish.
import cluster from 'node:cluster';
import { ConfigError } from './config/env.ts';
import { loadConfig } from './config/config.ts';
import { runPrimary } from './cluster.ts';
import { createLogger } from './logging/logger.ts';
import { startTessera } from './server.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`tessera: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const logger = createLogger({ level: config.logLevel });
try {
  if (config.workers > 1 && cluster.isPrimary) {
    await runPrimary(config, logger);
  } else {
    // Before the app is built (it asks tracingEnabled() once); without an endpoint the SDK is
    // never loaded.
    const tracing = config.tracing.enabled
      ? await (await import('./tracing/sdk.ts')).startTracing(config.tracing)
      : undefined;
    const running = await startTessera(config, logger, { clusterWorker: cluster.isWorker });
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'draining in-flight requests and stopping');
      running
        .shutdown(signal === 'SIGTERM' ? undefined : 0)
        // The spans of the last requests are still in the batch.
        .then(() => tracing?.shutdown())
        .then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'error while stopping');
            process.exit(1);
          },
        );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  }
} catch (err) {
  logger.fatal({ err }, 'tessera could not start');
  process.exit(1);
}
