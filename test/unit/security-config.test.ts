// Strong-auth configuration: the combinations that cannot work are refused by name, and the
// DPoP nonce secret every replica shares is derived from the shared cookie keys when not given.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/config/env.ts';

const key = Buffer.alloc(32, 1).toString('base64url');
const secrets = { COOKIE_KEYS: 'k'.repeat(40), KEYS_ENCRYPTION_KEY: key, CLIENT_SECRET_PEPPER: key };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...secrets, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('security configuration', () => {
  it('has safe defaults: key and proof methods on, mTLS off, nothing required', () => {
    const { security } = loadConfig(secrets);
    expect(security).toMatchObject({
      privateKeyJwt: true,
      dpop: { enabled: true, requireNonce: false },
      par: { enabled: true, required: false },
      tokenExchange: true,
      allowLoopbackJwksUri: false,
      tls: undefined,
      mtls: undefined,
    });
    expect(security.dpop.nonceSecret).toHaveLength(32);
    // The same cookie keys give every replica the same nonce secret.
    expect(loadConfig(secrets).security.dpop.nonceSecret.equals(security.dpop.nonceSecret)).toBe(true);
  });

  it('refuses a proxy certificate header without TRUSTED_PROXIES, half a TLS pair, and mTLS settings with no certificate source', () => {
    expect(problems({ MTLS_CERT_HEADER: 'x-ssl-client-cert' })).toEqual([
      'MTLS_CERT_HEADER: needs TRUSTED_PROXIES (only a trusted proxy may set it)',
    ]);
    expect(problems({ TLS_CERT_FILE: '/nonexistent.pem' })).toEqual([
      'TLS_CERT_FILE, TLS_KEY_FILE: set both or neither',
    ]);
    expect(problems({ TLS_CLIENT_CA_FILE: '/ca.pem', MTLS_ENDPOINT_BASE: 'https://mtls.example.test' })).toEqual([
      'TLS_CLIENT_CA_FILE: needs TLS_CERT_FILE/TLS_KEY_FILE or MTLS_CERT_HEADER',
      'MTLS_ENDPOINT_BASE: needs TLS_CERT_FILE/TLS_KEY_FILE or MTLS_CERT_HEADER',
    ]);
    expect(
      problems({
        TRUSTED_PROXIES: '10.0.0.0/8',
        MTLS_CERT_HEADER: 'x-ssl-client-cert',
        TLS_CLIENT_CA_FILE: '/nonexistent/ca.pem',
      }),
    ).toEqual(['TLS_CLIENT_CA_FILE: cannot read the file it names']);
  });

  it('allows loopback jwks_uri fetching in development only', () => {
    expect(
      problems({
        NODE_ENV: 'production',
        ISSUER: 'https://id.example.test',
        DATABASE_URL: 'postgresql://db/x',
        DEV_ALLOW_LOOPBACK_JWKS_URI: 'true',
      }),
    ).toEqual(['DEV_ALLOW_LOOPBACK_JWKS_URI: not allowed when NODE_ENV=production']);
  });

  it('PAR_REQUIRED turns PAR on; a proxy header turns mTLS on with it lower-cased', () => {
    expect(loadConfig({ ...secrets, PAR: 'false', PAR_REQUIRED: 'true' }).security.par).toEqual({
      enabled: true,
      required: true,
    });
    expect(
      loadConfig({ ...secrets, TRUSTED_PROXIES: '10.0.0.0/8', MTLS_CERT_HEADER: 'X-SSL-Client-Cert' }).security.mtls,
    ).toEqual({ certHeader: 'x-ssl-client-cert', clientCa: undefined, endpointBase: undefined });
  });

  it('refuses an http issuer in production unless ALLOW_INSECURE_ISSUER says so (finding 12)', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgresql://db/x' };
    expect(problems({ ...production, ISSUER: 'http://id.example.test' })).toEqual([
      'ISSUER: must be https when NODE_ENV=production (ALLOW_INSECURE_ISSUER=true allows http)',
    ]);
    expect(problems({ ...production, ISSUER: 'http://id.example.test', ALLOW_INSECURE_ISSUER: 'true' })).toEqual([]);
    expect(problems({ ...production, ISSUER: 'https://id.example.test' })).toEqual([]);
    // Development keeps its http://localhost default.
    expect(problems({ ISSUER: 'http://localhost:3000' })).toEqual([]);
  });
});

describe('the listener', () => {
  it('listens for metrics on loopback, and bounds slow and idle connections, by default', () => {
    const config = loadConfig({ ...secrets, METRICS_PORT: '9464' });
    expect(config.metrics).toEqual({ port: 9464, host: '127.0.0.1', token: undefined });
    expect(config.http).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 10_000,
    });
    expect(problems({ HTTP_HEADERS_TIMEOUT: '40', HTTP_REQUEST_TIMEOUT: '30' })).toEqual([
      'HTTP_HEADERS_TIMEOUT: must not exceed HTTP_REQUEST_TIMEOUT',
    ]);
  });
});

describe('proxies', () => {
  it('refuses TRUST_PROXY, naming TRUSTED_PROXIES, and TRUSTED_PROXIES entries that are not addresses or that trust everyone', () => {
    for (const value of ['true', 'false']) {
      expect(problems({ TRUST_PROXY: value })).toEqual([
        'TRUST_PROXY: no longer supported; set TRUSTED_PROXIES to the addresses of your proxies (e.g. TRUSTED_PROXIES=10.0.0.0/8)',
      ]);
    }
    for (const value of ['10.0.0.0/33', 'proxy.internal', '10.0.0.1/8/1', '::1/129', '10.0.0.0/x']) {
      expect(problems({ TRUSTED_PROXIES: value })).toEqual([
        'TRUSTED_PROXIES.0: each entry must be an IP address or a CIDR network (10.0.0.0/8)',
      ]);
    }
    expect(problems({ TRUSTED_PROXIES: '10.0.0.0/8, 0.0.0.0/0' })).toEqual([
      'TRUSTED_PROXIES: a /0 network would trust every sender',
    ]);
    expect(loadConfig({ ...secrets, TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,fd00::/8' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
    ]);
    expect(loadConfig(secrets).trustedProxies).toEqual([]);
  });
});
