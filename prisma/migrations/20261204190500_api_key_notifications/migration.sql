-- tessera_api_keys: an API key changed in a way that changes its introspection answer (payload:
-- the key's id), for the cache of active keys (src/cache/api-keys.ts). Written by hand: triggers
-- are outside what schema.prisma describes. The usage batches' last_used_at/last_used_ip updates
-- are left out by naming the columns: they change no answer, and run every few seconds per key.
CREATE FUNCTION tessera_notify_api_key_change() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('tessera_api_keys', COALESCE(NEW.id, OLD.id)::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER api_keys_notify
  AFTER UPDATE OF hash, previous_hash, previous_expires_at, expires_at, revoked_at, scopes, per_minute, per_day,
    api_id, client_id, user_id
  OR DELETE ON "api_keys"
  FOR EACH ROW EXECUTE FUNCTION tessera_notify_api_key_change();
