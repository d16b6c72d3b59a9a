// Every URL Tessera publishes or checks comes from configuration, never from the request.
//
// oidc-provider builds its URLs from Koa's ctx.href (OIDCContext#urlFor in
// lib/helpers/oidc_context.js, checked against oidc-provider 9.13): discovery's endpoints and
// jwks_uri, a device's verification_uri, the `aud` a client assertion may name
// (clientJwtAuthExpectedAudience) and the `htu` a DPoP proof must name (helpers/validate_dpop.js).
// Koa derives ctx.href from the Host header (or HTTP/2 :authority), from an absolute-form request
// target (RFC 9112 §3.2.2), and with app.proxy on from X-Forwarded-Host and X-Forwarded-Proto:
// all written by whoever sends the request. Discovery and the JWKS are memoised from the first
// request (memoized-documents.ts), so one request could name a host for every caller.
//
// So the app's request prototype (Koa's documented extension point, app.request) answers
// protocol, host, hostname, secure, href and URL from the issuer's origin, for every middleware
// and for the mounted provider alike. A request addressed to the host of MTLS_ENDPOINT_BASE (the
// RFC 8705 §5 aliases) sees that origin instead, so that proofs made for an alias URL hold: the
// Host header only chooses between the two configured origins and can never name its own.
// Behind a TLS-terminating proxy an https issuer makes every request `secure` (Secure cookies)
// whatever X-Forwarded-Proto says. Client addresses (ctx.ip) are not touched here.
import type Koa from 'koa';

const ABSOLUTE_FORM = /^https?:\/\//i;

export interface ConfiguredOrigins {
  /** ISSUER. */
  issuer: string;
  /** MTLS_ENDPOINT_BASE, when mTLS endpoint aliases are published. */
  mtlsEndpointBase?: string | undefined;
}

/** The request target in origin form: an absolute-form target loses its scheme and authority. */
function originForm(target: string): string {
  if (!ABSOLUTE_FORM.test(target)) return target;
  const url = URL.parse(target);
  return url ? `${url.pathname}${url.search}` : '/';
}

export function pinRequestOrigin(app: Koa, origins: ConfiguredOrigins): void {
  const issuer = new URL(origins.issuer);
  const alias = origins.mtlsEndpointBase ? new URL(origins.mtlsEndpointBase) : undefined;
  const isAlias = (named: string) => URL.parse(`${alias!.protocol}//${named}`)?.host === alias!.host;

  function originOf(request: Koa.Request): URL {
    if (!alias) return issuer;
    const named = (request.req.httpVersionMajor >= 2 && request.get(':authority')) || request.get('host');
    return named && isAlias(named) ? alias : issuer;
  }

  Object.defineProperties(app.request, {
    protocol: {
      get(this: Koa.Request) {
        return originOf(this).protocol.slice(0, -1);
      },
    },
    host: {
      get(this: Koa.Request) {
        return originOf(this).host;
      },
    },
    hostname: {
      get(this: Koa.Request) {
        return originOf(this).hostname;
      },
    },
    secure: {
      get(this: Koa.Request) {
        return originOf(this).protocol === 'https:';
      },
    },
    href: {
      get(this: Koa.Request) {
        return `${originOf(this).origin}${originForm(this.originalUrl)}`;
      },
    },
    URL: {
      get(this: Koa.Request) {
        // As Koa's own getter: an unparseable target (e.g. `OPTIONS *`) gives an empty object.
        return URL.parse(this.href) ?? Object.create(null);
      },
    },
  });
}
