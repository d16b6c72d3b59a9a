import type { ReplayCache } from './replay-cache.ts';
export interface DpopOptions {
    /** Seconds a proof is accepted after its `iat` (and before it, for clock skew). */
    proofMaxAge: number;
    clockTolerance: number;
    replayCache: ReplayCache;
}
export declare function dpopChecker(options: DpopOptions): (proof: string | undefined, request: {
    method: string;
    url: string;
}, token: string, jkt: string) => Promise<void>;
