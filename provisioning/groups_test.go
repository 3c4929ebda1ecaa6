package provisioning

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func TestGroups(t *testing.T) {
	ctx := context.Background()
	s, store, _ := openSQLiteService(t)
	acct := newTestAccount(t, s, "Teams")
	other := newTestAccount(t, s, "Others")
	accountID := acct.Account.ID
	var ids []string
	for _, u := range []string{"a", "b", "c"} {
		m, err := s.CreateMember(ctx, scimActor, repository.Member{AccountID: accountID, UserName: u + "@teams.example", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	foreign := other.Owner.ID
	members := func(id string) []string {
		t.Helper()
		g, err := store.GetGroup(ctx, accountID, id, true)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range g.Members {
			out = append(out, m.MemberID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(v ...string) []string { slices.Sort(v); return v }

	g, err := s.CreateGroup(ctx, scimActor, repository.Group{AccountID: accountID, DisplayName: " Tier 1 ", ExternalID: "T1"},
		[]string{ids[0], ids[1], ids[0], ""})
	if err != nil {
		t.Fatal(err)
	}
	if g.DisplayName != "Tier 1" || g.Source != repository.SourceSCIM || g.Version != 1 {
		t.Errorf("group %+v", g)
	}
	if got := members(g.ID); !slices.Equal(got, sorted(ids[0], ids[1])) {
		t.Errorf("members %v", got)
	}

	t.Run("create with an unknown or foreign member creates nothing", func(t *testing.T) {
		_, err := s.CreateGroup(ctx, scimActor, repository.Group{AccountID: accountID, DisplayName: "Bad"}, []string{ids[0], foreign, "ghost"})
		e := wantCode(t, err, CodeInvalidValue)
		if !strings.Contains(e.Message, foreign) || !strings.Contains(e.Message, "ghost") || strings.Contains(e.Message, ids[0]) {
			t.Errorf("message %q", e.Message)
		}
		page, err := store.ListGroups(ctx, accountID, repository.Query{Count: 10}, false)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 1 {
			t.Errorf("%d groups", page.Total)
		}
	})

	steps := []struct {
		name string
		ch   GroupChange
		want []string
		code Code
	}{
		{"add one, re-add one", GroupChange{Members: []MembershipChange{{MembersAdd, []string{ids[2], ids[0]}}}}, sorted(ids...), ""},
		{"remove absent and present", GroupChange{Members: []MembershipChange{{MembersRemove, []string{"ghost", ids[1]}}}}, sorted(ids[0], ids[2]), ""},
		{"replace", GroupChange{Members: []MembershipChange{{MembersReplace, []string{ids[1]}}}}, []string{ids[1]}, ""},
		{"ordered ops", GroupChange{Members: []MembershipChange{{MembersAdd, []string{ids[0]}}, {MembersRemove, []string{ids[1]}}}}, []string{ids[0]}, ""},
		{"foreign add fails whole", GroupChange{
			Update:  func(g repository.Group) (repository.Group, error) { g.DisplayName = "Renamed"; return g, nil },
			Members: []MembershipChange{{MembersAdd, []string{ids[1]}}, {MembersAdd, []string{foreign}}},
		}, []string{ids[0]}, CodeInvalidValue},
		{"foreign replace fails", GroupChange{Members: []MembershipChange{{MembersReplace, []string{foreign}}}}, []string{ids[0]}, CodeInvalidValue},
		{"stale If-Match", GroupChange{IfVersion: IfVersion{1}, Members: []MembershipChange{{MembersAdd, []string{ids[1]}}}}, []string{ids[0]}, CodeVersionMismatch},
		{"empty name", GroupChange{Update: func(g repository.Group) (repository.Group, error) { g.DisplayName = ""; return g, nil }}, []string{ids[0]}, CodeInvalidValue},
		{"remove all", GroupChange{Members: []MembershipChange{{MembersReplace, nil}}}, nil, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before, err := store.GetGroup(ctx, accountID, g.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			after, err := s.ChangeGroup(ctx, scimActor, accountID, g.ID, st.ch)
			if st.code != "" {
				wantCode(t, err, st.code)
				now, _ := store.GetGroup(ctx, accountID, g.ID, false)
				if now.Version != before.Version || now.DisplayName != before.DisplayName {
					t.Errorf("a failed change changed the group: %+v", now)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if after.Version <= before.Version {
				t.Errorf("version %d -> %d", before.Version, after.Version)
			}
			if got := members(g.ID); !slices.Equal(got, st.want) {
				t.Errorf("members %v, want %v", got, st.want)
			}
		})
	}

	if err := s.DeleteGroup(ctx, scimActor, accountID, g.ID, IfVersion{1}); err == nil {
		t.Error("delete with a stale If-Match succeeded")
	}
	if err := s.DeleteGroup(ctx, scimActor, accountID, g.ID, nil); err != nil {
		t.Fatal(err)
	}
	events, err := store.ListAudit(ctx, accountID, repository.AuditQuery{TargetID: g.ID, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events.Items {
		actions = append(actions, e.Action)
	}
	slices.Reverse(actions)
	want := []string{"group.create", "group.members.add", "group.members.remove", "group.members.replace",
		"group.members.add", "group.members.remove", "group.members.replace", "group.delete"}
	if !slices.Equal(actions, want) {
		t.Errorf("actions %v\nwant    %v", actions, want)
	}
}
