// Client authentication with hashed secrets. oidc-provider compares client_secret through
// Client#compareClientSecret, the documented seam for stores that keep only hashes
// (panva/node-oidc-provider#631); Tessera's version checks the presented secret against the
// client's valid secret hashes, which is also how a rotation's grace period works.
import type { Provider } from 'oidc-provider';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import { secretMatches } from '../services/client-secrets.ts';

export function useHashedClientSecrets(provider: Provider, clients: ClientCatalog, pepper: Buffer): void {
  provider.Client.prototype.compareClientSecret = async function compareClientSecret(
    this: { clientId: string },
    actual: string,
  ) {
    return secretMatches(actual, await clients.activeSecretHashes(this.clientId), pepper);
  };
}
