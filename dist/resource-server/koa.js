import { ResourceServerError } from "./errors.js";
import { toProtectedRequest } from "./node-request.js";
/**
 * Koa middleware: lets the request through with `ctx.state.accessToken` set, or answers the
 * refusal itself (401/403 with `WWW-Authenticate`, or 503) and stops.
 */
export function requireTokenKoa(rs, requirement = {}, options = {}) {
    return async function requireAccessToken(ctx, next) {
        let token;
        try {
            token = await rs.verify(toProtectedRequest(ctx.req, ctx.originalUrl, options), requirement);
        }
        catch (err) {
            if (!(err instanceof ResourceServerError))
                throw err;
            const answer = rs.errorResponse(err);
            for (const [name, value] of Object.entries(answer.headers))
                ctx.set(name, value);
            ctx.status = answer.status;
            ctx.body = answer.body ?? '';
            return;
        }
        ctx.state.accessToken = token;
        await next();
    };
}
