// Starting the OpenTelemetry SDK: only when an OTLP endpoint is configured (config.tracing), and
// loaded by dynamic import, so that a server without tracing never loads it (main.ts).
//
// The SDK reads its own OTEL_* variables (the endpoint, OTEL_EXPORTER_OTLP_PROTOCOL — http/protobuf
// by default, or http/json —, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*, the
// sampler, OTEL_PROPAGATORS). Only traces: no automatic instrumentation (Tessera records its own
// spans, spans.ts), no metrics (they are /metrics'), no logs (they go to stdout).
import { enableTracing } from './spans.ts';

export interface Tracing {
  /** Exports what is buffered and stops; call it before the process exits. */
  shutdown(): Promise<void>;
}

export async function startTracing(options: { serviceName: string }): Promise<Tracing> {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME, or 'tessera' (config.ts): the SDK's own fallback is unknown_service.
    serviceName: options.serviceName,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  enableTracing();
  return { shutdown: () => sdk.shutdown() };
}
