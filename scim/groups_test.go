package scim_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
)

// memberValues returns the sorted member ids of a group response.
func memberValues(r result) []string {
	list, _ := r.get("members").([]any)
	var ids []string
	for _, m := range list {
		if obj, ok := m.(map[string]any); ok {
			ids = append(ids, fmt.Sprint(obj["value"]))
		}
	}
	sort.Strings(ids)
	return ids
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	return out
}

func TestGroupLifecycle(t *testing.T) {
	e := newEnv(t)
	u1 := e.createUser(e.a, user("u1@acme.example"))
	u2 := e.createUser(e.a, user("u2@acme.example"))
	u3 := e.createUser(e.a, user("u3@acme.example"))

	// Entra's create: extra schema URN, meta, null members.
	r := e.do(e.a, "POST", "/Groups", map[string]any{
		"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId":  "8aa1a0c0",
		"displayName": "Tier 1",
		"meta":        map[string]any{"resourceType": "Group"},
		"members":     []any{map[string]any{"value": u1, "$ref": nil}, map[string]any{"value": u2, "display": "u2"}},
	}).want(t, http.StatusCreated)
	gid := r.str("id")
	if r.header.Get("Location") != baseURL+"/Groups/"+gid || r.str("meta.location") != baseURL+"/Groups/"+gid {
		t.Errorf("Location %q meta.location %q", r.header.Get("Location"), r.str("meta.location"))
	}
	if got, want := memberValues(r), sorted(u1, u2); !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	if r.str("members.0.$ref") == "" || r.str("members.0.type") != "User" {
		t.Errorf("member rendering: %v", r.get("members"))
	}

	// The user's read-only groups attribute follows the edges.
	ur := e.do(e.a, "GET", "/Users/"+u1, nil).want(t, http.StatusOK)
	if ur.str("groups.0.value") != gid || ur.str("groups.0.display") != "Tier 1" {
		t.Errorf("user groups: %v", ur.get("groups"))
	}

	steps := []struct {
		name string
		ops  []map[string]any
		want []string
	}{
		{"Entra add", []map[string]any{op("Add", "members", []any{map[string]any{"$ref": nil, "value": u3}})}, sorted(u1, u2, u3)},
		{"re-add is not an error", []map[string]any{op("add", "members", []any{map[string]any{"value": u3}})}, sorted(u1, u2, u3)},
		{"Okta remove by filter", []map[string]any{op("remove", fmt.Sprintf(`members[value eq "%s"]`, u1), nil)}, sorted(u2, u3)},
		{"Entra remove by value list", []map[string]any{op("Remove", "members", []any{map[string]any{"value": u2}})}, sorted(u3)},
		{"several added in one op", []map[string]any{op("add", "members", []any{map[string]any{"value": u1}, map[string]any{"value": u2}})}, sorted(u1, u2, u3)},
		{"remove of a non-member is not an error", []map[string]any{op("remove", `members[value eq "nobody"]`, nil)}, sorted(u1, u2, u3)},
		{"remove two by or-filter", []map[string]any{op("remove", fmt.Sprintf(`members[value eq "%s" or value eq "%s"]`, u1, u3), nil)}, sorted(u2)},
		{"replace members", []map[string]any{op("replace", "members", []any{map[string]any{"value": u1}, map[string]any{"value": u3}})}, sorted(u1, u3)},
		{"no-path add with members key", []map[string]any{op("add", "", map[string]any{"members": []any{map[string]any{"value": u2}}})}, sorted(u1, u2, u3)},
		{"rename and add in one request", []map[string]any{op("replace", "", map[string]any{"id": gid, "displayName": "Tier One"}), op("remove", "members", []any{map[string]any{"value": u2}})}, sorted(u1, u3)},
		{"remove all members", []map[string]any{op("remove", "members", nil)}, nil},
	}
	version := r.header.Get("ETag")
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			p := e.do(e.a, "PATCH", "/Groups/"+gid, patch(s.ops...)).want(t, http.StatusNoContent)
			if p.header.Get("ETag") == "" {
				t.Errorf("no ETag on PATCH")
			}
			g := e.do(e.a, "GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
			if got := memberValues(g); !slices.Equal(got, s.want) {
				t.Errorf("members %v, want %v", got, s.want)
			}
			if g.header.Get("ETag") != p.header.Get("ETag") {
				t.Errorf("GET ETag %q, PATCH ETag %q", g.header.Get("ETag"), p.header.Get("ETag"))
			}
		})
	}
	g := e.do(e.a, "GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
	if g.str("displayName") != "Tier One" || g.header.Get("ETag") == version {
		t.Errorf("after the steps: %s", g.raw)
	}

	// PATCH asking for attributes gets the group back.
	p := e.do(e.a, "PATCH", "/Groups/"+gid+"?attributes=displayName", patch(op("replace", "displayName", "T1"))).want(t, http.StatusOK)
	if p.str("displayName") != "T1" || p.get("members") != nil {
		t.Errorf("PATCH with attributes: %s", p.raw)
	}

	// PUT replaces attributes and members.
	put := e.do(e.a, "PUT", "/Groups/"+gid, map[string]any{
		"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Tier 1 (PUT)",
		"members": []any{map[string]any{"value": u2}},
	}).want(t, http.StatusOK)
	if put.str("displayName") != "Tier 1 (PUT)" || !slices.Equal(memberValues(put), []string{u2}) {
		t.Errorf("PUT: %s", put.raw)
	}

	// Deleting a member removes it from the group.
	e.do(e.a, "DELETE", "/Users/"+u2, nil).want(t, http.StatusNoContent)
	g = e.do(e.a, "GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
	if got := memberValues(g); len(got) != 0 {
		t.Errorf("deleted member still listed: %v", got)
	}
	e.do(e.a, "DELETE", "/Groups/"+gid, nil).want(t, http.StatusNoContent)
	e.do(e.a, "GET", "/Groups/"+gid, nil).wantError(t, http.StatusNotFound, "")
	if ur := e.do(e.a, "GET", "/Users/"+u1, nil).want(t, http.StatusOK); ur.get("groups") != nil {
		t.Errorf("groups of a member of a deleted group: %v", ur.get("groups"))
	}
}

func TestGroupMemberErrors(t *testing.T) {
	e := newEnv(t)
	u1 := e.createUser(e.a, user("u1@acme.example"))
	foreign := e.createUser(e.b, user("f@globex.example"))
	gid := e.createGroup(e.a, "G", u1)
	before := e.do(e.a, "GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
	tests := []struct {
		name     string
		body     any
		scimType string
	}{
		{"unknown member", patch(op("add", "members", []any{map[string]any{"value": "no-such-user"}})), "invalidValue"},
		{"member of another account", patch(op("add", "members", []any{map[string]any{"value": foreign}})), "invalidValue"},
		{"one good and one foreign", patch(op("add", "members", []any{map[string]any{"value": u1}, map[string]any{"value": foreign}})), "invalidValue"},
		{"replace with a foreign member", patch(op("replace", "members", []any{map[string]any{"value": foreign}})), "invalidValue"},
		{"rename then bad member", patch(op("replace", "displayName", "Renamed"), op("add", "members", []any{map[string]any{"value": foreign}})), "invalidValue"},
		{"nested group", patch(op("add", "members", []any{map[string]any{"value": gid, "type": "Group"}})), "invalidValue"},
		{"filter other than value eq", patch(op("remove", `members[display eq "x"]`, nil)), "invalidFilter"},
		{"member sub-attribute path", patch(op("replace", "members.display", "x")), "invalidPath"},
		{"empty displayName", patch(op("replace", "displayName", "")), "invalidValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(e.a, "PATCH", "/Groups/"+gid, tc.body).wantError(t, http.StatusBadRequest, tc.scimType)
			if strings.Contains(tc.name, "foreign") && strings.Contains(r.str("detail"), "f@globex") {
				t.Errorf("the error leaks the other account's member: %s", r.str("detail"))
			}
			after := e.do(e.a, "GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
			if string(after.raw) != string(before.raw) {
				t.Errorf("a failed PATCH changed the group:\n%s\n%s", before.raw, after.raw)
			}
		})
	}
	e.do(e.a, "POST", "/Groups", map[string]any{"displayName": "Bad", "members": []any{map[string]any{"value": foreign}}}).
		wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(e.a, "POST", "/Groups", map[string]any{"displayName": "G"}).wantError(t, http.StatusConflict, "uniqueness")
	if r := e.do(e.a, "GET", `/Groups?filter=displayName eq "Bad"`, nil).want(t, http.StatusOK); r.get("totalResults") != 0.0 {
		t.Errorf("a failed create left a group: %s", r.raw)
	}
}

// TestGroupMembersNotLoaded proves the membership is never read where it is
// not needed: excludedAttributes=members, and member PATCHes, whatever the
// group's size.
func TestGroupMembersNotLoaded(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 30 {
		ids = append(ids, e.createUser(e.a, map[string]any{"userName": fmt.Sprintf("m%d@acme.example", i)}))
	}
	gid := e.createGroup(e.a, "Big", ids[:25]...)

	loads := func() []string {
		var bad []string
		for _, c := range e.store.recorded() {
			if strings.Contains(c, "withMembers=true") || c == "ListGroupMembers" {
				bad = append(bad, c)
			}
		}
		return bad
	}
	requests := []struct {
		name, method, path string
		body               any
	}{
		{"get excluding members", "GET", "/Groups/" + gid + "?excludedAttributes=members", nil},
		{"list excluding members", "GET", "/Groups?excludedAttributes=members", nil},
		{"filter excluding members", "GET", `/Groups?excludedAttributes=members&filter=displayName eq "Big"`, nil},
		{"get with other attributes", "GET", "/Groups/" + gid + "?attributes=displayName", nil},
		{"search excluding members", "POST", "/Groups/.search", map[string]any{
			"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "excludedAttributes": []any{"members"}}},
		{"add members", "PATCH", "/Groups/" + gid, patch(op("add", "members", []any{map[string]any{"value": ids[25]}, map[string]any{"value": ids[26]}}))},
		{"remove member by filter", "PATCH", "/Groups/" + gid, patch(op("remove", fmt.Sprintf(`members[value eq "%s"]`, ids[0]), nil))},
		{"remove member by list", "PATCH", "/Groups/" + gid, patch(op("remove", "members", []any{map[string]any{"value": ids[1]}}))},
		{"rename", "PATCH", "/Groups/" + gid, patch(op("replace", "displayName", "Bigger"))},
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			e.store.reset()
			r := e.do(e.a, rq.method, rq.path, rq.body)
			if r.status >= 300 {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if bad := loads(); len(bad) > 0 {
				t.Errorf("membership was read: %v", bad)
			}
			if r.body != nil && r.get("members") != nil {
				t.Errorf("members returned: %s", r.raw)
			}
			if r.body != nil && r.get("Resources.0.members") != nil {
				t.Errorf("members returned in a list: %s", r.raw)
			}
			// The member checks of an add query the added ids only.
			for _, c := range e.store.recorded() {
				if strings.HasPrefix(c, "ListMembers") && c != "ListMembers(count=2)" {
					t.Errorf("unexpected member read %s", c)
				}
			}
		})
	}
	g := e.do(e.a, "GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
	if n := len(memberValues(g)); n != 25 {
		t.Errorf("%d members, want 25", n)
	}
}
