package connections

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/adminapi"
)

// TestThroughAdminAPI drives the service through the admin API's
// /sso-connections routes, as cmd/roster wires them.
func TestThroughAdminAPI(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	e := newEnv(t)
	prov := provisioning.New(e.store)
	mk := func(name string) provisioning.CreatedAccount {
		a, err := prov.CreateAccount(e.ctx, provisioning.CreateAccountInput{Name: name, OwnerEmail: "owner@" + strings.ToLower(name) + ".example",
			Seats: 1, BaseURL: "https://roster.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	acme, globex := mk("Acme"), mk("Globex")
	api, err := adminapi.New(prov, adminapi.Options{Connections: e.svc})
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	api.Mount(engine.Group("/api/v1"))
	do := func(token, method, path string, body any, hdr ...string) *httptest.ResponseRecorder {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		r := httptest.NewRequest(method, "/api/v1"+path, rd)
		r.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, r)
		return rec
	}
	problem := func(rec *httptest.ResponseRecorder, status int, code, attr string) {
		t.Helper()
		var p adminapi.Problem
		if rec.Code != status || rec.Header().Get("Content-Type") != adminapi.ProblemContentType ||
			json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Code != code || p.Attribute != attr {
			t.Fatalf("got %d %s %s, want %d %s on %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body, status, code, attr)
		}
	}

	rec := do(acme.APIToken, http.MethodPost, "/sso-connections", map[string]any{
		"kind": "oidc", "name": "Entra", "domains": []string{"Acme.example"},
		"oidc": map[string]any{"issuer": "https://login.example.com/t/v2.0", "clientId": "cid", "clientSecret": "top-secret-42"},
	})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "top-secret-42") || !strings.Contains(rec.Body.String(), `"clientSecretSet":true`) {
		t.Fatalf("create body %s", rec.Body)
	}
	var v adminapi.SSOConnection
	json.Unmarshal(rec.Body.Bytes(), &v)
	if rec.Header().Get("ETag") != `W/"1"` || rec.Header().Get("Location") != "/api/v1/sso-connections/"+v.ID {
		t.Errorf("headers %v", rec.Header())
	}

	// Input errors are problems naming the field.
	problem(do(acme.APIToken, http.MethodPost, "/sso-connections", map[string]any{"kind": "oidc", "name": "x", "domains": []string{"gmail.com"},
		"oidc": map[string]any{"issuer": "https://a.example", "clientId": "c"}}), http.StatusBadRequest, "invalid_value", "domains")
	problem(do(acme.APIToken, http.MethodPost, "/sso-connections", map[string]any{"kind": "oidc", "name": "x", "secret": 1}),
		http.StatusBadRequest, "unknown_field", "secret")
	problem(do(globex.APIToken, http.MethodPost, "/sso-connections", map[string]any{"kind": "oidc", "name": "x", "domains": []string{"acme.example"},
		"oidc": map[string]any{"issuer": "https://a.example", "clientId": "c"}}), http.StatusConflict, "conflict", "domains")

	// Reads, If-Match, tenancy.
	rec = do(acme.APIToken, http.MethodGet, "/sso-connections", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), v.ID) || strings.Contains(rec.Body.String(), "top-secret") {
		t.Fatalf("list %d %s", rec.Code, rec.Body)
	}
	problem(do(globex.APIToken, http.MethodGet, "/sso-connections/"+v.ID, nil), http.StatusNotFound, "not_found", "")
	problem(do(acme.APIToken, http.MethodPatch, "/sso-connections/"+v.ID, map[string]any{"name": "Renamed"}, "If-Match", `W/"7"`),
		http.StatusPreconditionFailed, "version_mismatch", "")
	rec = do(acme.APIToken, http.MethodPatch, "/sso-connections/"+v.ID, map[string]any{"name": "Renamed", "oidc": map[string]any{"scopes": []string{"openid", "groups"}}},
		"If-Match", `W/"1"`)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") != `W/"2"` || !strings.Contains(rec.Body.String(), `"scopes":["openid","groups"]`) {
		t.Fatalf("patch %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	problem(do(acme.APIToken, http.MethodPatch, "/sso-connections/"+v.ID, map[string]any{"saml": map[string]any{}}), http.StatusBadRequest, "invalid_value", "saml")
	problem(do(globex.APIToken, http.MethodDelete, "/sso-connections/"+v.ID, nil), http.StatusNotFound, "not_found", "")
	if rec := do(acme.APIToken, http.MethodDelete, "/sso-connections/"+v.ID, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("delete %d %s", rec.Code, rec.Body)
	}
	problem(do(acme.APIToken, http.MethodGet, "/sso-connections/"+v.ID, nil), http.StatusNotFound, "not_found", "")
}
