import { type Headers } from './authorization-header.ts';
import type { AccessTokenClaims } from './access-token.ts';
import type { Introspector } from './introspection.ts';
export interface ApiKeyOptions {
    /**
     * A header that carries the key by itself, e.g. `x-api-key` (case-insensitive). Without it,
     * keys are accepted only as `Authorization: Bearer tsk_…`.
     */
    header?: string;
}
/** Tessera's API key prefix (tessera api-keys create). */
export declare const API_KEY_PREFIX = "tsk_";
/** The API key in the configured header, if one is configured and present. */
export declare function headerApiKey(headers: Headers, options: ApiKeyOptions): string | undefined;
/** Asks Tessera about the key; the introspection answer as claims, or a refusal. */
export declare function verifyApiKey(key: string, deps: {
    issuer: string;
    audience: string;
    introspector: Introspector;
}): Promise<AccessTokenClaims>;
