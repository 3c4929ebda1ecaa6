-- roles_version counts the changes to an account's roles: every role write
-- bumps it in its own transaction. A process keeps the roles it read with
-- the version it read them at, and reuses them while the stored version is
-- unchanged, so resolving and rendering roles (on every SCIM create and
-- read) costs one indexed read, whichever process changed the roles.
ALTER TABLE accounts ADD COLUMN roles_version INTEGER NOT NULL DEFAULT 0;
