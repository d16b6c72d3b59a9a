import { type Scheme } from './errors.ts';
import { type IssuerMetadata } from './issuer-metadata.ts';
export interface IntrospectionOptions {
    clientId: string;
    clientSecret: string;
    /**
     * Seconds an "active" answer is reused (default 5): a revocation is seen within this time.
     * 0 asks on every request. An "inactive" answer is kept until the token expires: a revoked
     * token never comes back.
     */
    cacheTtl?: number;
}
/** `now` (milliseconds since the epoch) ages the cached answers; tests move it on. */
export declare function introspector(options: IntrospectionOptions, metadata: () => Promise<IssuerMetadata>, now?: () => number): {
    /** Throws invalid_token unless the issuer says the token (already verified locally) is active. */
    checkActive(token: string, exp: number, scheme: Scheme): Promise<void>;
    /**
     * The issuer's answer about an API key, reused for `cacheTtl` whether active or not: a key
     * has no local expiry to keep an inactive answer until, and a spent quota comes back. An
     * answer about a spent quota is kept no longer than its retry_after.
     */
    apiKey(token: string): Promise<Record<string, unknown>>;
};
export type Introspector = ReturnType<typeof introspector>;
