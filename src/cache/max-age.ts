// How long anything kept in memory (src/cache/) is used without asking the database again.
//
// Notifications keep caches current within milliseconds, and a listener that stops answering is
// noticed within seconds (db/notifications.ts: heartbeat); this bound is the last line, for a
// change that reaches the database with no notification the listener could miss or notice — a
// writer with triggers switched off (session_replication_role = replica, as pg_restore and
// logical replication run), or a bug. 30 s: a small fraction of an access token's life (minutes
// to hours), so a revocation or a deleted client takes effect in at most that; and each cached
// client costs one query per 30 s per process (about 30 a second for a thousand busy clients).
export const CACHE_MAX_AGE_MS = 30_000;
