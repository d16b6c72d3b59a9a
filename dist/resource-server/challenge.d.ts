import { type ResourceServerError } from './errors.ts';
export declare const DPOP_ALGS: readonly ["ES256", "PS256", "RS256", "EdDSA"];
export interface ErrorResponse {
    status: number;
    headers: Record<string, string>;
    /** `{ error, error_description }`, or undefined when the request carried no token at all. */
    body: {
        error: string;
        error_description: string;
        scope?: string;
    } | undefined;
}
/**
 * Renders a refusal. RFC 6750 §3: `Bearer realm="…", error="…", error_description="…"` (and
 * `scope="…"` for insufficient_scope); with no token, only the realm (§3.1). RFC 9449 §7.1: the
 * same parameters under the `DPoP` scheme, plus `algs`.
 */
export declare function errorResponse(err: ResourceServerError, realm: string): ErrorResponse;
