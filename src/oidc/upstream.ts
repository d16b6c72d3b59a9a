// The one seam to oidc-provider (STYLE.md): every assumption Tessera makes about the library
// beyond its typed public API, and every cast against its types, each with the upstream module
// it mirrors. Checked against CHECKED_AGAINST (test/unit/upstream-version.test.ts fails when the
// installed version leaves that range); an upgrade must re-read each module named here.
//
// Why deep imports at all: the provider hands its grant helpers (DPoP proof validation, the
// sender-constraint checks) only to its own grants (lib/helpers/initialize_app.js binds them);
// a grant registered with provider.registerGrantType gets the request alone. Token exchange must
// bind its tokens exactly as the provider's grants do, so it calls the same functions rather than
// a copy: the same proof checks, the same replay store, the same errors. The package has no
// "exports" map, so these paths resolve to the very modules the provider itself loaded (one
// instance: the proof parsed during a request is cached per request in validate_dpop.js).
import type { X509Certificate } from 'node:crypto';
import type { Context } from 'koa';
import type Koa from 'koa';
import type {
  AccessToken,
  AdapterPayload,
  Client,
  ClientAuthMethod,
  Configuration,
  JWKS,
  KoaContextWithOIDC,
  Provider,
  TokenEndpointGrantContext,
} from 'oidc-provider';
import { errors } from 'oidc-provider';

/** The oidc-provider versions this module was checked against (a semver range). */
export const CHECKED_AGAINST = '~9.13';

// ---------------------------------------------------------------------------------------------
// Sender constraints of the provider's grants (lib/helpers/grants.js, lib/helpers/grant_common.js)

/** A DPoP proof that passed validation (lib/helpers/validate_dpop.js). */
export interface DpopProof {
  thumbprint: string;
  jti: string;
  iat: number;
}

/** A token the sender constraints are applied to (AccessToken, ClientCredentials). */
interface BindableToken {
  setThumbprint(prop: 'x5t' | 'jkt', input: unknown): void;
}

interface GrantHelpers {
  validateDpop(provider: Provider, ctx: KoaContextWithOIDC): Promise<DpopProof | undefined>;
  checkDpopRequired(provider: Provider, ctx: KoaContextWithOIDC, dPoP: DpopProof | undefined): void;
  checkMtlsCert(provider: Provider, ctx: KoaContextWithOIDC): unknown;
}
interface GrantCommon {
  applyDpopBinding(
    provider: Provider,
    ctx: KoaContextWithOIDC,
    dPoP: DpopProof | undefined,
    token: BindableToken,
  ): Promise<void>;
}

// Specifiers held in variables: TypeScript does not look for types of these untyped modules.
const GRANT_HELPERS = 'oidc-provider/lib/helpers/grants.js';
const GRANT_COMMON = 'oidc-provider/lib/helpers/grant_common.js';
const helpers = (await import(GRANT_HELPERS)) as GrantHelpers;
const common = (await import(GRANT_COMMON)) as GrantCommon;

/**
 * The sender constraints of the provider's client_credentials grant
 * (lib/actions/grants/client_credentials.js), for a grant of Tessera's: validate the request's
 * DPoP proof (RFC 9449 §4.3) before anything else; once the token is built, bind it to the
 * client's certificate when the client is registered tls_client_certificate_bound_access_tokens
 * (RFC 8705 §3, refused without a certificate), to the proof's key when there is one (after the
 * provider's replay check), and refuse a dpop_bound_access_tokens client that sent no proof.
 */
