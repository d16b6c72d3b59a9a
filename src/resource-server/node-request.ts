// From Node's request (under Koa or Express) to the kit's ProtectedRequest.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { certificateFromHeader } from './certificate-binding.ts';
import type { ProtectedRequest } from './resource-server.ts';

export interface NodeRequestOptions {
  /**
   * The origin clients call this API at (`https://api.example.com`), for DPoP's htu check.
   * Set it behind a proxy; without it the origin is taken from the Host header and the socket.
   */
  publicOrigin?: string;
  /**
   * The header a TLS-terminating proxy puts the client certificate in (RFC 9440 `client-cert`,
   * or nginx's URL-encoded PEM). Only set it when the proxy always overwrites that header:
   * otherwise any client could claim any certificate. Without it, the TLS socket's is used.
   */
  clientCertificateHeader?: string;
}

/** `path` is the request's original path and query (Express `originalUrl`, Koa `originalUrl`). */
export function toProtectedRequest(
  req: IncomingMessage,
  path: string,
  options: NodeRequestOptions = {},
): ProtectedRequest {
  const socket = req.socket as Partial<TLSSocket>;
  const origin = options.publicOrigin ?? `${socket.encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
  let clientCertificate: Uint8Array | undefined;
  if (options.clientCertificateHeader) {
    const value = req.headers[options.clientCertificateHeader.toLowerCase()];
    clientCertificate = certificateFromHeader(Array.isArray(value) ? undefined : value);
  } else if (socket.encrypted && typeof socket.getPeerCertificate === 'function') {
    // RFC 8705 §3: binding is by thumbprint, so even a self-signed certificate the TLS stack did
    // not authorize counts; the server must only have asked for one (requestCert).
    const raw = socket.getPeerCertificate().raw;
    if (raw) clientCertificate = new Uint8Array(raw);
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    url: new URL(path, origin).href,
    headers: req.headers,
    ...(clientCertificate ? { clientCertificate } : undefined),
  };
}
