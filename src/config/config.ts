// Turns the parsed environment into Tessera's configuration: defaults that depend on each
// other, secrets from files or the development store, and the production rules.
import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError, parseEnv } from './env.ts';
import { loadOrCreateDevSecrets } from './dev-secrets.ts';

export interface Config {
  production: boolean;
  port: number;
  host: string;
  issuer: string;
  /** undefined: run the embedded Postgres in dataDir. */
  databaseUrl: string | undefined;
  /** For sessions (LISTEN, migrations): DIRECT_DATABASE_URL, else databaseUrl. */
  directDatabaseUrl: string | undefined;
  databasePoolMax: number;
  /** Name the request path's statements (DATABASE_PREPARED_STATEMENTS; db/client.ts). */
  databasePreparedStatements: boolean;
  /** Server processes (1: no cluster). */
  workers: number;
  dataDir: string;
  migrateOnStart: boolean;
  /** Addresses and CIDR networks of the reverse proxies whose forwarded headers are believed. */
  trustedProxies: string[];
  logLevel: string;
  brand: { name: string; logoUrl: string | undefined };
  sessionTtl: number;
  refreshTokens: { absoluteTtl: number; idleTtl: number; reuseGraceSeconds: number; retryLimit: number };
  deviceFlow: { codeTtl: number; pollInterval: number; attemptsPerWindow: number };
  metrics: { port: number | undefined; host: string; token: string | undefined };
  /** OpenTelemetry traces over OTLP (src/tracing/): off unless an endpoint is set. */
  tracing: { enabled: boolean; serviceName: string };
  /** The listener's limits, in milliseconds, and open connections per process. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; maxConnections: number };
  /** Graceful shutdown: the drain window (not ready, still serving), then the in-flight bound. */
  shutdown: { drainMs: number; timeoutMs: number };
  rateLimits: { tokenPerMinute: number; loginPerIp: number; loginFailures: number; mfaFailures: number };
  /** Every user must pass a second factor (MFA_REQUIRED), not only for clients that require one. */
  mfaRequired: boolean;
  cleanupInterval: number;
  mail: MailConfig;
  /** Webhook deliveries may go to loopback/private addresses (development only). */
  webhooks: { allowPrivate: boolean };
  /** Who may create an account: nobody but admins, anyone, or whom an admin invites. */
  signup: 'off' | 'open' | 'invite';
  /** Passkey sign-in and the passkeys page (services/passkeys.ts); their RP ID is ISSUER's host. */
  passkeys: boolean;
  passwordMinLength: number;
  /** Dynamic client registration (src/registration/): who may register, and what they may ask for. */
  registration: {
    mode: 'off' | 'initial-token' | 'open';
    policy: { grantTypes: string[]; scopes: string[]; apis: string[] };
    perHour: number;
  };
  keys: {
    rotationPeriod: number;
    publicationDelay: number;
    checkInterval: number;
    rsaBits: number;
    extraAlgs: ('ES256' | 'EdDSA')[];
  };
  cookieKeys: string[];
  keysEncryptionKey: Buffer;
  previousKeysEncryptionKey: Buffer | undefined;
  clientSecretPepper: Buffer;
  security: SecurityConfig;
  /** Human-readable notes for the start-up log (e.g. "generated secrets into ..."). */
  notices: string[];
}

/** Outgoing mail: an SMTP server, the log (development), or none (production without SMTP_URL). */
export interface MailConfig {
  transport: 'smtp' | 'log' | 'none';
  smtpUrl: string | undefined;
  from: string;
}

/** Strong client authentication, sender-constrained tokens, PAR and token exchange. */
export interface SecurityConfig {
  privateKeyJwt: boolean;
  dpop: { enabled: boolean; requireNonce: boolean; nonceSecret: Buffer };
  par: { enabled: boolean; required: boolean };
  tokenExchange: boolean;
  /** Fetch loopback jwks_uri (development only). */
  allowLoopbackJwksUri: boolean;
  /** PEM certificate chain and key: the listener speaks HTTPS and asks for client certificates. */
  tls: { cert: string; key: string; clientCa: string | undefined } | undefined;
  /** undefined: mutual TLS is off (no way to learn a client certificate). */
  mtls:
    | {
        /** The header a trusted proxy puts the verified client certificate in (URL-encoded PEM). */
        certHeader: string | undefined;
        /** PEM CA certificates that tls_client_auth certificates must chain to; none: tls_client_auth is off. */
        clientCa: string | undefined;
        endpointBase: string | undefined;
      }
    | undefined;
}

