// What the provider reports, into the one logger. Only error codes and ids that are not
// credentials are logged: never a token value, a code or a secret.
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Logger } from '../logging/logger.ts';

const ENDPOINT_ERRORS = [
  'authorization.error', 'backchannel.error', 'jwks.error', 'discovery.error', 'end_session.error',
  'grant.error', 'introspection.error', 'pushed_authorization_request.error', 'registration_create.error',
  'revocation.error', 'userinfo.error', 'device_authorization.error', 'code_verification.error',
];

interface OidcError extends Error {
  error?: string;
  error_description?: string;
  status?: number;
}

export function logProviderEvents(provider: Provider, logger: Logger): void {
  const log = (ctx: KoaContextWithOIDC | undefined) => (ctx?.state?.log as Logger | undefined) ?? logger;

  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    log(ctx).error({ err, route: ctx?.oidc?.route }, 'unexpected error in an OAuth endpoint');
  });

  for (const event of ENDPOINT_ERRORS) {
    provider.on(event as 'grant.error', (ctx: KoaContextWithOIDC, err: OidcError) => {
      // JWT access tokens at introspection/revocation are answered by Tessera
      // (jwt-access-tokens.ts); the provider's refusal of them is not an error.
      if (err.error === 'unsupported_token_type') return;
      log(ctx).info({
        event,
        error: err.error,
        error_description: err.error_description,
        client_id: ctx?.oidc?.client?.clientId,
      }, 'oauth error');
    });
  }

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    log(ctx).debug({ event: 'grant.success', grant_type: ctx.oidc.params?.grant_type, client_id: ctx.oidc.client?.clientId }, 'token issued');
  });
}
