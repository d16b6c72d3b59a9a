// The one place that reads process.env. Configuration is parsed once at start; a bad
// variable stops the process with its *name* and what is wrong, never its value.
import { isIP } from 'node:net';
import { z } from 'zod';

const base64urlKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url')
  .refine((v) => Buffer.from(v, 'base64url').length === 32, 'must encode exactly 32 bytes');

const booleanish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

// An address or a CIDR network: `127.0.0.1`, `10.0.0.0/8`, `fd00::/8`.
const addressOrNetwork = z.string().refine((entry) => {
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address ?? '');
  if (!family || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}, 'each entry must be an IP address or a CIDR network (10.0.0.0/8)');

const schema = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  // A direct (session) connection to the same database, for what a transaction-mode pooler such
  // as PgBouncer cannot carry: LISTEN/NOTIFY, session advisory locks, migrations. Defaults to
  // DATABASE_URL; set it when DATABASE_URL points at the pooler.
  DIRECT_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  // Server processes sharing the port (node:cluster): a number, or `auto` for one per core. Each
  // has its own database pool of DATABASE_POOL_MAX connections.
  WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default(1),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  // Named (prepared) statements on the request path: parsed and planned once per connection.
  // `off` behind a pooler that cannot carry them (PgBouncer in transaction pooling before 1.21);
  // `auto`: on, unless DATABASE_URL says pgbouncer=true or DIRECT_DATABASE_URL names another URL.
  DATABASE_PREPARED_STATEMENTS: z.enum(['auto', 'on', 'off']).default('auto'),
  DATA_DIR: z.string().min(1).default('.tessera'),
  MIGRATE_ON_START: booleanish.default(true),
  // The addresses (or CIDR networks) of the reverse proxies in front of Tessera. Only from a
  // peer in this list are X-Forwarded-For/-Proto/-Host and MTLS_CERT_HEADER believed; the client
  // address is the right-most X-Forwarded-For entry that is not one of them.
  TRUSTED_PROXIES: commaList.pipe(z.array(addressOrNetwork)).default([]),
  // Replaced by TRUSTED_PROXIES (it trusted every sender's X-Forwarded-For): refused in config.ts.
  TRUST_PROXY: z.string().optional(),
  // NODE_ENV=production refuses an http:// ISSUER (cookies without Secure, no HSTS) unless this
  // says that plain HTTP is meant (a closed test network).
  ALLOW_INSECURE_ISSUER: booleanish.default(false),
  PRODUCT_NAME: z.string().min(1).max(60).default('Tessera'),
  PRODUCT_LOGO_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Sign-in sessions and refresh tokens, in seconds.
  SESSION_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .default(14 * 86_400),
  REFRESH_TOKEN_ABSOLUTE_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * 86_400),
  REFRESH_TOKEN_IDLE_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .default(14 * 86_400),
  REFRESH_TOKEN_REUSE_GRACE: z.coerce.number().int().min(0).max(60).default(2),
  // How many retries within the grace get the rotation's answer again: a client that lost a
  // response retries a few times, not dozens (0: none; a retry is refused as before issue 21).
  REFRESH_TOKEN_RETRY_LIMIT: z.coerce.number().int().min(0).max(100).default(3),
  // Device Authorization Grant (RFC 8628), in seconds; attempts are per client IP.
  DEVICE_CODE_TTL: z.coerce.number().int().min(5).max(3600).default(600),
  DEVICE_POLL_INTERVAL: z.coerce.number().int().min(1).max(60).default(5),
  DEVICE_CODE_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
  // Signing keys, in seconds: how long a key signs, how long a new key is published before it
  // signs, how often each process checks for changes; and the RSA modulus size.
  KEYS_ROTATION_PERIOD: z.coerce
    .number()
    .int()
    .min(60)
    .default(90 * 86_400),
  KEYS_PUBLICATION_DELAY: z.coerce.number().int().min(1).default(3600),
  KEYS_CHECK_INTERVAL: z.coerce.number().int().min(1).max(300).default(10),
  KEYS_RSA_BITS: z.enum(['2048', '3072', '4096']).transform(Number).default(2048),
  // Keys for ID tokens in other algorithms, for clients that ask (id_token_signed_response_alg).
  KEYS_EXTRA_ALGS: commaList.pipe(z.array(z.enum(['ES256', 'EdDSA']))).default([]),
  // Operations. Metrics: on their own port (for an internal network), and/or on the main port
  // behind a bearer token; with neither, /metrics is off.
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  // METRICS_PORT's listener is unauthenticated, so it listens on loopback unless told otherwise.
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(16, 'needs at least 16 characters').optional(),
  // The HTTP listener's limits (server.ts), against clients that hold connections open slowly.
  // Headers, in seconds: a client sends them in one round trip, so 10 s allows a very slow link
  // (Node's default, 60 s, held such clients ~79 s). The whole request: the largest body read is
  // oidc-provider's 56 KiB, which 30 s carries at 2 KB/s. Idle keep-alive: Node's default 5 s
  // (behind a load balancer that reuses connections, set it above the balancer's idle timeout).
  // Open connections per process: an idle one costs a descriptor and some KiB, so 10 000 bounds
  // memory and stays below the usual 65 536 descriptors, far above what proxies and clients of
  // one authorization server keep open.
  HTTP_HEADERS_TIMEOUT: z.coerce.number().int().min(1).max(300).default(10),
  HTTP_REQUEST_TIMEOUT: z.coerce.number().int().min(1).max(3600).default(30),
  HTTP_KEEP_ALIVE_TIMEOUT: z.coerce.number().int().min(1).max(3600).default(5),
  HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(10_000),
  // Graceful shutdown on SIGTERM (server.ts shutdown): /readyz answers 503 while requests are
  // still served for SHUTDOWN_DRAIN_MS, long enough for a load balancer's health checks to take
  // the replica out (haproxy's default inter 2 s × fall 3 is 6 s; 5 s with the retries a
  // balancer makes covers Kubernetes' endpoint propagation too); then in-flight requests get
  // SHUTDOWN_TIMEOUT_MS before connections are cut. Both together stay below the 30 s Docker
  // and Kubernetes wait between SIGTERM and SIGKILL.
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(120_000).default(5_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  // Rate limits: token requests per client per minute; sign-in attempts per IP per 15 minutes;
  // failed sign-ins for one account from one IP before that pair is locked for 15 minutes.
  RATE_LIMIT_TOKEN_PER_MINUTE: z.coerce.number().int().min(1).default(3000),
  RATE_LIMIT_LOGIN_PER_IP: z.coerce.number().int().min(1).default(100),
  RATE_LIMIT_LOGIN_FAILURES: z.coerce.number().int().min(1).default(10),
  // Second-factor codes tried for one account (from anywhere) per 15 minutes: whoever is asked
  // for one knows the password already, so the count is per account, not per account and IP.
  RATE_LIMIT_MFA_FAILURES: z.coerce.number().int().min(1).default(5),
  // Every user must pass a second factor (and enrol one at their next sign-in if they have none).
  MFA_REQUIRED: booleanish.default(false),
  // Strong client authentication and sender-constrained tokens (docs: README "Zero-trust set-up").
  // private_key_jwt (RFC 7523) beside the secret methods; DPoP (RFC 9449) with server nonces
  // (DPOP_NONCE_SECRET, else derived from COOKIE_KEYS so that every replica agrees); PAR (RFC 9126);
  // token exchange (RFC 8693), gated per client and API by `tessera clients allow-exchange`.
  PRIVATE_KEY_JWT: booleanish.default(true),
  DPOP: booleanish.default(true),
  DPOP_REQUIRE_NONCE: booleanish.default(false),
  DPOP_NONCE_SECRET: base64urlKey.optional(),
  PAR: booleanish.default(true),
  PAR_REQUIRED: booleanish.default(false),
  TOKEN_EXCHANGE: booleanish.default(true),
  // TLS and mutual TLS (RFC 8705). With TLS_CERT_FILE and TLS_KEY_FILE the listener is HTTPS and
  // asks for (but does not demand) client certificates; TLS_CLIENT_CA_FILE holds the CAs that
  // tls_client_auth certificates must chain to. Behind a proxy, MTLS_CERT_HEADER names the header
  // carrying the proxy-verified certificate (URL-encoded PEM), honoured only from TRUSTED_PROXIES.
  // MTLS_ENDPOINT_BASE advertises mtls_endpoint_aliases (RFC 8705 §5) under that base URL.
  // oidc-provider refuses to fetch a client's jwks_uri from loopback and private addresses (SSRF);
  // for development, clients on the same machine may be allowed. Refused in production.
  DEV_ALLOW_LOOPBACK_JWKS_URI: booleanish.default(false),
  // Webhooks (README "Webhooks") are never delivered to loopback, private or link-local addresses
  // (SSRF); for development, receivers on the same machine may be allowed. Refused in production.
  DEV_ALLOW_PRIVATE_WEBHOOK_URLS: booleanish.default(false),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
  MTLS_CERT_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
    .optional(),
  MTLS_ENDPOINT_BASE: z.url({ protocol: /^https$/ }).optional(),
  // Outgoing mail (README "Email"): an SMTP server URL (smtp:// with STARTTLS when offered,
  // smtps:// for TLS from the start; user:password@ in it) and the From address. Without
  // SMTP_URL, development writes mail to the log and production sends none (and offers no
  // feature that needs it). SIGNUP: who may create an account.
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: z.string().min(3).max(320).optional(),
  SIGNUP: z.enum(['off', 'open', 'invite']).default('off'),
  // Passkeys (README "Passkeys"): sign-in with a passkey and the /account/passkeys page.
  PASSKEYS: booleanish.default(true),
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(128).default(12),
  // Dynamic client registration (README "Dynamic client registration"): off; with an initial
  // access token an admin issued (`tessera dcr tokens create`); or open to anyone (development,
  // MCP-style public clients). What a registered client may ask for, and registrations per
  // client address and hour.
  DCR: z.enum(['off', 'initial-token', 'open']).default('off'),
  DCR_GRANT_TYPES: commaList
    .pipe(z.array(z.enum(['authorization_code', 'refresh_token', 'device_code', 'client_credentials'])).min(1))
    .default(['authorization_code', 'refresh_token']),
  DCR_SCOPES: z
    .string()
    .default('openid profile email offline_access')
    .transform((v) => v.split(' ').filter(Boolean)),
  DCR_APIS: commaList.default([]),
  DCR_RATE_LIMIT_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(10),
  CLEANUP_INTERVAL: z.coerce.number().int().min(10).default(300),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Tracing (src/tracing/): on when an OTLP endpoint is set. The OpenTelemetry SDK reads its other
  // OTEL_* variables itself (service name, protocol, batch delay, sampler, resource attributes).
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_SDK_DISABLED: booleanish.default(false),
  OTEL_SERVICE_NAME: z.string().min(1).default('tessera'),
  // Secrets. In production each is required; in development the missing ones are generated
  // once into DATA_DIR/secrets.json (see dev-secrets.ts).
  COOKIE_KEYS: commaList.pipe(z.array(z.string().min(32, 'each key needs at least 32 characters')).min(1)).optional(),
  KEYS_ENCRYPTION_KEY: base64urlKey.optional(),
  KEYS_ENCRYPTION_KEY_FILE: z.string().min(1).optional(),
  // While changing KEYS_ENCRYPTION_KEY: the old one, to open keys until `tessera keys rewrap`.
  KEYS_ENCRYPTION_KEY_PREVIOUS: base64urlKey.optional(),
  CLIENT_SECRET_PEPPER: base64urlKey.optional(),
});

export type RawEnv = z.infer<typeof schema>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = this.constructor.name;
    this.problems = problems;
  }
}

/** Parses the environment; issues name the variable and the rule, never the value. */
export function parseEnv(env: NodeJS.ProcessEnv = process.env): RawEnv {
  // Empty strings count as unset, as docker-compose passes `VAR=` for blanks.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return result.data;
}

/**
 * The prefix of the variables a seed file may read with `{ env: NAME }`. Without one, a seed file
 * could name DATABASE_URL or KEYS_ENCRYPTION_KEY and turn it into a working client secret.
 */
export const SEED_ENV_PREFIX = 'TESSERA_SEED_';

/** One variable named in a seed file; only TESSERA_SEED_* can be read. */
export function readSeedVariable(name: string): string | undefined {
  if (!name.startsWith(SEED_ENV_PREFIX))
    throw new Error(`a seed file reads only variables whose names start with ${SEED_ENV_PREFIX}`);
  return process.env[name] || undefined;
}
