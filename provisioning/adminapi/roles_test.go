package adminapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/provisioning"
)

func TestRoles(t *testing.T) {
	e := newEnv(t)
	list := decodeAs[List[Role]](t, e.as(e.owner, http.MethodGet, "/roles", nil), http.StatusOK)
	if len(list.Items) != len(provisioning.BuiltInRoles("")) || !list.Items[0].BuiltIn {
		t.Errorf("roles = %+v", list.Items)
	}
	perms := decodeAs[List[Permission]](t, e.as(e.owner, http.MethodGet, "/permissions", nil), http.StatusOK)
	if len(perms.Items) != len(provisioning.Permissions()) || perms.Items[0].Description == "" {
		t.Errorf("permissions = %+v", perms.Items)
	}

	rec := e.as(e.owner, http.MethodPost, "/roles", map[string]any{
		"key": "team_lead", "displayName": "Team lead", "description": "Leads a team",
		"permissions":         []string{provisioning.PermConversationsAnswer, provisioning.PermConversationsViewAll},
		"optionalPermissions": []string{provisioning.PermReportsExport},
	})
	r := decodeAs[Role](t, rec, http.StatusCreated)
	if r.Key != "team_lead" || !r.ConsumesSeat || r.BuiltIn || r.Version != 1 ||
		!slices.Equal(r.OptionalPermissions, []string{provisioning.PermReportsExport}) {
		t.Errorf("created = %+v", r)
	}
	if rec.Header().Get("Location") != "/api/v1/roles/team_lead" || rec.Header().Get("ETag") != `W/"1"` {
		t.Errorf("headers = %v", rec.Header())
	}
	got := decodeAs[Role](t, e.as(e.owner, http.MethodGet, "/roles/team_lead", nil), http.StatusOK)
	if got.DisplayName != "Team lead" {
		t.Errorf("GET = %+v", got)
	}

	rec = e.do(req{method: http.MethodPatch, path: "/roles/team_lead", token: e.owner, header: map[string]string{"If-Match": `W/"1"`},
		body: `{"displayName":"Team leader","description":null,"permissions":["conversations.view_all"]}`})
	got = decodeAs[Role](t, rec, http.StatusOK)
	if got.DisplayName != "Team leader" || got.Description != "" || got.ConsumesSeat || got.Version != 2 {
		t.Errorf("patched = %+v", got)
	}
	wantProblem(t, e.do(req{method: http.MethodPatch, path: "/roles/team_lead", token: e.owner,
		header: map[string]string{"If-Match": `W/"1"`}, body: `{"displayName":"Stale"}`}), http.StatusPreconditionFailed, "version_mismatch", "")

	bad := []struct {
		name, method, path, body string
		status                   int
		code, attr               string
	}{
		{"unknown permission", http.MethodPost, "/roles", `{"key":"x","displayName":"X","permissions":["coffee.make"]}`, 400, "invalid_value", "permissions"},
		{"bad key", http.MethodPost, "/roles", `{"key":"Has Spaces","displayName":"X"}`, 400, "invalid_value", "key"},
		{"taken key", http.MethodPost, "/roles", `{"key":"agent","displayName":"Another agent"}`, 409, "conflict", "key"},
		{"taken display name", http.MethodPost, "/roles", `{"key":"agent2","displayName":"AGENT"}`, 409, "conflict", "displayName"},
		{"read-only consumesSeat", http.MethodPost, "/roles", `{"key":"x","displayName":"X","consumesSeat":true}`, 400, "read_only", "consumesSeat"},
		{"wrong type", http.MethodPost, "/roles", `{"key":"x","displayName":"X","permissions":"reports.view"}`, 400, "invalid_type", "permissions"},
		{"key is read-only in a patch", http.MethodPatch, "/roles/team_lead", `{"key":"boss"}`, 400, "read_only", "key"},
		{"administrator's permissions", http.MethodPatch, "/roles/administrator", `{"permissions":["reports.view"]}`, 400, "invalid_value", "permissions"},
		{"unknown role", http.MethodPatch, "/roles/nope", `{"displayName":"X"}`, 404, "not_found", ""},
		{"delete administrator", http.MethodDelete, "/roles/administrator", "", 400, "invalid_value", "key"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before, audits := decodeAs[List[Role]](t, e.as(e.owner, http.MethodGet, "/roles", nil), http.StatusOK), e.auditCount()
			var body any
			if tc.body != "" {
				body = tc.body
			}
			wantProblem(t, e.as(e.owner, tc.method, tc.path, body), tc.status, tc.code, tc.attr)
			after := decodeAs[List[Role]](t, e.as(e.owner, http.MethodGet, "/roles", nil), http.StatusOK)
			if fmt.Sprint(after) != fmt.Sprint(before) || e.auditCount() != audits {
				t.Error("roles changed")
			}
		})
	}

	t.Run("delete is refused while held", func(t *testing.T) {
		m := e.member("tl@acme.example", "team_lead")
		p := wantProblem(t, e.as(e.owner, http.MethodDelete, "/roles/team_lead", nil), http.StatusBadRequest, "invalid_value", "key")
		if !strings.Contains(p.Detail, "held by 1 member") {
			t.Errorf("detail %q does not count the holders", p.Detail)
		}
		decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+m.ID, `{"roles":["reporter"]}`), http.StatusOK)
		expect(t, e.as(e.owner, http.MethodDelete, "/roles/team_lead", nil), http.StatusNoContent)
		wantProblem(t, e.as(e.owner, http.MethodGet, "/roles/team_lead", nil), http.StatusNotFound, "not_found", "")
	})
}
