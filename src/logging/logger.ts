// The one logger: pino, JSON lines, with every credential-bearing field redacted.
// Opaque token ids are tokens too, so any field that may hold one is in the list.
import { pino, type Logger } from 'pino';

const SECRET_FIELDS = [
  'password', 'newPassword', 'client_secret', 'clientSecret', 'secret', 'token', 'access_token',
  'refresh_token', 'id_token', 'code', 'code_verifier', 'device_code', 'user_code',
  'client_assertion', 'assertion', 'subject_token', 'actor_token', 'private_key', 'privateKey',
  'privateJwk', 'cookie', 'authorization', 'jti',
];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.dpop',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
];

export type { Logger };

export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'tessera' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
