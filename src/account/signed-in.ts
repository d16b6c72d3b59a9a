// Who is signed in on this browser, for Tessera's own account pages: the account of the
// provider's session (its signed session cookie, read as oidc-provider reads it; Session.get is
// its public API). The one place the account pages learn the user from: the account page's
// middleware can take its place without touching the routes.
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';

export function providerSessionAccount(provider: () => Provider) {
  return async function signedInAccount(ctx: Context): Promise<string | undefined> {
    const session = await provider().Session.get(ctx);
    return session.accountId ?? undefined;
  };
}
