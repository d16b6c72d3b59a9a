// Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf` has `x5t#S256` is good
// only over a TLS connection with that client certificate. The certificate comes from the TLS
// socket, or, behind a TLS-terminating proxy, from a header the proxy sets.
import { createHash, X509Certificate } from 'node:crypto';
import { InvalidToken, type Scheme } from './errors.ts';

/**
 * The DER bytes of a certificate forwarded by a proxy in either common form: RFC 9440's
 * `Client-Cert` (a structured-field byte sequence, `:base64 DER:`), or a URL-encoded PEM
 * (nginx's `$ssl_client_escaped_cert`, AWS ALB). Undefined when it is neither.
 */
export function certificateFromHeader(value: string | undefined): Uint8Array | undefined {
  if (!value) return undefined;
  try {
    const sfBinary = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value.trim());
    if (sfBinary) return new Uint8Array(new X509Certificate(Buffer.from(sfBinary[1]!, 'base64')).raw);
    const pem = decodeURIComponent(value);
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return new Uint8Array(new X509Certificate(pem).raw);
  } catch {
    // not a certificate: treated as none
  }
  return undefined;
}

/** RFC 8705 §3.1: the base64url SHA-256 of the certificate's DER must equal cnf["x5t#S256"]. */
export function checkCertificateBinding(expected: string, certificate: Uint8Array | undefined, scheme: Scheme): void {
  if (!certificate)
    throw new InvalidToken('the access token is bound to a client certificate, and none was presented', scheme);
  const thumbprint = createHash('sha256').update(certificate).digest('base64url');
  if (thumbprint !== expected)
    throw new InvalidToken('the access token is bound to another client certificate', scheme);
}
