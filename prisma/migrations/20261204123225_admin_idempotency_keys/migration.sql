-- The admin API's idempotency keys (issue 19): a create retried with the same Idempotency-Key
-- gets the first answer again. The answer is sealed (AES-256-GCM under KEYS_ENCRYPTION_KEY), since
-- a client's creation answer holds its secret. A new table: the previous release never reads it.
CREATE TABLE "admin_idempotency_keys" (
    "caller" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" BYTEA NOT NULL,
    "status" INTEGER,
    "response" BYTEA,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "admin_idempotency_keys_pkey" PRIMARY KEY ("caller", "key")
);

-- An empty new table: the index is built at once, no CONCURRENTLY needed.
CREATE INDEX "admin_idempotency_keys_expires_at_idx" ON "admin_idempotency_keys"("expires_at");
