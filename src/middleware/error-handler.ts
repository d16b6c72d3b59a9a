// The one error shape for Tessera's own routes: RFC 6749 §5.2 JSON. Tessera's errors keep
// their status and message; anything unexpected is logged in full and answered with a bare
// server_error. oidc-provider's endpoints render their own errors in the same shape.
import type { Middleware } from 'koa';
import { TesseraError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';

export function errorHandler(): Middleware {
  return async function errorHandler(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
      }
    } catch (err) {
      if (err instanceof TesseraError) {
        ctx.status = err.status;
        ctx.body = { error: err.code, error_description: err.message };
        return;
      }
      const status = (err as { status?: number; expose?: boolean }).status;
      if (status && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
        // Koa/http-errors raised for malformed input (bad JSON, body too large).
        ctx.status = status;
        ctx.body = { error: 'invalid_request', error_description: (err as Error).message };
        return;
      }
      (ctx.state.log as Logger | undefined)?.error({ err }, 'unexpected error');
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'an unexpected error occurred' };
    }
  };
}
