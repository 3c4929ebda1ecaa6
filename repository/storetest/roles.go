package storetest

import (
	"errors"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"RoleCRUD", testRoleCRUD})
}

func testRoleCRUD(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)

	want := repository.Role{
		AccountID:           acct.ID,
		Key:                 "supervisor",
		DisplayName:         "Supervisor",
		Description:         "Monitors agents and reassigns conversations.",
		Permissions:         []string{"conversations.view_all", "reports.view"},
		OptionalPermissions: []string{"billing.manage"},
		ConsumesSeat:        true,
		BuiltIn:             true,
	}
	created, err := s.CreateRole(ctx, want)
	must(t, err, "create role")
	expect(t, created.Version, int64(1), "version of a new role")
	expectRecent(t, created.CreatedAt, "new role CreatedAt")
	want.Meta = created.Meta
	expectSame(t, created, want, "CreateRole result")
	got, err := s.GetRole(ctx, acct.ID, "supervisor")
	must(t, err, "get role")
	expectSame(t, got, want, "GetRole after create")

	t.Run("DuplicateKeyAnyCase", func(t *testing.T) {
		_, err := s.CreateRole(ctx, repository.Role{AccountID: acct.ID, Key: "SUPERVISOR", DisplayName: "Other"})
		mustConflict(t, err, "key", "create role SUPERVISOR next to supervisor")
	})

	t.Run("List", func(t *testing.T) {
		for _, k := range []string{"reporter", "agent", "bot_trainer"} {
			_, err := s.CreateRole(ctx, repository.Role{AccountID: acct.ID, Key: k, DisplayName: k})
			must(t, err, "create role %s", k)
		}
		roles, err := s.ListRoles(ctx, acct.ID)
		must(t, err, "list roles")
		var keys []string
		for _, r := range roles {
			keys = append(keys, r.Key)
			expect(t, r.AccountID, acct.ID, "account of listed role %s", r.Key)
		}
		expectSeq(t, keys, []string{"agent", "bot_trainer", "reporter", "supervisor"}, "role keys in key order")
	})

	t.Run("Update", func(t *testing.T) {
		updated, err := s.UpdateRole(ctx, acct.ID, "supervisor", func(r repository.Role) (repository.Role, error) {
			r.Permissions = append(r.Permissions, "members.invite")
			r.ConsumesSeat = false
			return r, nil
		})
		must(t, err, "update role")
		expect(t, updated.Version, int64(2), "role version after one update")
		got, err := s.GetRole(ctx, acct.ID, "supervisor")
		must(t, err, "get role")
		expectSeq(t, got.Permissions, []string{"conversations.view_all", "reports.view", "members.invite"}, "permissions after update")
		expect(t, got.ConsumesSeat, false, "ConsumesSeat after update")
		expect(t, got.Version, int64(2), "stored role version")

		stop := errors.New("built-in roles keep their key")
		_, err = s.UpdateRole(ctx, acct.ID, "supervisor", func(r repository.Role) (repository.Role, error) {
			r.Description = "never stored"
			return r, stop
		})
		mustIs(t, err, stop, "update role whose function fails")
		again, err := s.GetRole(ctx, acct.ID, "supervisor")
		must(t, err, "get role")
		expectSame(t, again, got, "role after an aborted update")
	})

	t.Run("Delete", func(t *testing.T) {
		must(t, s.DeleteRole(ctx, acct.ID, "reporter"), "delete role")
		_, err := s.GetRole(ctx, acct.ID, "reporter")
		mustIs(t, err, repository.ErrNotFound, "get deleted role")
		mustIs(t, s.DeleteRole(ctx, acct.ID, "reporter"), repository.ErrNotFound, "delete role twice")
		_, err = s.UpdateRole(ctx, acct.ID, "reporter", func(r repository.Role) (repository.Role, error) { return r, nil })
		mustIs(t, err, repository.ErrNotFound, "update deleted role")
		// The key is free again.
		_, err = s.CreateRole(ctx, repository.Role{AccountID: acct.ID, Key: "Reporter", DisplayName: "Reporter"})
		must(t, err, "create a role with a deleted role's key")
	})
}
