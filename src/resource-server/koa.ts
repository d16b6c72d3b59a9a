// The Koa adapter: `app.use(requireTokenKoa(rs, { scopes: ['orders:read'] }))`, or per route
// with @koa/router. The verified token is in `ctx.state.accessToken`. Typed structurally, so
// the kit needs no Koa types or code.
import type { IncomingMessage } from 'node:http';
import { ResourceServerError } from './errors.ts';
import { toProtectedRequest, type NodeRequestOptions } from './node-request.ts';
import type { Requirement, ResourceServer, VerifiedToken } from './resource-server.ts';

/** The part of Koa's context the adapter uses. */
export interface KoaLikeContext {
  req: IncomingMessage;
  originalUrl: string;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
  // Not optional: the routes after this middleware can rely on it.
  state: { accessToken: VerifiedToken; [key: string]: unknown };
}

/**
 * Koa middleware: lets the request through with `ctx.state.accessToken` set, or answers the
 * refusal itself (401/403 with `WWW-Authenticate`, or 503) and stops.
 */
export function requireTokenKoa(rs: ResourceServer, requirement: Requirement = {}, options: NodeRequestOptions = {}) {
  return async function requireAccessToken(ctx: KoaLikeContext, next: () => Promise<unknown>): Promise<void> {
    let token: VerifiedToken;
    try {
      token = await rs.verify(toProtectedRequest(ctx.req, ctx.originalUrl, options), requirement);
    } catch (err) {
      if (!(err instanceof ResourceServerError)) throw err;
      const answer = rs.errorResponse(err);
      for (const [name, value] of Object.entries(answer.headers)) ctx.set(name, value);
      ctx.status = answer.status;
      ctx.body = answer.body ?? '';
      return;
    }
    ctx.state.accessToken = token;
    await next();
  };
}
