// What the admin API's requests may hold: zod schemas that validate each request and from which
// the OpenAPI document (openapi.ts) is generated, so that the two cannot disagree. Clients and
// APIs are the seed file's schemas (services/seed.ts): one definition of a client's settings.
import { z } from 'zod';
import { MAX_API_KEY_LIFETIME, MAX_ROTATION_GRACE } from '../services/api-keys.ts';
import { AUDIT_EVENT_TYPES } from '../services/audit.ts';
import { MAX_SECRET_GRACE } from '../services/clients.ts';
import { MAX_INITIAL_TOKEN_TTL, MAX_INITIAL_TOKEN_USES } from '../services/dcr.ts';
import { DELIVERY_STATUSES, MAX_DELIVERIES, MAX_SECRET_OVERLAP, MAX_URL_LENGTH } from '../services/webhooks.ts';
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
    locale: z.string().max(35).optional().describe("the user's language (e.g. de): mail to them is in it"),
    email_verified: z.boolean().optional(),
    send_verification: z
      .boolean()
      .optional()
      .describe('mail the user a link to confirm the address (in their language), as users create --send-verification'),
    invite: z
      .boolean()
      .optional()
      .describe(
        'mail the user (created without a password) an invitation to choose one, as users invite (SIGNUP=invite)',
      ),
  })
  .strict();
export const userUpdate = z
  .object({
    disabled: z.boolean().optional(),
    locale: z.string().max(35).nullable().optional().describe("the user's language; null forgets it"),
  })
  .strict()
  .refine((b) => b.disabled !== undefined || b.locale !== undefined, { message: 'give disabled or locale' });
/**
 * A new password. No length bound here: the password policy (services/password-policy.ts) says
 * what is too short or too long in the words the CLI uses, and the body limit bounds the rest.
 */
export const userPassword = z
  .object({ password: z.string().describe('the new password; checked as on the pages, stored hashed') })
  .strict();

/** POST /users/{user}/verification: a link by mail, or the admin's word that the address is theirs. */
export const userVerification = z
  .object({
    mark_verified: z
      .boolean()
      .optional()
      .describe('mark the address confirmed without a link (you know it is theirs); default: mail a link'),
  })
  .strict();

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

// ---- Roles (RBAC), organizations and API keys: the CLI's options as JSON ----

/** A permission: an API's audience and its scopes (space-separated, as the CLI's --scope). */
const permission = z
  .object({
    api: z.string().max(2000).describe("the API's audience"),
    scope: z.string().max(2000).describe('space-separated scopes the API defines'),
  })
  .strict();

export const roleCreate = z
  .object({
    name: z.string().max(64),
    description: z.string().max(500).optional(),
    permissions: z.array(permission).max(100).optional(),
  })
  .strict();
/** A permission to grant (as the body) or to revoke (as the query: a DELETE has no body). */
export const rolePermission = permission;
export const roleAssignment = z.object({ role: z.string().max(64) }).strict();

// An organization's allowed email domains: a few per customer; 100 is generous.
const emailDomains = z.array(z.string().max(253)).max(100);

export const organizationCreate = z
  .object({
    name: z.string().max(63),
    display_name: z.string().max(200).optional(),
    allowed_email_domains: emailDomains
      .optional()
      .describe('users with a verified email at these domains join on their first token request'),
    mfa_required: z.boolean().optional().describe("members pass a second factor for the organization's tokens"),
  })
  .strict();
export const organizationUpdate = organizationCreate.omit({ name: true }).strict();
export const organizationMember = z.object({ user: z.string().max(320).describe('email or user id') }).strict();
export const organizationRoleCreate = z
  .object({
    name: z.string().max(64),
    description: z.string().max(200).optional(),
    permissions: z.array(permission).max(100),
  })
  .strict();

export const apiKeyListQuery = pageQuery
  .extend({ api: z.string().max(2000).optional().describe("only this API's keys") })
  .strict();
export const apiKeyCreate = z
  .object({
    name: z.string().max(100),
    api: z.string().max(2000).describe('the audience of the API the key is for'),
    scope: z.string().max(2000).optional().describe("space-separated scopes of the API's that the key carries"),
    client_id: z.string().max(200).optional().describe('the client that owns the key'),
    user: z.string().max(320).optional().describe('the email of the user who owns the key'),
    expires_in: z
      .number()
      .int()
      .min(60)
      .max(MAX_API_KEY_LIFETIME)
      .optional()
      .describe('lifetime in seconds (default: does not expire)'),
    quota: z
      .object({
        per_minute: z.number().int().min(1).max(999_999_999).optional(),
        per_day: z.number().int().min(1).max(999_999_999).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export const apiKeyRotation = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_GRACE)
      .optional()
      .describe('how long the current value keeps working (default 0: it stops at once)'),
  })
  .strict();
export const apiKeyUsageQuery = z
  .object({ since: z.iso.datetime({ offset: true }).optional().describe('from this moment on (default 30 days ago)') })
  .strict();

// ---- Webhooks and dynamic client registration: the CLI's options as JSON ----

export const webhookCreate = z
  .object({
    url: z.string().max(MAX_URL_LENGTH).describe('where to POST the events (https)'),
    // The catalog's names (README "Webhooks"); the service names an unknown one.
    events: z.array(z.string().max(100)).max(100).describe('the event types to subscribe to'),
    description: z.string().max(200).optional().describe('a note for admins'),
  })
  .strict();
export const webhookSecretRotation = z
  .object({
    overlap_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_SECRET_OVERLAP)
      .optional()
      .describe('how long the previous secret signs too (default a day)'),
  })
  .strict();
export const deliveryListQuery = z
  .object({
    webhook: z.string().max(100).optional().describe("only this webhook's deliveries"),
    status: z.enum(DELIVERY_STATUSES).optional(),
    limit: queryInteger(1, MAX_DELIVERIES)
      .optional()
      .transform((v) => v ?? 50)
      .describe(`at most this many, newest first (1 to ${MAX_DELIVERIES}, default 50)`),
  })
  .strict();

export const initialTokenCreate = z
  .object({
    max_uses: z
      .number()
      .int()
      .min(1)
      .max(MAX_INITIAL_TOKEN_USES)
      .optional()
      .describe('registrations it allows (default 1)'),
    expires_in: z
      .number()
      .int()
      .min(1)
      .max(MAX_INITIAL_TOKEN_TTL)
      .optional()
      .describe('lifetime in seconds (default a week)'),
    description: z.string().max(200).optional().describe('what it is for'),
  })
  .strict();
