package scim_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/provisioning"
)

const (
	urnEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	urnRoster     = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
)

func TestCreateUser(t *testing.T) {
	e := newEnv(t)
	body := user("ada@acme.example")
	body["externalId"] = "ext-ada"
	body["password"] = "s3cret-Pass"
	body["groups"] = []any{}
	body["locale"] = "en-US"
	body["id"] = "client-chosen-id"
	body["meta"] = map[string]any{"resourceType": "User"}
	body[urnEnterprise] = map[string]any{"employeeNumber": "E-1", "department": "Support"}
	body[urnRoster] = map[string]any{"expertise": []any{"billing", "returns"}, "canManageTeams": "True", "seatStatus": "queued"}
	r := e.do(e.a, "POST", "/Users", body).want(t, http.StatusCreated)

	id := r.str("id")
	if id == "" || id == "client-chosen-id" {
		t.Fatalf("id %q: the server must choose it", id)
	}
	if loc := r.header.Get("Location"); loc != baseURL+"/Users/"+id {
		t.Errorf("Location %q", loc)
	}
	if r.str("meta.location") != baseURL+"/Users/"+id {
		t.Errorf("meta.location %q", r.str("meta.location"))
	}
	if v := r.str("meta.version"); v == "" || r.header.Get("ETag") != v || !strings.HasPrefix(v, `W/"`) {
		t.Errorf("meta.version %q, ETag %q", v, r.header.Get("ETag"))
	}
	if r.str("meta.resourceType") != "User" || r.str("meta.created") == "" || r.str("meta.lastModified") == "" {
		t.Errorf("meta %v", r.get("meta"))
	}
	if _, ok := r.body["password"]; ok {
		t.Errorf("password returned")
	}
	if strings.Contains(string(r.raw), "s3cret") {
		t.Errorf("the password appears in the response")
	}
	checks := map[string]any{
		"userName":   "ada@acme.example",
		"externalId": "ext-ada",
		"locale":     "en-US",
		"active":     true,
		`["` + urnEnterprise + `"].employeeNumber`: "E-1",
		`["` + urnEnterprise + `"].department`:     "Support",
		`["` + urnRoster + `"].canManageTeams`:     true,
		`["` + urnRoster + `"].seatStatus`:         "assigned", // read-only: computed, the request's "queued" is ignored
		`["` + urnRoster + `"].expertise.1`:        "returns",
		"roles.0.value":                            "agent", // the account's default role
	}
	for path, want := range checks {
		if got := r.get(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	m := e.member(e.a, id)
	if !provisioning.CheckPassword(m.PasswordHash, "s3cret-Pass") {
		t.Errorf("stored password hash does not verify")
	}
	if m.Source != "scim" || m.Status != "active" {
		t.Errorf("source %q status %q", m.Source, m.Status)
	}
	if !slices.Contains(m.ManagedAttributes, "userName") || !slices.Contains(m.ManagedAttributes, "department") {
		t.Errorf("managed attributes %v", m.ManagedAttributes)
	}

	// GET returns the same, and DELETE then 404.
	g := e.do(e.a, "GET", "/Users/"+id, nil).want(t, http.StatusOK)
	if g.str("userName") != "ada@acme.example" || g.header.Get("ETag") != r.header.Get("ETag") {
		t.Errorf("GET: %s", g.raw)
	}
	e.do(e.a, "DELETE", "/Users/"+id, nil).want(t, http.StatusNoContent)
	e.do(e.a, "GET", "/Users/"+id, nil).wantError(t, http.StatusNotFound, "")
	e.do(e.a, "DELETE", "/Users/"+id, nil).wantError(t, http.StatusNotFound, "")
}

func TestCreateUserUniqueness(t *testing.T) {
	e := newEnv(t)
	b := user("dup@acme.example")
	b["externalId"] = "x-1"
	e.createUser(e.a, b)
	tests := []struct {
		name string
		body map[string]any
	}{
		{"same userName", user("dup@acme.example")},
		{"userName in another case", user("DUP@Acme.Example")},
		{"same externalId", map[string]any{"userName": "other@acme.example", "externalId": "x-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.do(e.a, "POST", "/Users", tc.body).wantError(t, http.StatusConflict, "uniqueness")
		})
	}
	// Another account may use the same userName.
	e.createUser(e.b, user("dup@acme.example"))
}

func TestCreateUserInvalid(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		body     any
		status   int
		scimType string
	}{
		{"bad JSON", `{"userName": `, 400, "invalidSyntax"},
		{"not an object", `[1,2]`, 400, "invalidSyntax"},
		{"empty body", ``, 400, "invalidSyntax"},
		{"no userName", map[string]any{"name": map[string]any{"givenName": "x"}}, 400, "invalidValue"},
		{"userName a number", map[string]any{"userName": true}, 400, "invalidValue"},
		{"active not a boolean", map[string]any{"userName": "a@b.example", "active": "maybe"}, 400, "invalidValue"},
		{"emails not objects", map[string]any{"userName": "a@b.example", "emails": []any{true}}, 400, "invalidValue"},
		{"unknown schema", map[string]any{"userName": "a@b.example", "schemas": []any{"urn:example:foo"}}, 400, "invalidSyntax"},
		{"unknown role", map[string]any{"userName": "a@b.example", "roles": []any{map[string]any{"value": "pilot"}}}, 400, "invalidValue"},
		{"bad employment status", map[string]any{"userName": "a@b.example", urnRoster: map[string]any{"employmentStatus": "sometimes"}}, 400, "invalidValue"},
		{"bad start date", map[string]any{"userName": "a@b.example", urnRoster: map[string]any{"startDate": "yesterday"}}, 400, "invalidValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(e.a, "POST", "/Users", tc.body).wantError(t, tc.status, tc.scimType)
			if tc.name == "unknown role" && !strings.Contains(r.str("detail"), "administrator") {
				t.Errorf("the error should name the valid roles: %s", r.str("detail"))
			}
		})
	}
	page := e.do(e.a, "GET", "/Users?count=0", nil).want(t, http.StatusOK)
	if page.get("totalResults") != 1.0 { // only the owner
		t.Errorf("a failed create left something behind: %s", page.raw)
	}
}
