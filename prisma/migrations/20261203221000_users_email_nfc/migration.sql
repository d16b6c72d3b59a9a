-- Emails are compared in Unicode NFC (issue 16, finding 13): "é" typed as one code point and
-- "e" followed by U+0301 are one address, so users.email_normalized (whose unique index is what
-- refuses a second account) is NFC from now on, as src/services/users.ts normalizeEmail writes it.
-- Rows written before are brought to NFC here. A row whose NFC form is already another account's
-- is not merged (which password would win?): it gets a marked value that no sign-in can match,
-- for the operator to resolve with `tessera users list` / `users delete`.
-- normalize() needs a UTF8 database (PostgreSQL's default); in another encoding there is nothing
-- this can do, and the rows stay as they were.
DO $$
BEGIN
  IF current_setting('server_encoding') <> 'UTF8' THEN
    RAISE NOTICE 'users.email_normalized not normalised to NFC: the database encoding is not UTF8';
    RETURN;
  END IF;
  UPDATE "users" u SET "email_normalized" = normalize(u."email_normalized", NFC)
   WHERE u."email_normalized" IS NOT NFC NORMALIZED
     AND NOT EXISTS (SELECT 1 FROM "users" o
                      WHERE o."id" <> u."id" AND normalize(o."email_normalized", NFC) = normalize(u."email_normalized", NFC));
  UPDATE "users" SET "email_normalized" = normalize("email_normalized", NFC) || ' (duplicate of another account, ' || "id" || ')'
   WHERE "email_normalized" IS NOT NFC NORMALIZED;
  UPDATE "users" SET "email" = normalize("email", NFC) WHERE "email" IS NOT NFC NORMALIZED;
END
$$;
