// Counts the statements and the write commits that go through the pool: in total (the
// tessera_db_statements_total and tessera_db_commits_total metrics, read by the benchmark to
// print statements and commits per request) and, when asked, per request (tests: the
// round-trip budget of each flow, test/integration/round-trips.test.ts).
//
// What counts: a statement is one query sent (BEGIN, COMMIT and ROLLBACK are not statements);
// a commit is a write made durable: a write outside an explicit transaction, or a COMMIT after a
// write. A read outside a transaction is its own transaction to PostgreSQL but writes no WAL and
// waits for no flush, so it is not counted as a commit.
//
// Attribution to a request: the statement is counted when the code asks for it (pool.query, or
// a client checked out with pool.connect), in that code's async context. (pg-pool hands a freed
// connection to a waiting pool.query from the releasing request's context, so counting inside
// client.query for pool.query would bill the wrong request.)
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';

export interface Tally {
  statements: number;
  commits: number;
  /** Per request only: the statements' text, for a test that fails to say which ones. */
  texts?: string[];
}

// A write: the statement changes rows (a CTE that writes counts; a SELECT … FOR UPDATE does not).
const WRITE = /\b(?:INSERT\s+INTO|UPDATE\s+"?\w+"?\s+SET|DELETE\s+FROM)\b/i;
const TXN = /^\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK)\b/i;
// Per-request tallies kept for tests (only with perRequest): enough for any one test's requests.
const KEPT_REQUESTS = 2_000;

interface ClientState {
  tally?: Tally[];
  inTransaction: boolean;
  wrote: boolean;
}

export interface StatementCounter {
  readonly total: Tally;
  /** Runs `fn` (a request) with its own tally, kept under `id` when per-request counting is on. */
  scope<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /** The tally of one request by its id (per-request counting only). */
  request(id: string): Tally | undefined;
}

const textOf = (q: unknown): string =>
  typeof q === 'string' ? q : typeof q === 'object' && q !== null ? String((q as { text?: string }).text ?? '') : '';

export function countStatements(pool: pg.Pool, options: { perRequest?: boolean } = {}): StatementCounter {
  const total: Tally = { statements: 0, commits: 0 };
  const requests = new Map<string, Tally>();
  const current = new AsyncLocalStorage<Tally>();
  const states = new WeakMap<object, ClientState>();
  const open = new WeakSet<Tally>();

  function add(tallies: Tally[], statements: number, commits: number, text?: string) {
    for (const t of tallies) {
      // Work a request started and left running (a timer it scheduled) is not its own.
      if (t !== total && !open.has(t)) continue;
      if (t !== total && text && statements) t.texts?.push(text.replace(/\s+/g, ' ').slice(0, 160));
      t.statements += statements;
      t.commits += commits;
    }
  }
  const tallies = (): Tally[] => {
    const t = options.perRequest ? current.getStore() : undefined;
    return t ? [total, t] : [total];
  };

  function count(state: ClientState, text: string, tally: Tally[]) {
    const txn = TXN.exec(text)?.[1]?.toUpperCase();
    if (txn === 'BEGIN' || txn?.startsWith('START')) {
      state.inTransaction = true;
      state.wrote = false;
    } else if (txn === 'COMMIT' || txn === 'END') {
      if (state.wrote) add(tally, 0, 1);
      state.inTransaction = false;
    } else if (txn === 'ROLLBACK') {
      state.inTransaction = false;
    } else {
      const writes = WRITE.test(text);
      if (writes && state.inTransaction) state.wrote = true;
      add(tally, 1, writes && !state.inTransaction ? 1 : 0, text);
    }
  }

  // pool.query: counted here, in the caller's context; one statement, never in a transaction.
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  let inPoolQuery = false;
  (pool as { query: unknown }).query = (...args: unknown[]) => {
    count({ inTransaction: false, wrote: false }, textOf(args[0]), tallies());
    inPoolQuery = true;
    try {
      return query(...args);
    } finally {
      inPoolQuery = false;
    }
  };
  // pool.connect: the client counts its statements for the code that checked it out, until released.
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { connect: unknown }).connect = (...args: unknown[]) => {
    // pool.query's own checkout (synchronous inside it): its statement is counted already.
    if (inPoolQuery) return connect(...args);
    const tally = tallies();
    const claim = (client: pg.PoolClient) => {
      const state = states.get(client) ?? instrument(client);
      state.tally = tally;
      state.inTransaction = false;
      const release = client.release;
      client.release = (err?: Error | boolean) => {
        state.tally = undefined;
        client.release = release;
        return release.call(client, err);
      };
      return client;
    };
    const cb = args[0];
    if (typeof cb === 'function') {
      return connect((err: Error | undefined, client: pg.PoolClient, done: unknown) =>
        cb(err, client && claim(client), done),
      );
    }
    return (connect() as Promise<pg.PoolClient>).then(claim);
  };

  function instrument(client: pg.PoolClient): ClientState {
    const state: ClientState = { inTransaction: false, wrote: false };
    states.set(client, state);
    const q = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      if (state.tally) count(state, textOf(args[0]), state.tally);
      return q(...args);
    };
    return state;
  }

  return {
    total,
    scope(id, fn) {
      if (!options.perRequest) return fn();
      const tally: Tally = { statements: 0, commits: 0, texts: [] };
      requests.set(id, tally);
      if (requests.size > KEPT_REQUESTS) requests.delete(requests.keys().next().value!);
      open.add(tally);
      return current.run(tally, fn).finally(() => open.delete(tally));
    },
    request: (id) => requests.get(id),
  };
}
