// A request body read whole, up to a limit: what Tessera's own routes (forms, the admin API,
// dynamic client registration) read bodies with.
//
// Over the limit the answer is refused at once, and the rest of the body is still read and
// dropped, not left on the connection, which closes after the answer. Left there (a `for await`
// that threw stopped reading), it was taken for the next request's start: the next request a
// browser sent on that kept-alive connection hung until the keep-alive timeout reset it (found
// by the hostile-input suite). Dropping rather than destroying lets the client read the 4xx
// instead of a reset; a client that keeps sending is bounded by HTTP_REQUEST_TIMEOUT.
import type { Context } from 'koa';

export function readBody(ctx: Context, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const req = ctx.req;
  // Already read (by an earlier reader of this request): there is nothing more to come.
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.resume();
      ctx.res.shouldKeepAlive = false;
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
