import { certificateFromHeader } from "./certificate-binding.js";
/** `path` is the request's original path and query (Express `originalUrl`, Koa `originalUrl`). */
export function toProtectedRequest(req, path, options = {}) {
    const socket = req.socket;
    const origin = options.publicOrigin ?? `${socket.encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
    let clientCertificate;
    if (options.clientCertificateHeader) {
        const value = req.headers[options.clientCertificateHeader.toLowerCase()];
        clientCertificate = certificateFromHeader(Array.isArray(value) ? undefined : value);
    }
    else if (socket.encrypted && typeof socket.getPeerCertificate === 'function') {
        // RFC 8705 §3: binding is by thumbprint, so even a self-signed certificate the TLS stack did
        // not authorize counts; the server must only have asked for one (requestCert).
        const raw = socket.getPeerCertificate().raw;
        if (raw)
            clientCertificate = new Uint8Array(raw);
    }
    return {
        method: (req.method ?? 'GET').toUpperCase(),
        url: new URL(path, origin).href,
        headers: req.headers,
        ...(clientCertificate ? { clientCertificate } : undefined),
    };
}
