// The interaction forms' bodies: application/x-www-form-urlencoded, small. Parsed here rather
// than by a general body parser so that nothing upstream of oidc-provider consumes its bodies.
import type { Context } from 'koa';
import { InvalidInput } from '../errors.ts';

// A login form is an email, a password and a token: 16 KiB is generous.
const LIMIT = 16 * 1024;

export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new InvalidInput('expected a form submission');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > LIMIT) throw new InvalidInput('the form is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
