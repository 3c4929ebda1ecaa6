package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"GroupCRUD", testGroupCRUD},
		testCase{"GroupEdges", testGroupEdges},
		testCase{"MembersWithGroups", testMembersWithGroups},
	)
}

// testMembersWithGroups: ListMembers with Query.WithGroups fills each
// member's Groups exactly as GroupsOfMembers tells them, on every kind of
// page (an eq on a unique field, sorted, in creation order, continued by
// cursor); without it Groups stays nil; another account's groups never
// show.
func testMembersWithGroups(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	other := newAccount(t, s)
	m1 := newMember(t, s, acct.ID, "m1@example.com")
	m2 := newMember(t, s, acct.ID, "m2@example.com")
	m3 := newMember(t, s, acct.ID, "m3@example.com")
	b := newGroup(t, s, acct.ID, "Beta", m1.ID)
	a := newGroup(t, s, acct.ID, "alpha", m1.ID, m2.ID)
	newGroup(t, s, other.ID, "Other", newMember(t, s, other.ID, "m1@example.com").ID)
	want := map[string][]repository.GroupRef{
		m1.ID: {{GroupID: a.ID, DisplayName: "alpha"}, {GroupID: b.ID, DisplayName: "Beta"}},
		m2.ID: {{GroupID: a.ID, DisplayName: "alpha"}},
		m3.ID: nil,
	}
	refs, err := s.GroupsOfMembers(ctx, acct.ID, []string{m1.ID, m2.ID, m3.ID})
	must(t, err, "groups of members")
	for id, w := range want {
		expectSame(t, nilIfNone(refs[id]), w, "GroupsOfMembers of %s", id)
	}

	check := func(name string, q repository.Query, ids ...string) string {
		t.Helper()
		q.WithGroups = true
		p, err := s.ListMembers(ctx, acct.ID, q)
		must(t, err, "%s", name)
		var got []string
		for _, m := range p.Items {
			got = append(got, m.ID)
			expectSame(t, nilIfNone(m.Groups), want[m.ID], "%s: groups of %s", name, m.UserName)
		}
		expectSeq(t, got, ids, "%s: members", name)
		q.WithGroups = false
		p, err = s.ListMembers(ctx, acct.ID, q)
		must(t, err, "%s without groups", name)
		for _, m := range p.Items {
			expect(t, len(m.Groups), 0, "%s without groups: groups of %s", name, m.UserName)
		}
		return p.NextCursor
	}
	check("eq on userName", repository.Query{Count: 10,
		Filter: repository.Compare{Field: repository.MemberUserName, Op: repository.OpEq, Value: "M1@example.com"}}, m1.ID)
	check("sorted", repository.Query{Count: 10, SortBy: repository.MemberUserName, SortDesc: true}, m3.ID, m2.ID, m1.ID)
	next := check("first page", repository.Query{Count: 2}, m1.ID, m2.ID)
	check("next page", repository.Query{Count: 2, Cursor: next}, m3.ID)

	// Membership read at the time of the list: m2 leaves alpha, and Beta
	// goes with m1's edge to it.
	_, err = s.RemoveGroupMembers(ctx, acct.ID, a.ID, []string{m2.ID})
	must(t, err, "remove m2 from alpha")
	must(t, s.DeleteGroup(ctx, acct.ID, b.ID), "delete Beta")
	want[m1.ID], want[m2.ID] = want[m1.ID][:1], nil
	check("after the changes", repository.Query{Count: 10}, m1.ID, m2.ID, m3.ID)
}

// nilIfNone is refs, or nil when empty, so that "no groups" compares
// equal whichever way a store says it.
func nilIfNone(refs []repository.GroupRef) []repository.GroupRef {
	if len(refs) == 0 {
		return nil
	}
	return refs
}

