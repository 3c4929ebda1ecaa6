package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// Export and Import (repository.Exporter, repository.Importer) move every
// record in or out verbatim, for `roster migrate`. Export walks each
// table's unique (account_id, id)-style index in key order; Import
// upserts by key in one transaction per call, so a batch lands whole or
// not at all and a repeated batch changes nothing.

var (
	_ repository.Exporter = (*Store)(nil)
	_ repository.Importer = (*Store)(nil)
)

// Column maps of the tables the record files do not map.
var (
	edgeTable = &table[repository.GroupEdge]{
		name: "group_members",
		cols: []column[repository.GroupEdge]{
			{"account_id", cText, func(e *repository.GroupEdge) any { return &e.AccountID }},
			{"group_id", cText, func(e *repository.GroupEdge) any { return &e.GroupID }},
			{"member_id", cText, func(e *repository.GroupEdge) any { return &e.MemberID }},
		},
	}
	seatTable = &table[repository.SeatHolder]{
		name: "seats",
		cols: []column[repository.SeatHolder]{
			{"account_id", cText, func(e *repository.SeatHolder) any { return &e.AccountID }},
			{"member_id", cText, func(e *repository.SeatHolder) any { return &e.MemberID }},
		},
	}
	linkTable = &table[repository.IdentityLink]{
		name: "identity_links",
		cols: []column[repository.IdentityLink]{
			{"account_id", cText, func(l *repository.IdentityLink) any { return &l.AccountID }},
			{"connection_id", cText, func(l *repository.IdentityLink) any { return &l.ConnectionID }},
			{"subject", cText, func(l *repository.IdentityLink) any { return &l.Subject }},
			{"member_id", cText, func(l *repository.IdentityLink) any { return &l.MemberID }},
			{"created_at", cTime, func(l *repository.IdentityLink) any { return &l.CreatedAt }},
		},
	}
	signingKeyTable = &table[repository.SigningKey]{
		name: "signing_keys",
		cols: []column[repository.SigningKey]{
			{"id", cText, func(k *repository.SigningKey) any { return &k.ID }},
			{"algorithm", cText, func(k *repository.SigningKey) any { return &k.Algorithm }},
			{"private_key", cBlob, func(k *repository.SigningKey) any { return &k.PrivateKey }},
			{"public_key", cBlob, func(k *repository.SigningKey) any { return &k.PublicKey }},
			{"created_at", cTime, func(k *repository.SigningKey) any { return &k.CreatedAt }},
			{"retires_at", cTime, func(k *repository.SigningKey) any { return &k.RetiresAt }},
			{"expires_at", cTime, func(k *repository.SigningKey) any { return &k.ExpiresAt }},
		},
	}
	deletionTable = &table[repository.AccountDeletion]{
		name: "account_deletions",
		cols: []column[repository.AccountDeletion]{
			{"account_id", cText, func(d *repository.AccountDeletion) any { return &d.AccountID }},
			{"name", cText, func(d *repository.AccountDeletion) any { return &d.Name }},
			{"deleted_at", cTime, func(d *repository.AccountDeletion) any { return &d.DeletedAt }},
			{"reason", cText, func(d *repository.AccountDeletion) any { return &d.Reason }},
		},
	}
)

// keyColumns are the columns of each kind's key, in key order; each list
// is the prefix of a unique index (or the primary key) of the table.
var keyColumns = map[repository.RecordKind][]string{
	repository.KindAccounts:         {"id"},
	repository.KindRoles:            {"account_id", "role_key"},
	repository.KindMembers:          {"account_id", "id"},
	repository.KindGroups:           {"account_id", "id"},
	repository.KindGroupMembers:     {"account_id", "group_id", "member_id"},
	repository.KindSeats:            {"account_id", "member_id"},
	repository.KindInvitations:      {"account_id", "id"},
	repository.KindTokens:           {"account_id", "id"},
	repository.KindSessions:         {"account_id", "id"},
	repository.KindSSOConnections:   {"account_id", "id"},
	repository.KindIdentityLinks:    {"account_id", "connection_id", "subject"},
	repository.KindSigningKeys:      {"id"},
	repository.KindAuditEvents:      {"account_id", "id"},
	repository.KindOutbox:           {"account_id", "id"},
	repository.KindAccountDeletions: {"account_id"},
}

