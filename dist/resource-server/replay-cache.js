// Remembers DPoP proof ids (jti) while their proofs could still be accepted, so that a proof
// is used once (RFC 9449 §11.1). In memory, per process: with several replicas, give the kit a
// shared store with the same interface (say, SET NX EX in Redis).
// One entry is ~100 bytes; 100,000 hold every proof of a 60 s window at over 1,600 requests a
// second. Past that the oldest go first; they are also the closest to expiring anyway.
const MAX_ENTRIES = 100_000;
export function memoryReplayCache(maxEntries = MAX_ENTRIES) {
    const seen = new Map();
    return {
        use(key, expiresAt) {
            const now = Date.now();
            const until = seen.get(key);
            if (until !== undefined && until > now)
                return false;
            if (seen.size >= maxEntries) {
                for (const [k, t] of seen)
                    if (t <= now)
                        seen.delete(k);
                while (seen.size >= maxEntries)
                    seen.delete(seen.keys().next().value);
            }
            seen.set(key, expiresAt);
            return true;
        },
    };
}