export function loadConfig(env?: NodeJS.ProcessEnv): Config {
  const raw = parseEnv(env);
  const production = raw.NODE_ENV === 'production';
  const dataDir = resolve(raw.DATA_DIR);
  const notices: string[] = [];

  let keysEncryptionKey = raw.KEYS_ENCRYPTION_KEY;
  if (!keysEncryptionKey && raw.KEYS_ENCRYPTION_KEY_FILE) {
    keysEncryptionKey = readKeyFile(raw.KEYS_ENCRYPTION_KEY_FILE, 'KEYS_ENCRYPTION_KEY_FILE');
  }

  const missing: string[] = [];
  if (!raw.COOKIE_KEYS) missing.push('COOKIE_KEYS');
  if (!keysEncryptionKey) missing.push('KEYS_ENCRYPTION_KEY');
  if (!raw.CLIENT_SECRET_PEPPER) missing.push('CLIENT_SECRET_PEPPER');

  let { COOKIE_KEYS: cookieKeys, CLIENT_SECRET_PEPPER: pepper } = raw;
  if (production) {
    const problems = missing.map((name) => `${name}: required when NODE_ENV=production`);
    if (!raw.ISSUER) problems.push('ISSUER: required when NODE_ENV=production');
    // Over plain HTTP cookies are not Secure and no HSTS is sent: a deliberate choice only.
    else if (raw.ISSUER.startsWith('http:') && !raw.ALLOW_INSECURE_ISSUER)
      problems.push('ISSUER: must be https when NODE_ENV=production (ALLOW_INSECURE_ISSUER=true allows http)');
    if (!raw.DATABASE_URL)
      problems.push('DATABASE_URL: required when NODE_ENV=production (the embedded database is for development)');
    if (problems.length) throw new ConfigError(problems);
  } else if (missing.length) {
    const dev = loadOrCreateDevSecrets(dataDir);
    cookieKeys ??= dev.secrets.cookieKeys;
    keysEncryptionKey ??= dev.secrets.keysEncryptionKey;
    pepper ??= dev.secrets.clientSecretPepper;
    notices.push(`${dev.created ? 'generated' : 'using'} development secrets for ${missing.join(', ')} in ${dev.path}`);
  }

  const listenerProblems = proxyProblems(raw);
  if (raw.DIRECT_DATABASE_URL && !raw.DATABASE_URL)
    listenerProblems.push('DIRECT_DATABASE_URL: set only together with DATABASE_URL');
  if (raw.HTTP_HEADERS_TIMEOUT > raw.HTTP_REQUEST_TIMEOUT)
    listenerProblems.push('HTTP_HEADERS_TIMEOUT: must not exceed HTTP_REQUEST_TIMEOUT');
  if (listenerProblems.length) throw new ConfigError(listenerProblems);
  const security = securityConfig(raw, cookieKeys!);
  const mail = mailConfig(raw, production);

  return {
    production,
    port: raw.PORT,
    host: raw.HOST,
    issuer: (raw.ISSUER ?? `http://localhost:${raw.PORT}`).replace(/\/$/, ''),
    databaseUrl: raw.DATABASE_URL,
    directDatabaseUrl: raw.DIRECT_DATABASE_URL ?? raw.DATABASE_URL,
    databasePoolMax: raw.DATABASE_POOL_MAX,
    databasePreparedStatements:
      raw.DATABASE_PREPARED_STATEMENTS === 'auto'
        ? !behindPooler(raw.DATABASE_URL, raw.DIRECT_DATABASE_URL)
        : raw.DATABASE_PREPARED_STATEMENTS === 'on',
    workers: raw.WORKERS === 'auto' ? availableParallelism() : raw.WORKERS,
    dataDir,
    migrateOnStart: raw.MIGRATE_ON_START,
    trustedProxies: raw.TRUSTED_PROXIES,
    logLevel: raw.LOG_LEVEL,
    brand: { name: raw.PRODUCT_NAME, logoUrl: raw.PRODUCT_LOGO_URL },
    sessionTtl: raw.SESSION_TTL,
    refreshTokens: {
      absoluteTtl: raw.REFRESH_TOKEN_ABSOLUTE_TTL,
      idleTtl: Math.min(raw.REFRESH_TOKEN_IDLE_TTL, raw.REFRESH_TOKEN_ABSOLUTE_TTL),
      reuseGraceSeconds: raw.REFRESH_TOKEN_REUSE_GRACE,
      retryLimit: raw.REFRESH_TOKEN_RETRY_LIMIT,
    },
    metrics: { port: raw.METRICS_PORT, host: raw.METRICS_HOST, token: raw.METRICS_TOKEN },
    tracing: {
      enabled:
        (raw.OTEL_EXPORTER_OTLP_ENDPOINT ?? raw.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) !== undefined &&
        !raw.OTEL_SDK_DISABLED,
      serviceName: raw.OTEL_SERVICE_NAME,
    },
    http: {
      headersTimeoutMs: raw.HTTP_HEADERS_TIMEOUT * 1000,
      requestTimeoutMs: raw.HTTP_REQUEST_TIMEOUT * 1000,
      keepAliveTimeoutMs: raw.HTTP_KEEP_ALIVE_TIMEOUT * 1000,
      maxConnections: raw.HTTP_MAX_CONNECTIONS,
    },
    shutdown: { drainMs: raw.SHUTDOWN_DRAIN_MS, timeoutMs: raw.SHUTDOWN_TIMEOUT_MS },
    rateLimits: {
      tokenPerMinute: raw.RATE_LIMIT_TOKEN_PER_MINUTE,
      loginPerIp: raw.RATE_LIMIT_LOGIN_PER_IP,
      loginFailures: raw.RATE_LIMIT_LOGIN_FAILURES,
      mfaFailures: raw.RATE_LIMIT_MFA_FAILURES,
    },
    mfaRequired: raw.MFA_REQUIRED,
    cleanupInterval: raw.CLEANUP_INTERVAL,
    mail,
    webhooks: { allowPrivate: raw.DEV_ALLOW_PRIVATE_WEBHOOK_URLS },
    signup: raw.SIGNUP,
    passkeys: raw.PASSKEYS,
    passwordMinLength: raw.PASSWORD_MIN_LENGTH,
    registration: {
      mode: raw.DCR,
      policy: { grantTypes: raw.DCR_GRANT_TYPES, scopes: raw.DCR_SCOPES, apis: raw.DCR_APIS },
      perHour: raw.DCR_RATE_LIMIT_PER_HOUR,
    },
    keys: {
      rotationPeriod: raw.KEYS_ROTATION_PERIOD,
      publicationDelay: raw.KEYS_PUBLICATION_DELAY,
      checkInterval: raw.KEYS_CHECK_INTERVAL,
      rsaBits: raw.KEYS_RSA_BITS,
      extraAlgs: raw.KEYS_EXTRA_ALGS,
    },
    deviceFlow: {
      codeTtl: raw.DEVICE_CODE_TTL,
      pollInterval: raw.DEVICE_POLL_INTERVAL,
      attemptsPerWindow: raw.DEVICE_CODE_ATTEMPTS,
    },
    cookieKeys: cookieKeys!,
    keysEncryptionKey: Buffer.from(keysEncryptionKey!, 'base64url'),
    previousKeysEncryptionKey: raw.KEYS_ENCRYPTION_KEY_PREVIOUS
      ? Buffer.from(raw.KEYS_ENCRYPTION_KEY_PREVIOUS, 'base64url')
      : undefined,
    clientSecretPepper: Buffer.from(pepper!, 'base64url'),
    security,
    notices,
  };
}

