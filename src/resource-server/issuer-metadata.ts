// The authorization server's metadata, found once by discovery (OpenID Connect Discovery 1.0
// §4, the same document RFC 8414 describes) and kept for the life of the process: the issuer's
// endpoints do not move while it runs. A failed fetch is not cached, so the next request tries
// again.
import { AuthorizationServerUnavailable } from './errors.ts';

export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  introspection_endpoint?: string;
}

// A resource server waits at most this long for the authorization server before failing closed
// (503); the client's own HTTP timeout is usually longer, so it gets an answer it can act on.
export const FETCH_TIMEOUT_MS = 5_000;

export function issuerMetadata(issuer: string): () => Promise<IssuerMetadata> {
  let pending: Promise<IssuerMetadata> | undefined;
  async function discover(): Promise<IssuerMetadata> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let metadata: Partial<IssuerMetadata>;
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`status ${res.status}`);
      metadata = (await res.json()) as Partial<IssuerMetadata>;
    } catch {
      throw new AuthorizationServerUnavailable('the authorization server\'s metadata could not be fetched');
    }
    // OpenID Connect Discovery §4.3 / RFC 8414 §3.3: the document must name the issuer we asked
    // for exactly, or an attacker who controls it could substitute their own keys.
    if (metadata.issuer !== issuer || typeof metadata.jwks_uri !== 'string') {
      throw new AuthorizationServerUnavailable('the authorization server\'s metadata does not match its issuer');
    }
    return metadata as IssuerMetadata;
  }
  return () => {
    pending ??= discover().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
