// One PostgreSQL LISTEN connection per process, shared by everything that must hear of changes
// made elsewhere (another replica, the CLI, a seed run): signing keys, the client catalog, the
// revocation lists. It reconnects by itself; because notifications sent while it was away are
// lost, a subscriber learns of every (re)connection and of every disconnection, and caches
// trust themselves only while `listening` is true.
import pg from 'pg';

export interface Subscriber {
  /** A notification on the channel, with its payload. */
  notify(payload: string): void;
  /** The listener is (again) connected: anything may have changed while it was not. */
  connected?(): void;
  /** The listener lost its connection: from now on, nothing is heard until `connected`. */
  disconnected?(): void;
}

export interface Notifications {
  readonly listening: boolean;
  subscribe(channel: string, subscriber: Subscriber): void;
  stop(): Promise<void>;
}

export function listenForNotifications(options: { databaseUrl: string; retryMs: number }): Notifications {
  const subscribers = new Map<string, Subscriber[]>();
  let client: pg.Client | undefined;
  let listening = false;
  let stopped = false;

  const each = (fn: (s: Subscriber) => void) => {
    for (const list of subscribers.values()) for (const s of list) fn(s);
  };

  async function connect() {
    if (stopped) return;
    const c = new pg.Client({ connectionString: options.databaseUrl });
    c.on('error', () => {}); // the 'end' handler below reconnects
    c.on('notification', (n) => {
      for (const s of subscribers.get(n.channel) ?? []) s.notify(n.payload ?? '');
    });
    c.on('end', () => {
      if (client === c) {
        client = undefined;
        if (listening) {
          listening = false;
          each((s) => s.disconnected?.());
        }
      }
      if (!stopped) setTimeout(() => void connect(), options.retryMs).unref();
    });
    try {
      await c.connect();
      for (const channel of subscribers.keys()) await c.query(`LISTEN ${channel}`);
      if (stopped) {
        await c.end();
        return;
      }
      client = c;
      listening = true;
      each((s) => s.connected?.());
    } catch {
      await c.end().catch(() => {}); // 'end' schedules the next try
    }
  }

  // Subscriptions are made while the server is assembled; connecting waits a tick for them.
  setImmediate(() => void connect());

  return {
    get listening() {
      return listening;
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
      if (listening) subscriber.connected?.();
    },
    async stop() {
      stopped = true;
      listening = false;
      await client?.end().catch(() => {});
    },
  };
}
