// Latency at a fixed request rate, measured in an open model: request i is due at start + i/rate
// whatever the answers' pace, and its latency counts from when it was due, not from when it was
// sent, so a stall shows in the figure instead of pausing the load (no coordinated omission).
// autocannon's rate option is no such thing: it lets every connection send back to back until
// that second's budget is spent, then waits for the next second — a full-speed burst each second.
//
// The client is plain keep-alive sockets writing one prepared request and reading answers by
// their Content-Length: node:http's client costs several times the CPU per request, which on a
// 2-core machine is taken from the server under test.
import { connect, type Socket } from 'node:net';
import type { Load } from './wrk.ts';

export interface FixedRateResult {
  rate: number;
  achieved: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

// Connections the load may open: far more than a rate that the server keeps up with needs, so
// that a slow answer does not hold back the ones due after it.
const MAX_CONNECTIONS = 64;
const HEADER_END = Buffer.from('\r\n\r\n');

export async function runFixedRate(load: Load, rate: number, seconds: number): Promise<FixedRateResult> {
  const url = new URL(load.url);
  const body = Buffer.from(load.body ?? '');
  const head = [
    `${load.method ?? 'GET'} ${url.pathname}${url.search} HTTP/1.1`,
    `host: ${url.host}`,
    'connection: keep-alive',
    ...Object.entries(load.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    ...(body.length ? [`content-length: ${body.length}`] : []),
  ].join('\r\n');
  const request = Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]);

  interface Connection {
    socket: Socket;
    due: number;
  }
  const latencies: number[] = [];
  const idle: Connection[] = [];
  const backlog: number[] = [];
  let open = 0;
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  let finished: () => void = () => {};

  const complete = (status: number, due: number) => {
    latencies.push(performance.now() - due);
    if (status < 200 || status >= 300) non2xx++;
    if (++done === total) finished();
  };
  const send = (conn: Connection, due: number) => {
    conn.due = due;
    conn.socket.write(request);
  };
  /** The next request due on a connection that is free: the oldest waiting one, else it idles. */
  const free = (conn: Connection) => {
    const next = backlog.shift();
    if (next === undefined) idle.push(conn);
    else send(conn, next);
  };

  function openConnection(): Connection {
    open++;
    const conn: Connection = { socket: connect(Number(url.port), url.hostname), due: 0 };
    conn.socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    conn.socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      const end = buffered.indexOf(HEADER_END);
      if (end < 0) return;
      const headers = buffered.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      buffered = buffered.subarray(end + 4 + length);
      const due = conn.due;
      conn.due = 0;
      complete(Number(headers.slice(9, 12)), due);
      free(conn);
    });
    conn.socket.on('error', () => {
      errors++;
    });
    conn.socket.on('close', () => {
      open--;
      const i = idle.indexOf(conn);
      if (i >= 0) idle.splice(i, 1);
      // A request in flight on a closed connection failed; what waits goes to another one.
      if (conn.due) complete(0, conn.due);
      const next = backlog.shift();
      if (next !== undefined && done < total) dispatch(next);
    });
    return conn;
  }

  const dispatch = (due: number) => {
    const conn = idle.pop() ?? (open < MAX_CONNECTIONS ? openConnection() : undefined);
    if (conn) send(conn, due);
    else backlog.push(due);
  };

  const total = Math.round(rate * seconds);
  const allDone = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    // Everything due by now is sent; then sleep until the next one is due (timers wake ~1 ms late
    // at worst, and the lateness counts in the latency).
    const now = performance.now();
    while (sent < total && start + (sent * 1000) / rate <= now) dispatch(start + (sent++ * 1000) / rate);
    if (sent < total)
      await new Promise((r) => setTimeout(r, Math.max(0, start + (sent * 1000) / rate - performance.now())));
  }
  await allDone;
  const elapsed = (performance.now() - start) / 1000;
  for (const conn of idle) conn.socket.destroy();

  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 100) / 100;
  return { rate, achieved: Math.round(total / elapsed), p50ms: at(0.5), p99ms: at(0.99), non2xx, errors };
}
