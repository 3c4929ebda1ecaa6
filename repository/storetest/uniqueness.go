package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"Uniqueness", testUniqueness})
}

// caseVariant returns s with the letters whose bit is set in mask upper
// cased, so n callers get n spellings of one name.
func caseVariant(s string, mask int) string {
	b := []byte(s)
	bit := 0
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			if mask&(1<<bit) != 0 {
				b[i] = ch - 'a' + 'A'
			}
			bit++
		}
	}
	return string(b)
}

func testUniqueness(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)

	t.Run("ConcurrentUserName", func(t *testing.T) {
		// IdPs retry: the same person pushed by 20 requests at once, each
		// spelling the userName differently. One wins; no duplicates.
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.CreateMember(ctx, memberFixture(acct.ID, caseVariant("race.condition@example.com", i)))
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			var ce *repository.ConflictError
			switch {
			case err == nil:
				won++
			case errors.As(err, &ce) && ce.Attribute == "userName":
			default:
				t.Errorf("concurrent create %d: %v, want nil or ConflictError on userName", i, err)
			}
		}
		expect(t, won, 1, "concurrent creates of one userName that succeeded")
		p := listMembers(t, s, acct.ID, repository.Query{
			Filter: repository.Compare{Field: repository.MemberUserName, Op: repository.OpEq, Value: "race.condition@example.com"},
		})
		expect(t, p.Total, 1, "members stored with that userName")
	})

	t.Run("UserNameAnyCase", func(t *testing.T) {
		newMember(t, s, acct.ID, "Dup@Example.com")
		for _, name := range []string{"Dup@Example.com", "dup@example.com", "DUP@EXAMPLE.COM"} {
			_, err := s.CreateMember(ctx, memberFixture(acct.ID, name))
			mustConflict(t, err, "userName", "create %q next to Dup@Example.com", name)
		}
	})

	t.Run("ExternalID", func(t *testing.T) {
		first := memberFixture(acct.ID, "ext-one@example.com")
		first.ExternalID = "00u-okta-1"
		_, err := s.CreateMember(ctx, first)
		must(t, err, "create member with externalId")
		second := memberFixture(acct.ID, "ext-two@example.com")
		second.ExternalID = "00u-okta-1"
		_, err = s.CreateMember(ctx, second)
		mustConflict(t, err, "externalId", "create member with a taken externalId")
		// externalId is case-exact: another case is another id.
		second.ExternalID = "00U-OKTA-1"
		_, err = s.CreateMember(ctx, second)
		must(t, err, "create member whose externalId differs only in case")
	})

	t.Run("EmptyExternalIDRepeats", func(t *testing.T) {
		for i := range 5 {
			m := memberFixture(acct.ID, unique("no-ext")+"@example.com")
			m.ExternalID = ""
			_, err := s.CreateMember(ctx, m)
			must(t, err, "create member %d without externalId", i)
		}
	})

	t.Run("ConflictLeavesNothing", func(t *testing.T) {
		m := memberFixture(acct.ID, "DUP@example.com")
		m.ExternalID = unique("never-stored")
		_, err := s.CreateMember(ctx, m)
		mustConflict(t, err, "userName", "create a duplicate userName with a new externalId")
		p := listMembers(t, s, acct.ID, repository.Query{
			Filter: repository.Compare{Field: repository.MemberExternalID, Op: repository.OpEq, Value: m.ExternalID},
		})
		expect(t, p.Total, 0, "members stored by a refused create")
	})

	t.Run("ReusableAfterDelete", func(t *testing.T) {
		m := newMember(t, s, acct.ID, "reuse@example.com", func(m *repository.Member) { m.ExternalID = "reuse-ext" })
		must(t, s.DeleteMember(ctx, acct.ID, m.ID), "delete member")
		again := memberFixture(acct.ID, "REUSE@example.com")
		again.ExternalID = "reuse-ext"
		_, err := s.CreateMember(ctx, again)
		must(t, err, "create a member with a deleted member's userName and externalId")
	})

	t.Run("UpdateToTaken", func(t *testing.T) {
		newMember(t, s, acct.ID, "taken@example.com", func(m *repository.Member) { m.ExternalID = "taken-ext" })
		mover := newMember(t, s, acct.ID, "mover@example.com")
		_, err := s.UpdateMember(ctx, acct.ID, mover.ID, func(m repository.Member) (repository.Member, error) {
			m.UserName = "TAKEN@example.com"
			return m, nil
		})
		mustConflict(t, err, "userName", "update to a taken userName")
		_, err = s.UpdateMember(ctx, acct.ID, mover.ID, func(m repository.Member) (repository.Member, error) {
			m.ExternalID = "taken-ext"
			return m, nil
		})
		mustConflict(t, err, "externalId", "update to a taken externalId")
		got, err := s.GetMember(ctx, acct.ID, mover.ID)
		must(t, err, "get member")
		expect(t, got.UserName, "mover@example.com", "userName after refused updates")
		expect(t, got.ExternalID, "", "externalId after refused updates")
		expect(t, got.Version, mover.Version, "version after refused updates")
		_, err = s.GetMemberByUserName(ctx, acct.ID, "mover@example.com")
		must(t, err, "the old userName still finds the member")
	})

	t.Run("SameNamesInAnotherAccount", func(t *testing.T) {
		other := newAccount(t, s)
		m := memberFixture(other.ID, "DUP@EXAMPLE.COM")
		m.ExternalID = "00u-okta-1"
		_, err := s.CreateMember(ctx, m)
		must(t, err, "create a member whose userName and externalId exist in another account")
		g := repository.Group{AccountID: other.ID, ID: repository.NewID(), DisplayName: "Support", ExternalID: "grp-1"}
		_, err = s.CreateGroup(ctx, g)
		must(t, err, "create group in the other account")
		g.AccountID, g.ID = acct.ID, repository.NewID()
		_, err = s.CreateGroup(ctx, g)
		must(t, err, "create a group whose displayName and externalId exist in another account")
	})

	t.Run("GroupDisplayName", func(t *testing.T) {
		newGroup(t, s, acct.ID, "Billing Team")
		for _, name := range []string{"Billing Team", "billing team", "BILLING TEAM"} {
			_, err := s.CreateGroup(ctx, repository.Group{AccountID: acct.ID, ID: repository.NewID(), DisplayName: name})
			mustConflict(t, err, "displayName", "create group %q next to Billing Team", name)
		}
		other := newGroup(t, s, acct.ID, "Refunds Team")
		_, err := s.UpdateGroup(ctx, acct.ID, other.ID, func(g repository.Group) (repository.Group, error) {
			g.DisplayName = strings.ToUpper("Billing Team")
			return g, nil
		})
		mustConflict(t, err, "displayName", "rename a group to a taken displayName")
	})

	t.Run("GroupExternalID", func(t *testing.T) {
		_, err := s.CreateGroup(ctx, repository.Group{AccountID: acct.ID, ID: repository.NewID(), DisplayName: "G1", ExternalID: "okta-g"})
		must(t, err, "create group with externalId")
		_, err = s.CreateGroup(ctx, repository.Group{AccountID: acct.ID, ID: repository.NewID(), DisplayName: "G2", ExternalID: "okta-g"})
		mustConflict(t, err, "externalId", "create group with a taken externalId")
		for _, name := range []string{"G3", "G4"} {
			_, err = s.CreateGroup(ctx, repository.Group{AccountID: acct.ID, ID: repository.NewID(), DisplayName: name})
			must(t, err, "create group %s without externalId", name)
		}
	})
}
