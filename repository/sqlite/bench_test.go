package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/storetest"
)

// benchMembers is the account size the benchmarks run against.
const benchMembers = 100_000

// seedBench creates an account of n members (an email and a role each) in
// transactions of a few thousand inserts, and a group of its first half.
func seedBench(b testing.TB, n int) (*Store, string, []string, repository.Group) {
	b.Helper()
	s := newStore(b)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "bench", Seats: repository.SeatSettings{Total: n}})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 0, n)
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		err := s.InTx(ctx, func(ctx context.Context) error {
			for i := start; i < min(start+chunk, n); i++ {
				m, err := s.CreateMember(ctx, benchMember(a.ID, i))
				if err != nil {
					return err
				}
				ids = append(ids, m.ID)
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	g, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Half"})
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < n/2; start += chunk {
		if _, err := s.AddGroupMembers(ctx, a.ID, g.ID, ids[start:min(start+chunk, n/2)]); err != nil {
			b.Fatal(err)
		}
	}
	return s, a.ID, ids, g
}

func benchUserName(i int) string { return fmt.Sprintf("agent-%06d@example.com", i) }

func benchMember(accountID string, i int) repository.Member {
	un := benchUserName(i)
	return repository.Member{
		AccountID: accountID, UserName: un, ExternalID: fmt.Sprintf("okta-%d", i),
		DisplayName: fmt.Sprintf("Agent %06d", i),
		Name:        repository.Name{GivenName: "Agent", FamilyName: fmt.Sprintf("%06d", i)},
		Active:      true, Status: repository.StatusActive, Source: repository.SourceSCIM,
		Emails: []repository.Email{{Value: un, Type: "work", Primary: true}},
		Roles:  []string{"agent"},
	}
}

// BenchmarkStore measures the hot paths on one account of 100,000 members.
func BenchmarkStore(b *testing.B) {
	s, accountID, ids, half := seedBench(b, benchMembers)
	ctx := context.Background()
	// Seeding wrote every page, which empties the readers' page caches:
	// measure the steady state of a running server, not the first reads.
	for i := range 2000 {
		if _, err := s.GetMemberByUserName(ctx, accountID, benchUserName((i*7919)%benchMembers)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()

	// Lookups spread over the index (a prime stride), not one cached page.
	b.Run("GetMemberByUserName", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i + 7919) % benchMembers
			m, err := s.GetMemberByUserName(ctx, accountID, benchUserName(i))
			if err != nil || len(m.Emails) != 1 {
				b.Fatalf("get: %+v, %v", m, err)
			}
		}
	})
	b.Run("ListMembersUserNameEq", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i + 7919) % benchMembers
			p, err := s.ListMembers(ctx, accountID, repository.Query{
				Filter: repository.Compare{Field: repository.MemberUserName, Op: repository.OpEq, Value: benchUserName(i)},
				Count:  10,
			})
			if err != nil || len(p.Items) != 1 || p.Total != 1 {
				b.Fatalf("list: %d items, total %d, %v", len(p.Items), p.Total, err)
			}
		}
	})
	b.Run("ListMembersEmailEq", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i + 7919) % benchMembers
			p, err := s.ListMembers(ctx, accountID, repository.Query{
				Filter: repository.Compare{Field: repository.MemberEmailValue, Op: repository.OpEq, Value: benchUserName(i)},
				Count:  10,
			})
			if err != nil || len(p.Items) != 1 {
				b.Fatalf("list: %d items, %v", len(p.Items), err)
			}
		}
	})
	b.Run("ListMembersPage100", func(b *testing.B) {
		cursor := ""
		for b.Loop() {
			p, err := s.ListMembers(ctx, accountID, repository.Query{Count: 100, Cursor: cursor})
			if err != nil || len(p.Items) == 0 {
				b.Fatalf("page: %d items, %v", len(p.Items), err)
			}
			cursor = p.NextCursor
		}
	})
	b.Run("GroupsOfMembers100", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.GroupsOfMembers(ctx, accountID, ids[:100]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateMember", func(b *testing.B) {
		i := benchMembers
		for b.Loop() {
			i++
			if _, err := s.CreateMember(ctx, benchMember(accountID, i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UpdateMember", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			_, err := s.UpdateMember(ctx, accountID, ids[i%len(ids)], func(m repository.Member) (repository.Member, error) {
				m.Title = fmt.Sprint(i)
				return m, nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	// Adding one edge costs the same for a 50,000-member group as for a
	// 2-member one.
	small, err := s.CreateGroup(ctx, repository.Group{AccountID: accountID, DisplayName: "Small",
		Members: []repository.GroupMember{{MemberID: ids[0]}, {MemberID: ids[1]}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, g := range []struct {
		name string
		id   string
	}{{"AddGroupMemberLargeGroup", half.ID}, {"AddGroupMemberSmallGroup", small.ID}} {
		b.Run(g.name, func(b *testing.B) {
			outside := ids[benchMembers/2:]
			next := 0
			for b.Loop() {
				if next == len(outside) {
					b.StopTimer()
					if _, err := s.RemoveGroupMembers(ctx, accountID, g.id, outside); err != nil {
						b.Fatal(err)
					}
					next = 0
					b.StartTimer()
				}
				if n, err := s.AddGroupMembers(ctx, accountID, g.id, outside[next:next+1]); err != nil || n != 1 {
					b.Fatalf("add: %d, %v", n, err)
				}
				next++
			}
			b.StopTimer()
			if _, err := s.RemoveGroupMembers(ctx, accountID, g.id, outside[:next]); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		})
	}
}

// BenchmarkContract runs the shared store benchmarks.
func BenchmarkContract(b *testing.B) {
	storetest.RunBenchmarks(b, storetest.Config{
		New: func(t testing.TB) repository.Store { return newStore(t) },
	})
}

func seedBenchT(t testing.TB, n int) (*Store, string, []string, repository.Group) {
	return seedBench(t, n)
}
