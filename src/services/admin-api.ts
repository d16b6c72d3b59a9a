// The built-in admin API (src/admin/): its audience, its scopes, and the bootstrap that creates
// it and the first client allowed to call it (`tessera admin bootstrap`, or a seed file naming
// the same API). Until a client has the API, the admin routes answer 404.
import type { ApiQueries } from '../db/queries/apis.ts';
import { Conflict } from '../errors.ts';
import type { ApiService } from './apis.ts';
import type { Audit } from './audit.ts';
import type { ClientService } from './clients.ts';
import type { ClientView } from './client-view.ts';

/** The aud of admin tokens (RFC 9068 §2.2), an RFC 8707 resource indicator as any API's. */
export const ADMIN_AUDIENCE = 'urn:tessera:admin';

/**
 * The admin API's scopes: read and write per kind of thing, so that a CI pipeline that creates
 * clients cannot read the audit trail or rotate signing keys. A deployment bootstrapped by an
 * older release gets the newer scopes from `tessera admin bootstrap`, which applies ADMIN_API
 * before it finds that an admin client exists.
 */
export const ADMIN_SCOPES = [
  'admin:apis:read',
  'admin:apis:write',
  'admin:clients:read',
  'admin:clients:write',
  'admin:users:read',
  'admin:users:write',
  'admin:grants:read',
  'admin:grants:write',
  'admin:keys:read',
  'admin:keys:write',
  'admin:audit:read',
  'admin:roles:read',
  'admin:roles:write',
  'admin:orgs:read',
  'admin:orgs:write',
  'admin:api_keys:read',
  'admin:api_keys:write',
  'admin:webhooks:read',
  'admin:webhooks:write',
  'admin:dcr:read',
  'admin:dcr:write',
] as const;

export type AdminScope = (typeof ADMIN_SCOPES)[number];

// Five minutes: an admin token can do anything its scopes name, so a leaked one should age out
// fast; a pipeline asks again (client credentials cost one request).
export const ADMIN_ACCESS_TOKEN_TTL = 300;

/** The admin API as an API (resource server) record: what bootstrap and a seed file create. */
export const ADMIN_API = {
  audience: ADMIN_AUDIENCE,
  name: 'Tessera admin API',
  scope: ADMIN_SCOPES.join(' '),
  accessTokenTtl: ADMIN_ACCESS_TOKEN_TTL,
};

export async function bootstrapAdmin(deps: {
  apis: ApiService;
  apiQueries: ApiQueries;
  clients: ClientService;
  audit: Audit;
  actor: string;
  name: string;
}): Promise<{ api: 'created' | 'updated' | 'unchanged'; client: ClientView; clientSecret: string }> {
  // The admin API with every scope this release knows (an older one's gets the new scopes).
  const api = await deps.apis.apply(ADMIN_API);
  const existing = await deps.apiQueries.clientsUsing(ADMIN_AUDIENCE);
  if (existing.length)
    throw new Conflict(
      `an admin client exists already (${existing.join(', ')}); create more with tessera clients create --api ${ADMIN_AUDIENCE}`,
    );
  const { client, clientSecret } = await deps.clients.create({
    name: deps.name,
    grantTypes: ['client_credentials'],
    apis: [ADMIN_AUDIENCE],
    scope: ADMIN_SCOPES.join(' '),
  });
  await deps.audit.record({ type: 'admin.bootstrapped', actor: deps.actor, subject: client.client_id });
  return { api, client, clientSecret: clientSecret! };
}
