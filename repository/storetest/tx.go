package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"TxCommit", testTxCommit},
		testCase{"TxRollback", testTxRollback},
	)
}

// testTxCommit runs without Transactions too: InTx must at least run fn
// and let it read its own writes.
func testTxCommit(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)

	var m repository.Member
	var g repository.Group
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		m, err = s.CreateMember(ctx, memberFixture(acct.ID, "tx@example.com"))
		if err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := s.GetMember(ctx, acct.ID, m.ID); err != nil {
			return err
		}
		g, err = s.CreateGroup(ctx, repository.Group{AccountID: acct.ID, ID: repository.NewID(), DisplayName: "Tx group",
			Members: []repository.GroupMember{{MemberID: m.ID}}})
		if err != nil {
			return err
		}
		if err := s.ReserveSeat(ctx, acct.ID, m.ID); err != nil {
			return err
		}
		_, err = s.UpdateAccount(ctx, acct.ID, func(a repository.Account) (repository.Account, error) {
			a.OwnerMemberID = m.ID
			return a, nil
		})
		return err
	})
	must(t, err, "InTx")
	_, err = s.GetMember(ctx, acct.ID, m.ID)
	must(t, err, "member written in a committed transaction")
	expectSeq(t, allGroupMembers(t, s, acct.ID, g.ID, 10), []string{m.ID}, "edges written in a committed transaction")
	expect(t, holdsSeat(t, s, acct.ID, m.ID), true, "seat reserved in a committed transaction")
	got, err := s.GetAccount(ctx, acct.ID)
	must(t, err, "get account")
	expect(t, got.OwnerMemberID, m.ID, "owner set in a committed transaction")

	t.Run("Nested", func(t *testing.T) {
		var inner, outer repository.Member
		err := s.InTx(ctx, func(ctx context.Context) error {
			err := s.InTx(ctx, func(ctx context.Context) error {
				var err error
				inner, err = s.CreateMember(ctx, memberFixture(acct.ID, "inner@example.com"))
				return err
			})
			if err != nil {
				return err
			}
			// The outer transaction sees the inner one's write.
			if _, err := s.GetMember(ctx, acct.ID, inner.ID); err != nil {
				return err
			}
			outer, err = s.CreateMember(ctx, memberFixture(acct.ID, "outer@example.com"))
			return err
		})
		must(t, err, "nested InTx")
		for _, id := range []string{inner.ID, outer.ID} {
			_, err := s.GetMember(ctx, acct.ID, id)
			must(t, err, "member written in a nested transaction")
		}
	})

	t.Run("ErrorReturned", func(t *testing.T) {
		stop := errors.New("stop")
		mustIs(t, s.InTx(ctx, func(context.Context) error { return stop }), stop, "InTx returns fn's error")
	})
}

// testTxRollback needs atomic transactions: an error from fn undoes every
// write fn made, nested ones included.
func testTxRollback(t *testing.T, c Config) {
	c.needs(t, Transactions)
	s := c.New(t)
	if !s.Transactional() {
		t.Fatal("Transactional() is false but Config.Lacks does not list Transactions")
	}
	ctx := t.Context()
	acct := newAccount(t, s)
	existing := newMember(t, s, acct.ID, "existing@example.com")
	grp := newGroup(t, s, acct.ID, "Existing group")
	stop := errors.New("rolled back on purpose")

	check := func(t *testing.T, userNames ...string) {
		t.Helper()
		for _, u := range userNames {
			_, err := s.GetMemberByUserName(ctx, acct.ID, u)
			mustIs(t, err, repository.ErrNotFound, "member %s written in a rolled-back transaction", u)
		}
		a, err := s.GetAccount(ctx, acct.ID)
		must(t, err, "get account")
		expect(t, a.Version, acct.Version, "account version after rollback")
		expect(t, a.OwnerMemberID, "", "owner after rollback")
		m, err := s.GetMember(ctx, acct.ID, existing.ID)
		must(t, err, "get existing member")
		expect(t, m.Title, "", "title of existing member after rollback")
		expect(t, m.Version, existing.Version, "version of existing member after rollback")
		expectSeq(t, allGroupMembers(t, s, acct.ID, grp.ID, 10), nil, "edges after rollback")
		expect(t, holdsSeat(t, s, acct.ID, existing.ID), false, "seat after rollback")
		expect(t, seatsInUse(t, s, acct.ID), 0, "seats in use after rollback")
		_, err = s.GetRole(ctx, acct.ID, "tx_role")
		mustIs(t, err, repository.ErrNotFound, "role written in a rolled-back transaction")
		g, err := s.GetGroup(ctx, acct.ID, grp.ID, false)
		must(t, err, "get group")
		expect(t, g.Version, grp.Version, "group version after rollback")
	}

	t.Run("ErrorFromFn", func(t *testing.T) {
		err := s.InTx(ctx, func(ctx context.Context) error {
			if _, err := s.CreateMember(ctx, memberFixture(acct.ID, "ghost@example.com")); err != nil {
				return err
			}
			if _, err := s.UpdateMember(ctx, acct.ID, existing.ID, func(m repository.Member) (repository.Member, error) {
				m.Title = "changed in tx"
				return m, nil
			}); err != nil {
				return err
			}
			if _, err := s.AddGroupMembers(ctx, acct.ID, grp.ID, []string{existing.ID}); err != nil {
				return err
			}
			if err := s.ReserveSeat(ctx, acct.ID, existing.ID); err != nil {
				return err
			}
			if _, err := s.CreateRole(ctx, repository.Role{AccountID: acct.ID, Key: "tx_role", DisplayName: "Tx"}); err != nil {
				return err
			}
			if _, err := s.UpdateAccount(ctx, acct.ID, func(a repository.Account) (repository.Account, error) {
				a.OwnerMemberID = existing.ID
				return a, nil
			}); err != nil {
				return err
			}
			return stop
		})
		mustIs(t, err, stop, "InTx whose fn fails")
		check(t, "ghost@example.com")
	})

	t.Run("ConflictInside", func(t *testing.T) {
		err := s.InTx(ctx, func(ctx context.Context) error {
			if _, err := s.CreateMember(ctx, memberFixture(acct.ID, "first-of-two@example.com")); err != nil {
				return err
			}
			_, err := s.CreateMember(ctx, memberFixture(acct.ID, "EXISTING@example.com"))
			return err
		})
		mustConflict(t, err, "userName", "InTx whose second create conflicts")
		check(t, "first-of-two@example.com")
	})

	t.Run("NestedJoinsOuter", func(t *testing.T) {
		err := s.InTx(ctx, func(ctx context.Context) error {
			err := s.InTx(ctx, func(ctx context.Context) error {
				_, err := s.CreateMember(ctx, memberFixture(acct.ID, "nested-inner@example.com"))
				return err
			})
			if err != nil {
				return err
			}
			if _, err := s.CreateMember(ctx, memberFixture(acct.ID, "nested-outer@example.com")); err != nil {
				return err
			}
			return stop
		})
		mustIs(t, err, stop, "outer InTx that fails after a nested one succeeded")
		check(t, "nested-inner@example.com", "nested-outer@example.com")
	})

	t.Run("StoreUsableAfterRollback", func(t *testing.T) {
		newMember(t, s, acct.ID, "after@example.com")
	})
}