// pageSQL returns "SELECT cols FROM table alias WHERE (keys) > (?, …)
// ORDER BY keys LIMIT ?" over the kind's key columns.
func pageSQL(kind repository.RecordKind, cols, from, alias string) string {
	keys := keyColumns[kind]
	q := make([]string, len(keys))
	for i, k := range keys {
		if alias != "" {
			q[i] = alias + "." + k
		} else {
			q[i] = k
		}
	}
	list := strings.Join(q, ", ")
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")
	return fmt.Sprintf("SELECT %s FROM %s WHERE (%s) > (%s) ORDER BY %s LIMIT ?", cols, from, list, marks, list)
}

// Export returns up to limit records of kind after the key after.
func (s *Store) Export(ctx context.Context, kind repository.RecordKind, after string, limit int) ([]repository.Record, error) {
	keys, ok := keyColumns[kind]
	if !ok {
		return nil, fmt.Errorf("export: unknown kind %q", kind)
	}
	if limit <= 0 {
		return nil, fmt.Errorf("export %s: limit %d is not positive", kind, limit)
	}
	parts, err := repository.SplitKey(after, len(keys))
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", kind, err)
	}
	args := make([]any, 0, len(parts)+1)
	for _, p := range parts {
		args = append(args, p)
	}
	args = append(args, limit)
	var out []repository.Record
	add := func(v any) error {
		r, err := repository.NewRecord(kind, v)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	}
	err = s.read(ctx, func(h handle) error {
		switch kind {
		case repository.KindAccounts:
			return exportTable(ctx, h, kind, accountTable, args, add)
		case repository.KindMembers:
			return exportMembers(ctx, h, args, add)
		case repository.KindRoles:
			return exportRoles(ctx, h, args, add)
		case repository.KindGroups:
			return exportTable(ctx, h, kind, groupTable, args, add)
		case repository.KindGroupMembers:
			return exportTable(ctx, h, kind, edgeTable, args, add)
		case repository.KindSeats:
			return exportTable(ctx, h, kind, seatTable, args, add)
		case repository.KindInvitations:
			return exportTable(ctx, h, kind, invitationTable, args, add)
		case repository.KindTokens:
			return exportTable(ctx, h, kind, tokenTable, args, add)
		case repository.KindSessions:
			return exportTable(ctx, h, kind, sessionTable, args, add)
		case repository.KindSSOConnections:
			return exportSSO(ctx, h, args, add)
		case repository.KindIdentityLinks:
			return exportTable(ctx, h, kind, linkTable, args, add)
		case repository.KindSigningKeys:
			return exportTable(ctx, h, kind, signingKeyTable, args, add)
		case repository.KindAuditEvents:
			return exportTable(ctx, h, kind, auditTable, args, add)
		case repository.KindOutbox:
			return exportTable(ctx, h, kind, outboxTable, args, add)
		case repository.KindAccountDeletions:
			return exportTable(ctx, h, kind, deletionTable, args, add)
		}
		return fmt.Errorf("unknown kind %q", kind)
	})
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", kind, err)
	}
	return out, nil
}

