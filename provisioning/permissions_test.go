package provisioning

import (
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func TestOptionalPermissions(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	m := e.create("opt@perm.example", RoleAgent, RoleReporter)
	grant := func(actor Actor, gs ...repository.RolePermission) (repository.Member, error) {
		return e.update(actor, m.ID, func(m *repository.Member) { m.OptionalPermissions = gs })
	}
	rp := func(role, perm string) repository.RolePermission {
		return repository.RolePermission{Role: role, Permission: perm}
	}
	bad := []struct {
		name  string
		grant repository.RolePermission
		text  string
	}{
		{"role not held", rp(RoleSupervisor, PermOrdersManage), "needs the member to hold that role"},
		{"not optional for the role", rp(RoleAgent, PermReportsExport), "offers: conversations.dispense"},
		{"role without optional permissions", rp(RoleReporter, PermReportsExport), "has no optional permissions"},
		{"unknown role", rp("pilot", PermConversationsDispense), "unknown role"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := grant(e.admin, tc.grant)
			pe := wantCode(t, err, CodeInvalidValue)
			if pe.Attribute != "optionalPermissions" || !strings.Contains(pe.Message, tc.text) {
				t.Errorf("attribute %q message %q", pe.Attribute, pe.Message)
			}
		})
	}

	// Valid grants, deduplicated and sorted; the admin API edits them
	// (they are not SCIM attributes, so never IdP-managed).
	got, err := grant(e.admin, rp(RoleAgent, PermConversationsTransfer), rp(RoleAgent, PermConversationsDispense),
		rp(RoleAgent, PermConversationsTransfer))
	if err != nil {
		t.Fatal(err)
	}
	want := []repository.RolePermission{rp(RoleAgent, PermConversationsDispense), rp(RoleAgent, PermConversationsTransfer)}
	if !slices.Equal(got.OptionalPermissions, want) {
		t.Errorf("grants %v", got.OptionalPermissions)
	}
	eff, err := e.s.EffectivePermissions(e.ctx, e.id, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantPerms := []string{PermConversationsAnswer, PermConversationsDispense, PermConversationsTransfer, PermCRMView,
		PermOrdersView, PermReportsExport, PermReportsView, PermTemplatesManage}
	if !slices.Equal(eff.Permissions, wantPerms) || !slices.Equal(eff.Roles, []string{RoleAgent, RoleReporter}) ||
		!eff.Agent || eff.SeatStatus != repository.SeatAssigned || eff.MemberID != m.ID {
		t.Errorf("effective %+v\nwant permissions %v", eff, wantPerms)
	}

	// A role held through a group lets its optional permissions be
	// granted; removing the role drops its grants without an error (an
	// IdP pushing roles must not fail on them).
	g, err := e.s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Supervisors"}, []string{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetGroupRole(e.ctx, e.owner, e.id, g.ID, RoleSupervisor); err != nil {
		t.Fatal(err)
	}
	if _, err := grant(e.admin, append(want, rp(RoleSupervisor, PermOrdersManage))...); err != nil {
		t.Fatalf("grant through a group role: %v", err)
	}
	got, err = e.update(scimActor, m.ID, func(m *repository.Member) { m.Roles = []string{RoleReporter} })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.OptionalPermissions, []repository.RolePermission{rp(RoleSupervisor, PermOrdersManage)}) {
		t.Errorf("grants after the agent role went: %v", got.OptionalPermissions)
	}
	eff, err = e.s.EffectivePermissions(e.ctx, e.id, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(eff.Permissions, PermConversationsAnswer) || eff.Agent || !slices.Contains(eff.Permissions, PermOrdersManage) {
		t.Errorf("effective after the change: %+v", eff)
	}
}

func TestAuthorize(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	agent := e.create("agent@authz.example")
	other := newTestAccount(t, e.s, "Elsewhere")
	tests := []struct {
		name      string
		memberID  string
		perm      string
		accountID string
		text      string // "" means allowed
	}{
		{"agent answers", agent.ID, PermConversationsAnswer, e.id, ""},
		{"agent may not manage the team", agent.ID, PermTeamManage, e.id, "not granted"},
		{"admin manages the team", e.adminID, PermTeamManage, e.id, ""},
		{"admin does not answer", e.adminID, PermConversationsAnswer, e.id, "not granted"},
		{"only the owner deletes the account", e.adminID, PermAccountDelete, e.id, "only the account owner"},
		{"the owner deletes the account", e.acct.Owner.ID, PermAccountDelete, e.id, ""},
		{"unknown permission", e.adminID, "rockets.launch", e.id, "unknown permission"},
		{"a member of another account", other.Owner.ID, PermTeamManage, e.id, "not a member"},
		{"nobody", "ghost", PermTeamManage, e.id, "not a member"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.s.Authorize(e.ctx, tc.accountID, tc.memberID, tc.perm)
			if tc.text == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if pe := wantCode(t, err, CodeForbidden); !strings.Contains(pe.Message, tc.text) {
				t.Errorf("message %q", pe.Message)
			}
		})
	}
	if err := e.setActive(scimActor, agent.ID, false); err != nil {
		t.Fatal(err)
	}
	if pe := wantCode(t, e.s.Authorize(e.ctx, e.id, agent.ID, PermReportsView), CodeForbidden); !strings.Contains(pe.Message, "deactivated") {
		t.Errorf("message %q", pe.Message)
	}
	// Deactivation keeps the roles for a reactivation; the seat is gone.
	eff, err := e.s.EffectivePermissions(e.ctx, e.id, agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(eff.Roles, []string{RoleAgent}) || eff.Agent || eff.SeatStatus != repository.SeatNone {
		t.Errorf("deactivated agent: %+v", eff)
	}
	_, err = e.s.EffectivePermissions(e.ctx, e.id, other.Owner.ID)
	if pe := AsError(err); pe == nil || pe.Code != CodeNotFound {
		t.Errorf("another account's member: %v", err)
	}
}
