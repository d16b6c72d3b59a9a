// The admin REST API at /admin/v1 (README "Admin API"): the operations of routes.ts behind
// Tessera's own access tokens (auth.ts), with RFC 9457 problems (problem.ts), JSON bodies
// checked by the zod schemas the OpenAPI document is made from (openapi.ts), ETag/If-Match on
// updates, Idempotency-Key on creates (idempotency.ts), and every authenticated call audited
// with its caller. Until some client may get tokens for the admin API (`tessera admin
// bootstrap`), every route but the OpenAPI document answers 404: there is nothing to call it with.
import Router from '@koa/router';
import { readBody } from '../middleware/read-body.ts';
import type { Context, Middleware } from 'koa';
import type { z } from 'zod';
import type { Config } from '../config/config.ts';
import type { Queries } from '../db/queries/index.ts';
import type { AccessTokenVerifier } from '../oidc/access-token-verifier.ts';
import { ADMIN_AUDIENCE } from '../services/admin-api.ts';
import { adminServices } from '../services/admin-services.ts';
import type { Audit } from '../services/audit.ts';
import { type AdminCaller, authenticate, authenticateToken, requireScope } from './auth.ts';
import { idempotency } from './idempotency.ts';
import { openApiDocument } from './openapi.ts';
import { AdminProblem, problemDetails } from './problem.ts';
import { ADMIN_PREFIX, ADMIN_ROUTES, type AdminRoute, type Answer, etagOf, versionFromIfMatch } from './routes.ts';

// The largest client (a JWKS of a few keys, some redirect URIs) is a few kB; 64 KiB leaves room
// and keeps a hostile body from costing memory.
const BODY_LIMIT = 64 * 1024;

/** An operation called in-process (the admin console): see `call` in adminApi. */
export type AdminCall = (
  operationId: string,
  token: string,
  ctx: Context,
  input?: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown },
) => Promise<Answer>;

export const OPENAPI_PATH = `${ADMIN_PREFIX}/openapi.json`;

async function readJson(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json', '+json'))
    throw new AdminProblem(415, 'invalid_request', 'the request body must be application/json');
  const body = await readBody(
    ctx,
    BODY_LIMIT,
    () => new AdminProblem(413, 'invalid_request', `the request body is over ${BODY_LIMIT} bytes`),
  );
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AdminProblem(400, 'invalid_request', 'the request body is not valid JSON');
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message }));
  throw new AdminProblem(
    400,
    'invalid_request',
    `the request ${where} is not valid: ${errors[0]!.path}: ${errors[0]!.message}`,
    {
      errors,
    },
  );
}

