package main

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestEntraUserBody(t *testing.T) {
	pop := population{prefix: "load", domain: "contoso.example"}
	for _, i := range []int{0, 1, 19, 20, 399, 400, 1_000_000} {
		p := pop.person(i)
		body, err := entraUserBody(p)
		if err != nil {
			t.Fatalf("person %d: %v", i, err)
		}
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("person %d: invalid JSON: %v\n%s", i, err, body)
		}
		schemas, _ := got["schemas"].([]any)
		if len(schemas) != 2 || schemas[0] != schemaUser || schemas[1] != schemaEnterprise {
			t.Errorf("person %d: schemas = %v", i, schemas)
		}
		if got["userName"] != p.userName || got["externalId"] != p.objectID || got["active"] != true {
			t.Errorf("person %d: userName/externalId/active = %v/%v/%v", i, got["userName"], got["externalId"], got["active"])
		}
		if got["displayName"] != p.givenName+" "+p.familyName {
			t.Errorf("person %d: displayName = %v", i, got["displayName"])
		}
		name, _ := got["name"].(map[string]any)
		if name["givenName"] != p.givenName || name["familyName"] != p.familyName {
			t.Errorf("person %d: name = %v", i, name)
		}
		emails, _ := got["emails"].([]any)
		if len(emails) != 1 {
			t.Fatalf("person %d: emails = %v", i, emails)
		}
		email, _ := emails[0].(map[string]any)
		if email["type"] != "work" || email["primary"] != true || email["value"] != p.userName {
			t.Errorf("person %d: email = %v", i, email)
		}
		ent, _ := got[schemaEnterprise].(map[string]any)
		if ent["employeeNumber"] == "" || ent["employeeNumber"] == nil || ent["department"] != p.department {
			t.Errorf("person %d: enterprise = %v", i, ent)
		}
	}
}

func TestPopulationIsDeterministicAndUnique(t *testing.T) {
	pop := population{prefix: "load", domain: "contoso.example"}
	seen := map[string]bool{}
	ids := map[string]bool{}
	for i := range 5000 {
		p := pop.person(i)
		if p != pop.person(i) {
			t.Fatalf("person %d differs between calls", i)
		}
		if seen[strings.ToLower(p.userName)] || ids[p.objectID] {
			t.Fatalf("person %d repeats userName %q or externalId %q", i, p.userName, p.objectID)
		}
		seen[strings.ToLower(p.userName)], ids[p.objectID] = true, true
	}
	if a, b := pop.person(3), (population{prefix: "other", domain: "contoso.example"}).person(3); a.userName == b.userName || a.objectID == b.objectID {
		t.Errorf("prefixes do not separate populations: %+v %+v", a, b)
	}
}

func TestFilterPath(t *testing.T) {
	tests := []struct {
		name, path, wantRoute, wantFilter string
	}{
		{"userName", filterPath("Users", "userName", "ada.lovelace@contoso.example"), "/Users", `userName eq "ada.lovelace@contoso.example"`},
		{"quotes escaped", filterPath("Users", "userName", `a"b\c`), "/Users", `userName eq "a\"b\\c"`},
		{"group", groupFilterPath("load team 001 x"), "/Groups", `displayName eq "load team 001 x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse("http://127.0.0.1/scim/v2" + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(u.RawQuery, ` "`) {
				t.Errorf("query not encoded: %q", u.RawQuery)
			}
			if got := routeOf(tt.path); got != tt.wantRoute {
				t.Errorf("route = %q, want %q", got, tt.wantRoute)
			}
			if got := u.Query().Get("filter"); got != tt.wantFilter {
				t.Errorf("filter = %q, want %q", got, tt.wantFilter)
			}
		})
	}
	q, err := url.ParseQuery(strings.SplitN(groupFilterPath("g"), "?", 2)[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Get("excludedAttributes"); got != "members" {
		t.Errorf("group lookup excludedAttributes = %q, want members", got)
	}
}

func TestAddMembersBody(t *testing.T) {
	body, err := addMembersBody([]string{"u1", "u2", "u3"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Schemas    []string
		Operations []struct {
			Op    string
			Path  string
			Value []struct{ Value string }
		}
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	if !slices.Equal(got.Schemas, []string{schemaPatchOp}) || len(got.Operations) != 1 {
		t.Fatalf("patch = %s", body)
	}
	op := got.Operations[0]
	if op.Op != "Add" || op.Path != "members" || len(op.Value) != 3 || op.Value[2].Value != "u3" {
		t.Errorf("operation = %+v", op)
	}
	if !strings.Contains(string(body), `"Operations"`) {
		t.Errorf("Operations key not capitalised: %s", body)
	}
}

func TestGroupBody(t *testing.T) {
	body, err := entraGroupBody("load team 001", "ext-1")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	if s, _ := got["schemas"].([]any); len(s) != 1 || s[0] != schemaGroup || got["displayName"] != "load team 001" || got["externalId"] != "ext-1" {
		t.Errorf("group body = %s", body)
	}
}