// exportTable reads a page of a table whose columns map the whole record.
func exportTable[T any](ctx context.Context, h handle, kind repository.RecordKind, t *table[T], args []any, add func(any) error) error {
	rows, err := h.query(ctx, pageSQL(kind, t.selectList(""), t.name, ""), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v T
		if err := rows.Scan(t.dests(&v)...); err != nil {
			return err
		}
		if err := add(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

func exportMembers(ctx context.Context, h handle, args []any, add func(any) error) error {
	rows, err := h.query(ctx, pageSQL(repository.KindMembers, qMemberColsSides, "members m", "m"), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r memberRow
		if err := scanMember(rows, &r); err != nil {
			return err
		}
		if err := add(r.m); err != nil {
			return err
		}
	}
	return rows.Err()
}

func exportRoles(ctx context.Context, h handle, args []any, add func(any) error) error {
	rows, err := h.query(ctx, pageSQL(repository.KindRoles, qRoleCols, "roles", ""), args...)
	if err != nil {
		return err
	}
	type roleRow struct {
		pk int64
		r  repository.Role
	}
	var page []roleRow
	for rows.Next() {
		var rr roleRow
		if err := rows.Scan(append([]any{&rr.pk}, roleTable.dests(&rr.r)...)...); err != nil {
			rows.Close()
			return err
		}
		page = append(page, rr)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, rr := range page {
		perms, err := h.query(ctx, qRolePerms, rr.r.AccountID, rr.pk)
		if err != nil {
			return err
		}
		for perms.Next() {
			var pk, optional int64
			var p string
			if err := perms.Scan(&pk, &optional, &p); err != nil {
				perms.Close()
				return err
			}
			if optional == 0 {
				rr.r.Permissions = append(rr.r.Permissions, p)
			} else {
				rr.r.OptionalPermissions = append(rr.r.OptionalPermissions, p)
			}
		}
		if err := perms.Close(); err != nil {
			return err
		}
		if err := add(rr.r); err != nil {
			return err
		}
	}
	return nil
}

func exportSSO(ctx context.Context, h handle, args []any, add func(any) error) error {
	rows, err := h.query(ctx, pageSQL(repository.KindSSOConnections, ssoTable.selectList(""), ssoTable.name, ""), args...)
	if err != nil {
		return err
	}
	var page []repository.SSOConnection
	for rows.Next() {
		var c repository.SSOConnection
		if err := rows.Scan(ssoTable.dests(&c)...); err != nil {
			rows.Close()
			return err
		}
		page = append(page, c)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, c := range page {
		ds, err := h.query(ctx, qSSODomains, c.AccountID, c.ID)
		if err != nil {
			return err
		}
		for ds.Next() {
			var conn, d string
			if err := ds.Scan(&conn, &d); err != nil {
				ds.Close()
				return err
			}
			c.Domains = append(c.Domains, d)
		}
		if err := ds.Close(); err != nil {
			return err
		}
		if err := add(c); err != nil {
			return err
		}
	}
	return nil
}

// upsertSQL returns the INSERT of t that replaces every column of the
// row already holding the same key (conflict names the unique columns).
func upsertSQL[T any](t *table[T], conflict string) string {
	sets := make([]string, 0, len(t.cols))
	for _, c := range t.cols {
		sets = append(sets, c.name+" = excluded."+c.name)
	}
	return t.insertSQL() + " ON CONFLICT (" + conflict + ") DO UPDATE SET " + strings.Join(sets, ", ")
}

var (
	qUpsertAccount    = upsertSQL(accountTable, "id")
	qUpsertGroup      = upsertSQL(groupTable, "account_id, id")
	qUpsertInvitation = upsertSQL(invitationTable, "account_id, id")
	qUpsertToken      = upsertSQL(tokenTable, "account_id, id")
	qUpsertSession    = upsertSQL(sessionTable, "account_id, id")
	qUpsertSSO        = upsertSQL(ssoTable, "account_id, id")
	qUpsertAudit      = upsertSQL(auditTable, "account_id, id")
	qUpsertOutbox     = upsertSQL(outboxTable, "account_id, id")
	qUpsertLink       = upsertSQL(linkTable, "account_id, connection_id, subject")
	qUpsertSigningKey = upsertSQL(signingKeyTable, "id")
	qUpsertDeletion   = upsertSQL(deletionTable, "account_id")
	qImportEdge       = "INSERT OR IGNORE INTO group_members (account_id, group_id, member_id) VALUES (?, ?, ?)"
	qImportSeat       = "INSERT OR IGNORE INTO seats (account_id, member_id) VALUES (?, ?)"
	qDeleteRolePK     = "DELETE FROM roles WHERE pk = ?"
)

// Import writes recs verbatim in one transaction.
func (s *Store) Import(ctx context.Context, kind repository.RecordKind, recs []repository.Record) error {
	if _, ok := keyColumns[kind]; !ok {
		return fmt.Errorf("import: unknown kind %q", kind)
	}
	if len(recs) == 0 {
		return nil
	}
	err := s.write(ctx, func(h handle) error {
		for _, r := range recs {
			if r.Kind != kind {
				return fmt.Errorf("record %q is of kind %s", r.Key, r.Kind)
			}
			if err := importOne(ctx, h, kind, r.Value); err != nil {
				return fmt.Errorf("record %q: %w", r.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return mapErr("import "+string(kind), err)
	}
	return nil
}

func importOne(ctx context.Context, h handle, kind repository.RecordKind, v any) error {
	bad := fmt.Errorf("value of type %T", v)
	var err error
	switch kind {
	case repository.KindAccounts:
		a, ok := v.(repository.Account)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertAccount, accountTable.args(&a)...)
	case repository.KindRoles:
		r, ok := v.(repository.Role)
		if !ok {
			return bad
		}
		err = importRole(ctx, h, r)
	case repository.KindMembers:
		m, ok := v.(repository.Member)
		if !ok {
			return bad
		}
		err = importMember(ctx, h, m)
	case repository.KindGroups:
		g, ok := v.(repository.Group)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertGroup, groupTable.args(&g)...)
	case repository.KindGroupMembers:
		e, ok := v.(repository.GroupEdge)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qImportEdge, e.AccountID, e.GroupID, e.MemberID)
	case repository.KindSeats:
		e, ok := v.(repository.SeatHolder)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qImportSeat, e.AccountID, e.MemberID)
	case repository.KindInvitations:
		i, ok := v.(repository.Invitation)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertInvitation, invitationTable.args(&i)...)
	case repository.KindTokens:
		t, ok := v.(repository.Token)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertToken, tokenTable.args(&t)...)
	case repository.KindSessions:
		ss, ok := v.(repository.Session)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertSession, sessionTable.args(&ss)...)
	case repository.KindSSOConnections:
		c, ok := v.(repository.SSOConnection)
		if !ok {
			return bad
		}
		c = normalizeSSO(c)
		if _, err = h.exec(ctx, qUpsertSSO, ssoTable.args(&c)...); err != nil {
			return err
		}
		if _, err = h.exec(ctx, qDeleteSSODomains, c.AccountID, c.ID); err != nil {
			return err
		}
		err = writeDomains(ctx, h, &c)
	case repository.KindIdentityLinks:
		l, ok := v.(repository.IdentityLink)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertLink, linkTable.args(&l)...)
	case repository.KindSigningKeys:
		k, ok := v.(repository.SigningKey)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertSigningKey, signingKeyTable.args(&k)...)
	case repository.KindAuditEvents:
		e, ok := v.(repository.AuditEvent)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertAudit, auditTable.args(&e)...)
	case repository.KindOutbox:
		m, ok := v.(repository.OutboxMessage)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertOutbox, outboxTable.args(&m)...)
	case repository.KindAccountDeletions:
		d, ok := v.(repository.AccountDeletion)
		if !ok {
			return bad
		}
		_, err = h.exec(ctx, qUpsertDeletion, deletionTable.args(&d)...)
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	return err
}

