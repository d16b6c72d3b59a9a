export interface IssuerMetadata {
    issuer: string;
    jwks_uri: string;
    introspection_endpoint?: string;
}
export declare const FETCH_TIMEOUT_MS = 5000;
export declare function issuerMetadata(issuer: string): () => Promise<IssuerMetadata>;
