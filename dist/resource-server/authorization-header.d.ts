import { type Scheme } from './errors.ts';
export type Headers = Record<string, string | string[] | undefined>;
export interface PresentedToken {
    scheme: Scheme;
    token: string;
}
/** A header that must appear at most once: several values are a malformed request. */
export declare function singleHeader(headers: Headers, name: string, scheme?: Scheme): string | undefined;
/**
 * The scheme and token of `Authorization: Bearer …` or `Authorization: DPoP …`. The scheme is
 * case-insensitive (RFC 9110 §11.1). No header, or another scheme (say Basic), is "no token" —
 * RFC 6750 §3.1 answers it with a bare challenge.
 */
export declare function presentedToken(headers: Headers): PresentedToken;
