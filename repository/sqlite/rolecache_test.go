package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

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
