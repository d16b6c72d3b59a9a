// One PostgreSQL LISTEN connection per process, shared by everything that must hear of changes
// made elsewhere (another replica, the CLI, a seed run): signing keys, the client catalog, the
// revocation lists. It reconnects by itself; because notifications sent while it was away are
// lost, a subscriber learns of every (re)connection and of every disconnection, and caches
// trust themselves only while `listening` is true.
//
// A connection can also die silently: a NAT or firewall that drops an idle flow's packets closes
// nothing, and a LISTEN connection only ever receives, so it would never notice — while every
// cache kept trusting it. Hence TCP keepalive (so that the flow is never
// idle to such middleboxes) and a round trip on the connection every HEARTBEAT_MS: PostgreSQL
// sends notifications in commit order on the same connection, so a SELECT 1 answered at time T
// also proves that every change committed before it was sent has been heard. A round trip that
// fails or stays unanswered for HEARTBEAT_TIMEOUT_MS ends the connection: subscribers hear
// `disconnected` (caches drop everything) and a new connection is made.
import { Socket } from 'node:net';
import pg from 'pg';

// One round trip every 5 s on one connection is nothing to the database, and bounds how long a
// dead listener goes unnoticed to HEARTBEAT_MS + HEARTBEAT_TIMEOUT_MS = 7 s.
const HEARTBEAT_MS = 5_000;
// SELECT 1 answers in well under a millisecond on a healthy network; 2 s (the pool's connect
// timeout, db/client.ts) allows for a busy server without waiting long on a dead one.
const HEARTBEAT_TIMEOUT_MS = 2_000;
// Keepalive probes start after this much silence: below the idle timeout of common NATs and
// load balancers (AWS NAT gateway 350 s, GCP Cloud NAT 30 s for TCP transitory, 1200 s established).
const KEEPALIVE_DELAY_MS = 10_000;
// Reconnecting starts fast (caches are off meanwhile) and backs off to options.retryMs.
const FIRST_RETRY_MS = 250;

export interface Subscriber {
  /** A notification on the channel, with its payload. */
  notify(payload: string): void;
  /** The listener is (again) connected: anything may have changed while it was not. */
  connected?(): void;
  /** The listener lost its connection: from now on, nothing is heard until `connected`. */
  disconnected?(): void;
}

/** What /readyz reports: `not answering` when no round trip succeeded for too long. */
export type ListenerHealth = 'connected' | 'reconnecting' | 'not answering';

export interface Notifications {
  /** Connected, and the last round trip answered recently: caches may trust themselves. */
  readonly listening: boolean;
  readonly health: ListenerHealth;
  /** The listener's PostgreSQL backend process id, while connected (for operators and tests). */
  readonly backendPid: number | undefined;
  subscribe(channel: string, subscriber: Subscriber): void;
  stop(): Promise<void>;
}

export interface ListenerOptions {
  databaseUrl: string;
  /** The longest wait between reconnection attempts. */
  retryMs: number;
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

export function listenForNotifications(options: ListenerOptions): Notifications {
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const timeoutMs = options.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  // Past this without an answer the listener is not trusted, and not ready.
  const staleAfterMs = heartbeatMs + timeoutMs;
  const subscribers = new Map<string, Subscriber[]>();
  let client: pg.Client | undefined;
  let socket: Socket | undefined;
  let connected = false;
  let stopped = false;
  let retryMs = FIRST_RETRY_MS;
  // Counted from the start, so that a process that just started is not reported dead.
  let answeredAt = Date.now();
  let beating = false;

  const each = (fn: (s: Subscriber) => void) => {
    for (const list of subscribers.values()) for (const s of list) fn(s);
  };
  const fresh = () => Date.now() - answeredAt <= staleAfterMs;

  /** Ends this connection for good: subscribers hear of it now, not when TCP gives up. */
  function lose(c: pg.Client, s: Socket) {
    if (client === c) {
      client = undefined;
      socket = undefined;
      if (connected) {
        connected = false;
        each((sub) => sub.disconnected?.());
      }
    }
    s.destroy(); // 'end' follows, which schedules the next attempt
  }

  async function heartbeat() {
    const c = client;
    const s = socket;
    if (!c || !s || beating) return;
    beating = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        c.query('SELECT 1'),
        // Decided after the next poll phase: an answer that arrived while the event loop was
        // busy (timers run before I/O callbacks) still counts.
        new Promise((_, reject) => {
          timer = setTimeout(() => setImmediate(() => reject(new Error('listener round trip timed out'))), timeoutMs);
        }),
      ]);
      if (client === c) answeredAt = Date.now();
    } catch {
      lose(c, s);
    } finally {
      clearTimeout(timer);
      beating = false;
    }
  }
  const heartbeats = setInterval(() => void heartbeat(), heartbeatMs);
  heartbeats.unref();

  async function connect() {
    if (stopped) return;
    const s = new Socket();
    const c = new pg.Client({
      connectionString: options.databaseUrl,
      stream: () => s,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      // A path that swallows packets must not hold a connection attempt forever.
      connectionTimeoutMillis: timeoutMs,
      application_name: 'tessera-listener',
    });
    c.on('error', () => {}); // the 'end' handler below reconnects
    c.on('notification', (n) => {
      for (const sub of subscribers.get(n.channel) ?? []) sub.notify(n.payload ?? '');
    });
    c.on('end', () => {
      if (client === c) lose(c, s);
      if (!stopped) {
        setTimeout(() => void connect(), retryMs).unref();
        retryMs = Math.min(options.retryMs, retryMs * 2);
      }
    });
    try {
      await c.connect();
      for (const channel of subscribers.keys()) await c.query(`LISTEN ${channel}`);
      if (stopped) {
        await c.end();
        return;
      }
      client = c;
      socket = s;
      connected = true;
      retryMs = FIRST_RETRY_MS;
      answeredAt = Date.now();
      each((sub) => sub.connected?.());
    } catch {
      s.destroy(); // 'end' schedules the next try
    }
  }

  // Subscriptions are made while the server is assembled; connecting waits a tick for them.
  setImmediate(() => void connect());

  return {
    get listening() {
      return connected && fresh();
    },
    get health(): ListenerHealth {
      if (!fresh()) return 'not answering';
      return connected ? 'connected' : 'reconnecting';
    },
    get backendPid() {
      return connected ? (client as unknown as { processID?: number } | undefined)?.processID : undefined;
    },
    subscribe(channel, subscriber) {
      if (!/^[a-z_]+$/.test(channel)) throw new Error(`bad channel name ${channel}`);
      const list = subscribers.get(channel);
      if (list) list.push(subscriber);
      else {
        subscribers.set(channel, [subscriber]);
        // A channel added after connecting is listened to on the open connection.
        void client?.query(`LISTEN ${channel}`).catch(() => {});
      }
      if (connected) subscriber.connected?.();
    },
    async stop() {
      stopped = true;
      connected = false;
      clearInterval(heartbeats);
      const c = client;
      client = undefined;
      // A graceful goodbye, unless the connection no longer answers.
      await Promise.race([c?.end().catch(() => {}), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      socket?.destroy();
    },
  };
}
