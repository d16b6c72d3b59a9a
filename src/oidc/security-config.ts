// The provider configuration for strong client authentication and sender-constrained tokens:
// which client authentication methods exist, DPoP, PAR and mutual TLS. Pure, like
// provider-config.ts, which spreads it in; every switch comes from SecurityConfig (env.ts), and
// discovery advertises exactly what is switched on because oidc-provider derives it from this.
import type { Configuration } from 'oidc-provider';
import type { SecurityConfig } from '../config/config.ts';
import type { MtlsHelpers } from '../oidc/mtls.ts';
import { SECRET_AUTH_METHODS } from '../services/client-secrets.ts';
import { isLoopbackHost } from '../services/loopback.ts';
import { mtlsFeatureHelpers } from './upstream.ts';

export interface SecurityParts {
  privateKeyJwt: SecurityConfig['privateKeyJwt'];
  dpop: SecurityConfig['dpop'];
  par: SecurityConfig['par'];
  allowLoopbackJwksUri: boolean;
  /** undefined: mutual TLS is off. */
  mtls: (MtlsHelpers & { tlsClientAuth: boolean; endpointBase: string | undefined }) | undefined;
}

type Features = NonNullable<Configuration['features']>;

// The endpoints a client calls with its certificate (RFC 8705 §5); the authorization endpoint is
// a browser's and is never aliased.
const MTLS_ALIASED = [
  'token',
  'introspection',
  'revocation',
  'userinfo',
  'device_authorization',
  'pushed_authorization_request',
] as const;

export function clientAuthMethods(parts: SecurityParts): string[] {
  return [
    ...SECRET_AUTH_METHODS,
    ...(parts.privateKeyJwt ? ['private_key_jwt'] : []),
    ...(parts.mtls?.tlsClientAuth ? ['tls_client_auth'] : []),
    ...(parts.mtls ? ['self_signed_tls_client_auth'] : []),
    'none',
  ];
}

export function securityFeatures(
  parts: SecurityParts,
): Pick<Features, 'dPoP' | 'mTLS' | 'pushedAuthorizationRequests'> {
  const { mtls } = parts;
  return {
    dPoP: {
      enabled: parts.dpop.enabled,
      nonceSecret: parts.dpop.nonceSecret,
      requireNonce: () => parts.dpop.requireNonce,
      // RFC 9449 §11.1: each proof once (checked through ReplayDetection in oidc_payloads).
      allowReplay: false,
    },
    pushedAuthorizationRequests: {
      enabled: parts.par.enabled,
      requirePushedAuthorizationRequests: parts.par.required,
      allowUnregisteredRedirectUris: false,
    },
    mTLS: mtls
      ? {
          enabled: true,
          certificateBoundAccessTokens: true,
          tlsClientAuth: mtls.tlsClientAuth,
          selfSignedTlsClientAuth: true,
          ...mtlsFeatureHelpers(mtls),
        }
      : { enabled: false },
  };
}

/** RFC 8705 §5 mtls_endpoint_aliases, for the discovery document. */
export function mtlsEndpointAliases(
  parts: SecurityParts,
  routes: Record<string, string>,
): Record<string, string> | undefined {
  const base = parts.mtls?.endpointBase;
  if (!base) return undefined;
  const enabled = (name: string) => name !== 'pushed_authorization_request' || parts.par.enabled;
  return Object.fromEntries(MTLS_ALIASED.filter(enabled).map((name) => [`${name}_endpoint`, `${base}${routes[name]}`]));
}

/**
 * oidc-provider's outbound fetch (a client's jwks_uri) with its SSRF guard, which refuses
 * loopback and private addresses; in development a loopback jwks_uri may be let through, and
 * nothing else.
 */
export function outboundFetch(parts: SecurityParts): Configuration['fetch'] | undefined {
  if (!parts.allowLoopbackJwksUri) return undefined;
  return (url, options) => {
    if (!isLoopbackHost(new URL(url).hostname)) return globalThis.fetch(url, options);
    const { dispatcher: _guard, ...rest } = options as RequestInit & { dispatcher?: unknown };
    return globalThis.fetch(url, rest);
  };
}
