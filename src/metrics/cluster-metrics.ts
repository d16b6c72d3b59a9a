// The metrics of a node:cluster (WORKERS > 1, cluster.ts): the primary adds up every worker's
// registry; a worker asked on the main port's /metrics gets that sum from the primary over the
// cluster's IPC channel, so any worker answers for the whole cluster.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const METRICS_REQUEST = 'tessera:metrics-request';
const METRICS_RESPONSE = 'tessera:metrics-response';

/** In the primary: answers the workers' requests with the whole cluster's metrics. */
export function answerClusterMetricsRequests(): Pick<AggregatorRegistry<never>, 'clusterMetrics'> {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_RESPONSE, id: message.id, text }),
      (err: Error) => worker.send({ type: METRICS_RESPONSE, id: message.id, error: err.message }),
    );
  });
  return aggregator;
}

/**
 * In a worker: lets the primary read this worker's registry, and returns the source of the
 * whole cluster's metrics (asked of the primary) for the main port's /metrics.
 */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
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
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      process.send!({ type: METRICS_REQUEST, id });
    });
}
