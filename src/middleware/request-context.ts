// A request id for every request (from X-Request-Id when it looks like one, else new), a child
// logger carrying it, and one access-log line when the response is done. The line has the path
// without its query string: authorization callbacks carry codes there.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logging/logger.ts';

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestContext(logger: Logger): Middleware {
  return async function requestContext(ctx, next) {
    const incoming = ctx.get('x-request-id');
    const id = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    // The child logger is made when something logs besides the access line: most requests log
    // nothing else, and a pino child per request was a measurable part of the token endpoint.
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (child ??= logger.child({ req_id: id })), enumerable: true });
    ctx.set('X-Request-Id', id);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        {
          req_id: id,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round(ms * 10) / 10,
          ip: ctx.ip,
        },
        'request',
      );
    }
  };
}
