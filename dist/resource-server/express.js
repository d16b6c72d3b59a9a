import { ResourceServerError } from "./errors.js";
import { toProtectedRequest } from "./node-request.js";
/**
 * Express middleware: calls `next()` with `res.locals.accessToken` set, or answers the refusal
 * itself (401/403 with `WWW-Authenticate`, or 503). Unexpected errors go to `next(err)`.
 */
export function requireTokenExpress(rs, requirement = {}, options = {}) {
    return function requireAccessToken(req, res, next) {
        rs.verify(toProtectedRequest(req, req.originalUrl ?? req.url ?? '/', options), requirement).then((token) => {
            res.locals.accessToken = token;
            next();
        }, (err) => {
            if (!(err instanceof ResourceServerError)) {
                next(err);
                return;
            }
            const answer = rs.errorResponse(err);
            if (answer.body)
                answer.headers['content-type'] = 'application/json; charset=utf-8';
            res.writeHead(answer.status, answer.headers).end(answer.body ? JSON.stringify(answer.body) : undefined);
        });
    };
}