// importMember replaces the member row and its side rows, and counts a
// member new to the account in accounts.member_count.
func importMember(ctx context.Context, h handle, m repository.Member) error {
	m = normalizeMember(m)
	var old int64
	err := h.queryRow(ctx, []any{&old}, qMemberPK, m.AccountID, m.ID)
	existed := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if existed {
		for k := range sideCount {
			if _, err := h.exec(ctx, qDeleteSide[k], m.AccountID, old); err != nil {
				return err
			}
		}
		if _, err := h.exec(ctx, qDeleteMember, old); err != nil {
			return err
		}
	}
	pk, err := lastID(h.exec(ctx, qInsertMember, memberTable.args(&m)...))
	if err != nil {
		return err
	}
	if !existed {
		if _, err := h.exec(ctx, qCountMember, 1, m.AccountID); err != nil {
			return err
		}
	}
	return writeSides(ctx, h, m.AccountID, pk, &m, nil)
}

// importRole replaces the role (found by its key ignoring case) and its
// permissions, and bumps the account's roles_version so that no process
// keeps serving the roles it cached.
func importRole(ctx context.Context, h handle, r repository.Role) error {
	r = normalizeRole(r)
	var old int64
	err := h.queryRow(ctx, []any{&old}, qRolePK, r.AccountID, strings.ToLower(r.Key))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err == nil {
		if _, err := h.exec(ctx, qDeleteRolePerm, r.AccountID, old); err != nil {
			return err
		}
		if _, err := h.exec(ctx, qDeleteRolePK, old); err != nil {
			return err
		}
	}
	pk, err := lastID(h.exec(ctx, qInsertRole, roleTable.args(&r)...))
	if err != nil {
		return err
	}
	if err := writeRolePerms(ctx, h, r.AccountID, pk, &r); err != nil {
		return err
	}
	return rolesChanged(ctx, h, r.AccountID)
}

