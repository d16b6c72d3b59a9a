// The Express adapter: `app.get('/orders', requireTokenExpress(rs, { scopes: ['orders:read'] }), …)`.
// The verified token is in `res.locals.accessToken`. Typed structurally on Node's own request
// and response, so the kit needs no Express types or code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ResourceServerError } from './errors.ts';
import { toProtectedRequest, type NodeRequestOptions } from './node-request.ts';
import type { Requirement, ResourceServer, VerifiedToken } from './resource-server.ts';

export type ExpressLikeRequest = IncomingMessage & { originalUrl?: string };
export type ExpressLikeResponse = ServerResponse & { locals: { accessToken?: VerifiedToken; [key: string]: unknown } };

/**
 * Express middleware: calls `next()` with `res.locals.accessToken` set, or answers the refusal
 * itself (401/403 with `WWW-Authenticate`, or 503). Unexpected errors go to `next(err)`.
 */
export function requireTokenExpress(
  rs: ResourceServer,
  requirement: Requirement = {},
  options: NodeRequestOptions = {},
) {
  return function requireAccessToken(
    req: ExpressLikeRequest,
    res: ExpressLikeResponse,
    next: (err?: unknown) => void,
  ): void {
    rs.verify(toProtectedRequest(req, req.originalUrl ?? req.url ?? '/', options), requirement).then(
      (token) => {
        res.locals.accessToken = token;
        next();
      },
      (err: unknown) => {
        if (!(err instanceof ResourceServerError)) {
          next(err);
          return;
        }
        const answer = rs.errorResponse(err);
        if (answer.body) answer.headers['content-type'] = 'application/json; charset=utf-8';
        res.writeHead(answer.status, answer.headers).end(answer.body ? JSON.stringify(answer.body) : undefined);
      },
    );
  };
}
