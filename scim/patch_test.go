package scim_test

import (
	"fmt"
	"net/http"
	"testing"
)

// richUser is the starting point of the PATCH cases.
func richUser(userName string) map[string]any {
	return map[string]any{
		"userName":    userName,
		"externalId":  "ext-" + userName,
		"displayName": "Grace Hopper",
		"title":       "Engineer",
		"name":        map[string]any{"givenName": "Grace", "familyName": "Hopper", "middleName": "Brewster"},
		"emails": []any{
			map[string]any{"value": "grace@work.example", "type": "work", "primary": true},
			map[string]any{"value": "grace@home.example", "type": "home"},
		},
		"phoneNumbers": []any{map[string]any{"value": "+1 555 0100", "type": "work"}},
		"active":       true,
		"roles":        []any{map[string]any{"value": "agent"}},
		urnEnterprise:  map[string]any{"department": "Support", "costCenter": "CC-1"},
		urnRoster:      map[string]any{"channels": []any{"chat"}, "bio": "Hello"},
	}
}

// unchanged, as a wanted value, means "as before the PATCH".
type unchanged struct{}

func TestPatchUser(t *testing.T) {
	e := newEnv(t)
	managerID := e.createUser(e.a, user("boss@acme.example"))
	mgrExt := map[string]any{"userName": "boss2@acme.example", "externalId": "AD-BOSS-2"}
	manager2 := e.createUser(e.a, mgrExt)

	tests := []struct {
		name string
		ops  []map[string]any
		want map[string]any // dotted path -> value; nil means absent
	}{
		{
			name: "capitalised ops",
			ops: []map[string]any{
				op("Replace", "title", "Manager"),
				op("Add", "nickName", "Amazing"),
				op("REMOVE", "displayName", nil),
			},
			want: map[string]any{"title": "Manager", "nickName": "Amazing", "displayName": nil},
		},
		{
			name: "boolean as string (Entra)",
			ops:  []map[string]any{op("Replace", "active", "False")},
			want: map[string]any{"active": false},
		},
		{
			name: "Okta deactivation without path",
			ops:  []map[string]any{op("replace", "", map[string]any{"active": false})},
			want: map[string]any{"active": false, "userName": "p@acme.example"},
		},
		{
			name: "no path with dotted keys and extension URNs",
			ops: []map[string]any{op("replace", "", map[string]any{
				"name.givenName":                  "Amazing",
				"displayName":                     "Amazing Grace",
				urnEnterprise + ":department":     "Sales",
				urnEnterprise + ":employeeNumber": "42",
				urnRoster:                         map[string]any{"canManageTeams": "true", "expertise": []any{"billing"}},
			})},
			want: map[string]any{
				"name.givenName":                           "Amazing",
				"name.familyName":                          "Hopper",
				"name.middleName":                          "Brewster",
				"displayName":                              "Amazing Grace",
				`["` + urnEnterprise + `"].department`:     "Sales",
				`["` + urnEnterprise + `"].costCenter`:     "CC-1",
				`["` + urnEnterprise + `"].employeeNumber`: "42",
				`["` + urnRoster + `"].canManageTeams`:     true,
				`["` + urnRoster + `"].expertise.0`:        "billing",
				`["` + urnRoster + `"].bio`:                "Hello",
			},
		},
		{
			name: "whole enterprise extension object",
			ops:  []map[string]any{op("add", "", map[string]any{urnEnterprise: map[string]any{"division": "EMEA"}})},
			want: map[string]any{`["` + urnEnterprise + `"].division`: "EMEA", `["` + urnEnterprise + `"].department`: "Support"},
		},
		{
			name: "replace existing work email by value path",
			ops:  []map[string]any{op("Replace", `emails[type eq "work"].value`, "new@work.example")},
			want: map[string]any{"emails.0.value": "new@work.example", "emails.0.type": "work", "emails.1.value": "grace@home.example"},
		},
		{
			name: "add creates the missing other email (Entra sends Add)",
			ops:  []map[string]any{op("Add", `emails[type eq "other"].value`, "g@other.example")},
			want: map[string]any{"emails.2.value": "g@other.example", "emails.2.type": "other", "emails.0.value": "grace@work.example"},
		},
		{
			name: "missing mobile phone is created",
			ops:  []map[string]any{op("replace", `phoneNumbers[type eq "mobile"].value`, "+1 555 0199")},
			want: map[string]any{"phoneNumbers.1.value": "+1 555 0199", "phoneNumbers.1.type": "mobile", "phoneNumbers.0.value": "+1 555 0100"},
		},
		{
			name: "missing work address is created",
			ops: []map[string]any{
				op("Add", `addresses[type eq "work"].formatted`, "1 Main St"),
				op("Add", `addresses[type eq "work"].locality`, "Springfield"),
			},
			want: map[string]any{"addresses.0.formatted": "1 Main St", "addresses.0.locality": "Springfield", "addresses.0.type": "work", "addresses.1": nil},
		},
		{
			name: "remove one email by filter",
			ops:  []map[string]any{op("remove", `emails[type eq "home"]`, nil)},
			want: map[string]any{"emails.0.value": "grace@work.example", "emails.1": nil},
		},
		{
			name: "remove of a filter matching nothing changes nothing",
			ops:  []map[string]any{op("remove", `emails[type eq "pager"]`, nil)},
			want: map[string]any{"emails.1.value": "grace@home.example"},
		},
		{
			name: "a new primary email takes primary from the old one",
			ops:  []map[string]any{op("add", "emails", []any{map[string]any{"value": "p@new.example", "type": "other", "primary": true}})},
			want: map[string]any{"emails.0.primary": false, "emails.2.primary": true},
		},
		{
			name: "manager as a plain string",
			ops:  []map[string]any{op("Add", urnEnterprise+":manager", managerID)},
			want: map[string]any{`["` + urnEnterprise + `"].manager.value`: managerID},
		},
		{
			name: "manager as an object",
			ops:  []map[string]any{op("replace", urnEnterprise+":manager", map[string]any{"value": managerID})},
			want: map[string]any{`["` + urnEnterprise + `"].manager.value`: managerID},
		},
		{
			name: "manager by externalId",
			ops:  []map[string]any{op("replace", urnEnterprise+":manager", "AD-BOSS-2")},
			want: map[string]any{`["` + urnEnterprise + `"].manager.value`: manager2},
		},
		{
			name: "manager set then removed",
			ops: []map[string]any{
				op("add", urnEnterprise+":manager", managerID),
				op("Remove", urnEnterprise+":manager", nil),
			},
			want: map[string]any{`["` + urnEnterprise + `"].manager`: nil, `["` + urnEnterprise + `"].department`: "Support"},
		},
		{
			name: "roles by display name, any case",
			ops:  []map[string]any{op("add", "roles", []any{map[string]any{"value": "ADMINISTRATOR"}})},
			want: map[string]any{"roles.0.value": "agent", "roles.1.value": "administrator", "roles.1.display": "Administrator"},
		},
		{
			name: "roles replaced, primary first",
			ops: []map[string]any{op("replace", "roles", []any{
				map[string]any{"value": "reporter"},
				map[string]any{"value": "Supervisor", "primary": true},
			})},
			want: map[string]any{"roles.0.value": "supervisor", "roles.0.primary": true, "roles.1.value": "reporter", "roles.2": nil},
		},
		{
			name: "read-only attributes are ignored",
			ops: []map[string]any{op("replace", "", map[string]any{
				"id": "other-id", "meta": map[string]any{"version": "x"}, "groups": []any{},
				urnRoster + ":seatStatus": "assigned", "title": "Chief",
			})},
			want: map[string]any{"title": "Chief", `["` + urnRoster + `"].seatStatus`: unchanged{}},
		},
		{
			name: "null value unassigns",
			ops:  []map[string]any{{"op": "replace", "path": "title", "value": nil}},
			want: map[string]any{"title": nil},
		},
		{
			name: "userName change",
			ops:  []map[string]any{op("Replace", "userName", "renamed@acme.example")},
			want: map[string]any{"userName": "renamed@acme.example"},
		},
		{
			name: "sub-attribute of a single complex attribute",
			ops:  []map[string]any{op("replace", "name.familyName", "Murray")},
			want: map[string]any{"name.familyName": "Murray", "name.givenName": "Grace"},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := e.createUser(e.a, richUser(fmt.Sprintf("p%d@acme.example", i)))
			before := e.do(e.a, "GET", "/Users/"+id, nil).want(t, http.StatusOK)
			if tc.name == "Okta deactivation without path" {
				e.do(e.a, "PUT", "/Users/"+id, map[string]any{"userName": "p@acme.example", "active": true}).want(t, http.StatusOK)
			}
			r := e.do(e.a, "PATCH", "/Users/"+id, patch(tc.ops...)).want(t, http.StatusOK)
			g := e.do(e.a, "GET", "/Users/"+id, nil).want(t, http.StatusOK)
			if r.header.Get("ETag") != g.header.Get("ETag") {
				t.Errorf("PATCH ETag %q, GET ETag %q", r.header.Get("ETag"), g.header.Get("ETag"))
			}
			for path, want := range tc.want {
				if _, ok := want.(unchanged); ok {
					want = before.get(path)
				}
				if got := g.get(path); fmt.Sprint(got) != fmt.Sprint(want) || (want == nil) != (got == nil) {
					t.Errorf("%s = %v, want %v\n%s", path, got, want, g.raw)
				}
			}
		})
	}
}

