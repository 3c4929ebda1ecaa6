package provisioning

import (
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func TestCustomRoles(t *testing.T) {
	e := newRuleEnv(t, 1, repository.SeatExhaustionQueue, true)
	lead := repository.Role{Key: " Team_Lead ", DisplayName: "Team lead", Description: "Leads a team",
		Permissions:         []string{PermReportsView, PermConversationsViewAll, PermReportsView},
		OptionalPermissions: []string{PermConversationsAssign}}
	created, err := e.s.CreateRole(e.ctx, e.admin, e.id, lead)
	if err != nil {
		t.Fatal(err)
	}
	if created.Key != "team_lead" || created.BuiltIn || created.ConsumesSeat ||
		!slices.Equal(created.Permissions, []string{PermConversationsViewAll, PermReportsView}) {
		t.Errorf("created %+v", created)
	}

	bad := []struct {
		name string
		role repository.Role
		code Code
		attr string
		text string
	}{
		{"no key", repository.Role{DisplayName: "X"}, CodeInvalidValue, "key", "needs a key"},
		{"bad key", repository.Role{Key: "team lead", DisplayName: "X"}, CodeInvalidValue, "key", "lower-case letters"},
		{"no name", repository.Role{Key: "x"}, CodeInvalidValue, "displayName", "display name"},
		{"unknown permission", repository.Role{Key: "x", DisplayName: "X", Permissions: []string{"rockets.launch"}}, CodeInvalidValue, "permissions", "rockets.launch"},
		{"optional agent capability", repository.Role{Key: "x", DisplayName: "X", OptionalPermissions: []string{PermConversationsAnswer}},
			CodeInvalidValue, "optionalPermissions", "agent seat"},
		{"optional already granted", repository.Role{Key: "x", DisplayName: "X", Permissions: []string{PermReportsView},
			OptionalPermissions: []string{PermReportsView}}, CodeInvalidValue, "optionalPermissions", "already"},
		{"key taken", repository.Role{Key: "TEAM_LEAD", DisplayName: "Other"}, CodeConflict, "key", "team_lead"},
		{"key equal to a display name", repository.Role{Key: "agent", DisplayName: "Other"}, CodeConflict, "key", "agent"},
		{"display name taken", repository.Role{Key: "x", DisplayName: "SUPERVISOR"}, CodeConflict, "displayName", "supervisor"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.CreateRole(e.ctx, e.admin, e.id, tc.role)
			pe := wantCode(t, err, tc.code)
			if pe.Attribute != tc.attr || !strings.Contains(pe.Message, tc.text) {
				t.Errorf("attribute %q message %q", pe.Attribute, pe.Message)
			}
		})
	}

	// Members hold custom roles by key or display name; several at once.
	m := e.create("lead@roles.example", "Team lead", RoleReporter)
	if !slices.Equal(m.Roles, []string{"team_lead", RoleReporter}) || m.SeatStatus != repository.SeatNone {
		t.Errorf("member %v %q", m.Roles, m.SeatStatus)
	}
	agent := e.create("agent@roles.example") // takes the only seat

	// Adding the agent capability makes the holders need seats: under
	// reject it is refused when they do not fit; under queue they queue.
	reject := repository.SeatExhaustionReject
	if _, err := e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Exhaustion: &reject}); err != nil {
		t.Fatal(err)
	}
	answer := func(r *repository.Role) error {
		r.Permissions = append(r.Permissions, PermConversationsAnswer)
		return nil
	}
	_, err = e.s.UpdateRole(e.ctx, e.admin, e.id, "team_lead", answer)
	if pe := wantCode(t, err, CodeSeatLimitReached); !strings.Contains(pe.Message, "1 of 1 agent seats in use") {
		t.Errorf("message %q", pe.Message)
	}
	queue := repository.SeatExhaustionQueue
	if _, err := e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Exhaustion: &queue}); err != nil {
		t.Fatal(err)
	}
	updated, err := e.s.UpdateRole(e.ctx, e.admin, e.id, "team_lead", answer)
	if err != nil {
		t.Fatal(err)
	}
	if !updated.ConsumesSeat || updated.Key != "team_lead" {
		t.Errorf("updated %+v", updated)
	}
	e.wantSeat(m.ID, repository.SeatQueued)
	// And taking it away gives the seats back.
	if _, err := e.s.UpdateRole(e.ctx, e.admin, e.id, "team_lead", func(r *repository.Role) error {
		r.Permissions = slices.DeleteFunc(r.Permissions, func(p string) bool { return p == PermConversationsAnswer })
		r.Key, r.BuiltIn = "renamed", true // ignored
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.wantSeat(m.ID, repository.SeatNone)
	e.wantSeat(agent.ID, repository.SeatAssigned)
	if r, err := e.store.GetRole(e.ctx, e.id, "team_lead"); err != nil || r.BuiltIn {
		t.Errorf("role after an update that tried to rename it: %+v %v", r, err)
	}

	// The administrator role stays what it is.
	_, err = e.s.UpdateRole(e.ctx, e.admin, e.id, RoleAdministrator, func(r *repository.Role) error {
		r.Permissions = []string{PermReportsView}
		return nil
	})
	wantCode(t, err, CodeInvalidValue)
	if _, err := e.s.UpdateRole(e.ctx, e.admin, e.id, RoleAdministrator, func(r *repository.Role) error {
		r.Description = "Runs the place"
		return nil
	}); err != nil {
		t.Errorf("describe the administrator role: %v", err)
	}

	// Deletion is refused while the role is used, naming how.
	refusals := []struct {
		key  string
		text string
	}{
		{RoleAdministrator, "the account owner holds it"},
		{RoleAgent, "default role"},
		{"team_lead", "held by 1 member:"},
	}
	for _, r := range refusals {
		err := e.s.DeleteRole(e.ctx, e.admin, e.id, r.key)
		if pe := wantCode(t, err, CodeInvalidValue); !strings.Contains(pe.Message, r.text) {
			t.Errorf("delete %s: message %q", r.key, pe.Message)
		}
	}
	if _, err := e.update(scimActor, m.ID, func(m *repository.Member) { m.Roles = []string{RoleReporter} }); err != nil {
		t.Fatal(err)
	}
	g, err := e.s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Leads"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetGroupRole(e.ctx, e.owner, e.id, g.ID, "team_lead"); err != nil {
		t.Fatal(err)
	}
	if pe := wantCode(t, e.s.DeleteRole(e.ctx, e.admin, e.id, "team_lead"), CodeInvalidValue); !strings.Contains(pe.Message, "given by 1 group") {
		t.Errorf("message %q", pe.Message)
	}
	if _, err := e.s.SetGroupRole(e.ctx, e.owner, e.id, g.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteRole(e.ctx, e.admin, e.id, "team_lead"); err != nil {
		t.Fatal(err)
	}
	roles, err := e.s.ListRoles(e.ctx, e.id)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(roles, func(r repository.Role) bool { return r.Key == "team_lead" }) || len(roles) != len(BuiltInRoles("")) {
		t.Errorf("roles after the deletion: %d", len(roles))
	}

	var actions []string
	for _, ev := range e.events("") {
		if strings.HasPrefix(ev.Action, "role.") {
			actions = append(actions, ev.Action)
			if ev.ActorID != e.adminID || ev.RequestID != "req-admin" || ev.TargetKind != "role" {
				t.Errorf("event %+v", ev)
			}
		}
	}
	want := []string{"role.create", "role.update", "role.update", "role.update", "role.delete"}
	if !slices.Equal(actions, want) {
		t.Errorf("role events %v, want %v", actions, want)
	}
}