export async function senderConstraints(ctx: KoaContextWithOIDC) {
  const { provider } = ctx.oidc;
  const dPoP = await helpers.validateDpop(provider, ctx);
  return {
    dPoP,
    async bind(token: object): Promise<void> {
      const bindable = token as BindableToken;
      const cert = helpers.checkMtlsCert(provider, ctx);
      if (cert) bindable.setThumbprint('x5t', cert);
      await common.applyDpopBinding(provider, ctx, dPoP, bindable);
      helpers.checkDpopRequired(provider, ctx, dPoP);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The provider's front: request bodies, Basic credentials, the Client model

// oidc-provider's own limit for a form body (lib/shared/selective_body.js): a larger one goes to
// the provider, which refuses it.
export const BODY_LIMIT = 56 * 1024;

/**
 * The client credentials of an HTTP Basic Authorization header (RFC 6749 §2.3.1): the client id
 * and secret, each form-urlencoded, then base64. Decoded as oidc-provider decodes them
 * (lib/shared/client_auth.js: '+' is a space), so that Tessera and the provider agree on which
 * client a header names. Undefined for anything malformed; the provider refuses those.
 */
export function basicCredentials(header: string): { clientId: string; secret: string } | undefined {
  const credentials = basicHeader(header);
  return credentials?.secret ? credentials : undefined;
}

/** basicCredentials, but the secret may be empty (`base64("client_id:")`). */
export function basicHeader(header: string): { clientId: string; secret: string } | undefined {
  const [scheme, value, extra] = header.split(' ');
  if (extra !== undefined || scheme?.toLowerCase() !== 'basic' || !value || !/^[A-Za-z0-9+/]+={0,2}$/.test(value))
    return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i <= 0) return undefined;
  try {
    const clientId = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, '%20'));
    const secret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, '%20'));
    return { clientId, secret };
  } catch {
    return undefined;
  }
}

/** The whole body; Node's HTTP parser delivers no more than its Content-Length. */
export async function readBody(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Hands a request whose body was read over to the provider: its body parser
 * (lib/shared/selective_body.js, through raw-body) reads ctx.req as a stream, so ctx.req becomes
 * the same request (headers, socket, URL through the prototype) whose stream yields these bytes
 * once. A body that did not match its Content-Length still fails there.
 */
export function replayBody(ctx: Context, raw: Buffer): undefined {
  const request = ctx.req;
  let consumed = false;
  ctx.req = Object.create(request, {
    readable: { get: () => !consumed },
    readableEncoding: { value: null },
    iterator: {
      value: async function* replay() {
        if (consumed) return;
        consumed = true;
        yield raw;
      },
    },
  });
  return undefined;
}

/**
 * The parts of oidc-provider's Client model (lib/models/client.js) that Tessera reads beyond its
 * typings: the secret checks of lib/shared/client_auth.js and the sender-constraint flags.
 */
export interface ProviderClient {
  clientId: string;
  clientAuthMethod: string;
  grantTypeAllowed(grantType: string): boolean;
  dpopBoundAccessTokens?: boolean;
  tlsClientCertificateBoundAccessTokens?: boolean;
  checkClientSecretExpiration(message: string): void;
  compareClientSecret(secret: string): Promise<boolean>;
}

/**
 * The client, when it is registered for this secret method and the secret is one of its valid
 * ones: the checks of lib/shared/client_auth.js (tokenEndpointAuthMethod, then
 * checkClientSecretExpiration, then compareClientSecret), through the provider's Client model.
 */
export async function clientAuthenticatedBySecret(
  provider: Provider,
  clientId: string,
  secret: string,
  method: string,
): Promise<ProviderClient | undefined> {
  const client = (await provider.Client.find(clientId)) as unknown as ProviderClient | undefined;
  if (!client || client.clientAuthMethod !== method) return undefined;
  try {
    client.checkClientSecretExpiration('client secret expired');
  } catch {
    return undefined;
  }
  return (await client.compareClientSecret(secret)) ? client : undefined;
}

/** Whether the client is registered as public: token_endpoint_auth_method `none` (lib/models/client.js). */
export async function isPublicClient(provider: Provider, clientId: string): Promise<boolean> {
  const client = (await provider.Client.find(clientId)) as unknown as ProviderClient | undefined;
  return client?.clientAuthMethod === 'none';
}

/**
 * invalid_scope without a `scope` member: @types/oidc-provider requires the scope argument, the
 * class (lib/helpers/errors.js) does not, and its serializer (lib/helpers/err_out.js) leaves an
 * undefined scope out of the body.
 */
export function invalidScopeWithoutScope(description: string): Error {
  return new errors.InvalidScope(description, undefined as unknown as string);
}

/**
 * Sets the scope a client-credentials request asks for, from features.resourceIndicators'
 * getResourceServerInfo: the grant (lib/actions/grants/client_credentials.js) resolves the
 * resource first and reads ctx.oidc.params.scope (validateClientScope) after it.
 */
export function setClientCredentialsScope(ctx: KoaContextWithOIDC, scope: string): void {
  (ctx.oidc.params as { scope?: string }).scope = scope;
}

/** Whether the client must name the scopes of a client-credentials request (extraClientMetadata, as first_party). */
export function requiresExplicitScope(client: Client | ProviderClient): boolean {
  return (client as unknown as { require_explicit_scope?: boolean }).require_explicit_scope === true;
}

/** Whether the client is registered first_party (extraClientMetadata: an own property, lib/models/client.js). */
export function isFirstParty(client: Client): boolean {
  return (client as unknown as { first_party?: boolean }).first_party === true;
}

// ---------------------------------------------------------------------------------------------
// Tokens (lib/models/client_credentials.js, access_token.js, formats/*.js)

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  scope?: string;
  token_type: string;
}

