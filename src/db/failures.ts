// Two database failures that are not bugs, told from every other one. pg, @prisma/adapter-pg
// and Prisma each wrap the underlying error their own way, so the whole cause chain is inspected.
//
// "The database cannot be reached" is not the request's fault: the answer is 503
// temporarily_unavailable with Retry-After (RFC 6749 §4.1.2.1; RFC 9110 §15.6.4), and the same
// request may succeed once PostgreSQL is back.
//
// "This text cannot be stored": PostgreSQL's text and jsonb cannot hold U+0000, and no OAuth
// parameter may contain it either (RFC 6749 Appendix A), so a NUL that reached a query came from
// the request, and the answer is 400 invalid_request.

// Socket errors on connecting or on a connection that dropped.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// SQLSTATEs (PostgreSQL Appendix A): class 08 connection exceptions, the server shutting down or
// starting up (57P01-57P03), and no free connection slot (53300).
const SQLSTATES = /^(08...|57P0[1-3]|53300)$/;
// @prisma/adapter-pg's mapped error kinds for the same conditions.
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// Prisma's own codes: can't reach (P1001), timed out (P1002, P1008), server closed the
// connection (P1017), and no connection from the pool in time (P2024).
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
// pg's errors without a code: the pool's connect timeout and a connection ended under a query.
const PG_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|Cannot use a pool after calling end/;

// character_not_in_repertoire (a NUL in text) and untranslatable_character (\u0000 in jsonb).
const UNSTORABLE_SQLSTATES = new Set(['22021', '22P05']);

interface ErrorLike {
  code?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  name?: unknown;
  meta?: { driverAdapterError?: unknown };
}

/** The error and what it wraps: `cause`, and Prisma's `meta.driverAdapterError`. */
function* chain(err: unknown): Generator<ErrorLike> {
  const seen = new Set<unknown>();
  const queue = [err];
  while (queue.length && seen.size < 10) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const like = e as ErrorLike;
    yield like;
    queue.push(like.cause, like.meta?.driverAdapterError);
  }
}

export function isDatabaseUnavailable(err: unknown): boolean {
  for (const e of chain(err)) {
    if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || SQLSTATES.test(e.code) || PRISMA_CODES.has(e.code)))
      return true;
    if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
    if (e.name === 'PrismaClientInitializationError') return true;
    if (typeof e.message === 'string' && PG_MESSAGES.test(e.message)) return true;
  }
  return false;
}

export function isUnstorableText(err: unknown): boolean {
  for (const e of chain(err)) {
    if (typeof e.code === 'string' && UNSTORABLE_SQLSTATES.has(e.code)) return true;
  }
  return false;
}
