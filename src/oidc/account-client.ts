// The account page's own client: /account signs people in through the very authorization flow
// the apps use (the provider's login interaction, with every limit and factor it applies), so
// that the account page and the apps share one session. A static client of the provider
// (configuration.clients), not a row in the clients table: it exists on every install, cannot
// be edited or deleted, and is never shown as an app the user granted access to.
import type { ClientMetadata } from 'oidc-provider';

export const ACCOUNT_CLIENT_ID = 'tessera-account';
export const ACCOUNT_CALLBACK_PATH = '/account/callback';

export function accountClient(issuer: string): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'Your account',
    redirect_uris: [`${issuer}${ACCOUNT_CALLBACK_PATH}`],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    // Public: the code it receives is never redeemed (account/sign-in.ts), so it has no secret.
    token_endpoint_auth_method: 'none',
    // Tessera's own: no consent page (existing-grant.ts).
    first_party: true,
  };
}
