package scim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/scim"
)

func TestServiceProviderConfig(t *testing.T) {
	e := newEnv(t, func(o *scimOptions) { o.MaxOperations = 7; o.MaxPayloadBytes = 4096; o.MaxResults = 50 })
	r := e.do(e.a, "GET", "/ServiceProviderConfig", nil).want(t, http.StatusOK)
	checks := map[string]any{
		"schemas.0":                       "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
		"patch.supported":                 true,
		"bulk.supported":                  true,
		"bulk.maxOperations":              7.0,
		"bulk.maxPayloadSize":             4096.0,
		"filter.supported":                true,
		"filter.maxResults":               50.0,
		"sort.supported":                  true,
		"etag.supported":                  true,
		"changePassword.supported":        true,
		"authenticationSchemes.0.type":    "oauthbearertoken",
		"authenticationSchemes.0.primary": true,
		"meta.resourceType":               "ServiceProviderConfig",
		"meta.location":                   baseURL + "/ServiceProviderConfig",
	}
	for path, want := range checks {
		if got := r.get(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

func TestResourceTypes(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.a, "GET", "/ResourceTypes", nil).want(t, http.StatusOK)
	if r.get("totalResults") != 2.0 || r.str("Resources.0.id") != "User" || r.str("Resources.1.id") != "Group" {
		t.Fatalf("resource types: %s", r.raw)
	}
	u := e.do(e.a, "GET", "/ResourceTypes/User", nil).want(t, http.StatusOK)
	checks := map[string]any{
		"endpoint":                    "/Users",
		"schema":                      "urn:ietf:params:scim:schemas:core:2.0:User",
		"schemaExtensions.0.schema":   urnEnterprise,
		"schemaExtensions.1.schema":   urnRoster,
		"schemaExtensions.1.required": false,
		"meta.location":               baseURL + "/ResourceTypes/User",
		"schemas.0":                   "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
	}
	for path, want := range checks {
		if got := u.get(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	e.do(e.a, "GET", "/ResourceTypes/Group", nil).want(t, http.StatusOK)
	e.do(e.a, "GET", "/ResourceTypes/Printer", nil).wantError(t, http.StatusNotFound, "")
	e.do(e.a, "GET", `/ResourceTypes?filter=id eq "User"`, nil).wantError(t, http.StatusForbidden, "")
}

func TestSchemas(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.a, "GET", "/Schemas", nil).want(t, http.StatusOK)
	var ids []string
	for _, s := range r.get("Resources").([]any) {
		ids = append(ids, s.(map[string]any)["id"].(string))
	}
	want := []string{
		"urn:ietf:params:scim:schemas:core:2.0:User", urnEnterprise, urnRoster,
		"urn:ietf:params:scim:schemas:core:2.0:Group",
		"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
		"urn:ietf:params:scim:schemas:core:2.0:ResourceType",
		"urn:ietf:params:scim:schemas:core:2.0:Schema",
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("schemas %v, want %v", ids, want)
	}
	for _, id := range want {
		s := e.do(e.a, "GET", "/Schemas/"+url.PathEscape(id), nil).want(t, http.StatusOK)
		if s.str("id") != id || s.str("meta.resourceType") != "Schema" || s.str("meta.location") != baseURL+"/Schemas/"+id {
			t.Errorf("%s: %s", id, s.raw)
		}
		if attrs, _ := s.get("attributes").([]any); len(attrs) == 0 {
			t.Errorf("%s has no attributes", id)
		}
	}
	roster := e.do(e.a, "GET", "/Schemas/"+urnRoster, nil).want(t, http.StatusOK)
	found := map[string]map[string]any{}
	for _, a := range roster.get("attributes").([]any) {
		m := a.(map[string]any)
		found[m["name"].(string)] = m
	}
	for _, name := range []string{"expertise", "onlyAssignFromExpertise", "onlyAssignedConversations", "canViewGroupCompanies",
		"externalSso", "canManageTeams", "channels", "employmentStatus", "startDate", "bio", "imageUrl", "hometown",
		"stateOrCountry", "approvalStatus", "seatStatus"} {
		if found[name] == nil {
			t.Errorf("roster schema lacks %s", name)
		}
	}
	if found["seatStatus"]["mutability"] != "readOnly" || found["expertise"]["multiValued"] != true {
		t.Errorf("roster attribute characteristics: %v %v", found["seatStatus"], found["expertise"])
	}
	user := e.do(e.a, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil).want(t, http.StatusOK)
	for _, a := range user.get("attributes").([]any) {
		m := a.(map[string]any)
		switch m["name"] {
		case "ims", "photos", "entitlements", "x509Certificates":
			t.Errorf("the User schema advertises %v, which Roster does not keep", m["name"])
		case "password":
			if m["returned"] != "never" || m["mutability"] != "writeOnly" {
				t.Errorf("password: %v", m)
			}
		case "groups":
			if m["mutability"] != "readOnly" {
				t.Errorf("groups: %v", m)
			}
		}
	}
	e.do(e.a, "GET", "/Schemas/urn:example:nothing", nil).wantError(t, http.StatusNotFound, "")
}

func TestEndpointErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/Me", http.StatusNotImplemented},
		{"PATCH", "/Me", http.StatusNotImplemented},
		{"GET", "/Printers", http.StatusNotFound},
		{"GET", "/Users/a/b", http.StatusNotFound},
		{"DELETE", "/Users", http.StatusMethodNotAllowed},
		{"PUT", "/Groups", http.StatusMethodNotAllowed},
		{"POST", "/Users/some-id", http.StatusMethodNotAllowed},
		{"GET", "/Bulk", http.StatusMethodNotAllowed},
		{"POST", "/ServiceProviderConfig", http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body any
			if tc.method != "GET" && tc.method != "DELETE" {
				body = map[string]any{}
			}
			e.do(e.a, tc.method, tc.path, body).wantError(t, tc.status, "")
		})
	}
	// Endpoint names are matched in any case.
	e.do(e.a, "GET", "/users?count=1", nil).want(t, http.StatusOK)
	e.do(e.a, "GET", "/serviceproviderconfig", nil).want(t, http.StatusOK)
}

func TestNewAndHandler(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{"", "/scim/v2", "ftp://x/scim", "https://x/scim?q=1", "::"} {
		if _, err := scim.New(e.svc, scim.Options{BaseURL: bad}); err == nil {
			t.Errorf("base URL %q accepted", bad)
		}
	}
	if _, err := scim.New(nil, scim.Options{BaseURL: baseURL}); err == nil {
		t.Errorf("nil service accepted")
	}
	srv, err := scim.New(e.svc, scim.Options{BaseURL: "https://other.test/api/scim/"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.StripPrefix("/api/scim", srv.Handler()))
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/api/scim/Users?count=1", nil)
	req.Header.Set("Authorization", "Bearer "+e.a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	loc := lookup(body, "Resources.0.meta.location")
	if s, _ := loc.(string); !strings.HasPrefix(s, "https://other.test/api/scim/Users/") {
		t.Errorf("meta.location %v: the configured base URL (without its trailing slash) is used", loc)
	}
}
