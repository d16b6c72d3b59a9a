// What the provider reports, into the one logger. Only error codes and ids that are not
// credentials are logged: never a token value, a code or a secret.
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { Audit } from '../services/audit.ts';

const ENDPOINT_ERRORS = [
  'authorization.error',
  'backchannel.error',
  'jwks.error',
  'discovery.error',
  'end_session.error',
  'grant.error',
  'introspection.error',
  'pushed_authorization_request.error',
  'registration_create.error',
  'revocation.error',
  'userinfo.error',
  'device_authorization.error',
  'code_verification.error',
];

interface OidcError extends Error {
  error?: string;
  error_description?: string;
  status?: number;
}

const requestLog = (logger: Logger, ctx: { state?: { log?: unknown } } | undefined) =>
  (ctx?.state?.log as Logger | undefined) ?? logger;

/**
 * What a token response leaves behind, whichever path issued it (the provider's endpoint or
 * client-credentials-fast-path.ts): the issued-tokens metric and, at debug level, a line with the
 * grant type and client id (never the token). The request's child logger is made only when the
 * line is written.
 */
export function tokenIssuedRecorder(logger: Logger, metrics?: Metrics) {
  return (
    ctx: { state?: { log?: unknown } } | undefined,
    grantType: string,
    clientId: string,
    extra?: Record<string, unknown>,
  ) => {
    metrics?.tokensIssued.inc({ grant_type: grantType, client_id: clientId });
    if (logger.isLevelEnabled('debug')) {
      requestLog(logger, ctx).debug(
        { event: 'grant.success', grant_type: grantType, client_id: clientId, ...extra },
        'token issued',
      );
    }
  };
}

export function logProviderEvents(provider: Provider, logger: Logger, metrics?: Metrics, audit?: Audit): void {
  const log = (ctx: KoaContextWithOIDC | undefined) => requestLog(logger, ctx);
  const tokenIssued = tokenIssuedRecorder(logger, metrics);

  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    log(ctx).error({ err, route: ctx?.oidc?.route }, 'unexpected error in an OAuth endpoint');
  });

  for (const event of ENDPOINT_ERRORS) {
    provider.on(event as 'grant.error', (ctx: KoaContextWithOIDC, err: OidcError) => {
      // JWT access tokens at introspection/revocation are answered by Tessera
      // (jwt-access-tokens.ts); the provider's refusal of them is not an error.
      if (err.error === 'unsupported_token_type') return;
      metrics?.oauthErrors.inc({ error: err.error ?? 'unknown', endpoint: event.replace(/\.error$/, '') });
      if ((err as { error_detail?: string }).error_detail === 'refresh token already used') {
        metrics?.refreshReuse.inc();
        void audit?.record({
          type: 'refresh_token.reuse_detected',
          actor: ctx?.oidc?.client?.clientId ?? 'unknown',
          ip: ctx?.ip,
        });
      }
      log(ctx).info(
        {
          event,
          error: err.error,
          error_description: err.error_description,
          // Why a client authentication failed ("client assertion tokens must only be used once"):
          // kept from the client, useful to its operator; it never holds a credential.
          error_detail: (err as { error_detail?: string }).error_detail,
          client_id: ctx?.oidc?.client?.clientId,
        },
        'oauth error',
      );
    });
  }

  provider.on('refresh_token.destroyed', (token: { clientId?: string }) => {
    const ctx = (provider.constructor as typeof Provider).ctx;
    if (ctx?.oidc?.route === 'revocation')
      void audit?.record({
        type: 'token.revoked',
        actor: token.clientId ?? 'unknown',
        ip: ctx.ip,
        details: { token_type: 'refresh_token' },
      });
  });

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    tokenIssued(ctx, String(ctx.oidc.params?.grant_type ?? 'unknown'), ctx.oidc.client?.clientId ?? 'unknown');
  });
}
