package provisioning

import (
	"regexp"
	"slices"
	"testing"
)

func TestPermissionCatalogue(t *testing.T) {
	keyForm := regexp.MustCompile(`^[a-z]+\.[a-z_]+$`)
	seen := map[string]bool{}
	for _, p := range Permissions() {
		if seen[p.Key] {
			t.Errorf("permission %q listed twice", p.Key)
		}
		seen[p.Key] = true
		if !keyForm.MatchString(p.Key) {
			t.Errorf("permission %q is not area.action", p.Key)
		}
		if p.Description == "" {
			t.Errorf("permission %q has no description", p.Key)
		}
		if !IsPermission(p.Key) {
			t.Errorf("IsPermission(%q) = false", p.Key)
		}
	}
	if IsPermission("conversations.fly") || IsPermission("") {
		t.Error("IsPermission accepts keys outside the catalogue")
	}
}

func TestBuiltInRoles(t *testing.T) {
	// The table is the seeds' decision record: which roles exist, which
	// use an agent seat, and which optional permissions each offers.
	want := []struct {
		key          string
		consumesSeat bool
		optional     []string
	}{
		{RoleAdministrator, false, nil},
		{RoleAgent, true, []string{PermConversationsDispense, PermConversationsTransfer, PermOrdersIndependent}},
		{RoleAnalyst, false, nil},
		{RoleBotTrainer, false, nil},
		{RoleContentManager, false, nil},
		{RoleDeveloper, false, nil},
		{RoleOrderPaymentAdmin, false, []string{PermOrdersIndependent, PermPaymentsReconcile, PermReportsPayments}},
		{RoleReporter, false, nil},
		{RoleStakeholder, true, nil},
		{RoleSupervisor, false, []string{PermOrdersManage, PermPaymentsReconcile, PermOrdersIndependent,
			PermReportsConversations, PermReportsPayments}},
	}
	roles := BuiltInRoles("acct-1")
	if len(roles) != len(want) {
		t.Fatalf("got %d roles, want %d", len(roles), len(want))
	}
	for i, w := range want {
		r := roles[i]
		if r.Key != w.key {
			t.Errorf("role %d is %q, want %q (roles are ordered by key)", i, r.Key, w.key)
			continue
		}
		if r.AccountID != "acct-1" || !r.BuiltIn || r.DisplayName == "" || r.Description == "" {
			t.Errorf("%s: account %q, built-in %v, display %q, description %q",
				r.Key, r.AccountID, r.BuiltIn, r.DisplayName, r.Description)
		}
		if r.ConsumesSeat != w.consumesSeat {
			t.Errorf("%s: ConsumesSeat = %v, want %v", r.Key, r.ConsumesSeat, w.consumesSeat)
		}
		if r.ConsumesSeat != slices.Contains(r.Permissions, PermConversationsAnswer) {
			t.Errorf("%s: ConsumesSeat disagrees with %s", r.Key, PermConversationsAnswer)
		}
		if !slices.Equal(r.OptionalPermissions, w.optional) && !(len(w.optional) == 0 && len(r.OptionalPermissions) == 0) {
			t.Errorf("%s: optional permissions = %q, want %q", r.Key, r.OptionalPermissions, w.optional)
		}
		if len(r.Permissions) == 0 {
			t.Errorf("%s grants nothing", r.Key)
		}
		for _, p := range append(slices.Clone(r.Permissions), r.OptionalPermissions...) {
			if !IsPermission(p) {
				t.Errorf("%s: %q is not in the catalogue", r.Key, p)
			}
		}
		for _, p := range r.OptionalPermissions {
			if slices.Contains(r.Permissions, p) {
				t.Errorf("%s: %q is both granted and optional", r.Key, p)
			}
			if p == PermConversationsAnswer {
				t.Errorf("%s: answering conversations must not be optional: it decides seat use", r.Key)
			}
		}
	}
}

func TestAdministratorHasEverythingButAnswering(t *testing.T) {
	var admin []string
	for _, r := range BuiltInRoles("a") {
		if r.Key == RoleAdministrator {
			admin = r.Permissions
		}
	}
	for _, p := range Permissions() {
		has := slices.Contains(admin, p.Key)
		if has == (p.Key == PermConversationsAnswer) {
			t.Errorf("administrator has %s = %v", p.Key, has)
		}
	}
}

func TestBuiltInRolesAreFreshCopies(t *testing.T) {
	first := BuiltInRoles("a")
	first[0].Permissions[0] = "changed"
	first[1].OptionalPermissions = append(first[1].OptionalPermissions, "changed")
	second := BuiltInRoles("a")
	if second[0].Permissions[0] == "changed" || slices.Contains(second[1].OptionalPermissions, "changed") {
		t.Error("changing one result of BuiltInRoles changed the next")
	}
	perms := Permissions()
	perms[0].Key = "changed"
	if Permissions()[0].Key == "changed" {
		t.Error("changing one result of Permissions changed the next")
	}
}
