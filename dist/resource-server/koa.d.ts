import type { IncomingMessage } from 'node:http';
import { type NodeRequestOptions } from './node-request.ts';
import type { Requirement, ResourceServer, VerifiedToken } from './resource-server.ts';
/** The part of Koa's context the adapter uses. */
export interface KoaLikeContext {
    req: IncomingMessage;
    originalUrl: string;
    status: number;
    body: unknown;
    set(field: string, value: string): void;
    state: {
        accessToken: VerifiedToken;
        [key: string]: unknown;
    };
}
/**
 * Koa middleware: lets the request through with `ctx.state.accessToken` set, or answers the
 * refusal itself (401/403 with `WWW-Authenticate`, or 503) and stops.
 */
export declare function requireTokenKoa(rs: ResourceServer, requirement?: Requirement, options?: NodeRequestOptions): (ctx: KoaLikeContext, next: () => Promise<unknown>) => Promise<void>;
