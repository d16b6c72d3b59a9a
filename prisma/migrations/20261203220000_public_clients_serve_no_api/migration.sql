-- A public client (token_endpoint_auth_method 'none') serves no API. Serving an API lets a client
-- introspect that API's tokens, and a public client proves nothing but its client_id, which is
-- not a secret: anyone who knows it could introspect them. Client validation refuses this with a
-- message first; this is the rule for every other writer (psql, a script, a future admin API).
-- Written by hand: the rule spans two tables, which schema.prisma cannot describe.

-- Earlier versions allowed it, and such a permission is the hole itself, so it is removed rather
-- than kept (or left to fail the migration). Each removal is recorded in the audit trail, naming
-- the client and the API, so that an operator can see what changed and give the API a
-- confidential client instead.
INSERT INTO "audit_events" ("type", "actor", "subject", "details")
SELECT 'client.serves_removed', 'migration:20261203220000_public_clients_serve_no_api', s."client_id",
       jsonb_build_object('audience', a."audience", 'reason',
         'a public client cannot serve an API: it has no credentials, so anyone who knows its client_id could introspect the API''s tokens')
FROM "api_servers" s
JOIN "clients" c ON c."id" = s."client_id"
JOIN "apis" a ON a."id" = s."api_id"
WHERE c."token_endpoint_auth_method" = 'none';

DELETE FROM "api_servers" s USING "clients" c
WHERE c."id" = s."client_id" AND c."token_endpoint_auth_method" = 'none';

-- Each side checks the other table, so two concurrent writes (one making the client serve, one
-- making it public) could each pass before the other commits. The api_servers side therefore
-- takes a FOR SHARE lock on the client's row, which an UPDATE of that row waits for and which
-- waits for one: whichever write comes second sees the first one's committed result.
CREATE FUNCTION tessera_check_public_client_serves() RETURNS trigger AS $$
DECLARE
  client text;
  method text;
BEGIN
  IF TG_TABLE_NAME = 'api_servers' THEN
    client := NEW."client_id";
    SELECT "token_endpoint_auth_method" INTO method FROM "clients" WHERE "id" = client FOR SHARE;
    IF method IS DISTINCT FROM 'none' THEN
      RETURN NULL;
    END IF;
  ELSE
    client := NEW."id";
    IF NOT EXISTS (SELECT 1 FROM "api_servers" WHERE "client_id" = client) THEN
      RETURN NULL;
    END IF;
  END IF;
  RAISE EXCEPTION 'client %: a public client cannot serve an API: it has no credentials, so anyone who knows its client_id could introspect the API''s tokens', client
    USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER api_servers_public_client_check AFTER INSERT OR UPDATE ON "api_servers"
  FOR EACH ROW EXECUTE FUNCTION tessera_check_public_client_serves();
CREATE TRIGGER clients_public_client_check AFTER UPDATE OF "token_endpoint_auth_method" ON "clients"
  FOR EACH ROW WHEN (NEW."token_endpoint_auth_method" = 'none') EXECUTE FUNCTION tessera_check_public_client_serves();
