// Who may learn about or revoke a token. A client sees its own tokens and the tokens for an
// API it serves (its resource servers); it may revoke only its own (RFC 7009 §2.1). Everything
// else introspects as inactive, as if the token did not exist.
import type { ClientCatalog } from '../cache/client-catalog.ts';

export function accessTokenPolicy(clients: ClientCatalog) {
  return {
    async mayIntrospect(_ctx: unknown, client: { clientId: string }, token: { clientId?: string; aud?: unknown }) {
      if (token.clientId === client.clientId) return true;
      const audiences = [token.aud].flat().filter((a): a is string => typeof a === 'string');
      return audiences.length > 0 && clients.servesAny(client.clientId, audiences);
    },
    async mayRevoke(_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) {
      return token.clientId === client.clientId;
    },
  };
}

export type AccessTokenPolicy = ReturnType<typeof accessTokenPolicy>;
