package scim_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// seedPeople creates five users in account a (plus its owner) and returns
// their ids by userName.
func seedPeople(e *env) map[string]string {
	people := []map[string]any{
		{"userName": "alice@acme.example", "externalId": "A1", "displayName": "Alice", "title": "Agent",
			"name": map[string]any{"givenName": "Alice", "familyName": "Zephyr"}, "active": true,
			"emails":      []any{map[string]any{"value": "alice@work.example", "type": "work", "primary": true}},
			urnEnterprise: map[string]any{"department": "Support", "employeeNumber": "100"},
			urnRoster:     map[string]any{"expertise": []any{"billing"}, "channels": []any{"chat", "email"}, "canManageTeams": true}},
		{"userName": "bob@acme.example", "externalId": "B2", "displayName": "Bob", "title": "Agent",
			"name": map[string]any{"givenName": "Bob", "familyName": "Young"}, "active": false,
			"emails":      []any{map[string]any{"value": "bob@home.example", "type": "home"}},
			urnEnterprise: map[string]any{"department": "Sales", "employeeNumber": "200"},
			urnRoster:     map[string]any{"expertise": []any{"returns"}, "channels": []any{"voice"}}},
		{"userName": "carol@acme.example", "displayName": "Carol", "title": "Lead",
			"name": map[string]any{"givenName": "Carol", "familyName": "Xu"}, "active": true,
			"roles":       []any{map[string]any{"value": "supervisor"}},
			urnEnterprise: map[string]any{"department": "Support", "employeeNumber": "300"}},
		{"userName": "dave@acme.example", "displayName": "Dave",
			"name": map[string]any{"givenName": "Dave", "familyName": "Walker"}, "active": true},
		{"userName": "erin@acme.example", "displayName": "Erin",
			"name": map[string]any{"givenName": "Erin", "familyName": "Vance"}, "active": true,
			"emails": []any{map[string]any{"value": "erin@work.example", "type": "work"}}},
	}
	ids := map[string]string{}
	for _, p := range people {
		ids[p["userName"].(string)] = e.createUser(e.a, p)
	}
	return ids
}

// userNames returns the userNames of a list response, in order.
func userNames(r result) []string {
	list, _ := r.get("Resources").([]any)
	var out []string
	for _, res := range list {
		out = append(out, fmt.Sprint(res.(map[string]any)["userName"]))
	}
	return out
}

