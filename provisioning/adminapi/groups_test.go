package adminapi

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

func TestGroups(t *testing.T) {
	e := newEnv(t)
	m1 := e.member("m1@acme.example", provisioning.RoleReporter)
	m2 := e.member("m2@acme.example", provisioning.RoleReporter)
	m3 := e.member("m3@acme.example", provisioning.RoleReporter)

	rec := e.as(e.owner, http.MethodPost, "/groups", map[string]any{"displayName": "Support", "memberIds": []string{m1.ID, m2.ID}})
	g := decodeAs[Group](t, rec, http.StatusCreated)
	if g.ID == "" || g.DisplayName != "Support" || g.Source != repository.SourceAdmin || g.ManagedByIdP {
		t.Errorf("created group = %+v", g)
	}
	if rec.Header().Get("Location") != "/api/v1/groups/"+g.ID || rec.Header().Get("ETag") == "" {
		t.Errorf("headers = %v", rec.Header())
	}
	if _, err := e.svc.CreateGroup(e.ctx, system, repository.Group{AccountID: e.acct.Account.ID, DisplayName: "Billing"}, nil); err != nil {
		t.Fatal(err)
	}

	list := decodeAs[Page[Group]](t, e.as(e.owner, http.MethodGet, "/groups?filter="+url.QueryEscape(`displayName sw "sup"`), nil), http.StatusOK)
	if list.Total != 1 || list.Items[0].ID != g.ID {
		t.Errorf("filtered groups = %+v", list)
	}
	list = decodeAs[Page[Group]](t, e.as(e.owner, http.MethodGet, "/groups?sortBy=displayName&filter="+url.QueryEscape(`members eq "`+m1.ID+`"`), nil), http.StatusOK)
	if list.Total != 1 || list.Items[0].ID != g.ID {
		t.Errorf("groups of m1 = %+v", list)
	}
	got := decodeAs[Group](t, e.as(e.owner, http.MethodGet, "/groups/"+g.ID, nil), http.StatusOK)
	if got.ID != g.ID || got.Version != g.Version {
		t.Errorf("GET = %+v", got)
	}

	renamed := decodeAs[Group](t, e.as(e.owner, http.MethodPatch, "/groups/"+g.ID, `{"displayName":"Support EMEA"}`), http.StatusOK)
	if renamed.DisplayName != "Support EMEA" || renamed.Version <= g.Version {
		t.Errorf("renamed = %+v", renamed)
	}
	decodeAs[Group](t, e.as(e.owner, http.MethodPost, "/groups/"+g.ID+"/members", map[string]any{"memberIds": []string{m3.ID, m1.ID}}), http.StatusOK)
	expect(t, e.as(e.owner, http.MethodDelete, "/groups/"+g.ID+"/members/"+m2.ID, nil), http.StatusNoContent)

	var ids []string
	path := "/groups/" + g.ID + "/members?count=1"
	for range 5 {
		page := decodeAs[GroupMembers](t, e.as(e.owner, http.MethodGet, path, nil), http.StatusOK)
		for _, gm := range page.Items {
			ids = append(ids, gm.MemberID)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/groups/" + g.ID + "/members?count=1&cursor=" + page.NextCursor
	}
	want := []string{m1.ID, m3.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("members = %v, want %v", ids, want)
	}

	t.Run("role mapping", func(t *testing.T) {
		rm := decodeAs[RoleMapping](t, e.as(e.owner, http.MethodPut, "/groups/"+g.ID+"/role-mapping", `{"roleKey":"analyst"}`), http.StatusOK)
		if rm.GroupID != g.ID || rm.RoleKey != provisioning.RoleAnalyst {
			t.Errorf("PUT = %+v", rm)
		}
		rm = decodeAs[RoleMapping](t, e.as(e.owner, http.MethodGet, "/groups/"+g.ID+"/role-mapping", nil), http.StatusOK)
		if rm.RoleKey != provisioning.RoleAnalyst {
			t.Errorf("GET = %+v", rm)
		}
		ep := decodeAs[EffectivePermissions](t, e.as(e.owner, http.MethodGet, "/members/"+m1.ID+"/permissions", nil), http.StatusOK)
		if !slices.Contains(ep.Roles, provisioning.RoleAnalyst) || !slices.Contains(ep.Permissions, provisioning.PermAnalyticsView) {
			t.Errorf("m1 through the mapping = %+v", ep)
		}
		before := e.mustGroup(g.ID)
		wantProblem(t, e.as(e.owner, http.MethodPut, "/groups/"+g.ID+"/role-mapping", `{"roleKey":"wizard"}`), http.StatusBadRequest, "invalid_value", "roleKey")
		wantProblem(t, e.as(e.owner, http.MethodPut, "/groups/"+g.ID+"/role-mapping", `{"roleKey":""}`), http.StatusBadRequest, "invalid_value", "roleKey")
		wantProblem(t, e.as(e.owner, http.MethodPut, "/groups/"+g.ID+"/role-mapping", `{"role":"agent"}`), http.StatusBadRequest, "unknown_field", "role")
		if after := e.mustGroup(g.ID); after.RoleKey != before.RoleKey || after.Version != before.Version {
			t.Errorf("group changed: %+v", after)
		}
		expect(t, e.as(e.owner, http.MethodDelete, "/groups/"+g.ID+"/role-mapping", nil), http.StatusNoContent)
		if got := e.mustGroup(g.ID); got.RoleKey != "" {
			t.Errorf("mapping after DELETE = %q", got.RoleKey)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		groups := func() int {
			p, _ := e.store.ListGroups(e.ctx, e.acct.Account.ID, repository.Query{}, false)
			return p.Total
		}
		n := groups()
		wantProblem(t, e.as(e.owner, http.MethodPost, "/groups", `{"displayName":"X","members":[]}`), http.StatusBadRequest, "unknown_field", "members")
		wantProblem(t, e.as(e.owner, http.MethodPost, "/groups", `{"displayName":"X","memberIds":"a"}`), http.StatusBadRequest, "invalid_type", "memberIds")
		wantProblem(t, e.as(e.owner, http.MethodPost, "/groups", `{"displayName":"X","memberIds":["nope"]}`), http.StatusBadRequest, "invalid_value", "memberIds")
		wantProblem(t, e.as(e.owner, http.MethodPost, "/groups", `{"displayName":"billing"}`), http.StatusConflict, "conflict", "displayName")
		wantProblem(t, e.as(e.owner, http.MethodPost, "/groups", `{"displayName":"X","roleKey":"agent"}`), http.StatusBadRequest, "read_only", "roleKey")
		if groups() != n {
			t.Error("a group was created")
		}
	})

	expect(t, e.as(e.owner, http.MethodDelete, "/groups/"+g.ID, nil), http.StatusNoContent)
	wantProblem(t, e.as(e.owner, http.MethodGet, "/groups/"+g.ID, nil), http.StatusNotFound, "not_found", "")
	if _, err := e.store.GetMember(e.ctx, e.acct.Account.ID, m1.ID); err != nil {
		t.Errorf("a member went with the group: %v", err)
	}
}

// TestSCIMGroupsAreReadOnly: a group an identity provider pushed through
// SCIM cannot be renamed, deleted or have its members changed here, but
// its role mapping can be set.
func TestSCIMGroupsAreReadOnly(t *testing.T) {
	e := newEnv(t)
	m := e.member("m@acme.example", provisioning.RoleReporter)
	scim := provisioning.Actor{Kind: repository.ActorSCIMToken, ID: "scim-token"}
	g, err := e.svc.CreateGroup(e.ctx, scim, repository.Group{AccountID: e.acct.Account.ID, DisplayName: "Okta: Support"}, []string{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeAs[Group](t, e.as(e.owner, http.MethodGet, "/groups/"+g.ID, nil), http.StatusOK)
	if got.Source != repository.SourceSCIM || !got.ManagedByIdP {
		t.Errorf("group = %+v", got)
	}
	writes := []struct {
		method, path, body, attr string
	}{
		{http.MethodPatch, "/groups/" + g.ID, `{"displayName":"Renamed"}`, "displayName"},
		{http.MethodDelete, "/groups/" + g.ID, "", ""},
		{http.MethodPost, "/groups/" + g.ID + "/members", `{"memberIds":["` + e.ownerID + `"]}`, "memberIds"},
		{http.MethodDelete, "/groups/" + g.ID + "/members/" + m.ID, "", "memberIds"},
	}
	for _, w := range writes {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			var body any
			if w.body != "" {
				body = w.body
			}
			wantProblem(t, e.as(e.owner, w.method, w.path, body), http.StatusConflict, "managed_by_idp", w.attr)
			after, err := e.store.GetGroup(e.ctx, e.acct.Account.ID, g.ID, true)
			if err != nil || after.DisplayName != g.DisplayName || after.Version != g.Version || len(after.Members) != 1 {
				t.Errorf("group changed: %+v, %v", after, err)
			}
		})
	}
	rm := decodeAs[RoleMapping](t, e.as(e.owner, http.MethodPut, "/groups/"+g.ID+"/role-mapping", `{"roleKey":"analyst"}`), http.StatusOK)
	if rm.RoleKey != provisioning.RoleAnalyst {
		t.Errorf("mapping = %+v", rm)
	}
}

// mustGroup reads a group of the account under test from the store.
func (e *env) mustGroup(id string) repository.Group {
	e.t.Helper()
	g, err := e.store.GetGroup(e.ctx, e.acct.Account.ID, id, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}
