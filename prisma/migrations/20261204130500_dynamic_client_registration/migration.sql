-- Dynamic client registration (RFC 7591/7592): additive only.

-- CreateTable
CREATE TABLE "client_registrations" (
    "client_id" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "initial_token_id" UUID,
    "registered_from" TEXT,
    "approved_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "client_registrations_pkey" PRIMARY KEY ("client_id")
);

-- CreateTable
CREATE TABLE "dcr_initial_tokens" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "max_uses" INTEGER NOT NULL,
    "uses" INTEGER NOT NULL DEFAULT 0,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dcr_initial_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "client_registrations_token_hash_key" ON "client_registrations"("token_hash");

-- CreateIndex
CREATE UNIQUE INDEX "dcr_initial_tokens_token_hash_key" ON "dcr_initial_tokens"("token_hash");

-- AddForeignKey
ALTER TABLE "client_registrations" ADD CONSTRAINT "client_registrations_client_id_fkey" FOREIGN KEY ("client_id") REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE CASCADE;
