// Finding 13 of the security review, the listener's part: a client that sends its headers
// slowly, or nothing at all, is cut off after HTTP_HEADERS_TIMEOUT (it was held ~79 s), beyond
// HTTP_MAX_CONNECTIONS new connections are closed at once, and the unauthenticated metrics
// listener is on loopback unless METRICS_HOST says otherwise (it listened on HOST, 0.0.0.0).
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { eventually } from '../setup/eventually.ts';
import { startTestServer, type TestServer } from '../setup/tessera.ts';

/** A raw connection to `url`'s port, reading whatever comes back, and when it closed. */
function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const opened = Date.now();
  const socket: Socket = connect(Number(port), hostname);
  const state = { received: '', closedAfterMs: undefined as number | undefined };
  socket.on('data', (chunk) => {
    state.received += String(chunk);
  });
  socket.on('error', () => {}); // a reset counts as closed
  socket.on('close', () => {
    state.closedAfterMs = Date.now() - opened;
  });
  return { socket, state };
}

/** Polls until `done()` or `ms` pass; true if done. */
function within(ms: number, done: () => boolean | Promise<boolean>): Promise<boolean> {
  return eventually(done, { timeoutMs: ms, intervalMs: 25 }).then(
    () => true,
    () => false,
  );
}

describe('slow and idle connections', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ HTTP_HEADERS_TIMEOUT: '1', HTTP_REQUEST_TIMEOUT: '2' });
  }, 60_000);
  afterAll(() => server?.close());

  it('closes a connection whose headers trickle in, with 408, within HTTP_HEADERS_TIMEOUT', async () => {
    const { socket, state } = rawConnection(server.issuer);
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    // One byte every 100 ms: activity, but the headers never end.
    const trickle = setInterval(() => socket.writable && socket.write('a'), 100);
    try {
      // 1 s, plus the once-a-second check (server.ts), plus slack for a loaded machine.
      expect(await within(4_000, () => state.closedAfterMs !== undefined)).toBe(true);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    expect(state.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(state.closedAfterMs).toBeGreaterThanOrEqual(900);
  });

  it('closes a connection that sends nothing within HTTP_HEADERS_TIMEOUT', async () => {
    const { socket, state } = rawConnection(server.issuer);
    try {
      expect(await within(4_000, () => state.closedAfterMs !== undefined)).toBe(true);
    } finally {
      socket.destroy();
    }
  });
});

describe('the connection cap', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ HTTP_MAX_CONNECTIONS: '2' });
  }, 60_000);
  afterAll(() => server?.close());

  it('closes connections beyond HTTP_MAX_CONNECTIONS at once, and serves again when one ends', async () => {
    const held = [rawConnection(server.issuer), rawConnection(server.issuer)];
    try {
      // Both are accepted (a request on each is answered) and kept open (keep-alive).
      for (const { socket, state } of held) {
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        expect(await within(4_000, () => state.received.startsWith('HTTP/1.1 200'))).toBe(true);
      }
      const extra = rawConnection(server.issuer);
      extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(await within(2_000, () => extra.state.closedAfterMs !== undefined)).toBe(true);
      expect(extra.state.received).toBe('');
      expect(held.every(({ state }) => state.closedAfterMs === undefined)).toBe(true);
      held[0]!.socket.destroy();
      // The server counts the closed one out when it sees it close: polled.
      const served = () =>
        fetch(`${server.issuer}/healthz`).then(
          (r) => r.status === 200,
          () => false,
        );
      expect(await within(4_000, served)).toBe(true);
    } finally {
      for (const { socket } of held) socket.destroy();
    }
  });
});

describe('the metrics listener (METRICS_PORT)', () => {
  const reachable = (host: string, port: number) =>
    fetch(`http://${host}:${port}/metrics`).then(
      (r) => r.status,
      () => 'refused',
    );

  it('is on loopback by default, not on HOST', async () => {
    const port = await freePort();
    // HOST is another loopback address here, so that "on HOST" and "on 127.0.0.1" differ.
    const server = await startTestServer({ HOST: '127.0.0.2', METRICS_PORT: String(port) });
    try {
      expect(await reachable('127.0.0.1', port)).toBe(200);
      expect(await reachable('127.0.0.2', port)).toBe('refused');
    } finally {
      await server.close();
    }
  });

  it('is on METRICS_HOST when that is set', async () => {
    const port = await freePort();
    const server = await startTestServer({ METRICS_HOST: '127.0.0.3', METRICS_PORT: String(port) });
    try {
      expect(await reachable('127.0.0.3', port)).toBe(200);
      expect(await reachable('127.0.0.1', port)).toBe('refused');
    } finally {
      await server.close();
    }
  });
});
