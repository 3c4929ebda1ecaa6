package storetest

import (
	"fmt"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// RunBenchmarks measures the hot paths of a backend on an account of
// Config.BenchMembers members: the lookups every SCIM request makes and the
// writes an IdP push makes. It seeds one store once, outside the timers,
// and runs the sub-benchmarks against it:
//
//   - GetMemberByUserName: the SCIM "does this user exist" lookup.
//   - ListMembersUserNameEq: the same through the filter path
//     (filter=userName eq "…").
//   - CreateMember: one new member in a large account.
//   - AddGroupMember: one edge added to a group of BenchMembers/2 members;
//     DESIGN.md wants this to cost what it costs on a small group.
func RunBenchmarks(b *testing.B, c Config) {
	n := c.benchMembers()
	b.StopTimer()
	s := c.New(b)
	acct := newAccount(b, s, func(a *repository.Account) { a.Seats.Total = n })
	ids := seedMembers(b, s, acct.ID, "bench", n)
	// Half of the members are in the group; the other half are added by
	// AddGroupMember.
	group := newGroup(b, s, acct.ID, "Bench group")
	addEdges(b, s, acct.ID, group.ID, ids[:n/2])
	userName := func(i int) string { return fmt.Sprintf("bench-%06d@example.com", i%n) }
	b.StartTimer()

	b.Run("GetMemberByUserName", func(b *testing.B) {
		ctx := b.Context()
		i := 0
		for b.Loop() {
			// Every 7919th member (a prime), so lookups spread over the
			// index instead of hitting one cached page.
			i += 7919
			m, err := s.GetMemberByUserName(ctx, acct.ID, userName(i))
			if err != nil {
				b.Fatalf("get member by userName: %v", err)
			}
			if m.AccountID != acct.ID {
				b.Fatalf("member of account %s", m.AccountID)
			}
		}
	})

	b.Run("ListMembersUserNameEq", func(b *testing.B) {
		ctx := b.Context()
		i := 0
		for b.Loop() {
			i += 7919
			p, err := s.ListMembers(ctx, acct.ID, repository.Query{
				Filter: repository.Compare{Field: repository.MemberUserName, Op: repository.OpEq, Value: userName(i)},
				Count:  10,
			})
			if err != nil {
				b.Fatalf("list members: %v", err)
			}
			if len(p.Items) != 1 || p.Total != 1 {
				b.Fatalf("list members userName eq %s: %d items, total %d", userName(i), len(p.Items), p.Total)
			}
		}
	})

	b.Run("CreateMember", func(b *testing.B) {
		ctx := b.Context()
		prefix := unique("new")
		i := 0
		for b.Loop() {
			i++
			if _, err := s.CreateMember(ctx, memberFixture(acct.ID, fmt.Sprintf("%s-%d@example.com", prefix, i))); err != nil {
				b.Fatalf("create member: %v", err)
			}
		}
	})

	b.Run("AddGroupMember", func(b *testing.B) {
		ctx := b.Context()
		outside := ids[n/2:]
		next := 0
		for b.Loop() {
			if next == len(outside) {
				// Every outsider was added: take them out again, off the
				// clock, so each timed add is a new edge.
				b.StopTimer()
				for start := 0; start < len(outside); start += seedChunk {
					end := min(start+seedChunk, len(outside))
					if _, err := s.RemoveGroupMembers(ctx, acct.ID, group.ID, outside[start:end]); err != nil {
						b.Fatalf("reset group: %v", err)
					}
				}
				next = 0
				b.StartTimer()
			}
			added, err := s.AddGroupMembers(ctx, acct.ID, group.ID, []string{outside[next]})
			if err != nil {
				b.Fatalf("add group member: %v", err)
			}
			if added != 1 {
				b.Fatalf("add group member: %d edges added, want 1", added)
			}
			next++
		}
	})
}
