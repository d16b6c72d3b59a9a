// The one seam to oidc-provider's internals (STYLE.md): what Tessera uses of the library beyond
// its public API, each with the upstream module it comes from. Checked against oidc-provider
// 9.13.3; an upgrade must re-read these modules.
//
// Why a deep import at all: the provider hands its grant helpers (DPoP proof validation, the
// sender-constraint checks) only to its own grants (lib/helpers/initialize_app.js binds them);
// a grant registered with provider.registerGrantType gets the request alone. Token exchange must
// bind its tokens exactly as the provider's grants do, so it calls the same functions rather than
// a copy: the same proof checks, the same replay store, the same errors. The package has no
// "exports" map, so these paths resolve to the very modules the provider itself loaded (one
// instance: the proof parsed during a request is cached per request in validate_dpop.js).
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

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
  applyDpopBinding(provider: Provider, ctx: KoaContextWithOIDC, dPoP: DpopProof | undefined, token: BindableToken): Promise<void>;
}

// Specifiers held in variables: TypeScript does not look for types of these untyped modules.
const GRANT_HELPERS = 'oidc-provider/lib/helpers/grants.js';
const GRANT_COMMON = 'oidc-provider/lib/helpers/grant_common.js';
const helpers = await import(GRANT_HELPERS) as GrantHelpers;
const common = await import(GRANT_COMMON) as GrantCommon;

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