func TestPatchUserErrors(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(e.a, richUser("err@acme.example"))
	before := e.do(e.a, "GET", "/Users/"+id, nil).want(t, http.StatusOK)
	tests := []struct {
		name     string
		body     any
		scimType string
	}{
		{"no Operations", map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}}, "invalidSyntax"},
		{"unknown op", patch(op("move", "title", "x")), "invalidSyntax"},
		{"remove without path", patch(op("remove", "", nil)), "noTarget"},
		{"unknown attribute", patch(op("replace", "shoeSize", "42")), "invalidPath"},
		{"malformed path", patch(op("replace", `emails[type eq "work"`, "x")), "invalidPath"},
		{"wrong type", patch(op("replace", "active", "perhaps")), "invalidValue"},
		{"no-path value not an object", patch(op("replace", "", "x")), "invalidValue"},
		{"unknown role", patch(op("add", "roles", []any{map[string]any{"value": "astronaut"}})), "invalidValue"},
		{"own manager", patch(op("replace", urnEnterprise+":manager", id)), "invalidValue"},
		{"filter selecting nothing, cannot create", patch(op("replace", `emails[value co "zzz"].type`, "work")), "noTarget"},
		{"not a PatchOp", map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": []any{}}, "invalidSyntax"},
		// A valid operation before a bad one: nothing at all is applied.
		{"partial", patch(op("replace", "title", "Changed"), op("replace", "active", 12)), "invalidValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.do(e.a, "PATCH", "/Users/"+id, tc.body).wantError(t, http.StatusBadRequest, tc.scimType)
			after := e.do(e.a, "GET", "/Users/"+id, nil).want(t, http.StatusOK)
			if string(after.raw) != string(before.raw) {
				t.Errorf("a failed PATCH changed the user:\nbefore %s\nafter  %s", before.raw, after.raw)
			}
		})
	}
	e.do(e.a, "PATCH", "/Users/nope", patch(op("replace", "title", "x"))).wantError(t, http.StatusNotFound, "")
}