func TestFilters(t *testing.T) {
	e := newEnv(t)
	seedPeople(e)
	seedPeople(&env{t: t, ctx: e.ctx, store: e.store, svc: e.svc, srv: e.srv, a: e.b}) // same people in account b
	tests := []struct {
		filter string
		want   []string
	}{
		{`userName eq "alice@acme.example"`, []string{"alice@acme.example"}},
		{`USERNAME Eq "ALICE@ACME.EXAMPLE"`, []string{"alice@acme.example"}}, // case-insensitive (Okta checks it)
		{`externalId eq "B2"`, []string{"bob@acme.example"}},
		{`externalId eq "b2"`, nil}, // externalId is caseExact
		{`userName ne "alice@acme.example" and userName sw "b"`, []string{"bob@acme.example"}},
		{`displayName co "aro"`, []string{"carol@acme.example"}},
		{`userName ew "e@acme.example"`, []string{"alice@acme.example", "dave@acme.example"}},
		{`name.familyName gt "Xu"`, []string{"bob@acme.example", "alice@acme.example"}},
		{`name.familyName ge "Xu"`, []string{"carol@acme.example", "bob@acme.example", "alice@acme.example"}},
		{`name.familyName lt "W"`, []string{"erin@acme.example"}},
		{`name.familyName le "Walker"`, []string{"dave@acme.example", "erin@acme.example"}},
		{`title pr and not (title eq "Lead")`, []string{"alice@acme.example", "bob@acme.example"}},
		{`active eq false`, []string{"bob@acme.example"}}, // inactive users stay visible
		{`active eq "False"`, []string{"bob@acme.example"}},
		{`emails[type eq "work"].value eq "erin@work.example"`, []string{"erin@acme.example"}},
		{`emails[type eq "work" and value co "alice"]`, []string{"alice@acme.example"}},
		{`emails.value eq "bob@home.example" or userName eq "dave@acme.example"`, []string{"bob@acme.example", "dave@acme.example"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Support"`, []string{"alice@acme.example", "carol@acme.example"}},
		{`employeeNumber ge "200"`, []string{"bob@acme.example", "carol@acme.example"}},
		{`roles.value eq "supervisor"`, []string{"carol@acme.example"}},
		{`expertise eq "returns"`, []string{"bob@acme.example"}},
		{`channels eq "email"`, []string{"alice@acme.example"}},
		{`canManageTeams eq true`, []string{"alice@acme.example"}},
		{`meta.created gt "2000-01-01T00:00:00Z" and userName eq "dave@acme.example"`, []string{"dave@acme.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			r := e.do(e.a, "GET", "/Users?sortBy=userName&filter="+tc.filter, nil).want(t, http.StatusOK)
			got := userNames(r)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if r.get("totalResults") != float64(len(want)) {
				t.Errorf("totalResults %v", r.get("totalResults"))
			}
		})
	}
	bad := []string{
		`userName eq`,
		`userName zz "x"`,
		`shoeSize eq "42"`,
		`addresses.formatted eq "x"`,
		`active eq "perhaps"`,
		`(userName eq "x"`,
		`emails[type eq "work"`,
	}
	for _, f := range bad {
		t.Run("bad "+f, func(t *testing.T) {
			e.do(e.a, "GET", "/Users?filter="+f, nil).wantError(t, http.StatusBadRequest, "invalidFilter")
		})
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t, func(o *scimOptions) { o.MaxResults = 3 })
	seedPeople(e)
	// Six users: the owner and five people.
	r := e.do(e.a, "GET", "/Users?startIndex=2&count=2&sortBy=name.givenName&sortOrder=descending", nil).want(t, http.StatusOK)
	if r.get("totalResults") != 6.0 || r.get("itemsPerPage") != 2.0 || r.get("startIndex") != 2.0 {
		t.Errorf("page: %s", r.raw)
	}
	if got := userNames(r); !slices.Equal(got, []string{"dave@acme.example", "carol@acme.example"}) {
		t.Errorf("page 2 by givenName descending: %v", got)
	}
	if got := r.get("schemas.0"); got != "urn:ietf:params:scim:api:messages:2.0:ListResponse" {
		t.Errorf("schemas %v", got)
	}
	// count=0 answers the total only.
	r = e.do(e.a, "GET", "/Users?count=0", nil).want(t, http.StatusOK)
	if r.get("totalResults") != 6.0 || r.get("itemsPerPage") != 0.0 || len(r.get("Resources").([]any)) != 0 {
		t.Errorf("count=0: %s", r.raw)
	}
	// count above the maximum is capped; below 1 startIndex means 1.
	r = e.do(e.a, "GET", "/Users?count=500&startIndex=-4", nil).want(t, http.StatusOK)
	if r.get("itemsPerPage") != 3.0 || r.get("startIndex") != 1.0 {
		t.Errorf("capped: %s", r.raw)
	}
	// No count: the default page, capped.
	r = e.do(e.a, "GET", "/Users", nil).want(t, http.StatusOK)
	if r.get("itemsPerPage") != 3.0 {
		t.Errorf("default count: %s", r.raw)
	}
	// Beyond the end: an empty page with the total.
	r = e.do(e.a, "GET", "/Users?startIndex=50", nil).want(t, http.StatusOK)
	if r.get("totalResults") != 6.0 || len(r.get("Resources").([]any)) != 0 {
		t.Errorf("beyond the end: %s", r.raw)
	}
	for _, q := range []string{"count=ten", "startIndex=1.5", "count=", "sortOrder=sideways", "sortBy=emails.value", "sortBy=shoeSize"} {
		t.Run(q, func(t *testing.T) {
			e.do(e.a, "GET", "/Users?"+q, nil).wantError(t, http.StatusBadRequest, "invalidValue")
		})
	}
}

func TestProjection(t *testing.T) {
	e := newEnv(t)
	ids := seedPeople(e)
	alice := ids["alice@acme.example"]
	gid := e.createGroup(e.a, "Support", alice)
	tests := []struct {
		query   string
		present []string
		absent  []string
	}{
		{"attributes=userName", []string{"id", "userName", "schemas"}, []string{"name", "emails", "meta", "active"}},
		{"attributes=name.givenName,emails.value", []string{"name.givenName", "emails.0.value"}, []string{"name.familyName", "emails.0.type", "userName"}},
		{"attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
			[]string{`["` + urnEnterprise + `"].department`}, []string{`["` + urnEnterprise + `"].employeeNumber`, "userName"}},
		{"attributes=" + urnRoster, []string{`["` + urnRoster + `"].expertise`}, []string{"userName"}},
		{"excludedAttributes=emails,name.familyName,groups", []string{"userName", "name.givenName", "id"}, []string{"emails", "name.familyName", "groups"}},
		{"excludedAttributes=id", []string{"id"}, nil},
		{"attributes=groups", []string{"groups.0.value"}, []string{"userName"}},
		{"ATTRIBUTES=USERNAME", []string{"userName"}, []string{"emails"}},
		{"attributes=", []string{"userName", "emails", "meta"}, nil},
		{"attributes=shoeSize", []string{"id"}, []string{"userName"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			for _, path := range []string{"/Users/" + alice + "?" + tc.query, "/Users?filter=userName eq \"alice@acme.example\"&" + tc.query} {
				r := e.do(e.a, "GET", path, nil).want(t, http.StatusOK)
				prefix := ""
				if r.get("Resources") != nil {
					prefix = "Resources.0."
				}
				for _, p := range tc.present {
					if r.get(prefix+p) == nil {
						t.Errorf("%s: %s missing: %s", path, p, r.raw)
					}
				}
				for _, p := range tc.absent {
					if r.get(prefix+p) != nil {
						t.Errorf("%s: %s present: %s", path, p, r.raw)
					}
				}
			}
		})
	}
	if r := e.do(e.a, "GET", "/Groups/"+gid+"?attributes=members.value", nil).want(t, http.StatusOK); r.str("members.0.value") != alice || r.get("members.0.$ref") != nil {
		t.Errorf("members.value: %s", r.raw)
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	ids := seedPeople(e)
	e.createGroup(e.a, "Support", ids["alice@acme.example"])
	e.createGroup(e.a, "Sales")
	search := func(extra map[string]any) map[string]any {
		b := map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	r := e.do(e.a, "POST", "/Users/.search", search(map[string]any{
		"filter": `title eq "Agent"`, "sortBy": "userName", "sortOrder": "descending",
		"startIndex": 1, "count": 1, "attributes": []any{"userName"},
	})).want(t, http.StatusOK)
	if r.get("totalResults") != 2.0 || !slices.Equal(userNames(r), []string{"bob@acme.example"}) || r.get("Resources.0.emails") != nil {
		t.Errorf("users search: %s", r.raw)
	}
	r = e.do(e.a, "POST", "/Groups/.search", search(map[string]any{"filter": `displayName sw "S"`, "count": "10"})).want(t, http.StatusOK)
	if r.get("totalResults") != 2.0 {
		t.Errorf("groups search: %s", r.raw)
	}
	// At the root: Users then Groups. displayName exists on both.
	r = e.do(e.a, "POST", "/.search", search(map[string]any{"filter": `displayName sw "S" or displayName eq "Alice"`})).want(t, http.StatusOK)
	if r.get("totalResults") != 3.0 || r.str("Resources.0.userName") != "alice@acme.example" || r.str("Resources.1.meta.resourceType") != "Group" {
		t.Errorf("root search: %s", r.raw)
	}
	// Paging across the two types.
	r = e.do(e.a, "POST", "/.search", search(map[string]any{"startIndex": 6, "count": 2})).want(t, http.StatusOK)
	if r.get("totalResults") != 8.0 || r.get("itemsPerPage") != 2.0 || r.str("Resources.0.meta.resourceType") != "User" || r.str("Resources.1.meta.resourceType") != "Group" {
		t.Errorf("root paging: %s", r.raw)
	}
	// A filter only Users understand still searches at the root.
	r = e.do(e.a, "POST", "/.search", search(map[string]any{"filter": `userName eq "bob@acme.example"`})).want(t, http.StatusOK)
	if r.get("totalResults") != 1.0 {
		t.Errorf("root users-only filter: %s", r.raw)
	}
	e.do(e.a, "POST", "/.search", search(map[string]any{"filter": `shoeSize eq 1`})).wantError(t, http.StatusBadRequest, "invalidFilter")
	e.do(e.a, "POST", "/Users/.search", search(map[string]any{"count": true})).wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(e.a, "POST", "/Users/.search", map[string]any{"schemas": []any{"urn:x"}}).wantError(t, http.StatusBadRequest, "invalidSyntax")
	e.do(e.a, "GET", "/Users/.search", nil).wantError(t, http.StatusMethodNotAllowed, "")
}

func TestRootSearchSort(t *testing.T) {
	e := newEnv(t)
	seedPeople(e)
	e.createGroup(e.a, "Zeta")
	// userName sorts the users; the groups, which have none, still come.
	r := e.do(e.a, "POST", "/.search", map[string]any{
		"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"sortBy":  "userName", "sortOrder": "descending",
	}).want(t, http.StatusOK)
	if r.get("totalResults") != 7.0 || r.str("Resources.0.userName") != "owner@acme.example" || r.str("Resources.6.displayName") != "Zeta" {
		t.Errorf("root search sorted: %s", r.raw)
	}
	e.do(e.a, "POST", "/.search", map[string]any{
		"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "sortBy": "shoeSize",
	}).wantError(t, http.StatusBadRequest, "invalidValue")
}
