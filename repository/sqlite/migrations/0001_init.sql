-- Roster embedded store, schema version 1.
--
-- Conventions:
-- * Every record carries account_id and every index starts with it, so a
--   query of one account never reads another's rows. The only exceptions are
--   lookups that identify the account themselves (token, session and
--   invitation hashes, SSO domains, account names) and the global janitors
--   (expired sessions, replay keys, due outbox messages).
-- * Columns ending in _lc hold strings.ToLower of the column they shadow:
--   comparisons, uniqueness and sorting of case-insensitive attributes use
--   them (NOCASE only folds ASCII).
-- * Times are INTEGER unix nanoseconds UTC; 0 means "not set".
-- * Multi-valued attributes live in side tables keyed by
--   (account_id, member_pk, pos).

CREATE TABLE accounts (
	id                  TEXT NOT NULL PRIMARY KEY,
	name                TEXT NOT NULL,
	name_lc             TEXT NOT NULL,
	owner_member_id     TEXT NOT NULL DEFAULT '',
	status              TEXT NOT NULL DEFAULT '',
	seat_policy         TEXT NOT NULL DEFAULT '',
	seat_total          INTEGER NOT NULL DEFAULT 0,
	seat_exhaustion     TEXT NOT NULL DEFAULT '',
	invitation_ttl      INTEGER NOT NULL DEFAULT 0,
	default_role_key    TEXT NOT NULL DEFAULT '',
	profile_guidelines  TEXT NOT NULL DEFAULT '',
	allow_email_linking INTEGER NOT NULL DEFAULT 0,
	-- member_count is kept by CreateMember and DeleteMember: the total of
	-- an unfiltered member list, without counting the account's rows.
	member_count        INTEGER NOT NULL DEFAULT 0,
	version             INTEGER NOT NULL,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX accounts_name ON accounts (name_lc);

CREATE TABLE account_deletions (
	account_id TEXT NOT NULL PRIMARY KEY,
	name       TEXT NOT NULL,
	deleted_at INTEGER NOT NULL,
	reason     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE members (
	pk                          INTEGER PRIMARY KEY,
	account_id                  TEXT NOT NULL,
	id                          TEXT NOT NULL,
	user_name                   TEXT NOT NULL,
	user_name_lc                TEXT NOT NULL,
	external_id                 TEXT NOT NULL DEFAULT '',
	formatted_name              TEXT NOT NULL DEFAULT '',
	formatted_name_lc           TEXT NOT NULL DEFAULT '',
	family_name                 TEXT NOT NULL DEFAULT '',
	family_name_lc              TEXT NOT NULL DEFAULT '',
	given_name                  TEXT NOT NULL DEFAULT '',
	given_name_lc               TEXT NOT NULL DEFAULT '',
	middle_name                 TEXT NOT NULL DEFAULT '',
	honorific_prefix            TEXT NOT NULL DEFAULT '',
	honorific_suffix            TEXT NOT NULL DEFAULT '',
	display_name                TEXT NOT NULL DEFAULT '',
	display_name_lc             TEXT NOT NULL DEFAULT '',
	nick_name                   TEXT NOT NULL DEFAULT '',
	nick_name_lc                TEXT NOT NULL DEFAULT '',
	profile_url                 TEXT NOT NULL DEFAULT '',
	title                       TEXT NOT NULL DEFAULT '',
	title_lc                    TEXT NOT NULL DEFAULT '',
	user_type                   TEXT NOT NULL DEFAULT '',
	user_type_lc                TEXT NOT NULL DEFAULT '',
	preferred_language          TEXT NOT NULL DEFAULT '',
	preferred_language_lc       TEXT NOT NULL DEFAULT '',
	locale                      TEXT NOT NULL DEFAULT '',
	locale_lc                   TEXT NOT NULL DEFAULT '',
	timezone                    TEXT NOT NULL DEFAULT '',
	timezone_lc                 TEXT NOT NULL DEFAULT '',
	active                      INTEGER NOT NULL DEFAULT 0,
	status                      TEXT NOT NULL DEFAULT '',
	status_lc                   TEXT NOT NULL DEFAULT '',
	source                      TEXT NOT NULL DEFAULT '',
	source_lc                   TEXT NOT NULL DEFAULT '',
	employee_number             TEXT NOT NULL DEFAULT '',
	employee_number_lc          TEXT NOT NULL DEFAULT '',
	cost_center                 TEXT NOT NULL DEFAULT '',
	cost_center_lc              TEXT NOT NULL DEFAULT '',
	organization                TEXT NOT NULL DEFAULT '',
	organization_lc             TEXT NOT NULL DEFAULT '',
	division                    TEXT NOT NULL DEFAULT '',
	division_lc                 TEXT NOT NULL DEFAULT '',
	department                  TEXT NOT NULL DEFAULT '',
	department_lc               TEXT NOT NULL DEFAULT '',
	manager_id                  TEXT NOT NULL DEFAULT '',
	pending_manager_ref         TEXT NOT NULL DEFAULT '',
	only_assign_from_expertise  INTEGER NOT NULL DEFAULT 0,
	only_assigned_conversations INTEGER NOT NULL DEFAULT 0,
	can_view_group_companies    INTEGER NOT NULL DEFAULT 0,
	external_sso                INTEGER NOT NULL DEFAULT 0,
	can_manage_teams            INTEGER NOT NULL DEFAULT 0,
	employment_status           TEXT NOT NULL DEFAULT '',
	employment_status_lc        TEXT NOT NULL DEFAULT '',
	start_date                  TEXT NOT NULL DEFAULT '',
	bio                         TEXT NOT NULL DEFAULT '',
	image_url                   TEXT NOT NULL DEFAULT '',
	hometown                    TEXT NOT NULL DEFAULT '',
	state_or_country            TEXT NOT NULL DEFAULT '',
	approval_status             TEXT NOT NULL DEFAULT '',
	seat_status                 TEXT NOT NULL DEFAULT '',
	seat_status_lc              TEXT NOT NULL DEFAULT '',
	seat_queued_at              INTEGER NOT NULL DEFAULT 0,
	password_hash               TEXT NOT NULL DEFAULT '',
	must_change_password        INTEGER NOT NULL DEFAULT 0,
	version                     INTEGER NOT NULL,
	created_at                  INTEGER NOT NULL,
	updated_at                  INTEGER NOT NULL
);
CREATE UNIQUE INDEX members_id ON members (account_id, id);
CREATE UNIQUE INDEX members_user_name ON members (account_id, user_name_lc);
CREATE UNIQUE INDEX members_external_id ON members (account_id, external_id) WHERE external_id <> '';
CREATE INDEX members_display_name ON members (account_id, display_name_lc, id);
CREATE INDEX members_employee_number ON members (account_id, employee_number_lc, id);
CREATE INDEX members_manager ON members (account_id, manager_id) WHERE manager_id <> '';
CREATE INDEX members_pending_manager ON members (account_id, pending_manager_ref) WHERE pending_manager_ref <> '';
CREATE INDEX members_seat_status ON members (account_id, seat_status_lc, seat_queued_at);
CREATE INDEX members_updated ON members (account_id, updated_at, id);

CREATE TABLE member_emails (
	account_id TEXT NOT NULL,
	member_pk  INTEGER NOT NULL,
	pos        INTEGER NOT NULL,
	value      TEXT NOT NULL,
	value_lc   TEXT NOT NULL,
	type       TEXT NOT NULL,
	type_lc    TEXT NOT NULL,
	display    TEXT NOT NULL,
	is_primary INTEGER NOT NULL,
	PRIMARY KEY (account_id, member_pk, pos)
) WITHOUT ROWID;
CREATE INDEX member_emails_value ON member_emails (account_id, value_lc);

CREATE TABLE member_phones (
	account_id TEXT NOT NULL,
	member_pk  INTEGER NOT NULL,
	pos        INTEGER NOT NULL,
	value      TEXT NOT NULL,
	value_lc   TEXT NOT NULL,
	type       TEXT NOT NULL,
	type_lc    TEXT NOT NULL,
	display    TEXT NOT NULL,
	is_primary INTEGER NOT NULL,
	PRIMARY KEY (account_id, member_pk, pos)
) WITHOUT ROWID;
CREATE INDEX member_phones_value ON member_phones (account_id, value_lc);

CREATE TABLE member_addresses (
	account_id     TEXT NOT NULL,
	member_pk      INTEGER NOT NULL,
	pos            INTEGER NOT NULL,
	formatted      TEXT NOT NULL,
	street_address TEXT NOT NULL,
	locality       TEXT NOT NULL,
	region         TEXT NOT NULL,
	postal_code    TEXT NOT NULL,
	country        TEXT NOT NULL,
	type           TEXT NOT NULL,
	is_primary     INTEGER NOT NULL,
	PRIMARY KEY (account_id, member_pk, pos)
) WITHOUT ROWID;

CREATE TABLE member_roles (
	account_id  TEXT NOT NULL,
	member_pk   INTEGER NOT NULL,
	pos         INTEGER NOT NULL,
	role_key    TEXT NOT NULL,
	role_key_lc TEXT NOT NULL,
	PRIMARY KEY (account_id, member_pk, pos)
) WITHOUT ROWID;
CREATE INDEX member_roles_key ON member_roles (account_id, role_key_lc);

CREATE TABLE member_optional_permissions (
	account_id TEXT NOT NULL,
	member_pk  INTEGER NOT NULL,
	pos        INTEGER NOT NULL,
	role_key   TEXT NOT NULL,
	permission TEXT NOT NULL,
	PRIMARY KEY (account_id, member_pk, pos)
) WITHOUT ROWID;

CREATE TABLE member_expertise (
	account_id TEXT NOT NULL,
	member_pk  INTEGER NOT NULL,
	pos        INTEGER NOT NULL,
	value      TEXT NOT NULL,
	value_lc   TEXT NOT NULL,
	PRIMARY KEY (account_id, member_pk, pos)
) WITHOUT ROWID;
CREATE INDEX member_expertise_value ON member_expertise (account_id, value_lc);

CREATE TABLE member_channels (
	account_id TEXT NOT NULL,
	member_pk  INTEGER NOT NULL,
	pos        INTEGER NOT NULL,
	value      TEXT NOT NULL,
	value_lc   TEXT NOT NULL,
	PRIMARY KEY (account_id, member_pk, pos)
) WITHOUT ROWID;
CREATE INDEX member_channels_value ON member_channels (account_id, value_lc);

CREATE TABLE member_managed_attributes (
	account_id TEXT NOT NULL,
	member_pk  INTEGER NOT NULL,
	pos        INTEGER NOT NULL,
	name       TEXT NOT NULL,
	PRIMARY KEY (account_id, member_pk, pos)
) WITHOUT ROWID;

CREATE TABLE roles (
	pk            INTEGER PRIMARY KEY,
	account_id    TEXT NOT NULL,
	role_key      TEXT NOT NULL,
	role_key_lc   TEXT NOT NULL,
	display_name  TEXT NOT NULL DEFAULT '',
	description   TEXT NOT NULL DEFAULT '',
	consumes_seat INTEGER NOT NULL DEFAULT 0,
	built_in      INTEGER NOT NULL DEFAULT 0,
	version       INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX roles_key ON roles (account_id, role_key_lc);

-- optional = 0: Role.Permissions, 1: Role.OptionalPermissions.
CREATE TABLE role_permissions (
	account_id TEXT NOT NULL,
	role_pk    INTEGER NOT NULL,
	optional   INTEGER NOT NULL,
	pos        INTEGER NOT NULL,
	permission TEXT NOT NULL,
	PRIMARY KEY (account_id, role_pk, optional, pos)
) WITHOUT ROWID;

CREATE TABLE groups (
	pk              INTEGER PRIMARY KEY,
	account_id      TEXT NOT NULL,
	id              TEXT NOT NULL,
	display_name    TEXT NOT NULL,
	display_name_lc TEXT NOT NULL,
	external_id     TEXT NOT NULL DEFAULT '',
	role_key        TEXT NOT NULL DEFAULT '',
	role_key_lc     TEXT NOT NULL DEFAULT '',
	source          TEXT NOT NULL DEFAULT '',
	version         INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_id ON groups (account_id, id);
CREATE UNIQUE INDEX groups_display_name ON groups (account_id, display_name_lc);
CREATE UNIQUE INDEX groups_external_id ON groups (account_id, external_id) WHERE external_id <> '';
CREATE INDEX groups_updated ON groups (account_id, updated_at, id);

-- One row per membership edge: adding or removing a member touches one row
-- whatever the size of the group.
CREATE TABLE group_members (
	account_id TEXT NOT NULL,
	group_id   TEXT NOT NULL,
	member_id  TEXT NOT NULL,
	PRIMARY KEY (account_id, group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX group_members_member ON group_members (account_id, member_id);

CREATE TABLE seats (
	account_id TEXT NOT NULL,
	member_id  TEXT NOT NULL,
	PRIMARY KEY (account_id, member_id)
) WITHOUT ROWID;

CREATE TABLE invitations (
	pk          INTEGER PRIMARY KEY,
	account_id  TEXT NOT NULL,
	id          TEXT NOT NULL,
	member_id   TEXT NOT NULL DEFAULT '',
	token_hash  TEXT NOT NULL DEFAULT '',
	invited_by  TEXT NOT NULL DEFAULT '',
	expires_at  INTEGER NOT NULL DEFAULT 0,
	sent_at     INTEGER NOT NULL DEFAULT 0,
	accepted_at INTEGER NOT NULL DEFAULT 0,
	revoked_at  INTEGER NOT NULL DEFAULT 0,
	version     INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX invitations_id ON invitations (account_id, id);
CREATE UNIQUE INDEX invitations_token_hash ON invitations (token_hash) WHERE token_hash <> '';
CREATE INDEX invitations_open ON invitations (account_id, created_at, id) WHERE accepted_at = 0 AND revoked_at = 0;

CREATE TABLE tokens (
	pk           INTEGER PRIMARY KEY,
	account_id   TEXT NOT NULL,
	id           TEXT NOT NULL,
	kind         TEXT NOT NULL,
	name         TEXT NOT NULL DEFAULT '',
	member_id    TEXT NOT NULL DEFAULT '',
	hash         TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL DEFAULT 0,
	last_used_at INTEGER NOT NULL DEFAULT 0,
	revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tokens_id ON tokens (account_id, id);
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);
CREATE INDEX tokens_kind ON tokens (account_id, kind, created_at);
CREATE INDEX tokens_member ON tokens (account_id, member_id) WHERE member_id <> '';

CREATE TABLE sessions (
	pk            INTEGER PRIMARY KEY,
	account_id    TEXT NOT NULL,
	id            TEXT NOT NULL,
	member_id     TEXT NOT NULL,
	hash          TEXT NOT NULL,
	connection_id TEXT NOT NULL DEFAULT '',
	agent_seat    INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL DEFAULT 0,
	last_seen_at  INTEGER NOT NULL DEFAULT 0,
	revoked_at    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sessions_id ON sessions (account_id, id);
CREATE UNIQUE INDEX sessions_hash ON sessions (hash);
CREATE INDEX sessions_member ON sessions (account_id, member_id);
CREATE INDEX sessions_expires ON sessions (expires_at) WHERE expires_at <> 0;

CREATE TABLE sso_connections (
	pk         INTEGER PRIMARY KEY,
	account_id TEXT NOT NULL,
	id         TEXT NOT NULL,
	kind       TEXT NOT NULL,
	name       TEXT NOT NULL DEFAULT '',
	enabled    INTEGER NOT NULL DEFAULT 0,
	config     BLOB,
	version    INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX sso_connections_id ON sso_connections (account_id, id);

-- A domain routes to one connection across the deployment.
CREATE TABLE sso_domains (
	domain_lc     TEXT NOT NULL PRIMARY KEY,
	domain        TEXT NOT NULL,
	account_id    TEXT NOT NULL,
	connection_id TEXT NOT NULL,
	pos           INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sso_domains_connection ON sso_domains (account_id, connection_id, pos);

CREATE TABLE replays (
	replay_key TEXT NOT NULL PRIMARY KEY,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX replays_expires ON replays (expires_at);

CREATE TABLE audit_events (
	pk          INTEGER PRIMARY KEY,
	account_id  TEXT NOT NULL,
	id          TEXT NOT NULL,
	event_time  INTEGER NOT NULL,
	actor_kind  TEXT NOT NULL DEFAULT '',
	actor_id    TEXT NOT NULL DEFAULT '',
	action_name TEXT NOT NULL DEFAULT '',
	target_kind TEXT NOT NULL DEFAULT '',
	target_id   TEXT NOT NULL DEFAULT '',
	diff        BLOB,
	request_id  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX audit_events_id ON audit_events (account_id, id);
CREATE INDEX audit_events_time ON audit_events (account_id, event_time, id);
CREATE INDEX audit_events_action ON audit_events (account_id, action_name, event_time, id);
CREATE INDEX audit_events_actor ON audit_events (account_id, actor_id, event_time, id);
CREATE INDEX audit_events_target ON audit_events (account_id, target_id, event_time, id);

CREATE TABLE outbox (
	pk              INTEGER PRIMARY KEY,
	account_id      TEXT NOT NULL,
	id              TEXT NOT NULL,
	to_addr         TEXT NOT NULL DEFAULT '',
	subject         TEXT NOT NULL DEFAULT '',
	text_body       TEXT NOT NULL DEFAULT '',
	html_body       TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	sent_at         INTEGER NOT NULL DEFAULT 0,
	lease_until     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX outbox_id ON outbox (account_id, id);
CREATE INDEX outbox_due ON outbox (next_attempt_at, created_at) WHERE sent_at = 0;