/**
 * A client-credentials token built and saved (formatted, signed) by the provider's own model, as
 * lib/actions/grants/client_credentials.js builds it, and its token response.
 */
export async function issueClientCredentials(
  provider: Provider,
  client: ProviderClient,
  scope: string | undefined,
  resource: { indicator: string; server: ConstructorParameters<Provider['ResourceServer']>[1] },
): Promise<TokenResponse> {
  const token = new provider.ClientCredentials({ client: client as unknown as Client, scope });
  token.resourceServer = new provider.ResourceServer(resource.indicator, resource.server);
  const value = await token.save();
  return {
    access_token: value!,
    expires_in: token.expiration,
    ...(token.scope ? { scope: token.scope } : undefined),
    token_type: token.tokenType,
  };
}

/** The resource server a token is issued for, as features.resourceIndicators.getResourceServerInfo returns it. */
export interface ResourceServerInfo {
  audience: string;
  scope: string;
  accessTokenTTL: number;
  accessTokenFormat: 'jwt';
  jwt: { sign: { alg: 'RS256' } };
}

/**
 * An access token of the provider's AccessToken model for a registered grant. `expiresIn` is
 * honoured by lib/models/mixins/has_format.js (typings omit it); `grantId` ties it to a family.
 */
export function newAccessToken(
  provider: Provider,
  properties: {
    accountId: string;
    client: Client;
    gty: string;
    scope: string;
    grantId?: string;
    expiresIn: number;
  },
  resourceServer: ResourceServerInfo,
): AccessToken {
  const token = new provider.AccessToken(properties as never);
  // A plain object where the provider keeps a ResourceServer instance: its format reads only
  // these fields (lib/models/formats/jwt.js).
  token.resourceServer = resourceServer as never;
  return token;
}

/**
 * What oidc-provider stores for an access token (lib/models/access_token.js IN_PAYLOAD, read back
 * through lib/models/formats/opaque.js verify), made from a JWT access token's claims, which
 * lib/models/formats/jwt.js wrote from that very payload: `sub` was accountId (Tessera has no
 * pairwise subjects), `gid` the grantId (extraTokenClaims), `cnf` the binding. No `aud`: the
 * caller checked it, and userinfo refuses any token that has one (lib/actions/userinfo.js
 * validateAudience, written for the opaque tokens that have none).
 */
export function storedAccessTokenPayload(claims: {
  jti: string;
  iat?: number;
  exp: number;
  client_id: string;
  sub: string;
  scope?: string;
  gid?: string;
  cnf?: { jkt?: string; 'x5t#S256'?: string };
}): AdapterPayload {
  return {
    kind: 'AccessToken',
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    clientId: claims.client_id,
    accountId: claims.sub,
    scope: claims.scope,
    grantId: claims.gid,
    jkt: claims.cnf?.jkt,
    'x5t#S256': claims.cnf?.['x5t#S256'],
  };
}

// ---------------------------------------------------------------------------------------------
// The request context the provider sets up (lib/shared/context_ensure_oidc.js)

