import { type Scheme } from './errors.ts';
/**
 * The DER bytes of a certificate forwarded by a proxy in either common form: RFC 9440's
 * `Client-Cert` (a structured-field byte sequence, `:base64 DER:`), or a URL-encoded PEM
 * (nginx's `$ssl_client_escaped_cert`, AWS ALB). Undefined when it is neither.
 */
export declare function certificateFromHeader(value: string | undefined): Uint8Array | undefined;
/** RFC 8705 §3.1: the base64url SHA-256 of the certificate's DER must equal cnf["x5t#S256"]. */
export declare function checkCertificateBinding(expected: string, certificate: Uint8Array | undefined, scheme: Scheme): void;
