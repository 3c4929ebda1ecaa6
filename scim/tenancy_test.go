package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestTenantIsolation runs every endpoint with account A's token against
// account B's resources: A never sees or changes them.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	bUser := e.createUser(e.b, map[string]any{"userName": "secret@globex.example", "externalId": "B-EXT", "displayName": "Globex Secret"})
	bGroup := e.createGroup(e.b, "Globex Team", bUser)
	aUser := e.createUser(e.a, user("mine@acme.example"))
	aGroup := e.createGroup(e.a, "Acme Team", aUser)
	snapshot := func() string {
		u := e.do(e.b, "GET", "/Users/"+bUser, nil).want(t, http.StatusOK)
		g := e.do(e.b, "GET", "/Groups/"+bGroup, nil).want(t, http.StatusOK)
		return string(u.raw) + string(g.raw)
	}
	before := snapshot()

	notFound := []struct{ method, path string }{
		{"GET", "/Users/" + bUser},
		{"PUT", "/Users/" + bUser},
		{"PATCH", "/Users/" + bUser},
		{"DELETE", "/Users/" + bUser},
		{"GET", "/Groups/" + bGroup},
		{"PUT", "/Groups/" + bGroup},
		{"PATCH", "/Groups/" + bGroup},
		{"DELETE", "/Groups/" + bGroup},
	}
	bodies := map[string]any{
		"PUT":   map[string]any{"userName": "stolen@acme.example", "displayName": "stolen"},
		"PATCH": patch(op("replace", "displayName", "stolen")),
	}
	for _, tc := range notFound {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			e.do(e.a, tc.method, tc.path, bodies[tc.method]).wantError(t, http.StatusNotFound, "")
		})
	}

	empty := []string{
		`/Users?filter=id eq "` + bUser + `"`,
		`/Users?filter=userName eq "secret@globex.example"`,
		`/Users?filter=externalId eq "B-EXT"`,
		`/Users?filter=displayName co "Globex"`,
		`/Users?filter=groups.value eq "` + bGroup + `"`,
		`/Groups?filter=id eq "` + bGroup + `"`,
		`/Groups?filter=members.value eq "` + bUser + `"`,
		`/Groups?filter=displayName eq "Globex Team"`,
	}
	for _, path := range empty {
		t.Run("GET "+path, func(t *testing.T) {
			r := e.do(e.a, "GET", path, nil).want(t, http.StatusOK)
			if r.get("totalResults") != 0.0 || strings.Contains(string(r.raw), "Globex") {
				t.Errorf("leak: %s", r.raw)
			}
		})
	}
	for _, path := range []string{"/.search", "/Users/.search", "/Groups/.search"} {
		t.Run("POST "+path, func(t *testing.T) {
			r := e.do(e.a, "POST", path, map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}}).want(t, http.StatusOK)
			if strings.Contains(string(r.raw), "Globex") || strings.Contains(string(r.raw), bUser) {
				t.Errorf("leak: %s", r.raw)
			}
		})
	}
	// Lists of A hold A's records only.
	all := e.do(e.a, "GET", "/Users", nil).want(t, http.StatusOK)
	if all.get("totalResults") != 2.0 || strings.Contains(string(all.raw), "globex") {
		t.Errorf("A's users: %s", all.raw)
	}

	// Member references into B are refused and change nothing.
	e.do(e.a, "PATCH", "/Groups/"+aGroup, patch(op("add", "members", []any{map[string]any{"value": bUser}}))).
		wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(e.a, "PUT", "/Groups/"+aGroup, map[string]any{"displayName": "Acme Team", "members": []any{map[string]any{"value": bUser}}}).
		wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(e.a, "POST", "/Groups", map[string]any{"displayName": "Sneaky", "members": []any{map[string]any{"value": bUser}}}).
		wantError(t, http.StatusBadRequest, "invalidValue")
	// Removing B's member from A's group touches nothing of B.
	e.do(e.a, "PATCH", "/Groups/"+aGroup, patch(op("remove", fmt.Sprintf(`members[value eq "%s"]`, bUser), nil))).
		want(t, http.StatusNoContent)
	// A manager reference to B's user stays unresolved.
	e.do(e.a, "PATCH", "/Users/"+aUser, patch(op("replace", urnEnterprise+":manager", bUser))).want(t, http.StatusOK)
	if m := e.member(e.a, aUser); m.ManagerID != "" {
		t.Errorf("manager resolved across accounts: %q", m.ManagerID)
	}
	// Bulk operations on B's resources fail one by one.
	r := e.do(e.a, "POST", "/Bulk", map[string]any{
		"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
		"Operations": []any{
			map[string]any{"method": "DELETE", "path": "/Users/" + bUser},
			map[string]any{"method": "PATCH", "path": "/Groups/" + bGroup, "data": patch(op("remove", "members", nil))},
			map[string]any{"method": "PATCH", "path": "/Groups/" + aGroup, "data": patch(op("add", "members", []any{map[string]any{"value": bUser}}))},
		},
	}).want(t, http.StatusOK)
	for i, want := range []string{"404", "404", "400"} {
		if got := r.str(fmt.Sprintf("Operations.%d.status", i)); got != want {
			t.Errorf("bulk op %d: status %s, want %s: %s", i, got, want, r.raw)
		}
	}

	if after := snapshot(); after != before {
		t.Errorf("account B changed:\n%s\n%s", before, after)
	}
	// B's user still lists only B's group.
	u := e.do(e.b, "GET", "/Users/"+bUser, nil).want(t, http.StatusOK)
	if u.str("groups.0.value") != bGroup || u.get("groups.1") != nil {
		t.Errorf("B's groups: %v", u.get("groups"))
	}
}
