import { type JWTPayload } from 'jose';
import { type Scheme } from './errors.ts';
import { type IssuerMetadata } from './issuer-metadata.ts';
/** The claims of a Tessera access token (RFC 9068 §2.2), with the confirmation of RFC 7800. */
export interface AccessTokenClaims extends JWTPayload {
    iss: string;
    sub: string;
    aud: string | string[];
    exp: number;
    iat: number;
    jti: string;
    client_id: string;
    scope?: string;
    /** RFC 7800 / RFC 9449 §6 / RFC 8705 §3.1: the key or certificate the token is bound to. */
    cnf?: {
        jkt?: string;
        'x5t#S256'?: string;
    };
    /** RBAC (an API with token claims `roles`): the names of the subject's roles on this API. */
    roles?: string[];
    /** RBAC (token claims `permissions`): the token's scopes that the subject's roles grant. */
    permissions?: string[];
}
export interface AccessTokenOptions {
    issuer: string;
    audience: string;
    /** Seconds of clock skew allowed on exp, nbf and iat. */
    clockTolerance: number;
    /** Seconds before a JWKS is refetched for an unknown kid (a rate limit on refetches). */
    jwksCooldown: number;
    /** Seconds a fetched JWKS is used before it is fetched again anyway. */
    jwksMaxAge: number;
}
export declare function accessTokenVerifier(options: AccessTokenOptions, metadata: () => Promise<IssuerMetadata>): (token: string, scheme: Scheme) => Promise<AccessTokenClaims>;
