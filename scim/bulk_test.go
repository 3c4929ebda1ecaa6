package scim_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func bulkReq(failOnErrors int, ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	b := map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": list}
	if failOnErrors > 0 {
		b["failOnErrors"] = failOnErrors
	}
	return b
}

func TestBulk(t *testing.T) {
	e := newEnv(t)
	existing := e.createUser(e.a, user("existing@acme.example"))
	existingTag := e.do(e.a, "GET", "/Users/"+existing, nil).header.Get("ETag")

	// The group comes first in the request but refers to users created
	// later: those POSTs run first. A PATCH path refers to a bulkId too.
	r := e.do(e.a, "POST", "/Bulk", bulkReq(0,
		map[string]any{"method": "POST", "path": "/Groups", "bulkId": "grp", "data": map[string]any{
			"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Bulk Team",
			"members": []any{map[string]any{"value": "bulkId:alice"}, map[string]any{"value": "bulkId:bob"}},
		}},
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "alice", "data": map[string]any{"userName": "alice@bulk.example"}},
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "bob", "data": map[string]any{
			"userName": "bob@bulk.example", urnEnterprise: map[string]any{"manager": map[string]any{"value": "bulkId:alice"}}}},
		map[string]any{"method": "PATCH", "path": "/Groups/bulkId:grp", "data": patch(
			op("remove", `members[value eq "bulkId:bob"]`, nil))},
		map[string]any{"method": "PUT", "path": "/Users/" + existing, "version": existingTag, "data": map[string]any{"userName": "existing@acme.example", "title": "Bulk"}},
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "dup", "data": map[string]any{"userName": "alice@bulk.example"}},
		map[string]any{"method": "DELETE", "path": "/Users/does-not-exist"},
	)).want(t, http.StatusOK)
	if r.str("schemas.0") != "urn:ietf:params:scim:api:messages:2.0:BulkResponse" {
		t.Errorf("schemas: %s", r.raw)
	}
	wantStatus := []string{"201", "201", "201", "204", "200", "409", "404"}
	for i, want := range wantStatus {
		if got := r.str(fmt.Sprintf("Operations.%d.status", i)); got != want {
			t.Errorf("op %d status %s, want %s", i, got, want)
		}
	}
	if r.str("Operations.0.bulkId") != "grp" || r.str("Operations.0.method") != "POST" ||
		!strings.HasPrefix(r.str("Operations.0.location"), baseURL+"/Groups/") || r.str("Operations.0.version") == "" {
		t.Errorf("op 0: %v", r.get("Operations.0"))
	}
	if r.str("Operations.5.response.scimType") != "uniqueness" || r.get("Operations.5.location") != nil {
		t.Errorf("failed POST: %v", r.get("Operations.5"))
	}
	if r.str("Operations.4.location") != baseURL+"/Users/"+existing {
		t.Errorf("PUT location: %v", r.get("Operations.4"))
	}
	gid := r.str("Operations.0.location")[strings.LastIndex(r.str("Operations.0.location"), "/")+1:]
	alice := r.str("Operations.1.location")[strings.LastIndex(r.str("Operations.1.location"), "/")+1:]
	bob := r.str("Operations.2.location")[strings.LastIndex(r.str("Operations.2.location"), "/")+1:]
	g := e.do(e.a, "GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
	if got := memberValues(g); !slices.Equal(got, []string{alice}) {
		t.Errorf("group members %v, want [%s]", got, alice)
	}
	if m := e.member(e.a, bob); m.ManagerID != alice {
		t.Errorf("bob's manager %q, want %q", m.ManagerID, alice)
	}
	if u := e.do(e.a, "GET", "/Users/"+existing, nil).want(t, http.StatusOK); u.str("title") != "Bulk" {
		t.Errorf("PUT in bulk: %s", u.raw)
	}
}

func TestBulkFailOnErrorsAndReferences(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.a, "POST", "/Bulk", bulkReq(2,
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "a", "data": map[string]any{"userName": true}},
		map[string]any{"method": "POST", "path": "/Groups", "bulkId": "g", "data": map[string]any{
			"displayName": "Refers to a failed POST", "members": []any{map[string]any{"value": "bulkId:a"}}}},
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "never", "data": map[string]any{"userName": "never@acme.example"}},
	)).want(t, http.StatusOK)
	ops := r.get("Operations").([]any)
	if len(ops) != 2 || r.str("Operations.0.status") != "400" || r.str("Operations.1.status") != "409" {
		t.Fatalf("failOnErrors=2 should stop after two errors: %s", r.raw)
	}
	if e.do(e.a, "GET", `/Users?filter=userName eq "never@acme.example"`, nil).get("totalResults") != 0.0 {
		t.Errorf("an operation after failOnErrors ran")
	}

	// Circular references and unknown bulkIds fail with 409.
	r = e.do(e.a, "POST", "/Bulk", bulkReq(0,
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "x", "data": map[string]any{
			"userName": "x@acme.example", urnEnterprise: map[string]any{"manager": "bulkId:y"}}},
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "y", "data": map[string]any{
			"userName": "y@acme.example", urnEnterprise: map[string]any{"manager": "bulkId:x"}}},
		map[string]any{"method": "PATCH", "path": "/Users/bulkId:nothing", "data": patch(op("replace", "title", "t"))},
	)).want(t, http.StatusOK)
	statuses := []string{r.str("Operations.0.status"), r.str("Operations.1.status"), r.str("Operations.2.status")}
	if statuses[2] != "409" || !slices.Contains(statuses[:2], "409") {
		t.Errorf("cycle / unknown bulkId: %v %s", statuses, r.raw)
	}
}

func TestBulkLimits(t *testing.T) {
	e := newEnv(t, func(o *scimOptions) { o.MaxOperations = 2; o.MaxPayloadBytes = 4096 })
	op1 := map[string]any{"method": "DELETE", "path": "/Users/x"}
	e.do(e.a, "POST", "/Bulk", bulkReq(0, op1, op1, op1)).wantError(t, http.StatusRequestEntityTooLarge, "")
	huge := map[string]any{"method": "POST", "path": "/Users", "bulkId": "h", "data": map[string]any{"userName": strings.Repeat("h", 5000)}}
	e.do(e.a, "POST", "/Bulk", bulkReq(0, huge)).wantError(t, http.StatusRequestEntityTooLarge, "")
	tests := []struct {
		name string
		body any
	}{
		{"no operations", bulkReq(0)},
		{"wrong schema", map[string]any{"schemas": []any{"urn:x"}, "Operations": []any{op1}}},
		{"bad method", bulkReq(0, map[string]any{"method": "GET", "path": "/Users"})},
		{"no path", bulkReq(0, map[string]any{"method": "DELETE"})},
		{"POST without data", bulkReq(0, map[string]any{"method": "POST", "path": "/Users", "bulkId": "q"})},
		{"duplicate bulkId", bulkReq(0,
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "q", "data": map[string]any{"userName": "q1@acme.example"}},
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "q", "data": map[string]any{"userName": "q2@acme.example"}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(e.a, "POST", "/Bulk", tc.body)
			if r.status != http.StatusBadRequest {
				t.Errorf("status %d: %s", r.status, r.raw)
			}
		})
	}
	// An operation on something that is not a resource fails on its own.
	r := e.do(e.a, "POST", "/Bulk", bulkReq(0, map[string]any{"method": "POST", "path": "/Bulk", "bulkId": "n", "data": map[string]any{}})).want(t, http.StatusOK)
	if r.str("Operations.0.status") != "400" {
		t.Errorf("nested bulk: %s", r.raw)
	}
}
