// The guard every query module is built under (index.ts, rate-limits.ts): the failures that are
// not bugs (db/failures.ts) become the errors every caller answers as such.
import { ForbiddenCharacter, ServiceUnavailable } from '../../errors.ts';
import { isDatabaseUnavailable, isUnstorableText } from '../failures.ts';

/**
 * The module with two of every query's failures turned into RFC 6749 errors that every caller
 * (oidc-provider's endpoints included) answers as such rather than as a 500 server_error: the
 * database unreachable (503 temporarily_unavailable) and a NUL from the request (400
 * invalid_request). Other failures pass through unchanged.
 */
export function guarded<T extends object>(module: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(module)) {
    wrapped[name] =
      typeof value !== 'function'
        ? value
        : async function guardedQuery(...args: unknown[]) {
            try {
              return await (value as (...a: unknown[]) => Promise<unknown>).apply(wrapped, args);
            } catch (err) {
              if (isDatabaseUnavailable(err)) throw new ServiceUnavailable({ cause: err });
              if (isUnstorableText(err)) throw new ForbiddenCharacter({ cause: err });
              throw err;
            }
          };
  }
  return wrapped as T;
}
