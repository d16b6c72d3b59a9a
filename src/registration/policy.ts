// What a client that registers itself (RFC 7591) may ask for, and how its metadata becomes the
// settings every other client has (services/client-metadata.ts). Pure: no database, no Koa.
//
// The policy is narrow on purpose: a self-registered client is a stranger. It gets only the
// grant types and scopes DCR_GRANT_TYPES and DCR_SCOPES allow, is never first-party (its users
// always see consent, marked as unreviewed until an admin approves it), and its redirect URIs obey
// the same exact-match rules as any client's (https; http only to loopback; reverse-DNS custom
// schemes only for public native clients, RFC 8252), checked by the shared validation.
import { InvalidInput } from '../errors.ts';
import type { ClientInput } from '../services/client-metadata.ts';
import { DEVICE_CODE_GRANT } from '../services/client-validation.ts';
import { isOidcScope } from '../services/scopes.ts';

export interface RegistrationPolicy {
  grantTypes: string[];
  /** OpenID Connect scopes and API scopes a registered client may ask for. */
  scopes: string[];
  /** Audiences of the APIs a registered client may get tokens for (their scopes must be in `scopes`). */
  apis: string[];
}

/** RFC 7591 §3.2.2 error codes. */
export type RegistrationErrorCode = 'invalid_redirect_uri' | 'invalid_client_metadata' | 'invalid_software_statement';

export class RegistrationError extends Error {
  readonly code: RegistrationErrorCode;
  constructor(code: RegistrationErrorCode, description: string) {
    super(description);
    this.name = this.constructor.name;
    this.code = code;
  }
}

// What Tessera can register: the methods of a public client and of one with a shared secret.
// Key-based methods need a JWKS the stranger controls; an admin registers those with the CLI.
const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'];
const MAX_REDIRECT_URIS = 10;
const MAX_NAME = 100;

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function stringList(body: Record<string, unknown>, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!isStringArray(value))
    throw new RegistrationError('invalid_client_metadata', `${name} must be an array of strings`);
  return value;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new RegistrationError('invalid_client_metadata', `${name} must be a string`);
  return value;
}

function optionalBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new RegistrationError('invalid_client_metadata', `${name} must be a boolean`);
  return value;
}

/**
 * The client settings for a registration request's metadata, or a RegistrationError. Metadata
 * Tessera does not understand is ignored (RFC 7591 §2). The shared validation runs afterwards
 * (clients.create); `asRegistrationError` maps what it refuses to RFC 7591's codes.
 */
export function clientInputFor(body: unknown, policy: RegistrationPolicy): ClientInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new RegistrationError('invalid_client_metadata', 'the request body must be a JSON object');
  const metadata = body as Record<string, unknown>;
  if (metadata.software_statement !== undefined)
    throw new RegistrationError('invalid_software_statement', 'software statements are not accepted');

  const authMethod = optionalString(metadata, 'token_endpoint_auth_method') ?? 'client_secret_basic';
  if (!AUTH_METHODS.includes(authMethod))
    throw new RegistrationError(
      'invalid_client_metadata',
      `token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`,
    );

  // RFC 7591 §2: grant_types defaults to authorization_code, response_types to code.
  const grantTypes = stringList(metadata, 'grant_types') ?? ['authorization_code'];
  if (grantTypes.length === 0) throw new RegistrationError('invalid_client_metadata', 'grant_types is empty');
  for (const grant of grantTypes) {
    const name = grant === DEVICE_CODE_GRANT ? 'device_code' : grant;
    if (!policy.grantTypes.includes(name))
      throw new RegistrationError(
        'invalid_client_metadata',
        `grant type ${grant} is not allowed for registered clients (allowed: ${policy.grantTypes.join(', ')})`,
      );
  }
  const responseTypes =
    stringList(metadata, 'response_types') ?? (grantTypes.includes('authorization_code') ? ['code'] : []);
  if (responseTypes.some((t) => t !== 'code') || responseTypes.length > 0 !== grantTypes.includes('authorization_code'))
    throw new RegistrationError(
      'invalid_client_metadata',
      'response_types must be ["code"] with authorization_code, and empty without it',
    );

  const redirectUris = stringList(metadata, 'redirect_uris');
  if (redirectUris && redirectUris.length > MAX_REDIRECT_URIS)
    throw new RegistrationError('invalid_redirect_uri', `at most ${MAX_REDIRECT_URIS} redirect URIs`);

  const scope = optionalString(metadata, 'scope') ?? policy.scopes.filter((s) => s === 'openid').join(' ');
  const scopes = scope.split(' ').filter(Boolean);
  const refused = scopes.filter((s) => !policy.scopes.includes(s));
  if (refused.length > 0)
    throw new RegistrationError(
      'invalid_client_metadata',
      `scope ${refused.join(' ')} is not allowed for registered clients (allowed: ${policy.scopes.join(' ')})`,
    );

  const name = optionalString(metadata, 'client_name') ?? 'Registered client';
  if (name.trim() === '' || name.length > MAX_NAME)
    throw new RegistrationError('invalid_client_metadata', `client_name must be 1 to ${MAX_NAME} characters`);

  return {
    name,
    grantTypes,
    redirectUris,
    postLogoutRedirectUris: stringList(metadata, 'post_logout_redirect_uris'),
    public: authMethod === 'none',
    authMethod: authMethod === 'none' ? undefined : authMethod,
    scope: scopes.join(' '),
    // The allowed APIs, when the client asked for API scopes (validation puts each with its API).
    apis: scopes.some((s) => !isOidcScope(s)) ? policy.apis : [],
    firstParty: false,
    // Back-Channel Logout 1.0 §2.2. Checked like an admin's (client-validation.ts); where a logout
    // token may go (never a private address) is the SSRF guard's decision at each delivery.
    backchannelLogoutUri: optionalString(metadata, 'backchannel_logout_uri'),
    backchannelLogoutSessionRequired: optionalBoolean(metadata, 'backchannel_logout_session_required'),
  };
}

/** The shared validation's refusals (InvalidInput) as RFC 7591 errors; anything else is rethrown. */
export function asRegistrationError(err: unknown): RegistrationError {
  if (err instanceof RegistrationError) return err;
  if (err instanceof InvalidInput)
    return new RegistrationError(
      /redirect URI/i.test(err.message) ? 'invalid_redirect_uri' : 'invalid_client_metadata',
      err.message,
    );
  throw err;
}
