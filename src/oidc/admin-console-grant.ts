// What the admin console's client (admin-console-client.ts) may get: the admin API, every admin
// scope, and RBAC enforced for it whatever the admin API's own `rbac` setting (which concerns
// the admins' machine clients), so that its tokens carry only the admin scopes the signed-in
// person's roles grant, and signing in to the console gives no one rights they were not given.
import type { ClientCatalog } from '../cache/client-catalog.ts';
import type { ApiQueries } from '../db/queries/apis.ts';
import type { ApiGrant } from '../db/queries/clients.ts';
import { ADMIN_AUDIENCE, ADMIN_SCOPES } from '../services/admin-api.ts';
import { CONSOLE_CLIENT_ID } from './admin-console-client.ts';

/**
 * The client catalog, with the console client's one API grant: the admin API with every admin
 * scope, RBAC enforced. Undefined while the admin API does not exist (before bootstrap), so
 * that the console cannot get tokens for it either.
 */
export function withConsoleClient(catalog: ClientCatalog, apis: Pick<ApiQueries, 'findByAudience'>): ClientCatalog {
  async function consoleGrant(): Promise<ApiGrant | undefined> {
    const api = await apis.findByAudience(ADMIN_AUDIENCE);
    if (!api) return undefined;
    return {
      clientId: CONSOLE_CLIENT_ID,
      apiId: api.id,
      scopes: ADMIN_SCOPES.filter((s) => api.scopes.includes(s)),
      isDefault: true,
      createdAt: api.createdAt,
      api: { ...api, rbac: 'enforce' },
    } as ApiGrant;
  }
  return {
    ...catalog,
    async apiGrant(clientId, audience) {
      if (clientId !== CONSOLE_CLIENT_ID) return catalog.apiGrant(clientId, audience);
      return audience === ADMIN_AUDIENCE ? consoleGrant() : undefined;
    },
    async defaultApiAudience(clientId) {
      if (clientId !== CONSOLE_CLIENT_ID) return catalog.defaultApiAudience(clientId);
      return (await consoleGrant()) ? ADMIN_AUDIENCE : undefined;
    },
  };
}
