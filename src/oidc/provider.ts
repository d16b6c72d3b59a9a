// Builds the oidc-provider instance from Tessera's parts.
import { Provider } from 'oidc-provider';
import { providerConfiguration, REGISTRATION_PATH, ROUTES } from './provider-config.ts';
import type { Config } from '../config/config.ts';
import { accountClient } from './account-client.ts';
import { consoleClient } from './admin-console-client.ts';
import type { ClientCatalog } from '../cache/client-catalog.ts';
import type { Clock } from '../clock.ts';
import type { ConsentQueries } from '../db/queries/consents.ts';
import type { DevicePollQueries } from '../db/queries/device-polls.ts';
import type { UserQueries } from '../db/queries/users.ts';
import type { OidcPayloadQueries } from '../db/queries/oidc-payloads.ts';
import type { KeySet } from '../keys/key-set.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { Audit } from '../services/audit.ts';
import type { AccessTokenPolicy } from './access-token-policy.ts';
import type { AccessTokenVerifier } from './access-token-verifier.ts';
import { accountFinder, accountRoles } from './account.ts';
import { existingGrantLoader } from './existing-grant.ts';
import { createAdapterClass } from './adapter.ts';
import { publicClientBasic } from './public-client-basic.ts';
import { revocationAnswersJson } from './revocation-response.ts';
import { clientAuthenticationChallenge } from './client-authentication-challenge.ts';
import { useHashedClientSecrets } from './client-secret-check.ts';
import { logProviderEvents } from './events.ts';
import { mtlsHelpers } from './mtls.ts';
import * as tokenExchange from './grants/token-exchange.ts';
import { resourceServerFeature, userinfoResource } from './resource-servers.ts';
import { rbacTokenClaims } from './rbac-claims.ts';
import { type BackchannelLogoutRequest, deferBackchannelLogout, grantTypeHandler, providerJwks } from './upstream.ts';
import { traceProviderSteps, traceSigning } from '../tracing/provider-steps.ts';
import { tracingEnabled } from '../tracing/spans.ts';
import { userinfoAccessTokens } from './userinfo-tokens.ts';
import { answerRefreshRetries } from './refresh-retry.ts';
import { refreshTokenIntrospection } from './refresh-token-introspection.ts';
import { organizationFor, organizationMemberships, validateOrganizationParam } from './organizations.ts';
import type { OrganizationQueries } from '../db/queries/organizations.ts';
import { NO_SECOND_FACTOR_REQUIRED, type SecondFactorPolicy } from '../mfa/policy.ts';

// Without organization queries (tests that build a provider alone), no organization exists.
const NO_ORGANIZATIONS = { membership: async () => undefined, joinByEmailDomain: async () => false };

export interface ProviderDeps {
  issuer: string;
  /** TRUSTED_PROXIES is set: see app.ts for why app.proxy may then be on. */
  behindProxies: boolean;
  cookieKeys: string[];
  clientSecretPepper: Buffer;
  keys: KeySet;
  payloads: OidcPayloadQueries;
  clients: ClientCatalog;
  users: UserQueries;
  /** Organization tokens (organizations.ts); without, a request for an organization is refused. */
  organizations?: OrganizationQueries;
  consents: ConsentQueries;
  devicePolls: DevicePollQueries;
  config: Pick<
    Config,
    'issuer' | 'brand' | 'sessionTtl' | 'refreshTokens' | 'deviceFlow' | 'keys' | 'security' | 'registration'
  >;
  policy: AccessTokenPolicy;
  logger: Logger;
  metrics?: Metrics;
  audit?: Audit;
  /** RFC 8693 token exchange, registered when config.security.tokenExchange is on. */
  tokenExchange?: tokenExchange.TokenExchangeDeps;
  /** Tessera's clock (src/clock.ts): the refresh-token reuse grace. Default `Date.now`. */
  now?: Clock;
  /** Whether a request demands a second factor (mfa/policy.ts, step-up.ts). Default: none does. */
  secondFactorRequired?: SecondFactorPolicy;
  /** Verifies Tessera's JWT access tokens, so that userinfo accepts them (userinfo-tokens.ts). */
  verifyAccessToken?: AccessTokenVerifier;
  /** Back-channel logout: stores a session's end for a client (the outbox, backchannel-logout.ts). */
  backchannelLogout?: (request: BackchannelLogoutRequest) => Promise<void>;
}

