// Mutual TLS (RFC 8705): where a request's client certificate comes from, whether it chains to a
// CA Tessera trusts, and whether it names the registered client. These are the three helpers
// oidc-provider's features.mTLS asks the deployment for; the protocol itself is oidc-provider's.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { isFromTrustedProxy } from '../middleware/client-address.ts';

export interface MtlsHelpers {
  getCertificate(ctx: KoaContextWithOIDC): X509Certificate | undefined;
  certificateAuthorized(ctx: KoaContextWithOIDC): boolean;
  certificateSubjectMatches(ctx: KoaContextWithOIDC, property: string, expected: string): boolean;
}

/** The SAN entry prefix in X509Certificate#subjectAltName for each RFC 8705 §2.1.2 property. */
const SAN_PREFIX: Record<string, string> = {
  tls_client_auth_san_dns: 'DNS:',
  tls_client_auth_san_uri: 'URI:',
  tls_client_auth_san_ip: 'IP Address:',
  tls_client_auth_san_email: 'email:',
};

export function parseCertificates(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (c) => new X509Certificate(c),
  );
}

export function mtlsHelpers(options: { certHeader: string | undefined; clientCa: string | undefined }): MtlsHelpers {
  const authorities = options.clientCa ? parseCertificates(options.clientCa) : [];
  // One parse per request: oidc-provider asks for the certificate several times.
  const seen = new WeakMap<object, X509Certificate | null>();

  function fromRequest(ctx: KoaContextWithOIDC): X509Certificate | undefined {
    // Tessera's own HTTPS listener: the certificate the client presented in the handshake.
    const socket = ctx.req.socket as Partial<TLSSocket>;
    if (socket.encrypted && typeof socket.getPeerX509Certificate === 'function') {
      return socket.getPeerX509Certificate() ?? undefined;
    }
    // Behind a proxy: only from a peer in TRUSTED_PROXIES (from others the header is removed
    // before it gets here, and ignored if it was not), and the proxy must overwrite it on every
    // request (README, nginx example) so that no client can set it through the proxy.
    if (!options.certHeader || !isFromTrustedProxy(ctx.req)) return undefined;
    const header = ctx.get(options.certHeader);
    if (!header) return undefined;
    try {
      return new X509Certificate(decodeURIComponent(header));
    } catch {
      return undefined;
    }
  }

  function getCertificate(ctx: KoaContextWithOIDC): X509Certificate | undefined {
    if (!seen.has(ctx)) seen.set(ctx, fromRequest(ctx) ?? null);
    return seen.get(ctx) ?? undefined;
  }

  return {
    getCertificate,

    /**
     * RFC 8705 §2.1: the certificate is valid now and issued (and signed) by one of the CAs in
     * TLS_CLIENT_CA_FILE. Checked here, not by the TLS layer, so that both the HTTPS listener
     * (which lets unverified certificates through for self_signed_tls_client_auth) and a proxy
     * header get the same test.
     */
    certificateAuthorized(ctx) {
      const cert = getCertificate(ctx);
      if (!cert) return false;
      const now = Date.now();
      if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return false;
      return authorities.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    },

    /** RFC 8705 §2.1.2: exactly the registered subject DN, or one SAN entry equal to the registered value. */
    certificateSubjectMatches(ctx, property, expected) {
      const cert = getCertificate(ctx);
      if (!cert) return false;
      if (property === 'tls_client_auth_subject_dn') return sameDn(cert.subject, expected);
      const prefix = SAN_PREFIX[property];
      if (!prefix || !cert.subjectAltName) return false;
      return splitSan(cert.subjectAltName).some((entry) => entry === `${prefix}${expected}`);
    },
  };
}

/**
 * Node prints a subject as one `TYPE=value` per line, most significant first; a registered DN is
 * RFC 4514 text, least significant first (`CN=client,O=Example,C=SE`). Types compare
 * case-insensitively, values exactly.
 */
export function sameDn(subject: string, registered: string): boolean {
  const norm = (rdn: string) => {
    const i = rdn.indexOf('=');
    return `${rdn.slice(0, i).trim().toUpperCase()}=${rdn
      .slice(i + 1)
      .trim()
      .replace(/\\(.)/g, '$1')}`;
  };
  const fromCert = subject.split('\n').filter(Boolean).map(norm);
  const fromRegistration = registered
    .split(/(?<!\\),/)
    .map(norm)
    .reverse();
  return fromCert.length === fromRegistration.length && fromCert.every((v, i) => v === fromRegistration[i]);
}

function splitSan(san: string): string[] {
  // Node quotes entries that contain a comma or quote (JSON string syntax) since v17.3.1.
  return (san.match(/[^,"]+:(?:"(?:[^"\\]|\\.)*"|[^,]*)/g) ?? []).map((e) => {
    const s = e.trim();
    const i = s.indexOf(':"');
    return i > 0 && s.endsWith('"') ? `${s.slice(0, i + 1)}${JSON.parse(s.slice(i + 1)) as string}` : s;
  });
}
