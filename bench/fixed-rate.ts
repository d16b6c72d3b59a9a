// Latency at a fixed request rate, measured in an open model: request i is due at start + i/rate
// whatever the answers' pace, and its latency counts from when it was due, not from when it was
// sent, so a stall shows in the figure instead of pausing the load (no coordinated omission).
// autocannon's rate option is no such thing: it lets every connection send back to back until
// that second's budget is spent, then waits for the next second — a full-speed burst each second.
import { Agent, request } from 'node:http';
import type { Load } from './wrk.ts';

export interface FixedRateResult {
  rate: number;
  achieved: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

// Connections the load may keep open: far more than a rate that the server keeps up with needs,
// so that a slow answer does not hold back the ones due after it.
const MAX_SOCKETS = 64;

export async function runFixedRate(load: Load, rate: number, seconds: number): Promise<FixedRateResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const url = new URL(load.url);
  const body = load.body === undefined ? undefined : Buffer.from(load.body);
  const headers = { ...load.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;

  const send = (due: number) => new Promise<void>((resolve) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: load.method ?? 'GET', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - due);
        if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end(body);
  });

  const total = Math.round(rate * seconds);
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let sent = 0; sent < total;) {
    // Everything due by now is sent; then sleep until the next one is due (timers wake ~1 ms late
    // at worst, and the lateness counts in the latency).
    const now = performance.now();
    while (sent < total && start + (sent * 1000) / rate <= now) pending.push(send(start + (sent++ * 1000) / rate));
    if (sent < total) await new Promise((r) => setTimeout(r, Math.max(0, start + (sent * 1000) / rate - performance.now())));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();

  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 100) / 100;
  return { rate, achieved: Math.round(total / elapsed), p50ms: at(0.5), p99ms: at(0.99), non2xx, errors };
}
