// What the admin API's requests may hold: zod schemas that validate each request and from which
// the OpenAPI document (openapi.ts) is generated, so that the two cannot disagree. Clients and
// APIs are the seed file's schemas (services/seed.ts): one definition of a client's settings.
import { z } from 'zod';
import { AUDIT_EVENT_TYPES } from '../services/audit.ts';
import { MAX_SECRET_GRACE } from '../services/clients.ts';
import { apiSchema, clientMetadataSchema } from '../services/seed.ts';

// A page of 200 rows is a few hundred kB of clients at most: big enough to page a large table
// in few requests, small enough that one request stays cheap.
export const MAX_PAGE = 200;
const DEFAULT_PAGE = 50;

/** A whole number in a query string, as its digits (a query has only strings). */
const queryInteger = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const queryBoolean = z.enum(['true', 'false']).transform((v) => v === 'true');

export const pageQuery = z
  .object({
    limit: queryInteger(1, MAX_PAGE)
      .optional()
      .transform((v) => v ?? DEFAULT_PAGE)
      .describe(`at most this many items (1 to ${MAX_PAGE}, default ${DEFAULT_PAGE})`),
    cursor: z.string().max(200).optional().describe('next_cursor from the previous page'),
  })
  .strict();

/** A list that can be searched: `q`, a part of the id, name or address, matched case-insensitively. */
export const searchPageQuery = z
  .object({
    ...pageQuery.shape,
    q: z.string().min(1).max(200).optional().describe('a part of the id, name or email address to look for'),
  })
  .strict();

export const apiCreate = apiSchema;
export const apiDeleteQuery = z
  .object({ force: queryBoolean.optional().describe('delete it even though clients use it') })
  .strict();

export const clientCreate = clientMetadataSchema.extend({ client_id: z.string().optional() }).strict();
export const clientUpdate = clientMetadataSchema.omit({ client_id: true }).partial().strict();
export const secretRotation = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_SECRET_GRACE)
      .optional()
      .describe('how long the previous secrets stay valid (default a day)'),
  })
  .strict();

export const userCreate = z
  .object({
    email: z.string(),
    password: z.string().optional(),
    name: z.string().optional(),
    given_name: z.string().optional(),
    family_name: z.string().optional(),
    email_verified: z.boolean().optional(),
  })
  .strict();
export const userUpdate = z.object({ disabled: z.boolean() }).strict();

export const grantRevokeQuery = z
  .object({ forget_consent: queryBoolean.optional().describe('also forget what the user approved for the client') })
  .strict();

export const keyRetirement = z
  .object({ compromised: z.literal(true).describe('confirms that the key is compromised and its tokens must die now') })
  .strict();

export const auditQuery = pageQuery
  .extend({
    type: z.enum(AUDIT_EVENT_TYPES).optional(),
    since: z.iso.datetime({ offset: true }).optional().describe('only events from this moment on'),
    actor: z.string().max(300).optional(),
    subject: z.string().max(300).optional(),
  })
  .strict();

/** Every list's answer: a page of items and the cursor of the next (null on the last page). */
export const pageResponse = z.object({
  items: z.array(z.record(z.string(), z.unknown())),
  next_cursor: z.string().nullable(),
});
