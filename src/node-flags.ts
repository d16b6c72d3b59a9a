// The flags Node runs Tessera's server with, wherever it is started: `npm start`, the image's
// CMD, the Kubernetes Deployment, cluster workers (which inherit their primary's), the test
// servers and the benchmarks. test/unit/node-flags.test.ts holds the files that spell them out to
// this list.
//
// --experimental-async-context-frame (Node 22; the default from Node 24): AsyncLocalStorage
// carried by V8's continuation frames instead of async_hooks, whose init hook runs for every
// promise created while any store is live. Each request enters one (src/tracing/request-slot.ts;
// oidc-provider and OpenTelemetry's context manager use them too), so the hooks ran on every
// promise of every request. Measured with bench/tracing.ts and bench/run.ts (bench/README.md):
// about 6 % less CPU per client-credentials request, and more on the flows that await the
// database several times.
export const SERVER_NODE_FLAGS: readonly string[] = ['--experimental-async-context-frame'];
