// The one error shape for Tessera's own routes: RFC 6749 §5.2 JSON, or, for the pages a person
// sees (/interaction), the error page with the same code and sentence. Tessera's and
// oidc-provider's errors keep their status and message; anything unexpected is logged in full
// and answered with a bare server_error. oidc-provider's endpoints render their own errors in
// the same shape. A database that cannot be reached is neither: 503 temporarily_unavailable with
// Retry-After, from Tessera's routes and (errors.ts's ServiceUnavailable) from the provider's;
// a NUL from the request, which no column can hold, is 400 invalid_request.
import type { Context, Middleware } from 'koa';
import { isDatabaseUnavailable, isUnstorableText } from '../db/failures.ts';
import { ForbiddenCharacter, ProtocolError, RETRY_AFTER_SECONDS, ServiceUnavailable, TesseraError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { sendErrorPage } from '../views/error-page.ts';
import type { Brand } from '../views/render.ts';

export interface Shown {
  status: number;
  error: string;
  description: string;
}

/** What an error shows a caller (status, RFC 6749 code, sentence), or undefined for a bug (500). */
export function classify(err: unknown): Shown | undefined {
  if (err instanceof TesseraError) return { status: err.status, error: err.code, description: err.message };
  // A pg error from code outside the query modules' guard is translated as the queries' are
  // (db/queries/guard.ts).
  const known =
    err instanceof ProtocolError
      ? err
      : isDatabaseUnavailable(err)
        ? new ServiceUnavailable()
        : isUnstorableText(err)
          ? new ForbiddenCharacter()
          : undefined;
  if (known) return { status: known.status, error: known.error, description: known.error_description };
  const e = err as {
    status?: number;
    statusCode?: number;
    expose?: boolean;
    error?: string;
    error_description?: string;
    message?: string;
  };
  const status = e.statusCode ?? e.status;
  if (status && status >= 400 && status < 500) {
    // oidc-provider's errors (e.g. an expired interaction) carry an RFC code; Koa's and
    // http-errors' (bad JSON, body too large) carry an exposable message.
    if (typeof e.error === 'string') return { status, error: e.error, description: e.error_description ?? e.error };
    if (e.expose) return { status, error: 'invalid_request', description: e.message ?? 'invalid request' };
  }
  return undefined;
}

export function errorHandler(brand: Brand): Middleware {
  const respond = (ctx: Context, shown: Shown) => {
    ctx.status = shown.status;
    if (
      ctx.path.startsWith('/interaction') ||
      ctx.path === '/account' ||
      ctx.path.startsWith('/account/') ||
      // The admin console's pages (its API below /admin/v1 answers problem details itself).
      ctx.path === '/admin' ||
      (ctx.path.startsWith('/admin/') && !ctx.path.startsWith('/admin/v1'))
    ) {
      sendErrorPage(ctx, brand, shown);
    } else {
      ctx.body = { error: shown.error, error_description: shown.description };
    }
  };

  return async function errorHandler(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        respond(ctx, { status: 404, error: 'not_found', description: 'no such endpoint' });
      }
    } catch (err) {
      const shown = classify(err);
      if (shown) {
        if (shown.status === 503) (ctx.state.log as Logger | undefined)?.warn({ err }, 'the database is unavailable');
        respond(ctx, shown);
        return;
      }
      (ctx.state.log as Logger | undefined)?.error({ err }, 'unexpected error');
      respond(ctx, { status: 500, error: 'server_error', description: 'an unexpected error occurred' });
    } finally {
      // Whoever answered 503 (this handler, oidc-provider, /readyz) means "come back later".
      if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
    }
  };
}
