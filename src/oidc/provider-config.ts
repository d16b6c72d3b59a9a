// oidc-provider's configuration, as a pure function of Tessera's parts. Everything the
// provider should not do is switched off here; what is left is what Tessera supports.
import type { ClientMetadata, Configuration, JWKS, KoaContextWithOIDC, SigningAlgorithm } from 'oidc-provider';
import { sendErrorPage } from '../views/error-page.ts';
import { sendPage } from '../views/page.ts';
import { renderView, type Brand } from '../views/render.ts';
import { translatorOf } from '../i18n/locale.ts';
import { LOCALES, type PlainKey } from '../i18n/messages.ts';
import { PROVIDER_SCOPES } from '../services/scopes.ts';
import {
  clientAuthMethods,
  mtlsEndpointAliases,
  outboundFetch,
  securityFeatures,
  type SecurityParts,
} from './security-config.ts';
import { deviceConfirmationPolicy } from './device-authorization.ts';
import { withStepUp } from './step-up.ts';
import { ACR_VALUES } from '../mfa/levels.ts';
import type { SecondFactorPolicy } from '../mfa/policy.ts';
import { grantOrganization, ORGANIZATION_PARAM } from './organizations.ts';
import { allowedPolicy, clientAuthMethodNames, leaveUnstoredSessionUnstored, userCodeForm } from './upstream.ts';

