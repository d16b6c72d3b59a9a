// The interaction forms' bodies: application/x-www-form-urlencoded, small. Parsed here rather
// than by a general body parser so that nothing upstream of oidc-provider consumes its bodies.
import type { Context } from 'koa';
import { InvalidInput } from '../errors.ts';
import { readBody } from '../middleware/read-body.ts';

// A login form is an email, a password and a token: 16 KiB is generous.
const LIMIT = 16 * 1024;

export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new InvalidInput('expected a form submission');
  const body = await readBody(ctx, LIMIT, () => new InvalidInput('the form is too large'));
  return new URLSearchParams(body.toString('utf8'));
}
