export interface ReplayCache {
    /** Records `key` until `expiresAt` (ms since the epoch); false if it was already recorded. */
    use(key: string, expiresAt: number): boolean | Promise<boolean>;
}
export declare function memoryReplayCache(maxEntries?: number): ReplayCache;
