-- Graceful refresh retries (issue 21): a rotated refresh token remembers its successor, and how
-- many retries were answered with it. Additive: the previous release neither reads nor writes them.
ALTER TABLE "oidc_payloads" ADD COLUMN "consumed_by" TEXT;
ALTER TABLE "oidc_payloads" ADD COLUMN "retries" INTEGER NOT NULL DEFAULT 0;
