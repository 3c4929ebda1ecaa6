package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

// roleKeysPerms summarises roles as "key:perm,perm" strings.
func roleKeysPerms(t *testing.T, s *Store, ctx context.Context, accountID string) []string {
	t.Helper()
	roles, err := s.ListRoles(ctx, accountID)
	if err != nil {
		t.Fatalf("list roles: %v", err)
	}
	var out []string
	for _, r := range roles {
		out = append(out, r.Key+":"+r.DisplayName+":"+slices.Concat(r.Permissions, []string{"|"}, r.OptionalPermissions)[0])
	}
	return out
}

// TestRoleCacheSeesEveryChange: the roles ListRoles serves from memory
// follow every change, made by this Store, by another Store (process) on
// the same file, inside a transaction, and not after a rollback.
func TestRoleCacheSeesEveryChange(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	open := func() *Store {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s, other := open(), open()
	// Every read outside a transaction checks the version here; the
	// recheck window has its own test.
	s.roles.recheck, other.roles.recheck = 0, 0
	a, err := s.CreateAccount(ctx, repository.Account{Name: "roles"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateAccount(ctx, repository.Account{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "agent", DisplayName: "Agent", Permissions: []string{"p1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRole(ctx, repository.Role{AccountID: b.ID, Key: "agent", DisplayName: "B Agent", Permissions: []string{"b1"}}); err != nil {
		t.Fatal(err)
	}
	want := func(name string, st *Store, ctx context.Context, accountID string, w ...string) {
		t.Helper()
		for range 2 { // the second read comes from the cache
			if got := roleKeysPerms(t, st, ctx, accountID); !slices.Equal(got, w) {
				t.Fatalf("%s: roles %v, want %v", name, got, w)
			}
		}
	}
	want("initial", s, ctx, a.ID, "agent:Agent:p1")
	want("other account", s, ctx, b.ID, "agent:B Agent:b1")
	want("other store", other, ctx, a.ID, "agent:Agent:p1")

	// A change by the other store is seen by this one.
	if _, err := other.UpdateRole(ctx, a.ID, "agent", func(r repository.Role) (repository.Role, error) {
		r.DisplayName, r.Permissions = "Support Agent", []string{"p2"}
		return r, nil
	}); err != nil {
		t.Fatal(err)
	}
	want("after update elsewhere", s, ctx, a.ID, "agent:Support Agent:p2")
	want("other account untouched", s, ctx, b.ID, "agent:B Agent:b1")

	// A transaction sees its own role writes; a rollback leaves no trace
	// in the cache.
	errRollback := errors.New("rollback")
	err = s.InTx(ctx, func(ctx context.Context) error {
		want("in tx before", s, ctx, a.ID, "agent:Support Agent:p2")
		if _, err := s.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "boss", DisplayName: "Boss", Permissions: []string{"x"}}); err != nil {
			return err
		}
		want("in tx after create", s, ctx, a.ID, "agent:Support Agent:p2", "boss:Boss:x")
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	want("after rollback", s, ctx, a.ID, "agent:Support Agent:p2")
	// The other store bumps to the same version the rolled-back
	// transaction had, with different roles.
	if _, err := other.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "lead", DisplayName: "Lead", Permissions: []string{"y"}}); err != nil {
		t.Fatal(err)
	}
	want("after create elsewhere", s, ctx, a.ID, "agent:Support Agent:p2", "lead:Lead:y")

	if err := other.DeleteRole(ctx, a.ID, "lead"); err != nil {
		t.Fatal(err)
	}
	want("after delete elsewhere", s, ctx, a.ID, "agent:Support Agent:p2")

	// A caller changing its copy does not change the cache.
	roles, err := s.ListRoles(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	roles[0].DisplayName, roles[0].Permissions[0] = "changed", "changed"
	want("after caller's change", s, ctx, a.ID, "agent:Support Agent:p2")

	// A deleted account has no roles.
	if err := other.DeleteAccount(ctx, a.ID, "test"); err != nil {
		t.Fatal(err)
	}
	want("deleted account", s, ctx, a.ID)
}

// TestRoleCacheRecheckWindow: outside a transaction, a change made by
// another process is seen once rolesRecheck has passed since the version
// was last checked, not before; a change made through this Store, and any
// read inside a transaction, see it at once.
func TestRoleCacheRecheckWindow(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	clock := time.Unix(1_800_000_000, 0)
	s.roles.now = func() time.Time { return clock }

	a, err := s.CreateAccount(ctx, repository.Account{Name: "window"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "agent", DisplayName: "Agent"}); err != nil {
		t.Fatal(err)
	}
	names := func(ctx context.Context) string {
		t.Helper()
		roles, err := s.ListRoles(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range roles {
			out = append(out, r.DisplayName)
		}
		return strings.Join(out, ",")
	}
	rename := func(st *Store, name string) {
		t.Helper()
		if _, err := st.UpdateRole(ctx, a.ID, "agent", func(r repository.Role) (repository.Role, error) {
			r.DisplayName = name
			return r, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(ctx); got != "Agent" {
		t.Fatalf("first read %q", got)
	}

	rename(other, "Elsewhere")
	clock = clock.Add(rolesRecheck / 2)
	if got := names(ctx); got != "Agent" {
		t.Errorf("within the window: %q, want the cached Agent", got)
	}
	if err := s.InTx(ctx, func(ctx context.Context) error {
		if got := names(ctx); got != "Elsewhere" {
			t.Errorf("in a transaction: %q, want Elsewhere", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	rename(other, "Later")
	clock = clock.Add(rolesRecheck)
	if got := names(ctx); got != "Later" {
		t.Errorf("after the window: %q, want Later", got)
	}

	rename(s, "Here") // through this Store: seen at once
	if got := names(ctx); got != "Here" {
		t.Errorf("after a change through this store: %q, want Here", got)
	}
}

// TestRoleCacheRefusesReadsOlderThanAClear: roles read before a clear (a
// local role write ended meanwhile) are not stored, and do not refresh
// an entry's check time.
func TestRoleCacheRefusesReadsOlderThanAClear(t *testing.T) {
	c := newRoleCache()
	roles := []repository.Role{{Key: "agent"}}
	gen, at := c.start()
	c.clear()
	c.put("a", 1, roles, gen, at)
	if _, ok := c.recent("a"); ok {
		t.Fatal("a read older than the clear was stored")
	}
	gen, at = c.start()
	c.put("a", 1, roles, gen, at)
	if _, ok := c.recent("a"); !ok {
		t.Fatal("a current read was not stored")
	}
	old := at.Add(-time.Hour)
	c.m["a"] = roleEntry{version: 1, roles: roles, checked: old}
	stale, _ := c.start()
	c.clear()
	c.m["a"] = roleEntry{version: 1, roles: roles, checked: old}
	if _, ok := c.get("a", 1, stale, at); !ok {
		t.Fatal("get missed")
	}
	if c.m["a"].checked != old {
		t.Error("a check older than the clear refreshed the entry")
	}
}

// TestStatementsPreparedInTxArePromoted: a statement a transaction had to
// prepare for itself is prepared on the pool afterwards, so the next
// transaction does not parse it again.
func TestStatementsPreparedInTxArePromoted(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "promote"})
	if err != nil {
		t.Fatal(err)
	}
	q := repository.Query{Filter: repository.Or{
		repository.Compare{Field: repository.MemberPendingManagerRef, Op: repository.OpEq, Value: "x"},
		repository.Compare{Field: repository.MemberPendingManagerRef, Op: repository.OpEq, Value: "y"},
	}, Count: 200}
	for range 3 {
		err := s.InTx(ctx, func(ctx context.Context) error {
			_, err := s.ListMembers(ctx, a.ID, q)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s.wc.mu.Lock()
	defer s.wc.mu.Unlock()
	if len(s.wc.misses) != 1 {
		t.Fatalf("misses %v, want the list statement once", s.wc.misses)
	}
	for q, n := range s.wc.misses {
		if n != 1 {
			t.Errorf("prepared inside a transaction %d times, want once: %s", n, q)
		}
		if s.wc.stmts[q] == nil {
			t.Errorf("not prepared on the pool: %s", q)
		}
	}
}