export function adminApi(deps: {
  config: Config;
  queries: Queries;
  audit: Audit;
  verify: AccessTokenVerifier;
}): Middleware & { router: Router; call: AdminCall } {
  const { queries, audit } = deps;
  const once = idempotency(queries.adminIdempotency, deps.config.keysEncryptionKey);
  const document = openApiDocument(deps.config.issuer);
  // Known once true: an admin client may be deleted later, but then its tokens die with it
  // (revoked principals), so the routes answer 401 instead of 404; nothing else depends on it.
  let enabled = false;
  const isEnabled = async () => {
    if (!enabled) enabled = (await queries.apis.clientsUsing(ADMIN_AUDIENCE)).length > 0;
    return enabled;
  };

  async function answer(operation: AdminRoute, ctx: Context): Promise<void> {
    await requireEnabled();
    const caller = await authenticate(ctx, deps.verify);
    await audited(operation, caller, ctx, async () => {
      const query = operation.query ? validate(operation.query, ctx.query, 'query') : undefined;
      const body = operation.body ? validate(operation.body, await readJson(ctx), 'body') : undefined;
      const version = operation.conditional ? versionFromIfMatch(ctx.get('if-match')) : undefined;
      send(
        ctx,
        await perform(operation, ctx, caller, { params: ctx.params as Record<string, string>, query, body, version }),
      );
      return ctx.status;
    });
  }

  async function requireEnabled(): Promise<void> {
    if (!(await isEnabled()))
      throw new AdminProblem(404, 'not_found', 'the admin API is not set up: run tessera admin bootstrap');
  }

  /** Runs `work` after the scope check, and records the call, refused or not, with its caller. */
  async function audited(
    operation: AdminRoute,
    caller: AdminCaller,
    ctx: Context,
    work: () => Promise<number>,
  ): Promise<void> {
    let status = 500;
    try {
      requireScope(caller, operation.scope);
      status = await work();
    } catch (err) {
      status = (err as { status?: number }).status ?? 500;
      throw err;
    } finally {
      // Every call, refused for its scope or not, with who made it. Never the body: it may hold
      // a password or a client's secret.
      await audit.record({
        type: 'admin.call',
        actor: caller.actor,
        subject: operation.operationId,
        ip: ctx.ip,
        details: { method: operation.method, path: ctx.path, status },
      });
    }
  }

  async function perform(
    operation: AdminRoute,
    ctx: Context,
    caller: AdminCaller,
    input: { params: Record<string, string>; query: unknown; body: unknown; version: Date | undefined },
  ): Promise<Answer & { headers?: Record<string, string>; replayed?: boolean }> {
    const call = {
      ctx,
      caller,
      services: adminServices(deps.config, queries, audit, caller.actor),
      queries,
      ...input,
    };
    const key = operation.creates ? once.keyOf(ctx.get('idempotency-key')) : undefined;
    return key
      ? await once.once(
          // A key is the caller's own: another client's same key is another request.
          `${caller.claims.client_id} ${String(caller.claims.sub ?? '')}`,
          key,
          { method: ctx.method, path: ctx.path, body: input.body },
          async () => {
            const done = await operation.handle(call);
            return {
              status: done.status ?? 200,
              body: done.body ?? null,
              headers: {
                ...(done.version ? { etag: etagOf(done.version) } : {}),
                ...(done.location ? { location: done.location } : {}),
              },
            };
          },
        )
      : await operation.handle(call);
  }

  /**
   * One operation of the table, called in-process with an access token (the admin console,
   * src/admin-console/): the same token check, scope check, schemas, handler and audit record
   * as over HTTP, so that the console has no implementation of its own. Errors are thrown as
   * the API's (AdminProblem, TesseraError).
   */
  async function call(
    operationId: string,
    token: string,
    ctx: Context,
    input: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {},
  ): Promise<Answer> {
    const operation = ADMIN_ROUTES.find((r) => r.operationId === operationId);
    if (!operation) throw new Error(`no admin operation ${operationId}`);
    await requireEnabled();
    const caller = await authenticateToken(token, deps.verify);
    let result: Answer = {};
    await audited(operation, caller, ctx, async () => {
      const query = operation.query ? validate(operation.query, input.query ?? {}, 'query') : undefined;
      const body = operation.body ? validate(operation.body, input.body ?? {}, 'body') : undefined;
      result = await operation.handle({
        ctx,
        caller,
        services: adminServices(deps.config, queries, audit, caller.actor),
        queries,
        params: input.params ?? {},
        query,
        body,
        version: undefined,
      });
      return result.status ?? 200;
    });
    return result;
  }

  function send(ctx: Context, result: Answer & { headers?: Record<string, string>; replayed?: boolean }): void {
    ctx.set('Cache-Control', 'no-store');
    for (const [name, value] of Object.entries(result.headers ?? {})) ctx.set(name, value);
    if (result.version) ctx.set('ETag', etagOf(result.version));
    if (result.location) ctx.set('Location', result.location);
    if (result.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = result.status ?? 200;
    if (ctx.status !== 204) ctx.body = result.body ?? null;
  }

  const router = new Router({ prefix: ADMIN_PREFIX });
  router.get('/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = document;
  });
  for (const operation of ADMIN_ROUTES) {
    router.register(operation.path, [operation.method], (ctx: Context) => answer(operation, ctx), {
      name: operation.operationId,
    });
  }
  const routes = router.routes();
  const allowed = router.allowedMethods();
  const noop = async () => {};

  const middleware = async function adminApiRoutes(ctx: Context, next: () => Promise<unknown>) {
    if (ctx.path !== ADMIN_PREFIX && !ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    await problemDetails(ctx, () => allowed(ctx as never, () => routes(ctx as never, noop)));
  };
  return Object.assign(middleware, { router, call });
}
