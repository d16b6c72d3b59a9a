-- CreateTable
CREATE TABLE "revoked_principals" (
    "kind" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "revoked_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "revoked_principals_pkey" PRIMARY KEY ("kind","id")
);

-- CreateIndex
CREATE INDEX "revoked_principals_expires_at_idx" ON "revoked_principals"("expires_at");


-- A deleted client, or a user disabled or deleted, ends every JWT access token already issued to
-- them (issue 16, finding 8): their refresh tokens already stop working (the provider finds no
-- client or account), but a JWT access token is checked by signature and would live to its exp.
-- Triggers, so that every writer (CLI, seed file, plain SQL) has the same effect. An entry is
-- kept a day, as long as any access token can live (services/apis.ts caps API token lifetimes).
CREATE FUNCTION tessera_revoke_principal() RETURNS trigger AS $$
DECLARE
  principal_kind TEXT := CASE TG_TABLE_NAME WHEN 'clients' THEN 'client' ELSE 'subject' END;
BEGIN
  -- clock_timestamp(): the moment of the change, not the start of its transaction.
  INSERT INTO "revoked_principals" ("kind", "id", "revoked_at", "expires_at")
  VALUES (principal_kind, OLD.id, clock_timestamp(), clock_timestamp() + interval '1 day')
  ON CONFLICT ("kind", "id") DO UPDATE SET "revoked_at" = EXCLUDED."revoked_at", "expires_at" = EXCLUDED."expires_at";
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clients_revoke_tokens AFTER DELETE ON "clients"
  FOR EACH ROW EXECUTE FUNCTION tessera_revoke_principal();
CREATE TRIGGER users_revoke_tokens_on_delete AFTER DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION tessera_revoke_principal();
CREATE TRIGGER users_revoke_tokens_on_disable AFTER UPDATE OF "disabled" ON "users"
  FOR EACH ROW WHEN (NEW."disabled" AND NOT OLD."disabled") EXECUTE FUNCTION tessera_revoke_principal();

-- tessera_revocations (change_notifications migration) carries these too:
-- 'p:' || kind || ':' || revoked_at in epoch milliseconds || ':' || id.
CREATE FUNCTION tessera_notify_principal_revocation() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('tessera_revocations',
    'p:' || NEW."kind" || ':' || (extract(epoch FROM NEW."revoked_at") * 1000)::bigint || ':' || NEW."id");
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER revoked_principals_notify AFTER INSERT OR UPDATE ON "revoked_principals"
  FOR EACH ROW EXECUTE FUNCTION tessera_notify_principal_revocation();
