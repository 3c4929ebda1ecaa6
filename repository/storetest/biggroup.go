package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"BigGroup", testBigGroup})
}

// seedChunk is how many writes one seeding transaction holds: large enough
// to amortise commits, small enough not to make one huge transaction.
const seedChunk = 2000

// seedMembers creates n minimal members named prefix-000000@example.com …
// in transactions of seedChunk and returns their ids in creation order.
func seedMembers(tb testing.TB, s repository.Store, accountID, prefix string, n int) []string {
	tb.Helper()
	ids := make([]string, 0, n)
	for start := 0; start < n; start += seedChunk {
		end := min(start+seedChunk, n)
		err := s.InTx(tb.Context(), func(ctx context.Context) error {
			for i := start; i < end; i++ {
				userName := fmt.Sprintf("%s-%06d@example.com", prefix, i)
				m, err := s.CreateMember(ctx, repository.Member{
					AccountID:   accountID,
					ID:          repository.NewID(),
					UserName:    userName,
					DisplayName: fmt.Sprintf("Seeded %06d", i),
					Active:      true,
					Status:      repository.StatusActive,
					Source:      repository.SourceSCIM,
				})
				if err != nil {
					return fmt.Errorf("seed member %d: %w", i, err)
				}
				ids = append(ids, m.ID)
			}
			return nil
		})
		must(tb, err, "seed members %d to %d", start, end)
	}
	return ids
}

// addEdges adds memberIDs to a group in SCIM-sized batches.
func addEdges(tb testing.TB, s repository.Store, accountID, groupID string, memberIDs []string) {
	tb.Helper()
	for start := 0; start < len(memberIDs); start += seedChunk {
		end := min(start+seedChunk, len(memberIDs))
		n, err := s.AddGroupMembers(tb.Context(), accountID, groupID, memberIDs[start:end])
		must(tb, err, "seed edges %d to %d", start, end)
		if n != end-start {
			tb.Fatalf("seed edges %d to %d: %d added, want %d", start, end, n, end-start)
		}
	}
}

// testBigGroup checks that a group with Config.BigGroupSize edges behaves
// like a small one: one add or remove changes one edge, one version, and
// leaves the rest alone.
func testBigGroup(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	size := c.bigGroupSize()
	acct := newAccount(t, s)

	ids := seedMembers(t, s, acct.ID, "big", size+1)
	inGroup, extra := ids[:size], ids[size]
	g := newGroup(t, s, acct.ID, "Everyone")
	addEdges(t, s, acct.ID, g.ID, inGroup)
	base, err := s.GetGroup(ctx, acct.ID, g.ID, false)
	must(t, err, "get big group")

	count := func(what string) int {
		t.Helper()
		p := listMembers(t, s, acct.ID, repository.Query{
			Filter: repository.Compare{Field: repository.MemberGroupID, Op: repository.OpEq, Value: g.ID},
		})
		if len(p.Items) != 0 {
			t.Errorf("%s: Count 0 returned %d items", what, len(p.Items))
		}
		return p.Total
	}
	// spot checks members at both ends and in the middle.
	spots := []int{0, 1, size / 3, size / 2, size - 2, size - 1}
	spotCheck := func(what string, skip string) {
		t.Helper()
		var spotIDs []string
		for _, i := range spots {
			if ids[i] != skip {
				spotIDs = append(spotIDs, ids[i])
			}
		}
		refs, err := s.GroupsOfMembers(ctx, acct.ID, spotIDs)
		must(t, err, "%s: groups of %d members", what, len(spotIDs))
		for _, id := range spotIDs {
			found := false
			for _, r := range refs[id] {
				found = found || r.GroupID == g.ID
			}
			if !found {
				t.Errorf("%s: member %s lost its edge (groups: %+v)", what, id, refs[id])
			}
		}
	}
	expect(t, count("seeded"), size, "members in the big group after seeding")

	t.Run("AddOne", func(t *testing.T) {
		n, err := s.AddGroupMembers(ctx, acct.ID, g.ID, []string{extra})
		must(t, err, "add one member to the big group")
		expect(t, n, 1, "edges added")
		got, err := s.GetGroup(ctx, acct.ID, g.ID, false)
		must(t, err, "get big group")
		expect(t, got.Version, base.Version+1, "version after adding one member")
		expect(t, count("after add"), size+1, "members after adding one")
		spotCheck("after add", "")
		expectSeq(t, groupsOf(t, s, acct.ID, extra), []string{g.ID}, "groups of the added member")

		all := allGroupMembers(t, s, acct.ID, g.ID, 1000)
		expect(t, len(all), size+1, "edges paged through ListGroupMembers after add")
		if len(all) == size+1 {
			expectSeq(t, all, slices.Sorted(slices.Values(ids)), "every edge, in member id order, after add")
		}
	})

	t.Run("AddExisting", func(t *testing.T) {
		n, err := s.AddGroupMembers(ctx, acct.ID, g.ID, []string{ids[size/2]})
		must(t, err, "add a member already in the big group")
		expect(t, n, 0, "edges added for an existing member")
		expect(t, count("after re-add"), size+1, "members after re-adding one")
	})

	t.Run("RemoveOne", func(t *testing.T) {
		before, err := s.GetGroup(ctx, acct.ID, g.ID, false)
		must(t, err, "get big group")
		victim := ids[size/3+1]
		n, err := s.RemoveGroupMembers(ctx, acct.ID, g.ID, []string{victim})
		must(t, err, "remove one member from the big group")
		expect(t, n, 1, "edges removed")
		got, err := s.GetGroup(ctx, acct.ID, g.ID, false)
		must(t, err, "get big group")
		expect(t, got.Version, before.Version+1, "version after removing one member")
		expect(t, count("after remove"), size, "members after removing one")
		spotCheck("after remove", victim)
		expectSeq(t, groupsOf(t, s, acct.ID, victim), nil, "groups of the removed member")
		_, err = s.GetMember(ctx, acct.ID, victim)
		must(t, err, "the removed member still exists")

		all := allGroupMembers(t, s, acct.ID, g.ID, 1000)
		expect(t, len(all), size, "edges paged through ListGroupMembers after remove")
		if slices.Contains(all, victim) {
			t.Errorf("removed member still listed by ListGroupMembers")
		}

		// The member filter agrees with the edge list.
		p := listMembers(t, s, acct.ID, repository.Query{
			Filter: repository.And{
				repository.Compare{Field: repository.MemberGroupID, Op: repository.OpEq, Value: g.ID},
				repository.Compare{Field: repository.MemberUserName, Op: repository.OpSw, Value: "BIG-00000"},
			},
			Count: 100,
		})
		want := 0
		for i := range min(10, size+1) { // big-000000 … big-000009
			if ids[i] != victim {
				want++
			}
		}
		expect(t, p.Total, want, "members of the big group with userName starting big-00000")
	})
}
