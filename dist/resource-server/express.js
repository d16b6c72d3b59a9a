import { ResourceServerError } from "./errors.js";
import { toProtectedRequest } from "./node-request.js";
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
