// APIs (resource servers): validation and registration.
import type { ApiQueries } from '../db/queries/apis.ts';
import type { PagePosition } from '../db/queries/paging.ts';
import { Conflict, createOrConflict, InvalidInput, NotFound } from '../errors.ts';
import { noAudit, type Audit } from './audit.ts';
import { RBAC_MODES, RBAC_TOKEN_CLAIMS, type RbacMode } from './rbac.ts';
import { parseScopes } from './scopes.ts';

export interface ApiInput {
  audience: string;
  name?: string | undefined;
  scope?: string | undefined;
  accessTokenTtl?: number | undefined;
  /** RBAC: off (default) or enforce. */
  rbac?: string | undefined;
  /** Optional access-token claims: roles, permissions. */
  tokenClaims?: string[] | undefined;
}

function checkRbac(mode: string | undefined): RbacMode {
  const value = mode ?? 'off';
  if (!(RBAC_MODES as readonly string[]).includes(value))
    throw new InvalidInput(`rbac must be ${RBAC_MODES.join(' or ')}, not ${JSON.stringify(value)}`);
  return value as RbacMode;
}

function checkTokenClaims(claims: string[] | undefined): string[] {
  const list = [...new Set(claims ?? [])];
  for (const claim of list)
    if (!(RBAC_TOKEN_CLAIMS as readonly string[]).includes(claim))
      throw new InvalidInput(`token claims are ${RBAC_TOKEN_CLAIMS.join(' and ')}, not ${JSON.stringify(claim)}`);
  return list.sort();
}

// One hour: the common default (Hydra, Auth0 M2M); short enough that a leaked token ages out,
// long enough that services do not hammer the token endpoint.
export const DEFAULT_ACCESS_TOKEN_TTL = 3600;
// A day at most: longer-lived bearer tokens defeat revocation by expiry.
export const MAX_ACCESS_TOKEN_TTL = 86_400;
// A minute at least: shorter, and clock skew between Tessera and an API eats the whole lifetime.
export const MIN_ACCESS_TOKEN_TTL = 60;

/** An API's settings checked and normalised; pure, so unit tests cover every refusal. */
export function validateApi(input: ApiInput) {
  let url: URL;
  try {
    url = new URL(input.audience);
  } catch {
    throw new InvalidInput('audience must be an absolute URI, e.g. https://api.example.com');
  }
  if (url.hash) throw new InvalidInput('audience must not contain a fragment (RFC 8707 §2)');
  const ttl = input.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL;
  if (!Number.isInteger(ttl) || ttl < MIN_ACCESS_TOKEN_TTL || ttl > MAX_ACCESS_TOKEN_TTL) {
    throw new InvalidInput(
      `access token lifetime must be a whole number of seconds from ${MIN_ACCESS_TOKEN_TTL} to ${MAX_ACCESS_TOKEN_TTL}`,
    );
  }
  return {
    audience: input.audience,
    name: input.name ?? null,
    scopes: parseScopes(input.scope ?? '', { forApi: true }),
    accessTokenTtl: ttl,
    rbac: checkRbac(input.rbac),
    tokenClaims: checkTokenClaims(input.tokenClaims),
  };
}

export function apiService(apis: ApiQueries, audit: Audit = noAudit, actor = 'system') {
  return {
    async create(input: ApiInput) {
      const data = validateApi(input);
      const api = await createOrConflict(
        () => apis.create(data),
        `an API with audience ${data.audience} exists already`,
      );
      await audit.record({ type: 'api.created', actor, subject: data.audience });
      return api;
    },
    list: async () => apis.list(),
    page: (limit: number, after?: PagePosition) => apis.page(limit, after),
    async get(audience: string) {
      const api = await apis.findByAudience(audience);
      if (!api) throw new NotFound(`no API has audience ${audience}`);
      return api;
    },
    /** Creates or updates to match the input; returns what changed, for idempotent seeding. */
    async apply(input: ApiInput): Promise<'created' | 'updated' | 'unchanged'> {
      const data = validateApi(input);
      const existing = await apis.findByAudience(data.audience);
      if (!existing) {
        await apis.create(data);
        await audit.record({ type: 'api.created', actor, subject: data.audience });
        return 'created';
      }
      const same =
        existing.name === data.name &&
        existing.accessTokenTtl === data.accessTokenTtl &&
        existing.scopes.join(' ') === data.scopes.join(' ') &&
        existing.rbac === data.rbac &&
        existing.tokenClaims.join(' ') === data.tokenClaims.join(' ');
      if (same) return 'unchanged';
      await apis.update(data.audience, data);
      await audit.record({ type: 'api.updated', actor, subject: data.audience });
      return 'updated';
    },
    /** Changes the API's RBAC settings; what is not given stays. */
    async updateRbac(audience: string, changes: { rbac?: string | undefined; tokenClaims?: string[] | undefined }) {
      const api = await this.get(audience);
      const data = {
        rbac: checkRbac(changes.rbac ?? api.rbac),
        tokenClaims: checkTokenClaims(changes.tokenClaims ?? api.tokenClaims),
      };
      const updated = await apis.update(audience, data);
      await audit.record({
        type: 'api.updated',
        actor,
        subject: audience,
        details: { rbac: data.rbac, token_claims: data.tokenClaims },
      });
      return updated;
    },
    /** Deletes the API; one that clients use only with `force`, which takes it from them. */
    async delete(audience: string, options: { force?: boolean } = {}) {
      if (!(await apis.delete(audience, { unlessUsed: !options.force }))) {
        const users = await apis.clientsUsing(audience);
        if (users.length)
          throw new Conflict(
            `clients use API ${audience}: ${users.join(', ')}; delete it with --force to take it from them`,
          );
        throw new NotFound(`no API has audience ${audience}`);
      }
      await audit.record({ type: 'api.deleted', actor, subject: audience });
    },
  };
}

export type ApiService = ReturnType<typeof apiService>;
