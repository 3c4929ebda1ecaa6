package provisioning

import (
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func TestTeamLeaderRule(t *testing.T) {
	e := newRuleEnv(t, 20, repository.SeatExhaustionQueue, true)
	lead := e.create("lead@tree.example", RoleSupervisor)
	report := e.create("report@tree.example")
	setManager := func(actor Actor, id, ref string) (repository.Member, error) {
		return e.update(actor, id, func(m *repository.Member) { m.ManagerID = ref })
	}

	// The admin API picks leaders among those who can manage teams.
	_, err := setManager(e.admin, report.ID, lead.ID)
	if pe := wantCode(t, err, CodeInvalidValue); pe.Attribute != "manager" || !strings.Contains(pe.Message, "turn on canManageTeams") {
		t.Errorf("attribute %q message %q", pe.Attribute, pe.Message)
	}
	if got := e.get(report.ID); got.ManagerID != "" {
		t.Errorf("a refused leader was written")
	}

	// SCIM pushes the org chart: the leader is made able to manage teams,
	// and that change is recorded.
	got, err := setManager(scimActor, report.ID, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ManagerID != lead.ID || !e.get(lead.ID).Profile.CanManageTeams {
		t.Errorf("manager %q, leader can manage teams %v", got.ManagerID, e.get(lead.ID).Profile.CanManageTeams)
	}
	page, err := e.store.ListAudit(e.ctx, e.id, repository.AuditQuery{TargetID: lead.ID, Action: "member.update", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || !strings.Contains(string(page.Items[0].Diff), `"CanManageTeams":true`) ||
		page.Items[0].ActorKind != repository.ActorSCIMToken {
		t.Errorf("leader change not recorded: %+v", page.Items)
	}

	// Now the admin API may use the leader too.
	other := e.create("other@tree.example")
	if _, err := setManager(e.admin, other.ID, lead.ID); err != nil {
		t.Fatal(err)
	}

	// A leader with reports keeps CanManageTeams, whatever the door.
	for _, a := range []Actor{scimActor, e.admin} {
		_, err := e.update(a, lead.ID, func(m *repository.Member) { m.Profile.CanManageTeams = false })
		if pe := wantCode(t, err, CodeInvalidValue); pe.Attribute != "canManageTeams" || !strings.Contains(pe.Message, "2 members report") {
			t.Errorf("attribute %q message %q", pe.Attribute, pe.Message)
		}
	}

	// A pending reference resolves when the leader arrives, and the
	// leader is made able to manage teams.
	waiting := e.create("waiting@tree.example")
	if _, err := setManager(scimActor, waiting.ID, "AD-BOSS"); err != nil {
		t.Fatal(err)
	}
	boss, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id, UserName: "boss@tree.example",
		ExternalID: "AD-BOSS", Active: true, Roles: []string{RoleAdministrator}})
	if err != nil {
		t.Fatal(err)
	}
	if !boss.Profile.CanManageTeams || e.get(waiting.ID).ManagerID != boss.ID {
		t.Errorf("pending leader: can manage %v, waiting's manager %q", boss.Profile.CanManageTeams, e.get(waiting.ID).ManagerID)
	}
	if boss.Version != e.get(boss.ID).Version {
		t.Errorf("CreateMember returned version %d, stored %d", boss.Version, e.get(boss.ID).Version)
	}
}

func TestReports(t *testing.T) {
	e := newRuleEnv(t, 20, repository.SeatExhaustionQueue, true)
	// ceo -> (vp1 -> (m1 -> (a1, a2)), vp2 -> (a3)); loner reports to nobody.
	mk := func(name, manager string) repository.Member {
		t.Helper()
		m, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id, UserName: name + "@org.example",
			Active: true, ManagerID: manager, Roles: []string{RoleReporter}})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return m
	}
	ceo := mk("ceo", "")
	vp1, vp2 := mk("vp1", ceo.ID), mk("vp2", ceo.ID)
	m1 := mk("m1", vp1.ID)
	mk("a1", m1.ID)
	mk("a2", m1.ID)
	a3 := mk("a3", vp2.ID)
	mk("loner", "")
	other := newTestAccount(t, e.s, "Other org")
	if _, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: other.Account.ID, UserName: "spy@org.example",
		Active: true, ManagerID: ceo.ID}); err != nil {
		t.Fatal(err)
	}
	ids := func(ms []repository.Member) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.UserName)
		}
		return out
	}
	tests := []struct {
		leader           string
		direct, indirect []string
	}{
		{ceo.ID, []string{"vp1@org.example", "vp2@org.example"}, []string{"m1@org.example", "a3@org.example", "a1@org.example", "a2@org.example"}},
		{vp1.ID, []string{"m1@org.example"}, []string{"a1@org.example", "a2@org.example"}},
		{m1.ID, []string{"a1@org.example", "a2@org.example"}, nil},
		{a3.ID, nil, nil},
	}
	for _, tc := range tests {
		direct, indirect, err := e.s.Reports(e.ctx, e.id, tc.leader)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(direct), tc.direct) || !slices.Equal(ids(indirect), tc.indirect) {
			t.Errorf("reports of %s: direct %v indirect %v, want %v %v", tc.leader, ids(direct), ids(indirect), tc.direct, tc.indirect)
		}
	}
	if _, _, err := e.s.Reports(e.ctx, other.Account.ID, ceo.ID); AsError(err) == nil || AsError(err).Code != CodeNotFound {
		t.Errorf("reports across accounts: %v", err)
	}
}