/** ctx.oidc, when the provider has handled this request (after `next()` into it), else undefined. */
export function oidcContext(ctx: Context): Partial<KoaContextWithOIDC['oidc']> | undefined {
  return (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
}

// oidc-provider's route names of the endpoints that authenticate clients (lib/helpers/initialize_app.js).
export const CLIENT_AUTHENTICATING_ROUTES: ReadonlySet<string> = new Set([
  'token',
  'introspection',
  'revocation',
  'device_authorization',
  'pushed_authorization_request',
]);
// oidc-provider's description of a request without any client authentication (lib/shared/client_auth.js).
export const NO_CLIENT_AUTHENTICATION = 'no client authentication mechanism provided';
// Its description of a Basic header with an empty secret, `base64("client_id:")` (same module).
export const EMPTY_BASIC_SECRET = 'client_secret must be provided in the Authorization header';

/**
 * Whether a request path is the provider's route at `path`: its router (lib/helpers/initialize_app.js)
 * matches case-insensitively and with or without one trailing slash.
 */
export function isProviderRoute(requestPath: string, path: string): boolean {
  return requestPath.toLowerCase().replace(/(?<=.)\/$/, '') === path.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Page sources (lib/helpers/defaults.js) and the 9.13 session workaround

/** The form action and xsrf token of the provider's userCodeInputSource form (lib/helpers/defaults.js). */
export function userCodeForm(form: string): { action: string | undefined; xsrf: string | undefined } {
  return {
    action: /action="([^"]+)"/.exec(form)?.[1],
    xsrf: /name="xsrf" value="([^"]+)"/.exec(form)?.[1],
  };
}

/**
 * oidc-provider 9.13.3: an error at a code-entry page from a browser without a live session makes
 * its error handler write a new xsrf into a session its session middleware already decided not to
 * store (lib/shared/session.js), and the outer ensureSessionSave then calls persist() on it, a
 * TypeError (500). When the request's session was never stored (no `exp`), this marks it
 * untouched so that it stays unstored, and says so.
 */
