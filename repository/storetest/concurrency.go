package storetest

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"ConcurrentUpdates", testConcurrentUpdates},
		testCase{"ConcurrentGroupEdges", testConcurrentGroupEdges},
	)
}

// testConcurrentUpdates has 10 writers increment one member 20 times each
// through UpdateMember: the compare-and-swap must lose no increment.
func testConcurrentUpdates(t *testing.T, c Config) {
	c.needs(t, AtomicUpdates)
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	m := newMember(t, s, acct.ID, "counter@example.com", func(m *repository.Member) { m.Title = "0" })
	const writers, each = 10, 20

	fails := newFailures(writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				_, err := s.UpdateMember(ctx, acct.ID, m.ID, func(m repository.Member) (repository.Member, error) {
					n, err := strconv.Atoi(m.Title)
					if err != nil {
						return m, fmt.Errorf("title %q is not a number: %w", m.Title, err)
					}
					m.Title = strconv.Itoa(n + 1)
					return m, nil
				})
				if err != nil {
					fails.add("concurrent update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	fails.report(t)
	got, err := s.GetMember(ctx, acct.ID, m.ID)
	must(t, err, "get member")
	expect(t, got.Title, strconv.Itoa(writers*each), "counter after concurrent increments")
	expect(t, got.Version, int64(1+writers*each), "version after concurrent increments")

	// Accounts and groups use the same compare-and-swap.
	t.Run("Account", func(t *testing.T) {
		fails := newFailures(writers)
		for range writers {
			wg.Go(func() {
				for range each {
					_, err := s.UpdateAccount(ctx, acct.ID, func(a repository.Account) (repository.Account, error) {
						a.Seats.Total++
						return a, nil
					})
					if err != nil {
						fails.add("concurrent account update: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		fails.report(t)
		got, err := s.GetAccount(ctx, acct.ID)
		must(t, err, "get account")
		expect(t, got.Seats.Total, acct.Seats.Total+writers*each, "seat total after concurrent increments")
		expect(t, got.Version, acct.Version+writers*each, "account version after concurrent increments")
	})
}

// testConcurrentGroupEdges adds distinct members to one group at once:
// every edge lands. With AtomicUpdates, every add also bumps the version.
func testConcurrentGroupEdges(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	const n = 16
	var ids []string
	for i := range n {
		ids = append(ids, newMember(t, s, acct.ID, fmt.Sprintf("edge%02d@example.com", i)).ID)
	}
	g := newGroup(t, s, acct.ID, "Busy group")

	fails := newFailures(n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			added, err := s.AddGroupMembers(ctx, acct.ID, g.ID, []string{ids[i]})
			if err != nil {
				fails.add("concurrent add %d: %v", i, err)
			} else if added != 1 {
				fails.add("concurrent add %d: added %d, want 1", i, added)
			}
		})
	}
	wg.Wait()
	fails.report(t)
	expectSet(t, allGroupMembers(t, s, acct.ID, g.ID, 100), ids, "edges after concurrent adds")

	t.Run("Version", func(t *testing.T) {
		c.needs(t, AtomicUpdates)
		got, err := s.GetGroup(ctx, acct.ID, g.ID, false)
		must(t, err, "get group")
		expect(t, got.Version, g.Version+n, "group version after %d concurrent adds", n)
	})
}
