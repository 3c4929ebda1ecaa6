package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// TestMigrationPacksMultiValues: migration 0007 carries the rows of
// member_managed_attributes into members.managed_attributes in their
// order, and copies every side table's rows into members.multi_values,
// for members with side_mask -1 (written before the mask) and with the
// mask's bits; members without any read back empty, and filters on the
// side tables still find them.
func TestMigrationPacksMultiValues(t *testing.T) {
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
		"INSERT INTO member_emails VALUES ('" + acct + "', 1, 1, 'B@x.example', 'b@x.example', 'home', 'home', 'a:b', 0), ('" + acct + "', 1, 0, 'old@x.example', 'old@x.example', 'work', 'work', '', 1)",
		"INSERT INTO member_roles VALUES ('" + acct + "', 1, 0, 'agent', 'agent')",
		"INSERT INTO member_expertise VALUES ('" + acct + "', 1, 0, 'Billing', 'billing')",
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
		if id != "m-old" && (m.Emails != nil || m.Roles != nil || m.Profile.Expertise != nil) {
			t.Errorf("%s: multi-valued attributes %+v, want none", id, m)
		}
	}
	old, err := s.GetMember(ctx, acct, "m-old")
	if err != nil {
		t.Fatal(err)
	}
	wantEmails := []repository.Email{{Value: "old@x.example", Type: "work", Primary: true}, {Value: "B@x.example", Type: "home", Display: "a:b"}}
	if !reflect.DeepEqual(old.Emails, wantEmails) || !reflect.DeepEqual(old.Roles, []string{"agent"}) ||
		!reflect.DeepEqual(old.Profile.Expertise, []string{"Billing"}) {
		t.Errorf("m-old: emails %+v roles %q expertise %q", old.Emails, old.Roles, old.Profile.Expertise)
	}
	page, err := s.ListMembers(ctx, acct, repository.Query{Count: 10,
		Filter: repository.Compare{Field: repository.MemberEmailValue, Op: repository.OpEq, Value: "b@X.example"}})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != "m-old" || !reflect.DeepEqual(page.Items[0], old) {
		t.Errorf("filter on a migrated email: %+v, %v", page, err)
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
