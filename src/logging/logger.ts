// The one logger: pino, JSON lines, with every credential-bearing field redacted.
// Opaque token ids are tokens too, so any field that may hold one is in the list.
import { pino, type Logger } from 'pino';

const SECRET_FIELDS = [
  'password',
  'newPassword',
  'client_secret',
  'clientSecret',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'code_verifier',
  'device_code',
  'user_code',
  'client_assertion',
  'assertion',
  'subject_token',
  'actor_token',
  'private_key',
  'privateKey',
  'privateJwk',
  'cookie',
  'authorization',
  'jti',
];

// Explicit paths only: pino compiles them into direct property checks (~2 µs a line), whereas
// wildcard paths (`*.token`) cost ~60 µs a line, a fifth of a core at 3,000 requests/s. So the
// list names where credentials can appear in what Tessera logs: top-level fields, an error's
// own properties, and request parameters, bodies and headers.
const CONTAINERS = ['err', 'params', 'body', 'query', 'details'];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.dpop',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS,
  ...CONTAINERS.flatMap((c) => SECRET_FIELDS.map((f) => `${c}.${f}`)),
];

// `code` names two things: an authorization code (a credential, RFC 6749 §4.1.2) and an error
// code (EADDRINUSE, ERR_INVALID_URL, Prisma's P2002, SQLSTATE 23505), which an operator needs.
// In request parameters, bodies and query strings it is always the former and always redacted.
// Elsewhere an error code is kept: upper case, digits and underscores, at most 40 characters.
// An authorization code is 43 base64url characters (oidc-provider's 256 bits), mixed case, and
// never matches; anything else under that name is redacted.
const ERROR_CODE = /^[A-Z0-9][A-Z0-9_]{0,39}$/;
const REQUEST_CONTAINERS = new Set(['params', 'body', 'query']);

function censor(value: unknown, path: string[]): unknown {
  const keepsErrorCode = path[path.length - 1] === 'code' && !REQUEST_CONTAINERS.has(path[0] ?? '');
  if (keepsErrorCode && (typeof value === 'number' || (typeof value === 'string' && ERROR_CODE.test(value))))
    return value;
  return '[redacted]';
}

export type { Logger };

export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'tessera' },
      redact: { paths: REDACT_PATHS, censor },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
