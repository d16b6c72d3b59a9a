-- CreateTable
CREATE TABLE "token_exchange_policies" (
    "client_id" TEXT NOT NULL,
    "api_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "token_exchange_policies_pkey" PRIMARY KEY ("client_id","api_id")
);

-- CreateIndex
CREATE INDEX "token_exchange_policies_api_id_idx" ON "token_exchange_policies"("api_id");

-- AddForeignKey
ALTER TABLE "token_exchange_policies" ADD CONSTRAINT "token_exchange_policies_client_id_fkey" FOREIGN KEY ("client_id") REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "token_exchange_policies" ADD CONSTRAINT "token_exchange_policies_api_id_fkey" FOREIGN KEY ("api_id") REFERENCES "apis"("id") ON DELETE CASCADE ON UPDATE CASCADE;