function mailConfig(raw: ReturnType<typeof parseEnv>, production: boolean): MailConfig {
  // The log is for development only: a production log must never hold one-time links.
  const transport = raw.SMTP_URL ? 'smtp' : production ? 'none' : 'log';
  const problems: string[] = [];
  if (transport === 'none' && raw.SIGNUP !== 'off')
    problems.push('SIGNUP: needs SMTP_URL when NODE_ENV=production (sign-up mails a link)');
  if (raw.MAIL_FROM && !/^[^\s@<>]+@[^\s@<>]+$|^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(raw.MAIL_FROM))
    problems.push('MAIL_FROM: must be an address, or a name and <address>');
  if (problems.length) throw new ConfigError(problems);
  const host = new URL(raw.ISSUER ?? 'http://localhost').hostname;
  return {
    transport,
    smtpUrl: raw.SMTP_URL,
    from: raw.MAIL_FROM ?? `${raw.PRODUCT_NAME} <no-reply@${host.includes('.') ? host : 'localhost.localdomain'}>`,
  };
}

function proxyProblems(raw: ReturnType<typeof parseEnv>): string[] {
  const problems: string[] = [];
  // TRUST_PROXY=true believed the left-most X-Forwarded-For entry, which the client writes.
  if (raw.TRUST_PROXY !== undefined)
    problems.push(
      'TRUST_PROXY: no longer supported; set TRUSTED_PROXIES to the addresses of your proxies (e.g. TRUSTED_PROXIES=10.0.0.0/8)',
    );
  if (raw.TRUSTED_PROXIES.some((entry) => entry.endsWith('/0')))
    problems.push('TRUSTED_PROXIES: a /0 network would trust every sender');
  return problems;
}

