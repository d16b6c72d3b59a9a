// RFC 9457 problem details, the admin API's one error shape: application/problem+json with
// type, title, status and detail, plus `error` (and `error_description`), the RFC 6749 §5.2 code
// every other Tessera endpoint answers with, as an extension member (RFC 9457 §3.2) so that one
// client-side check fits every endpoint. Anything unexpected is logged and answered with a bare
// server_error, as the main error handler does (middleware/error-handler.ts classifies both).
import { STATUS_CODES } from 'node:http';
import type { Context } from 'koa';
import { RETRY_AFTER_SECONDS } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { classify } from '../middleware/error-handler.ts';

export const PROBLEM_TYPE = 'application/problem+json';

/** The problem type URI for an error code: a URN, since Tessera publishes no page per problem. */
export const problemType = (code: string) => `urn:tessera:problem:${code}`;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  error: string;
  error_description: string;
  /** Where the request body failed validation (JSON paths), for invalid_request. */
  errors?: { path: string; message: string }[];
}

/** An admin API error with what a problem body adds to a TesseraError: headers and errors. */
export class AdminProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  readonly errors: Problem['errors'];
  constructor(
    status: number,
    code: string,
    detail: string,
    options: { headers?: Record<string, string>; errors?: Problem['errors'] } = {},
  ) {
    super(detail);
    this.name = this.constructor.name;
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.errors = options.errors;
  }
}

export function sendProblem(
  ctx: Context,
  status: number,
  code: string,
  detail: string,
  errors?: Problem['errors'],
): void {
  const body: Problem = {
    type: problemType(code),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    error: code,
    error_description: detail,
    ...(errors ? { errors } : {}),
  };
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
  ctx.type = PROBLEM_TYPE;
}

/** Renders every error below it as a problem; a 405 or 404 nobody answered becomes one too. */
export async function problemDetails(ctx: Context, next: () => Promise<unknown>): Promise<void> {
  try {
    await next();
    if (ctx.status === 405 && !ctx.body)
      sendProblem(ctx, 405, 'method_not_allowed', `${ctx.method} is not allowed here; see the Allow header`);
    else if (ctx.status === 404 && !ctx.body) sendProblem(ctx, 404, 'not_found', 'no such admin API endpoint');
  } catch (err) {
    if (err instanceof AdminProblem) {
      for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
      sendProblem(ctx, err.status, err.code, err.message, err.errors);
      return;
    }
    const shown = classify(err);
    if (shown) {
      if (shown.status === 503) ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
      sendProblem(ctx, shown.status, shown.error, shown.description);
      return;
    }
    (ctx.state.log as Logger | undefined)?.error({ err }, 'unexpected error');
    sendProblem(ctx, 500, 'server_error', 'an unexpected error occurred');
  }
}
