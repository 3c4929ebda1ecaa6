package mongo

import (
	"fmt"
	"testing"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/storetest"
)

// benchMembers is the account size of the benchmarks. 10,000 is realistic
// for the FerretDB test server, which scans the whole collection for every
// filter that is not on _id alone: there, lookups by userName grow with the
// account (they are index lookups on MongoDB), while lookups by id do not.
const benchMembers = 10_000

// BenchmarkStore measures the SCIM hot paths on one account of
// benchMembers members, seeded once with InsertMany.
func BenchmarkStore(b *testing.B) {
	s := newStore(b)
	ctx := b.Context()
	a := testAccount(b, s, benchMembers)
	userName := func(i int) string { return fmt.Sprintf("bench-%06d@example.com", i%benchMembers) }
	ids := make([]string, benchMembers)
	for start := 0; start < benchMembers; start += chunk {
		var docs []any
		for i := start; i < min(start+chunk, benchMembers); i++ {
			m := repository.Member{
				AccountID: a.ID, ID: repository.NewID(), UserName: userName(i), DisplayName: fmt.Sprintf("Member %d", i),
				Active: true, Status: repository.StatusActive, Source: repository.SourceSCIM,
				Emails: []repository.Email{{Value: userName(i), Type: "work", Primary: true}},
				Roles:  []string{"agent"},
				Meta:   repository.Meta{Version: 1, CreatedAt: now(), UpdatedAt: now()},
			}
			ids[i] = m.ID
			docs = append(docs, memberToDoc(m))
		}
		_, err := s.members.InsertMany(ctx, docs)
		mustNil(b, err, "seed members")
	}
	// A group holding half of the account, and a group of two.
	big, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Everyone"})
	mustNil(b, err, "create group")
	var edges []any
	for _, id := range ids[:benchMembers/2] {
		edges = append(edges, edgeDoc{ID: pairID(big.ID, id), AccountID: a.ID, GroupID: big.ID, MemberID: id})
	}
	_, err = s.edges.InsertMany(ctx, edges)
	mustNil(b, err, "seed edges")
	small, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Pair",
		Members: []repository.GroupMember{{MemberID: ids[0]}, {MemberID: ids[1]}}})
	mustNil(b, err, "create group")

	b.Run("GetMemberByUserName", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i += 7919 // a prime: spread the lookups over the account
			if _, err := s.GetMemberByUserName(ctx, a.ID, userName(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListMembersUserNameEq", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i += 7919
			p, err := s.ListMembers(ctx, a.ID, repository.Query{
				Filter: repository.Compare{Field: repository.MemberUserName, Op: repository.OpEq, Value: userName(i)},
				Count:  10,
			})
			if err != nil || p.Total != 1 {
				b.Fatalf("list: %v, total %d", err, p.Total)
			}
		}
	})
	b.Run("GetMember", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i += 7919
			if _, err := s.GetMember(ctx, a.ID, ids[i%benchMembers]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateMember", func(b *testing.B) {
		prefix := repository.NewID()
		i := 0
		for b.Loop() {
			i++
			if _, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: fmt.Sprintf("%s-%d@example.com", prefix, i)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Adding one member costs the same for a group of two and for a group
	// of benchMembers/2: one edge insert and one version bump.
	for _, g := range []struct {
		name string
		id   string
	}{{"AddGroupMember/group=2", small.ID}, {fmt.Sprintf("AddGroupMember/group=%d", benchMembers/2), big.ID}} {
		b.Run(g.name, func(b *testing.B) {
			outside := ids[benchMembers/2:]
			next := 0
			for b.Loop() {
				id := outside[next%len(outside)]
				next++
				if _, err := s.AddGroupMembers(ctx, a.ID, g.id, []string{id}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if _, err := s.RemoveGroupMembers(ctx, a.ID, g.id, []string{id}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkContract runs the contract suite's benchmarks (which seed
// through CreateMember, not InsertMany; 10,000 members on FerretDB).
func BenchmarkContract(b *testing.B) {
	storetest.RunBenchmarks(b, contractConfig(b))
}
