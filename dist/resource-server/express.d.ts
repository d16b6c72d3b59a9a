import type { IncomingMessage, ServerResponse } from 'node:http';
import { type NodeRequestOptions } from './node-request.ts';
import type { Requirement, ResourceServer, VerifiedToken } from './resource-server.ts';
export type ExpressLikeRequest = IncomingMessage & {
    originalUrl?: string;
};
export type ExpressLikeResponse = ServerResponse & {
    locals: {
        accessToken?: VerifiedToken;
        [key: string]: unknown;
    };
};
/**
 * Express middleware: calls `next()` with `res.locals.accessToken` set, or answers the refusal
 * itself (401/403 with `WWW-Authenticate`, or 503). Unexpected errors go to `next(err)`.
 */
export declare function requireTokenExpress(rs: ResourceServer, requirement?: Requirement, options?: NodeRequestOptions): (req: ExpressLikeRequest, res: ExpressLikeResponse, next: (err?: unknown) => void) => void;