// Count returns how many records of kind the store holds.
func (s *Store) Count(ctx context.Context, kind repository.RecordKind) (int, error) {
	table, ok := kindTables[kind]
	if !ok {
		return 0, fmt.Errorf("count: unknown kind %q", kind)
	}
	var n int
	if err := s.reader(ctx).queryRow(ctx, []any{&n}, "SELECT count(*) FROM "+table); err != nil {
		return 0, fmt.Errorf("count %s: %w", kind, err)
	}
	return n, nil
}

// kindTables names the table of each kind.
var kindTables = map[repository.RecordKind]string{
	repository.KindAccounts:         "accounts",
	repository.KindRoles:            "roles",
	repository.KindMembers:          "members",
	repository.KindGroups:           "groups",
	repository.KindGroupMembers:     "group_members",
	repository.KindSeats:            "seats",
	repository.KindInvitations:      "invitations",
	repository.KindTokens:           "tokens",
	repository.KindSessions:         "sessions",
	repository.KindSSOConnections:   "sso_connections",
	repository.KindIdentityLinks:    "identity_links",
	repository.KindSigningKeys:      "signing_keys",
	repository.KindAuditEvents:      "audit_events",
	repository.KindOutbox:           "outbox",
	repository.KindAccountDeletions: "account_deletions",
}

// The migration checkpoint lives in a one-row table of its own, created
// by the first SaveCheckpoint (it is the migration tool's, not part of
// the schema the server uses), holding the checkpoint as JSON.
const (
	qCreateCheckpoint = "CREATE TABLE IF NOT EXISTS _migration (name TEXT NOT NULL PRIMARY KEY, state TEXT NOT NULL)"
	qSaveCheckpoint   = "INSERT INTO _migration (name, state) VALUES ('checkpoint', ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state"
	qLoadCheckpoint   = "SELECT state FROM _migration WHERE name = 'checkpoint'"
	qHasCheckpoint    = "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '_migration'"
)

var _ repository.Checkpointer = (*Store)(nil)

// LoadCheckpoint returns the migration checkpoint kept in the file.
func (s *Store) LoadCheckpoint(ctx context.Context) (repository.Checkpoint, error) {
	var c repository.Checkpoint
	err := s.read(ctx, func(h handle) error {
		var n int
		if err := h.queryRow(ctx, []any{&n}, qHasCheckpoint); err != nil {
			return err
		}
		if n == 0 {
			return repository.ErrNotFound
		}
		var state string
		if err := h.queryRow(ctx, []any{&state}, qLoadCheckpoint); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return repository.ErrNotFound
			}
			return err
		}
		return json.Unmarshal([]byte(state), &c)
	})
	if err != nil {
		return repository.Checkpoint{}, wrap("load migration checkpoint", err)
	}
	return c, nil
}

// SaveCheckpoint replaces the migration checkpoint.
func (s *Store) SaveCheckpoint(ctx context.Context, c repository.Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("save migration checkpoint: %w", err)
	}
	err = s.write(ctx, func(h handle) error {
		if _, err := h.exec(ctx, qCreateCheckpoint); err != nil {
			return err
		}
		_, err := h.exec(ctx, qSaveCheckpoint, string(b))
		return err
	})
	return wrap("save migration checkpoint", err)
}
