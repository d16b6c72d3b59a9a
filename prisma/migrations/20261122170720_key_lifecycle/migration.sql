-- AlterTable
ALTER TABLE "signing_keys" ADD COLUMN     "unpublish_at" TIMESTAMPTZ(3);

