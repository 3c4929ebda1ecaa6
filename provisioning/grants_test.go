package provisioning

import (
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// TestGrantRuleOnEveryWrite: an admin-API actor may give only roles and
// optional permissions whose permissions it holds, on every write that
// gives them: creating a member, changing one's roles or grants (its own
// too), creating a group mapped to a role, adding members to a mapped
// group, mapping a group to a role, and putting permissions into a role.
// What a write does not give is not checked.
func TestGrantRuleOnEveryWrite(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	for _, r := range []repository.Role{
		// A team lead manages the team but holds little else.
		{AccountID: e.id, Key: "team_lead", DisplayName: "Team lead", Permissions: []string{PermTeamManage, PermReportsView}},
		// A role the team lead may give, with an optional permission it may not.
		{AccountID: e.id, Key: "report_reader", DisplayName: "Report reader",
			Permissions: []string{PermReportsView}, OptionalPermissions: []string{PermReportsPayments}},
	} {
		if _, err := e.s.CreateRole(e.ctx, e.owner, e.id, r); err != nil {
			t.Fatal(err)
		}
	}
	lead := e.create("lead@grants.example", "team_lead")
	leadActor := Actor{Kind: repository.ActorMember, ID: lead.ID}
	other := e.create("other@grants.example", "report_reader")
	addRole := func(role string) func(*repository.Member) {
		return func(m *repository.Member) { m.Roles = append(m.Roles, role) }
	}
	wantRefused := func(t *testing.T, err error, attr, text string) {
		t.Helper()
		pe := wantCode(t, err, CodeForbidden)
		if pe.Attribute != attr || !strings.Contains(pe.Message, text) {
			t.Errorf("error %+v, want attribute %q and %q", pe, attr, text)
		}
	}
	rolesOf := func(id string) []string { return e.get(id).Roles }

	t.Run("update", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			id   string
			fn   func(*repository.Member)
		}{
			{"itself to administrator", lead.ID, addRole(RoleAdministrator)},
			{"a colleague to administrator", other.ID, addRole(RoleAdministrator)},
			{"a colleague to reporter (reports.export)", other.ID, addRole(RoleReporter)},
		} {
			before := rolesOf(tc.id)
			_, err := e.update(leadActor, tc.id, tc.fn)
			wantRefused(t, err, "roles", "you cannot grant the role")
			if got := rolesOf(tc.id); !slices.Equal(got, before) {
				t.Errorf("%s: roles %v after the refusal, want %v", tc.name, got, before)
			}
		}
		_, err := e.update(leadActor, other.ID, func(m *repository.Member) {
			m.OptionalPermissions = []repository.RolePermission{{Role: "report_reader", Permission: PermReportsPayments}}
		})
		wantRefused(t, err, "optionalPermissions", PermReportsPayments)

		// What the lead holds it may give; what it does not give is not
		// checked: it edits the administrator's title, and takes roles away.
		if _, err := e.update(leadActor, other.ID, addRole("team_lead")); err != nil {
			t.Fatalf("give a role the lead holds: %v", err)
		}
		if _, err := e.update(leadActor, e.adminID, func(m *repository.Member) { m.Title = "Head of support" }); err != nil {
			t.Fatalf("edit a more powerful colleague's title: %v", err)
		}
		if _, err := e.update(leadActor, other.ID, func(m *repository.Member) { m.Roles = []string{"report_reader"} }); err != nil {
			t.Fatalf("take a role away: %v", err)
		}
		// Identity providers and administrators holding the permissions are not limited.
		if _, err := e.update(scimActor, other.ID, addRole(RoleReporter)); err != nil {
			t.Fatalf("SCIM: %v", err)
		}
		if _, err := e.update(e.owner, other.ID, addRole(RoleSupervisor)); err != nil {
			t.Fatalf("owner: %v", err)
		}
	})

	t.Run("create", func(t *testing.T) {
		_, err := e.s.CreateMember(e.ctx, leadActor, repository.Member{AccountID: e.id, UserName: "new@grants.example",
			Active: true, Roles: []string{RoleAdministrator}})
		wantRefused(t, err, "roles", "administrator")
		if _, err := e.s.CreateMember(e.ctx, leadActor, repository.Member{AccountID: e.id, UserName: "reader@grants.example",
			Active: true, Roles: []string{"report_reader"}}); err != nil {
			t.Fatalf("create with a role the lead holds: %v", err)
		}
	})

	t.Run("groups", func(t *testing.T) {
		admins, err := e.s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Admins"}, []string{e.adminID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.SetGroupRole(e.ctx, e.owner, e.id, admins.ID, RoleAdministrator); err != nil {
			t.Fatal(err)
		}
		for _, op := range []MembershipOp{MembersAdd, MembersReplace} {
			_, err := e.s.ChangeGroup(e.ctx, leadActor, e.id, admins.ID, GroupChange{
				Members: []MembershipChange{{Op: op, MemberIDs: []string{lead.ID, e.adminID}}}})
			wantRefused(t, err, "roles", "administrator")
		}
		if eff, err := e.s.EffectivePermissions(e.ctx, e.id, lead.ID); err != nil || slices.Contains(eff.Roles, RoleAdministrator) {
			t.Errorf("the lead's roles after the refusals: %v (%v)", eff.Roles, err)
		}
		// Leaving a mapped group gives nothing.
		if _, err := e.s.ChangeGroup(e.ctx, leadActor, e.id, admins.ID, GroupChange{
			Members: []MembershipChange{{Op: MembersRemove, MemberIDs: []string{e.adminID}}}}); err != nil {
			t.Fatalf("remove from a mapped group: %v", err)
		}
		_, err = e.s.CreateGroup(e.ctx, leadActor, repository.Group{AccountID: e.id, DisplayName: "Shadow admins", RoleKey: RoleAdministrator}, nil)
		wantRefused(t, err, "roles", "administrator")

		readers, err := e.s.CreateGroup(e.ctx, leadActor, repository.Group{AccountID: e.id, DisplayName: "Readers", RoleKey: "report_reader"}, nil)
		if err != nil {
			t.Fatalf("create a group mapped to a role the lead holds: %v", err)
		}
		if _, err := e.s.ChangeGroup(e.ctx, leadActor, e.id, readers.ID, GroupChange{
			Members: []MembershipChange{{Op: MembersAdd, MemberIDs: []string{other.ID}}}}); err != nil {
			t.Fatalf("add to a group mapped to a role the lead holds: %v", err)
		}
	})

	t.Run("roles", func(t *testing.T) {
		if _, err := e.s.CreateRole(e.ctx, e.owner, e.id, repository.Role{AccountID: e.id, Key: "role_admin", DisplayName: "Role admin",
			Permissions: []string{PermRolesManage, PermReportsView}}); err != nil {
			t.Fatal(err)
		}
		ra := e.create("roles@grants.example", "role_admin")
		raActor := Actor{Kind: repository.ActorMember, ID: ra.ID}
		_, err := e.s.UpdateRole(e.ctx, raActor, e.id, "role_admin", func(r *repository.Role) error {
			r.Permissions = append(r.Permissions, PermSettingsManage)
			return nil
		})
		wantRefused(t, err, "permissions", PermSettingsManage)
		if r, err := e.store.GetRole(e.ctx, e.id, "role_admin"); err != nil || slices.Contains(r.Permissions, PermSettingsManage) {
			t.Errorf("role after the refusal: %v (%v)", r.Permissions, err)
		}
		_, err = e.s.CreateRole(e.ctx, raActor, e.id, repository.Role{AccountID: e.id, Key: "shadow", DisplayName: "Shadow",
			Permissions: []string{PermReportsView}, OptionalPermissions: []string{PermOrdersManage}})
		wantRefused(t, err, "optionalPermissions", PermOrdersManage)

		// The agent capability is a seat, not an authority.
		if _, err := e.s.CreateRole(e.ctx, raActor, e.id, repository.Role{AccountID: e.id, Key: "answering_reader", DisplayName: "Answering reader",
			Permissions: []string{PermReportsView, PermConversationsAnswer}}); err != nil {
			t.Fatalf("create a role of held permissions: %v", err)
		}
		if _, err := e.s.UpdateRole(e.ctx, raActor, e.id, "answering_reader", func(r *repository.Role) error {
			r.Permissions = []string{PermConversationsAnswer}
			return nil
		}); err != nil {
			t.Fatalf("take a permission out: %v", err)
		}

		g, err := e.s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Mapped later"}, []string{ra.ID})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.s.SetGroupRole(e.ctx, raActor, e.id, g.ID, RoleAdministrator)
		wantRefused(t, err, "roles", "administrator")
		if _, err := e.s.SetGroupRole(e.ctx, raActor, e.id, g.ID, "report_reader"); err != nil {
			t.Fatalf("map to a role of held permissions: %v", err)
		}
	})
}