function securityConfig(raw: ReturnType<typeof parseEnv>, cookieKeys: string[]): SecurityConfig {
  const problems: string[] = [];
  if (!!raw.TLS_CERT_FILE !== !!raw.TLS_KEY_FILE) problems.push('TLS_CERT_FILE, TLS_KEY_FILE: set both or neither');
  // A client-certificate header is a credential: anyone who can reach Tessera directly could set
  // it, so it is believed only from a proxy that is trusted to overwrite it.
  const behindProxies = raw.TRUSTED_PROXIES.length > 0;
  if (raw.MTLS_CERT_HEADER && !behindProxies)
    problems.push('MTLS_CERT_HEADER: needs TRUSTED_PROXIES (only a trusted proxy may set it)');
  const certificates = !!(raw.TLS_CERT_FILE && raw.TLS_KEY_FILE) || !!(raw.MTLS_CERT_HEADER && behindProxies);
  if (raw.TLS_CLIENT_CA_FILE && !certificates)
    problems.push('TLS_CLIENT_CA_FILE: needs TLS_CERT_FILE/TLS_KEY_FILE or MTLS_CERT_HEADER');
  if (raw.MTLS_ENDPOINT_BASE && !certificates)
    problems.push('MTLS_ENDPOINT_BASE: needs TLS_CERT_FILE/TLS_KEY_FILE or MTLS_CERT_HEADER');
  if (raw.DEV_ALLOW_LOOPBACK_JWKS_URI && raw.NODE_ENV === 'production')
    problems.push('DEV_ALLOW_LOOPBACK_JWKS_URI: not allowed when NODE_ENV=production');
  if (raw.DEV_ALLOW_PRIVATE_WEBHOOK_URLS && raw.NODE_ENV === 'production')
    problems.push('DEV_ALLOW_PRIVATE_WEBHOOK_URLS: not allowed when NODE_ENV=production');
  if (problems.length) throw new ConfigError(problems);

  const clientCa = raw.TLS_CLIENT_CA_FILE ? readPemFile(raw.TLS_CLIENT_CA_FILE, 'TLS_CLIENT_CA_FILE') : undefined;
  return {
    privateKeyJwt: raw.PRIVATE_KEY_JWT,
    dpop: {
      enabled: raw.DPOP,
      requireNonce: raw.DPOP_REQUIRE_NONCE,
      // Nonces are derived from this secret, not stored, so every replica must share it
      // (oidc-provider features.dPoP.nonceSecret, 32 bytes); COOKIE_KEYS are shared already.
      nonceSecret: raw.DPOP_NONCE_SECRET
        ? Buffer.from(raw.DPOP_NONCE_SECRET, 'base64url')
        : Buffer.from(hkdfSync('sha256', cookieKeys[0]!, 'tessera', 'dpop nonce secret', 32)),
    },
    par: { enabled: raw.PAR || raw.PAR_REQUIRED, required: raw.PAR_REQUIRED },
    tokenExchange: raw.TOKEN_EXCHANGE,
    allowLoopbackJwksUri: raw.DEV_ALLOW_LOOPBACK_JWKS_URI,
    tls:
      raw.TLS_CERT_FILE && raw.TLS_KEY_FILE
        ? {
            cert: readPemFile(raw.TLS_CERT_FILE, 'TLS_CERT_FILE'),
            key: readPemFile(raw.TLS_KEY_FILE, 'TLS_KEY_FILE'),
            clientCa,
          }
        : undefined,
    mtls: certificates
      ? {
          certHeader: behindProxies ? raw.MTLS_CERT_HEADER?.toLowerCase() : undefined,
          clientCa,
          endpointBase: raw.MTLS_ENDPOINT_BASE?.replace(/\/$/, ''),
        }
      : undefined,
  };
}

function readPemFile(path: string, name: string): string {
  let value: string;
  try {
    value = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError([`${name}: cannot read the file it names`]);
  }
  if (!value.includes('-----BEGIN ')) throw new ConfigError([`${name}: the file must hold PEM`]);
  return value;
}

function readKeyFile(path: string, name: string): string {
  let value: string;
  try {
    value = readFileSync(path, 'utf8').trim();
  } catch {
    throw new ConfigError([`${name}: cannot read the file it names`]);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(value) || Buffer.from(value, 'base64url').length !== 32) {
    throw new ConfigError([`${name}: the file must hold a base64url key of exactly 32 bytes`]);
  }
  return value;
}

// `auto` names statements only on a direct connection: not when DATABASE_URL says pgbouncer=true,
// and not when a separate DIRECT_DATABASE_URL says DATABASE_URL is a pooler (README "Behind
// PgBouncer"), which in transaction mode before 1.21 cannot carry named statements.
function behindPooler(url: string | undefined, directUrl: string | undefined): boolean {
  if (!url) return false;
  if (directUrl && directUrl !== url) return true;
  return URL.parse(url)?.searchParams.get('pgbouncer') === 'true';
}