export function leaveUnstoredSessionUnstored(ctx: KoaContextWithOIDC): boolean {
  const session = ctx.oidc.session as { exp?: number; touched?: boolean } | undefined;
  if (!session || typeof session.exp === 'number') return false;
  session.touched = false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Where Tessera's types and the typings disagree with the runtime

/** lib/provider.js: `class Provider extends Koa`; the typings declare it apart (with `app`). */
export function providerAsKoa(provider: Provider): Koa {
  return provider as unknown as Koa;
}

/** The signing keys (configuration.jwks, lib/helpers/keystore.js): private JWKs as stored. */
export function providerJwks(jwks: { keys: object[] }): JWKS {
  return jwks as never;
}

/** A grant handler for provider.registerGrantType (lib/actions/token.js calls it with the endpoint's ctx). */
export function grantTypeHandler(
  handler: (ctx: KoaContextWithOIDC) => Promise<void>,
): (ctx: TokenEndpointGrantContext) => Promise<void> {
  return handler;
}

/** configuration.clientAuthMethods (lib/helpers/defaults.js): method names as configured. */
export function clientAuthMethodNames(methods: string[]): ClientAuthMethod[] {
  return methods as ClientAuthMethod[];
}

type AllowedPolicy = NonNullable<NonNullable<NonNullable<Configuration['features']>['introspection']>['allowedPolicy']>;
/**
 * features.introspection/revocation.allowedPolicy (lib/actions/introspection.js, revocation.js):
 * the provider passes its ctx, Client and token models; Tessera's policy reads only ids.
 */
export function allowedPolicy(
  policy: (ctx: unknown, client: { clientId: string }, token: { clientId?: string; aud?: unknown }) => Promise<boolean>,
): AllowedPolicy {
  return policy as never;
}

type MtlsFeature = Extract<NonNullable<NonNullable<Configuration['features']>['mTLS']>, { enabled: true }>;
/** features.mTLS's three helpers (lib/helpers/features.js, lib/shared/client_auth.js call them). */
export function mtlsFeatureHelpers(helpers: {
  getCertificate(ctx: KoaContextWithOIDC): X509Certificate | undefined;
  certificateAuthorized(ctx: KoaContextWithOIDC): boolean;
  certificateSubjectMatches(ctx: KoaContextWithOIDC, property: string, expected: string): boolean;
}): Pick<MtlsFeature, 'getCertificate' | 'certificateAuthorized' | 'certificateSubjectMatches'> {
  return {
    getCertificate: helpers.getCertificate as never,
    certificateAuthorized: helpers.certificateAuthorized as never,
    certificateSubjectMatches: helpers.certificateSubjectMatches as never,
  };
}

// ---------------------------------------------------------------------------------------------
// Tracing the provider's steps (src/tracing/provider-steps.ts)

/** A middleware of the provider's endpoints, as its router calls it. */
export type ProviderStep = (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => Promise<unknown>;

/** Wrappers for the provider's named middleware, by the function's name in lib/. */
export interface ProviderStepWrappers {
  /** lib/shared/client_auth.js authenticateClient: every endpoint that authenticates clients. */
  authenticateClient(step: ProviderStep): ProviderStep;
  /** lib/actions/token.js callTokenHandler: the grant's handler, then grant.success. */
  callTokenHandler(step: ProviderStep): ProviderStep;
}

// The endpoints' middleware arrays. token, introspection and revocation copied client_auth.js's
// array when they were loaded; device_authorization and pushed_authorization_request copy it when
// a Provider is built (lib/actions/authorization/index.js). lib/helpers/initialize_app.js spreads
// each into its route when a Provider is built, so replacing elements here, before that, changes
// the middleware of every provider built afterwards (and of no request already routed).
const ENDPOINT_MODULES = [
  'oidc-provider/lib/shared/client_auth.js',
  'oidc-provider/lib/actions/token.js',
  'oidc-provider/lib/actions/introspection.js',
  'oidc-provider/lib/actions/revocation.js',
];
const endpointStacks = await Promise.all(
  ENDPOINT_MODULES.map(async (specifier) => ((await import(specifier)) as { default: ProviderStep[] }).default),
);
let stepsWrapped = false;

/**
 * Replaces the provider's named middleware with `wrappers`' versions, for every provider built
 * afterwards. Once per process (later calls do nothing): the arrays are the library's own.
 */
export function wrapProviderSteps(wrappers: ProviderStepWrappers): void {
  if (stepsWrapped) return;
  stepsWrapped = true;
  for (const stack of endpointStacks) {
    for (let i = 0; i < stack.length; i++) {
      const name = stack[i]!.name;
      if (name === 'authenticateClient' || name === 'callTokenHandler') stack[i] = wrappers[name](stack[i]!);
    }
  }
}

/**
 * The provider's methods that sign a token, on this provider's own model classes: an access
 * token's value (lib/models/access_token.js, client_credentials.js: getValueAndPayload, a JWT
 * signed by lib/models/formats/jwt.js or an opaque value) and an ID token (lib/models/id_token.js:
 * issue). `wrap` gets each method and what it makes; the format of an access token is read from
 * the token (lib/models/formats/index.js: resourceServer.accessTokenFormat, else opaque).
 */
export function wrapTokenSigning(
  provider: Provider,
  wrap: (
    method: (this: object, ...args: unknown[]) => Promise<unknown>,
    kind: 'access_token' | 'id_token',
    format: (token: object) => string,
  ) => (this: object, ...args: unknown[]) => Promise<unknown>,
): void {
  const accessTokenFormat = (token: object) =>
    (token as { resourceServer?: { accessTokenFormat?: string } }).resourceServer?.accessTokenFormat ?? 'opaque';
  type Methods = Record<string, (this: object, ...args: unknown[]) => Promise<unknown>>;
  for (const model of [provider.AccessToken, provider.ClientCredentials]) {
    const prototype = model.prototype as unknown as Methods;
    prototype.getValueAndPayload = wrap(prototype.getValueAndPayload!, 'access_token', accessTokenFormat);
  }
  const idToken = provider.IdToken.prototype as unknown as Methods;
  idToken.issue = wrap(idToken.issue!, 'id_token', () => 'jwt');
}

// ---------------------------------------------------------------------------------------------
// Back-channel logout (lib/models/client.js backchannelLogout, lib/actions/end_session.js)

/** What the provider knows of a session's end for one client: lib/actions/end_session.js's arguments. */
export interface BackchannelLogoutRequest {
  clientId: string;
  /** The account (the logout token's `sub`). */
  sub: string;
  /** The session's id for this client (session.sidFor), as in the client's ID tokens. */
  sid: string | undefined;
}

/**
 * end_session.js calls client.backchannelLogout(accountId, sid) for every client with a
 * backchannel_logout_uri in the ending session, and awaits it inside the logout request. Here it
 * hands the request to `defer` (the outbox) instead: the browser does not wait on the client, and
 * a client that is down gets the token on a retry. A rejection of `defer` is the provider's
 * 'backchannel.error' event, as a failed delivery would be.
 */
export function deferBackchannelLogout(
  provider: Provider,
  defer: (request: BackchannelLogoutRequest) => Promise<void>,
): void {
  const prototype = provider.Client.prototype as unknown as {
    backchannelLogout(this: { clientId: string }, sub: string, sid: string | undefined): Promise<void>;
  };
  prototype.backchannelLogout = function backchannelLogout(sub, sid) {
    return defer({ clientId: this.clientId, sub, sid });
  };
}

/** A client's back-channel logout registration, read from the provider's Client model. */
export async function backchannelLogoutClient(
  provider: Provider,
  clientId: string,
): Promise<{ client: Client; uri: string } | undefined> {
  const client = await provider.Client.find(clientId);
  const uri = (client as unknown as { backchannelLogoutUri?: string } | undefined)?.backchannelLogoutUri;
  return client && uri ? { client, uri } : undefined;
}

/**
 * A logout token (Back-Channel Logout 1.0 §2.4) signed now, as lib/models/client.js builds it:
 * the provider's IdToken with `use: 'logout'` (lib/models/id_token.js: typ logout+jwt, aud the
 * client, iss, iat, a 120 s exp, the client's ID-token algorithm), `sub` kept, the events claim,
 * `jti`, and `sid` (always: Tessera's ID tokens always carry it, so a client can match either).
 */
export async function signLogoutToken(
  provider: Provider,
  client: Client,
  claims: { sub: string; sid: string | undefined; jti: string },
): Promise<string> {
  const token = new provider.IdToken({ sub: claims.sub }, { client });
  (token as unknown as { mask: Record<string, null> }).mask = { sub: null };
  token.set('events', { 'http://schemas.openid.net/event/backchannel-logout': {} });
  token.set('jti', claims.jti);
  if (claims.sid) token.set('sid', claims.sid);
  // `mask` (lib/models/id_token.js) is not in the typings: the claims left out of the payload.
  return token.issue({ use: 'logout' });
}

// ---------------------------------------------------------------------------------------------
// The provider's session on Tessera's own routes (lib/models/session.js)

/** What Tessera reads of a signed-in session (lib/models/session.js IN_PAYLOAD). */
export interface SignedInSession {
  /** The session's id (jti): the value of the provider's session cookie. Never shown or logged. */
  id: string;
  /** The session's uid: stable across the id's rotation at sign-in, and stored in oidc_payloads.uid. */
  uid: string;
  accountId: string;
  /** When the user signed in (seconds since the epoch). */
  loginTs: number | undefined;
  amr: string[] | undefined;
  acr: string | undefined;
}

/**
 * The browser's session as the provider keeps it, when someone is signed in: Session.get reads
 * the provider's signed session cookie (cookies.long) from a context the provider did not make
 * (it builds its own with provider.createContext for the cookies) and finds the stored session
 * through the adapter, which refuses an expired or deleted one. Undefined without a session, or
 * when nobody is signed in to it. Nothing is written: the session is not touched or saved.
 */
export async function signedInSession(provider: Provider, ctx: Context): Promise<SignedInSession | undefined> {
  const session = (await provider.Session.get(ctx as unknown as KoaContextWithOIDC)) as unknown as {
    jti?: string;
    uid?: string;
    accountId?: string;
    loginTs?: number;
    amr?: string[];
    acr?: string;
  };
  if (!session.accountId || !session.jti || !session.uid) return undefined;
  return {
    id: session.jti,
    uid: session.uid,
    accountId: session.accountId,
    loginTs: session.loginTs,
    amr: session.amr,
    acr: session.acr,
  };
}
