package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
)

// TestMigrationMovesManagedAttributes: migration 0007 carries the rows of
// member_managed_attributes into members.managed_attributes in their
// order, for members with side_mask -1 (written before the mask) and bit
// 7, and leaves members without any empty.
func TestMigrationMovesManagedAttributes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v6.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0001_init.sql", "0002_planner_stats.sql", "0003_roles_version.sql",
		"0004_invitation_sends_deletion_code.sql", "0005_member_side_mask.sql", "0006_sso.sql"} {
		body, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	const acct = "0190a5a0-0000-7000-8000-000000000001"
	stmts := []string{
		"PRAGMA user_version = 6",
		"INSERT INTO accounts (id, name, name_lc, member_count, version, created_at, updated_at) VALUES ('" + acct + "', 'Old', 'old', 3, 1, 1, 1)",
		"INSERT INTO members (pk, account_id, id, user_name, user_name_lc, version, created_at, updated_at, side_mask) VALUES (1, '" + acct + "', 'm-old', 'old@x.example', 'old@x.example', 1, 1, 1, -1)",
		"INSERT INTO members (pk, account_id, id, user_name, user_name_lc, version, created_at, updated_at, side_mask) VALUES (2, '" + acct + "', 'm-masked', 'masked@x.example', 'masked@x.example', 1, 1, 1, 128)",
		"INSERT INTO members (pk, account_id, id, user_name, user_name_lc, version, created_at, updated_at, side_mask) VALUES (3, '" + acct + "', 'm-none', 'none@x.example', 'none@x.example', 1, 1, 1, 0)",
		// Stored out of order, with a colon, an empty name and multi-byte text.
		"INSERT INTO member_managed_attributes VALUES ('" + acct + "', 1, 2, 'urn:x:manager'), ('" + acct + "', 1, 0, 'userName'), ('" + acct + "', 1, 1, '名前'), ('" + acct + "', 1, 3, '')",
		"INSERT INTO member_managed_attributes VALUES ('" + acct + "', 2, 0, 'active')",
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	defer s.Close()
	for id, want := range map[string][]string{
		"m-old":    {"userName", "名前", "urn:x:manager", ""},
		"m-masked": {"active"},
		"m-none":   nil,
	} {
		m, err := s.GetMember(ctx, acct, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !reflect.DeepEqual(m.ManagedAttributes, want) {
			t.Errorf("%s: managed attributes %q, want %q", id, m.ManagedAttributes, want)
		}
	}
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'member_managed_attributes'").Scan(&n); err != nil || n != 0 {
		t.Errorf("side table still there (%d, %v)", n, err)
	}
}

func TestPackList(t *testing.T) {
	for _, l := range [][]string{nil, {""}, {"a"}, {"1:2", "", "日本", "x"}} {
		got, err := unpackList(packList(l))
		if err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("round trip of %q = %q, %v", l, got, err)
		}
	}
	for _, bad := range []string{"x", "3:ab", "-1:", "1"} {
		if got, err := unpackList(bad); err == nil {
			t.Errorf("unpackList(%q) = %q, want an error", bad, got)
		}
	}
	var got []string
	if err := (listDest{&got}).Scan("1:a1:b"); err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("listDest = %q, %v", got, err)
	}
}
