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
export declare function introspector(options: IntrospectionOptions, metadata: () => Promise<IssuerMetadata>, now?: () => number): (token: string, exp: number, scheme: Scheme) => Promise<void>;
