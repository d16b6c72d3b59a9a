import type { IncomingMessage } from 'node:http';
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
export declare function toProtectedRequest(req: IncomingMessage, path: string, options?: NodeRequestOptions): ProtectedRequest;
