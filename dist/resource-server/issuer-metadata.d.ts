export interface IssuerMetadata {
    issuer: string;
    jwks_uri: string;
    introspection_endpoint?: string;
}
export interface IssuerMetadataOptions {
    issuer: string;
    /** Origins besides the issuer's where jwks_uri and introspection_endpoint may be. */
    allowedEndpointOrigins: readonly string[];
    /** Milliseconds after which the metadata is read again. */
    maxAge: number;
    /** Milliseconds since the epoch. */
    now: () => number;
}
export declare const FETCH_TIMEOUT_MS = 5000;
export declare function issuerMetadata(options: IssuerMetadataOptions): () => Promise<IssuerMetadata>;
