// Discovery and the JWKS are the same for every request until the signing keys change (which
// builds a new provider: oidc/provider-slot.ts), and resource servers fetch them often. The provider's answer is
// kept, serialised once, per provider: later requests get the stored bytes and headers without
// the provider building and serialising the document again. A cross-origin request (with an
// Origin header) always goes to the provider, whose CORS headers depend on that origin. The
// documents may be shared because no request can change the URLs in them: every request sees
// the issuer's origin, whatever its Host or X-Forwarded-* said (issuer-origin.ts).
import type { Middleware } from 'koa';

interface Stored {
  owner: object;
  headers: Record<string, string>;
  body: Buffer;
}

export function memoizedDocuments(paths: string[], owner: () => object): Middleware {
  const stored = new Map<string, Stored>();
  const memoized = new Set(paths);
  return async function memoizedDocuments(ctx, next) {
    if (ctx.method !== 'GET' || !memoized.has(ctx.path) || ctx.get('origin')) return next();
    const hit = stored.get(ctx.path);
    if (hit && hit.owner === owner()) {
      ctx.set(hit.headers);
      ctx.body = hit.body;
      return;
    }
    const building = owner();
    const before = { ...ctx.response.headers };
    await next();
    if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object' || Buffer.isBuffer(ctx.body)) return;
    // The headers the provider set (content type among them), not those of the middleware
    // around it (request id, security headers), which set their own on every request.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(ctx.response.headers)) {
      if (name !== 'content-length' && before[name] !== value && value !== undefined) headers[name] = String(value);
    }
    const body = Buffer.from(JSON.stringify(ctx.body));
    stored.set(ctx.path, { owner: building, headers, body });
    ctx.body = body;
  };
}
