-- SSO bridge storage: why a session went without a seat, one-time values,
-- identity links, signing keys and login-failure throttles.

ALTER TABLE sessions ADD COLUMN no_seat_reason TEXT NOT NULL DEFAULT '';

-- Values taken exactly once (a SAML request id, an OIDC state). Keys are
-- deployment-wide: the value itself tells which account it belongs to.
CREATE TABLE one_time_values (
	ot_key     TEXT NOT NULL PRIMARY KEY,
	value      BLOB,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX one_time_values_expires ON one_time_values (expires_at);

-- (connection, subject) -> member; the key starts with the account.
CREATE TABLE identity_links (
	account_id    TEXT NOT NULL,
	connection_id TEXT NOT NULL,
	subject       TEXT NOT NULL,
	member_id     TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	PRIMARY KEY (account_id, connection_id, subject)
) WITHOUT ROWID;
CREATE INDEX identity_links_member ON identity_links (account_id, member_id);

-- Deployment-wide access-token signing keys.
CREATE TABLE signing_keys (
	id          TEXT NOT NULL PRIMARY KEY,
	algorithm   TEXT NOT NULL DEFAULT '',
	private_key BLOB,
	public_key  BLOB,
	created_at  INTEGER NOT NULL,
	retires_at  INTEGER NOT NULL DEFAULT 0,
	expires_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX signing_keys_created ON signing_keys (created_at, id);

-- Login failures per key (an account and email, an IP address), one row
-- per failure; RecordFailure keeps a key's newest maxFailures rows.
CREATE TABLE throttle_failures (
	pk           INTEGER PRIMARY KEY,
	throttle_key TEXT NOT NULL,
	failed_at    INTEGER NOT NULL
);
CREATE INDEX throttle_failures_key ON throttle_failures (throttle_key, pk);
-- The sweeper's DeleteFailuresBefore.
CREATE INDEX throttle_failures_at ON throttle_failures (failed_at);

-- The SAML and OIDC endpoints find a connection by its id alone.
CREATE INDEX sso_connections_by_id ON sso_connections (id);