export function createProvider(deps: ProviderDeps): Provider {
  const { security } = deps.config;
  // Tracing on: the provider's client authentication and grants get spans (once per process).
  if (tracingEnabled()) traceProviderSteps();
  const userinfo = userinfoResource(deps.issuer, ROUTES.userinfo);
  const memberships = organizationMemberships({
    organizations: deps.organizations ?? NO_ORGANIZATIONS,
    ...(deps.audit ? { audit: deps.audit } : {}),
  });
  const findAccount = accountFinder(deps.users, memberships);
  const provider = new Provider(
    deps.issuer,
    providerConfiguration({
      adapter: createAdapterClass({
        payloads: deps.payloads,
        clients: deps.clients,
        devicePolls: deps.devicePolls,
        refreshReuseGraceSeconds: deps.config.refreshTokens.reuseGraceSeconds,
        refreshRetryLimit: deps.config.refreshTokens.retryLimit,
        now: deps.now,
        // Every confidential client may ask; the policy table (token_exchange_policies) answers.
        ...(security.tokenExchange && deps.tokenExchange ? { confidentialGrantTypes: [tokenExchange.grantType] } : {}),
        devicePollInterval: deps.config.deviceFlow.pollInterval,
        ...(deps.verifyAccessToken
          ? {
              userinfoAccessTokens: userinfoAccessTokens({
                verify: deps.verifyAccessToken,
                userinfoResource: userinfo,
              }),
            }
          : {}),
      }),
      jwks: providerJwks(deps.keys.privateJwks),
      cookieKeys: deps.cookieKeys,
      resourceIndicators: resourceServerFeature(deps.clients, userinfo, accountRoles(findAccount), (ctx) =>
        organizationFor(ctx, memberships),
      ),
      introspectionPolicy: deps.policy.mayIntrospect,
      revocationPolicy: deps.policy.mayRevoke,
      findAccount,
      loadExistingGrant: existingGrantLoader(deps.consents, memberships),
      validateOrganizationParam,
      brand: deps.config.brand,
      sessionTtl: deps.config.sessionTtl,
      refreshTokens: deps.config.refreshTokens,
      deviceCodeTtl: deps.config.deviceFlow.codeTtl,
      extraAlgs: deps.config.keys.extraAlgs,
      registrationEndpoint:
        deps.config.registration.mode === 'off' ? undefined : `${deps.config.issuer}${REGISTRATION_PATH}`,
      extraAccessTokenClaims: tokenExchange.actorClaims,
      secondFactorRequired: deps.secondFactorRequired ?? NO_SECOND_FACTOR_REQUIRED,
      rbacClaims: rbacTokenClaims(deps.clients),
      userinfoResource: userinfo,
      staticClients: [accountClient(deps.issuer), consoleClient(deps.issuer)],
      security: {
        privateKeyJwt: security.privateKeyJwt,
        dpop: security.dpop,
        par: security.par,
        allowLoopbackJwksUri: security.allowLoopbackJwksUri,
        mtls: security.mtls && {
          ...mtlsHelpers(security.mtls),
          // PKI client authentication needs CAs to chain to; self-signed needs only the client's JWKS.
          tlsClientAuth: security.mtls.clientCa !== undefined,
          endpointBase: security.mtls.endpointBase,
        },
      },
    }),
  );
  provider.proxy = deps.behindProxies;
  if (security.tokenExchange && deps.tokenExchange) {
    provider.registerGrantType(
      tokenExchange.grantType,
      grantTypeHandler(tokenExchange.tokenExchangeHandler(deps.tokenExchange)),
      tokenExchange.parameters,
    );
  }
  provider.use(clientAuthenticationChallenge(deps.issuer));
  provider.use(revocationAnswersJson());
  provider.use(answerRefreshRetries(deps.metrics));
  provider.use(refreshTokenIntrospection({ findAccount, clients: deps.clients }));
  provider.use(
    publicClientBasic(provider, [
      ROUTES.token,
      ROUTES.introspection,
      ROUTES.revocation,
      ROUTES.device_authorization,
      ROUTES.pushed_authorization_request,
    ]),
  );
  useHashedClientSecrets(provider, deps.clients, deps.clientSecretPepper);
  if (deps.backchannelLogout) deferBackchannelLogout(provider, deps.backchannelLogout);
  logProviderEvents(provider, deps.logger, deps.metrics, deps.audit);
  if (tracingEnabled()) traceSigning(provider);
  return provider;
}