export interface ProviderParts {
  adapter: Configuration['adapter'];
  jwks: JWKS;
  cookieKeys: string[];
  resourceIndicators: NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;
  /** Whether `client` may see or revoke `token`: one policy for every token type. */
  introspectionPolicy: (
    ctx: unknown,
    client: { clientId: string },
    token: { clientId?: string; aud?: unknown },
  ) => Promise<boolean>;
  revocationPolicy: (ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => Promise<boolean>;
  findAccount: Configuration['findAccount'];
  loadExistingGrant: Configuration['loadExistingGrant'];
  brand: Brand;
  sessionTtl: number;
  refreshTokens: { absoluteTtl: number; idleTtl: number };
  deviceCodeTtl: number;
  /** ID-token algorithms besides RS256 that keys are kept for. */
  extraAlgs: SigningAlgorithm[];
  /** private_key_jwt, DPoP, PAR, mutual TLS (security-config.ts). */
  security: SecurityParts;
  /** The userinfo endpoint as an audience (resource-servers.ts userinfoResource). */
  userinfoResource: string;
  /** Whether a request demands a second factor (mfa/policy.ts): a session without one steps up. */
  secondFactorRequired: SecondFactorPolicy;
  /** Further claims for one access token (token exchange's `act`). */
  extraAccessTokenClaims?: (token: object) => Record<string, unknown> | undefined;
  /** Clients of Tessera's own (account-client.ts), known to every install. */
  staticClients?: ClientMetadata[];
  /** oidc-provider's validator of the `organization` authorization parameter (organizations.ts). */
  validateOrganizationParam: (ctx: KoaContextWithOIDC) => Promise<void>;
  /** The RBAC claims `roles` and `permissions` of an access or client-credentials token (rbac-claims.ts). */
  rbacClaims?: (ctx: KoaContextWithOIDC, token: never) => Promise<Record<string, unknown> | undefined>;
  /** Dynamic client registration's endpoint (registration/routes.ts), when DCR is not off. */
  registrationEndpoint?: string | undefined;
}

/** What the user-code page says for each of oidc-provider's code-entry errors. */
const USER_CODE_ERRORS: Record<string, PlainKey> = {
  NoCodeError: 'device.input.noCode',
  NotFoundError: 'device.input.notFound',
  ExpiredError: 'device.input.expired',
  AlreadyUsedError: 'device.input.used',
  AbortedError: 'device.input.aborted',
};

// A person has this long to finish signing in once the app sent them to Tessera.
const INTERACTION_TTL = 15 * 60;
// RFC 6749 §4.1.2 recommends at most 10 minutes for a code; it is used within seconds.
const AUTHORIZATION_CODE_TTL = 60;
// For tokens used only at userinfo (an authorization without an API).
export const USERINFO_ACCESS_TOKEN_TTL = 3600;
export const ID_TOKEN_TTL = 3600;

const epoch = () => Math.floor(Date.now() / 1000);

// The provider's endpoints; Tessera's middleware refers to some of them by path.
export const ROUTES = {
  authorization: '/auth',
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  jwks: '/jwks',
  userinfo: '/me',
  end_session: '/session/end',
  code_verification: '/device',
  device_authorization: '/device/auth',
  pushed_authorization_request: '/request',
} as const;
export const DISCOVERY_PATH = '/.well-known/openid-configuration';
/** Dynamic client registration (RFC 7591), served by Tessera's own routes (registration/routes.ts). */
export const REGISTRATION_PATH = '/register';

// Asymmetric algorithms only: a symmetric (HS*) one would key on client_secret, which Tessera
// does not have in clear, and `none` is never acceptable.
const SIGNING_ALGS: SigningAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

export function providerConfiguration(parts: ProviderParts): Configuration {
  return {
    adapter: parts.adapter,
    jwks: parts.jwks,
    findAccount: parts.findAccount,
    ...(parts.staticClients ? { clients: parts.staticClients } : {}),
    routes: ROUTES,
    cookies: { keys: parts.cookieKeys },
    clientAuthMethods: clientAuthMethodNames(clientAuthMethods(parts.security)),
    enabledJWA: {
      clientAuthSigningAlgValues: SIGNING_ALGS,
      idTokenSigningAlgValues: ['RS256', ...parts.extraAlgs],
      userinfoSigningAlgValues: ['RS256', ...parts.extraAlgs],
      introspectionSigningAlgValues: ['RS256'],
      authorizationSigningAlgValues: ['RS256'],
      requestObjectSigningAlgValues: SIGNING_ALGS,
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: 'RS256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    extraClientMetadata: { properties: ['first_party', 'require_explicit_scope'] },
    // An organization token (organizations.ts): the parameter names the organization.
    extraParams: { [ORGANIZATION_PARAM]: parts.validateOrganizationParam },
    // CORS for the browser (a single-page app calls the token, revocation and userinfo endpoints
    // from its own origin): only for a public client, and only from the origin of one of its
    // registered redirect URIs. A confidential client's secret never belongs in a browser, so no
    // origin is allowed for it. Discovery and JWKS are open to every origin (oidc-provider).
    clientBasedCORS(_ctx, origin, client) {
      if (client.clientAuthMethod !== 'none') return false;
      return (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
    },
    responseTypes: ['code'],
    ttl: {
      // Access tokens live as long as their API says (resource-servers.ts).
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? USERINFO_ACCESS_TOKEN_TTL,
      AuthorizationCode: AUTHORIZATION_CODE_TTL,
      DeviceCode: parts.deviceCodeTtl,
      IdToken: ID_TOKEN_TTL,
      Interaction: INTERACTION_TTL,
      Session: parts.sessionTtl,
      // A grant (the refresh-token family) lives as long as its refresh tokens can.
      Grant: parts.refreshTokens.absoluteTtl,
      // Each rotation extends the family by the idle lifetime, never past its absolute lifetime
      // counted from the first token (iiat).
      RefreshToken: (_ctx, token) => {
        const left = parts.refreshTokens.absoluteTtl - (epoch() - (token.iiat ?? epoch()));
        return Math.max(1, Math.min(parts.refreshTokens.idleTtl, left));
      },
    },
    // Every use of a refresh token replaces it; the used one is consumed atomically
    // (oidc/adapter.ts), and using it again revokes its whole family (grant).
    rotateRefreshToken: true,
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      // A device is always confirmed after sign-in, once (device-authorization.ts); a session
      // without a second factor steps up when the request needs one (step-up.ts).
      policy: withStepUp(deviceConfirmationPolicy(), parts.secondFactorRequired),
    },
    loadExistingGrant: parts.loadExistingGrant,
    // acr_values_supported in discovery: a password alone, or with a second factor (mfa/levels.ts).
    acrValues: [...ACR_VALUES],
    // Access tokens issued from a grant carry its id, so that introspection of a JWT access
    // token can tell that its family was revoked (oidc/jwt-access-tokens.ts). Grant ids are
    // random and grant nothing by themselves. RBAC claims, for the APIs that ask for them.
    extraTokenClaims: async (ctx, token) => {
      if (token.kind !== 'AccessToken' && token.kind !== 'ClientCredentials') return undefined;
      const rbac = await parts.rbacClaims?.(ctx, token as never);
      if (token.kind !== 'AccessToken') return rbac;
      // An organization's token says which (organizations.ts: the grant's id holds it).
      const org = grantOrganization(token.grantId);
      const extra = {
        ...rbac,
        ...(token.grantId ? { gid: token.grantId } : {}),
        ...(org ? { org_id: org } : {}),
        ...parts.extraAccessTokenClaims?.(token),
      };
      return Object.keys(extra).length ? extra : undefined;
    },
    formats: {
      customizers: {
        // A token that grants `openid` is also for userinfo (OIDC Core §5.3): its audience names
        // the userinfo resource next to the API's, as RFC 9068 §3 allows (Auth0 does the same),
        // and userinfo accepts it by that audience (userinfo-tokens.ts).
        jwt(_ctx, token, jwt) {
          if (token.kind !== 'AccessToken' || !token.scopes.has('openid')) return;
          const aud = [jwt.payload.aud].flat().filter((a): a is string => typeof a === 'string');
          if (!aud.includes(parts.userinfoResource)) jwt.payload.aud = [...aud, parts.userinfoResource];
        },
      },
    },
    // PKCE with S256 for every client, public or confidential (oidc-provider 9 accepts only S256).
    pkce: { required: () => true },
    scopes: [...PROVIDER_SCOPES],
    claims: {
      acr: null,
      amr: null,
      sid: null,
      auth_time: null,
      iss: null,
      // The authentication's own claims (OIDC Core §2) ride on the openid scope, so that every ID
      // token says when and how the user signed in; userinfo has no such values to release.
      // org_id/org_name: the organization of an organization's token (organizations.ts), when any.
      openid: ['sub', 'acr', 'amr', 'auth_time', 'sid', 'org_id', 'org_name'],
      profile: [
        'name',
        'family_name',
        'given_name',
        'middle_name',
        'nickname',
        'preferred_username',
        'profile',
        'picture',
        'website',
        'gender',
        'birthdate',
        'zoneinfo',
        'locale',
        'updated_at',
      ],
      email: ['email', 'email_verified'],
    },
    ...(outboundFetch(parts.security) ? { fetch: outboundFetch(parts.security)! } : {}),
    discovery: {
      // The languages of the sign-in pages (i18n/), chosen by ui_locales (OIDC Discovery §3).
      ui_locales_supported: [...LOCALES],
      ...(mtlsEndpointAliases(parts.security, ROUTES)
        ? { mtls_endpoint_aliases: mtlsEndpointAliases(parts.security, ROUTES) }
        : {}),
      // Tessera serves registration itself (registration/routes.ts), not through the provider.
      ...(parts.registrationEndpoint ? { registration_endpoint: parts.registrationEndpoint } : {}),
    },
    features: {
      ...securityFeatures(parts.security),
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: allowedPolicy(parts.introspectionPolicy) },
      revocation: { enabled: true, allowedPolicy: allowedPolicy(parts.revocationPolicy) },
      resourceIndicators: parts.resourceIndicators,
      deviceFlow: {
        enabled: true,
        // RFC 8628 §6.1: 20 consonants without vowels (no words), no easily confused letters,
        // 8 of them: 20^8 ≈ 2.6 × 10^10 codes, against at most DEVICE_CODE_ATTEMPTS guesses per
        // client IP per 10 minutes. Input is case- and dash-insensitive.
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource(
          ctx: KoaContextWithOIDC,
          form: string,
          _out?: unknown,
          err?: Error & { userCode?: string },
        ) {
          // A failure on Tessera's side (the database unavailable: 503) keeps its status, so
          // that the browser and the monitoring see it for what it is; wrong codes are 400.
          const failed = (err as { statusCode?: number } | undefined)?.statusCode ?? 0;
          // An error at a code-entry page (POST /device, GET /device/<uid>; any method) from a
          // browser without a live session (no cookie, or its session expired) would be a 500 in
          // oidc-provider 9.13.3 (GET /device/auth is such a resume too; upstream.ts says why).
          // The session stays unstored, and the browser starts over at the code-entry page, which
          // makes a session of its own; a failure of Tessera's is shown there and then.
          if (err && leaveUnstoredSessionUnstored(ctx)) {
            if (failed < 500) {
              ctx.status = 303;
              ctx.redirect(ctx.oidc.urlFor('code_verification'));
              return;
            }
          }
          // Tessera's own form (labelled, no inline script) posting what oidc-provider's would.
          const { action, xsrf } = userCodeForm(form);
          const { t, locale } = translatorOf(ctx);
          sendPage(
            ctx,
            renderView(
              'device-input',
              parts.brand,
              {
                action,
                xsrf,
                code: err?.userCode ?? '',
                error: err ? t(USER_CODE_ERRORS[err.name] ?? 'device.input.failed') : undefined,
              },
              locale,
            ),
            failed >= 500 ? failed : err && err.name !== 'NoCodeError' ? 400 : 200,
          );
        },
        // Not reached from Tessera's pages: a code entry is taken as "connect" and confirmed after
        // sign-in (device-authorization.ts). A form posted without that rewrite is sent back to
        // the code-entry page, with its code, to go that way.
        userCodeConfirmSource(
          ctx: KoaContextWithOIDC,
          form: string,
          _client: unknown,
          _info: unknown,
          userCode: string,
        ) {
          const { action, xsrf } = userCodeForm(form);
          sendPage(
            ctx,
            renderView(
              'device-input',
              parts.brand,
              { action, xsrf, code: userCode, error: undefined },
              translatorOf(ctx).locale,
            ),
          );
        },
        successSource(ctx: KoaContextWithOIDC) {
          const { t, locale } = translatorOf(ctx);
          sendPage(
            ctx,
            renderView(
              'device-done',
              parts.brand,
              {
                heading: t('device.done.heading'),
                message: t('device.done.message', {
                  client: ctx.oidc.client?.clientName ?? t('device.done.yourDevice'),
                }),
              },
              locale,
            ),
          );
        },
      },
      // OpenID Connect Back-Channel Logout 1.0: clients register backchannel_logout_uri; the
      // provider puts `sid` in every ID token, and the tokens go out through the outbox
      // (backchannel-logout.ts).
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx: KoaContextWithOIDC, form: string) {
          sendPage(
            ctx,
            renderView(
              'logout',
              parts.brand,
              { form, clientName: ctx.oidc.client?.clientName },
              translatorOf(ctx).locale,
            ),
          );
        },
        postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
          sendPage(
            ctx,
            renderView(
              'logged-out',
              parts.brand,
              { clientName: ctx.oidc.client?.clientName },
              translatorOf(ctx).locale,
            ),
          );
        },
      },
    },
    // Errors shown to a person (at the authorization endpoint, when the client cannot be
    // redirected to): the RFC code and a sentence, never a stack.
    renderError(ctx, out) {
      sendErrorPage(
        ctx,
        parts.brand,
        { status: ctx.status, error: out.error, description: out.error_description },
        // The client, when the request named a real one: the page links back to it.
        ctx.oidc?.client,
      );
    },
  };
}
