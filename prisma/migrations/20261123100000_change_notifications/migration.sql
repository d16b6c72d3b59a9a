-- Change notifications for the caches every Tessera process keeps (src/cache/). Written by hand:
-- triggers are outside what schema.prisma describes. Whoever writes (a server, the CLI, a seed
-- run, a replica, an admin with psql) notifies every listening process at commit.

-- tessera_catalog: a client's settings, secrets or API grants changed (payload: the client id),
-- or an API changed, which may touch every client (payload: '*').
CREATE FUNCTION tessera_notify_client_change() RETURNS trigger AS $$
BEGIN
  IF TG_TABLE_NAME = 'clients' THEN
    PERFORM pg_notify('tessera_catalog', COALESCE(NEW.id, OLD.id));
  ELSE
    PERFORM pg_notify('tessera_catalog', COALESCE(NEW.client_id, OLD.client_id));
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION tessera_notify_api_change() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('tessera_catalog', '*');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clients_notify AFTER INSERT OR UPDATE OR DELETE ON "clients"
  FOR EACH ROW EXECUTE FUNCTION tessera_notify_client_change();
CREATE TRIGGER client_secrets_notify AFTER INSERT OR UPDATE OR DELETE ON "client_secrets"
  FOR EACH ROW EXECUTE FUNCTION tessera_notify_client_change();
CREATE TRIGGER client_apis_notify AFTER INSERT OR UPDATE OR DELETE ON "client_apis"
  FOR EACH ROW EXECUTE FUNCTION tessera_notify_client_change();
CREATE TRIGGER api_servers_notify AFTER INSERT OR UPDATE OR DELETE ON "api_servers"
  FOR EACH ROW EXECUTE FUNCTION tessera_notify_client_change();
CREATE TRIGGER apis_notify AFTER UPDATE OR DELETE ON "apis"
  FOR EACH STATEMENT EXECUTE FUNCTION tessera_notify_api_change();

-- tessera_revocations: a JWT access token was revoked (payload 'j:' || jti), or a grant (a
-- refresh-token family, whose access tokens carry its id as `gid`) ended (payload 'g:' || id).
CREATE FUNCTION tessera_notify_revocation() RETURNS trigger AS $$
BEGIN
  IF TG_TABLE_NAME = 'revoked_tokens' THEN
    PERFORM pg_notify('tessera_revocations', 'j:' || NEW.jti);
    RETURN NULL;
  END IF;
  IF OLD.model = 'Grant' THEN
    PERFORM pg_notify('tessera_revocations', 'g:' || OLD.id);
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER revoked_tokens_notify AFTER INSERT ON "revoked_tokens"
  FOR EACH ROW EXECUTE FUNCTION tessera_notify_revocation();
CREATE TRIGGER grants_notify AFTER DELETE ON "oidc_payloads"
  FOR EACH ROW WHEN (OLD.model = 'Grant') EXECUTE FUNCTION tessera_notify_revocation();