func testGroupCRUD(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	m1 := newMember(t, s, acct.ID, "m1@example.com")
	m2 := newMember(t, s, acct.ID, "m2@example.com")

	t.Run("WithMembers", func(t *testing.T) {
		want := repository.Group{
			AccountID:   acct.ID,
			ID:          repository.NewID(),
			DisplayName: "Tier 1",
			ExternalID:  "okta-grp-1",
			RoleKey:     "agent",
			Source:      repository.SourceSCIM,
			Members:     []repository.GroupMember{{MemberID: m2.ID}, {MemberID: m1.ID}},
		}
		created, err := s.CreateGroup(ctx, want)
		must(t, err, "create group with members")
		expect(t, created.Version, int64(1), "version of a new group")
		expectRecent(t, created.CreatedAt, "new group CreatedAt")

		got, err := s.GetGroup(ctx, acct.ID, created.ID, false)
		must(t, err, "get group without members")
		expect(t, len(got.Members), 0, "members of a group read without members")
		plain := want
		plain.ID, plain.Meta, plain.Members = created.ID, created.Meta, nil
		expectSame(t, got, plain, "GetGroup without members")

		got, err = s.GetGroup(ctx, acct.ID, created.ID, true)
		must(t, err, "get group with members")
		expectSet(t, groupMemberIDs(got.Members), []string{m1.ID, m2.ID}, "members of a group read with members")
		got.Members = nil
		expectSame(t, got, plain, "GetGroup with members, attributes")

		expectSeq(t, groupsOf(t, s, acct.ID, m1.ID), []string{created.ID}, "groups of m1")
		refs, err := s.GroupsOfMembers(ctx, acct.ID, []string{m1.ID, m2.ID})
		must(t, err, "groups of two members")
		for _, id := range []string{m1.ID, m2.ID} {
			if len(refs[id]) != 1 || refs[id][0].GroupID != created.ID || refs[id][0].DisplayName != "Tier 1" {
				t.Errorf("groups of member %s: got %+v, want [{%s Tier 1}]", id, refs[id], created.ID)
			}
		}
	})

	t.Run("WithoutMembers", func(t *testing.T) {
		g := newGroup(t, s, acct.ID, "Empty")
		got, err := s.GetGroup(ctx, acct.ID, g.ID, true)
		must(t, err, "get empty group with members")
		expect(t, len(got.Members), 0, "members of an empty group")
		expectSeq(t, allGroupMembers(t, s, acct.ID, g.ID, 10), nil, "edges of an empty group")
	})

	t.Run("List", func(t *testing.T) {
		p, err := s.ListGroups(ctx, acct.ID, repository.Query{SortBy: repository.GroupDisplayName, Count: 10}, true)
		must(t, err, "list groups with members")
		expect(t, p.Total, 2, "total groups")
		if len(p.Items) != 2 {
			t.Fatalf("list groups: %d items, want 2", len(p.Items))
		}
		expect(t, p.Items[0].DisplayName, "Empty", "first group by displayName")
		expect(t, len(p.Items[0].Members), 0, "members of the empty group in a list")
		expectSet(t, groupMemberIDs(p.Items[1].Members), []string{m1.ID, m2.ID}, "members of Tier 1 in a list")

		p, err = s.ListGroups(ctx, acct.ID, repository.Query{SortBy: repository.GroupDisplayName, Count: 10}, false)
		must(t, err, "list groups without members")
		for _, g := range p.Items {
			expect(t, len(g.Members), 0, "members of %s listed without members", g.DisplayName)
		}
	})

	t.Run("UpdateKeepsEdges", func(t *testing.T) {
		g := newGroup(t, s, acct.ID, "Renamed later", m1.ID)
		updated, err := s.UpdateGroup(ctx, acct.ID, g.ID, func(g repository.Group) (repository.Group, error) {
			g.DisplayName = "Renamed"
			g.RoleKey = "supervisor"
			g.Members = nil // edges are not the update's business
			return g, nil
		})
		must(t, err, "update group")
		expect(t, updated.Version, g.Version+1, "group version after one update")
		got, err := s.GetGroup(ctx, acct.ID, g.ID, true)
		must(t, err, "get group")
		expect(t, got.DisplayName, "Renamed", "displayName after update")
		expect(t, got.RoleKey, "supervisor", "roleKey after update")
		expectSeq(t, groupMemberIDs(got.Members), []string{m1.ID}, "edges after updating the group's attributes")
		refs, err := s.GroupsOfMembers(ctx, acct.ID, []string{m1.ID})
		must(t, err, "groups of m1")
		found := false
		for _, r := range refs[m1.ID] {
			if r.GroupID == g.ID {
				found = true
				expect(t, r.DisplayName, "Renamed", "GroupRef.DisplayName after a rename")
			}
		}
		expect(t, found, true, "renamed group among m1's groups")

		stop := errors.New("read-only group")
		_, err = s.UpdateGroup(ctx, acct.ID, g.ID, func(g repository.Group) (repository.Group, error) {
			g.DisplayName = "never stored"
			return g, stop
		})
		mustIs(t, err, stop, "update group whose function fails")
		again, err := s.GetGroup(ctx, acct.ID, g.ID, false)
		must(t, err, "get group")
		expect(t, again.DisplayName, "Renamed", "displayName after an aborted update")
		expect(t, again.Version, updated.Version, "version after an aborted update")
	})

	t.Run("Delete", func(t *testing.T) {
		g := newGroup(t, s, acct.ID, "Short lived", m1.ID, m2.ID)
		must(t, s.DeleteGroup(ctx, acct.ID, g.ID), "delete group")
		_, err := s.GetGroup(ctx, acct.ID, g.ID, false)
		mustIs(t, err, repository.ErrNotFound, "get deleted group")
		mustIs(t, s.DeleteGroup(ctx, acct.ID, g.ID), repository.ErrNotFound, "delete group twice")
		if slices.Contains(groupsOf(t, s, acct.ID, m1.ID), g.ID) {
			t.Errorf("deleted group still among the groups of m1")
		}
		p := listMembers(t, s, acct.ID, repository.Query{
			Filter: repository.Compare{Field: repository.MemberGroupID, Op: repository.OpEq, Value: g.ID}, Count: 10,
		})
		expect(t, p.Total, 0, "members filtered by a deleted group")
		_, err = s.AddGroupMembers(ctx, acct.ID, g.ID, []string{m1.ID})
		mustIs(t, err, repository.ErrNotFound, "add members to a deleted group")
		// Its displayName is free again.
		newGroup(t, s, acct.ID, "SHORT LIVED")
	})

	t.Run("NotFound", func(t *testing.T) {
		id := repository.NewID()
		_, err := s.GetGroup(ctx, acct.ID, id, true)
		mustIs(t, err, repository.ErrNotFound, "get unknown group")
		_, err = s.UpdateGroup(ctx, acct.ID, id, func(g repository.Group) (repository.Group, error) {
			t.Error("update function called for an unknown group")
			return g, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update unknown group")
		_, err = s.RemoveGroupMembers(ctx, acct.ID, id, []string{m1.ID})
		mustIs(t, err, repository.ErrNotFound, "remove members from unknown group")
		mustIs(t, s.ReplaceGroupMembers(ctx, acct.ID, id, []string{m1.ID}), repository.ErrNotFound, "replace members of unknown group")
	})
}

// testGroupEdges covers Add, Remove, Replace and ListGroupMembers.
func testGroupEdges(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	var ids []string
	for i := range 6 {
		ids = append(ids, newMember(t, s, acct.ID, unique("edge")+"@example.com", func(m *repository.Member) {
			m.DisplayName = "Edge " + string(rune('A'+i))
		}).ID)
	}
	sorted := slices.Sorted(slices.Values(ids))
	g := newGroup(t, s, acct.ID, "Edges", ids[0])
	version := func() int64 {
		t.Helper()
		got, err := s.GetGroup(ctx, acct.ID, g.ID, false)
		must(t, err, "get group")
		return got.Version
	}

	t.Run("Add", func(t *testing.T) {
		v := version()
		n, err := s.AddGroupMembers(ctx, acct.ID, g.ID, []string{ids[1], ids[2], ids[0]})
		must(t, err, "add members")
		expect(t, n, 2, "edges added (one of three existed)")
		expect(t, version(), v+1, "group version after adding members")
		expectSet(t, allGroupMembers(t, s, acct.ID, g.ID, 100), ids[:3], "edges after add")

		n, err = s.AddGroupMembers(ctx, acct.ID, g.ID, []string{ids[1]})
		must(t, err, "add an existing member")
		expect(t, n, 0, "edges added for an existing member")
		expectSet(t, allGroupMembers(t, s, acct.ID, g.ID, 100), ids[:3], "edges after re-adding a member")

		_, err = s.AddGroupMembers(ctx, acct.ID, g.ID, []string{ids[3], repository.NewID()})
		mustIs(t, err, repository.ErrNotFound, "add an unknown member id")
		expectSet(t, allGroupMembers(t, s, acct.ID, g.ID, 100), ids[:3], "edges after a refused add (nothing added)")
	})

	t.Run("Remove", func(t *testing.T) {
		v := version()
		n, err := s.RemoveGroupMembers(ctx, acct.ID, g.ID, []string{ids[2], ids[5], repository.NewID()})
		must(t, err, "remove members")
		expect(t, n, 1, "edges removed (others were absent)")
		expect(t, version(), v+1, "group version after removing a member")
		expectSet(t, allGroupMembers(t, s, acct.ID, g.ID, 100), ids[:2], "edges after remove")
		_, err = s.GetMember(ctx, acct.ID, ids[2])
		must(t, err, "a member removed from a group still exists")
	})

	t.Run("Replace", func(t *testing.T) {
		v := version()
		must(t, s.ReplaceGroupMembers(ctx, acct.ID, g.ID, []string{ids[1], ids[3], ids[4]}), "replace members")
		expectSet(t, allGroupMembers(t, s, acct.ID, g.ID, 100), []string{ids[1], ids[3], ids[4]}, "edges after replace")
		if version() <= v {
			t.Errorf("group version did not grow with ReplaceGroupMembers")
		}
		expectSeq(t, groupsOf(t, s, acct.ID, ids[0]), nil, "groups of a member replaced out")

		err := s.ReplaceGroupMembers(ctx, acct.ID, g.ID, []string{ids[5], repository.NewID()})
		mustIs(t, err, repository.ErrNotFound, "replace with an unknown member id")
		expectSet(t, allGroupMembers(t, s, acct.ID, g.ID, 100), []string{ids[1], ids[3], ids[4]}, "edges after a refused replace")

		must(t, s.ReplaceGroupMembers(ctx, acct.ID, g.ID, nil), "replace with nobody")
		expectSeq(t, allGroupMembers(t, s, acct.ID, g.ID, 100), nil, "edges after replacing with nobody")
	})

	t.Run("ListGroupMembersPaging", func(t *testing.T) {
		must(t, s.ReplaceGroupMembers(ctx, acct.ID, g.ID, ids), "replace members")
		for _, limit := range []int{1, 2, 4, 6, 100} {
			expectSeq(t, allGroupMembers(t, s, acct.ID, g.ID, limit), sorted, "edges paged %d at a time", limit)
		}
		page, err := s.ListGroupMembers(ctx, acct.ID, g.ID, sorted[2], 2)
		must(t, err, "list after the third id")
		expectSeq(t, groupMemberIDs(page), sorted[3:5], "two edges after the third id")
		page, err = s.ListGroupMembers(ctx, acct.ID, g.ID, sorted[5], 10)
		must(t, err, "list after the last id")
		expect(t, len(page), 0, "edges after the last id")
	})
}