func TestTeamLeader(t *testing.T) {
	e := newEnv(t)
	// A report arrives before its manager: the reference waits.
	report := map[string]any{"userName": "report@acme.example", urnEnterprise: map[string]any{"manager": map[string]any{"value": "AD-42"}}}
	reportID := e.createUser(e.a, report)
	if m := e.member(e.a, reportID); m.PendingManagerRef != "AD-42" || m.ManagerID != "" {
		t.Fatalf("pending %q manager %q", m.PendingManagerRef, m.ManagerID)
	}
	r := e.do(e.a, "GET", "/Users/"+reportID, nil).want(t, http.StatusOK)
	if r.get(`["`+urnEnterprise+`"].manager`) != nil {
		t.Errorf("an unresolved manager is shown: %s", r.raw)
	}
	// The manager arrives: the report is linked.
	mgrID := e.createUser(e.a, map[string]any{"userName": "mgr@acme.example", "externalId": "AD-42"})
	r = e.do(e.a, "GET", "/Users/"+reportID, nil).want(t, http.StatusOK)
	if got := r.str(`["` + urnEnterprise + `"].manager.value`); got != mgrID {
		t.Fatalf("manager %q, want %q", got, mgrID)
	}
	if got := r.str(`["` + urnEnterprise + `"].manager.$ref`); got != baseURL+"/Users/"+mgrID {
		t.Errorf("manager $ref %q", got)
	}
	// A cycle is refused: the manager cannot report to their report.
	e.do(e.a, "PATCH", "/Users/"+mgrID, patch(op("replace", urnEnterprise+":manager", reportID))).
		wantError(t, http.StatusBadRequest, "invalidValue")
	// A manager of another account never resolves.
	other := e.createUser(e.b, map[string]any{"userName": "x@globex.example", "externalId": "AD-77"})
	e.do(e.a, "PATCH", "/Users/"+reportID, patch(op("replace", urnEnterprise+":manager", other))).want(t, http.StatusOK)
	if m := e.member(e.a, reportID); m.ManagerID != "" || m.PendingManagerRef != other {
		t.Errorf("foreign manager: manager %q pending %q", m.ManagerID, m.PendingManagerRef)
	}
	// Deleting a manager clears it from the reports.
	e.do(e.a, "PATCH", "/Users/"+reportID, patch(op("replace", urnEnterprise+":manager", mgrID))).want(t, http.StatusOK)
	e.do(e.a, "DELETE", "/Users/"+mgrID, nil).want(t, http.StatusNoContent)
	if m := e.member(e.a, reportID); m.ManagerID != "" {
		t.Errorf("deleted manager still set: %q", m.ManagerID)
	}
}
