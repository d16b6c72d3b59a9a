// The admin console's own client (src/admin-console/): the console signs admins in through the
// very authorization flow the apps use (the provider's login interaction, with its limits,
// lockout and second factors), as a static, first-party, public client with PKCE, and redeems
// the code for an access token to the admin API (urn:tessera:admin). Like the account page's
// client it is not a row in the clients table: it exists on every install and cannot be edited,
// deleted, or given more than this file gives it.
//
// What it may get is in admin-console-grant.ts.
import type { ClientMetadata } from 'oidc-provider';

export const CONSOLE_CLIENT_ID = 'tessera-admin';
export const CONSOLE_PATH = '/admin';
export const CONSOLE_CALLBACK_PATH = '/admin/callback';

export function consoleClient(issuer: string): ClientMetadata {
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: 'Admin console',
    redirect_uris: [`${issuer}${CONSOLE_CALLBACK_PATH}`],
    response_types: ['code'],
    // No refresh tokens: an admin token lives five minutes, and the console signs in again
    // (silently, while the person's session lasts) rather than keep a longer-lived credential.
    grant_types: ['authorization_code'],
    // Public, with PKCE (required of every client): the server is the only holder of the
    // verifier, and the token never reaches the browser.
    token_endpoint_auth_method: 'none',
    // Tessera's own: no consent page (existing-grant.ts).
    first_party: true,
  };
}
