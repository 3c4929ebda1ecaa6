package adminapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/accesstoken"
	"github.com/rosterhq/roster/sso/seal"
)

// withAccessTokens rebuilds the env's API with a real access-token issuer
// over the env's store and clock, and returns the issuer.
func (e *env) withAccessTokens() *accesstoken.Issuer {
	e.t.Helper()
	sealer, err := seal.New([]byte(strings.Repeat("x", seal.KeySize)))
	if err != nil {
		e.t.Fatal(err)
	}
	iss := accesstoken.NewIssuer(e.store, sealer, accesstoken.Options{Issuer: "https://roster.example.com", Now: e.clock.Now})
	api, err := New(e.svc, Options{Logger: slog.New(slog.NewJSONHandler(e.logs, nil)), Now: e.clock.Now, AccessTokens: iss})
	if err != nil {
		e.t.Fatal(err)
	}
	e.engine = gin.New()
	api.Mount(e.engine.Group("/api/v1"))
	return iss
}

func TestViewAs(t *testing.T) {
	e := newEnv(t)
	iss := e.withAccessTokens()
	admin := e.member("admin@acme.example", provisioning.RoleAdministrator)
	target := e.member("ana@acme.example", provisioning.RoleAdministrator)
	adminTok := e.tokenFor(admin.ID)

	rec := e.as(adminTok, http.MethodPost, "/members/"+target.ID+"/impersonation", nil)
	got := decodeAs[ViewAsToken](t, rec, http.StatusOK)
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
	if got.TokenType != "Bearer" || !got.ReadOnly || got.MemberID != target.ID || got.ActorID != admin.ID ||
		got.ExpiresAt.Sub(e.clock.Now()) > MaxViewAsTTL || !got.ExpiresAt.After(e.clock.Now()) {
		t.Errorf("view-as token %+v", got)
	}
	claims, err := iss.Verify(e.ctx, got.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if claims.MemberID != target.ID || claims.ActorID != admin.ID || !claims.ReadOnly || claims.AccountID != e.acct.Account.ID ||
		len(claims.Roles) == 0 || claims.Roles[0] != provisioning.RoleAdministrator {
		t.Errorf("claims %+v", claims)
	}

	// Audited as member.impersonate by the admin, on the target.
	page, err := e.store.ListAudit(e.ctx, e.acct.Account.ID, repository.AuditQuery{Action: "member.impersonate"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("audit %v %v", page.Items, err)
	}
	if ev := page.Items[0]; ev.ActorID != admin.ID || ev.TargetID != target.ID || ev.ActorKind != repository.ActorMember ||
		ev.RequestID != rec.Header().Get("X-Request-Id") || strings.Contains(string(ev.Diff), got.AccessToken) {
		t.Errorf("audit event %+v", ev)
	}

	// The token reads as the target ...
	view := got.AccessToken
	me := decodeAs[Member](t, e.as(view, http.MethodGet, "/members/"+target.ID, nil), http.StatusOK)
	if me.ID != target.ID {
		t.Errorf("read %+v", me)
	}
	decodeAs[Page[Member]](t, e.as(view, http.MethodGet, "/members", nil), http.StatusOK)

	// ... and changes nothing, whatever the route.
	before := e.auditCount()
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/members", map[string]any{"userName": "x@acme.example", "emails": []any{map[string]any{"value": "x@acme.example"}}}},
		{http.MethodPatch, "/members/" + target.ID, map[string]any{"displayName": "Hacked"}},
		{http.MethodDelete, "/members/" + admin.ID, nil},
		{http.MethodPost, "/members/" + admin.ID + "/impersonation", nil},
		{http.MethodPost, "/api-tokens", map[string]any{"name": "keep me"}},
		{http.MethodPut, "/seats", map[string]any{"total": 10}},
		{http.MethodPost, "/sso-connections", map[string]any{"kind": "oidc", "name": "x"}},
	} {
		rec := e.as(view, w.method, w.path, w.body)
		p := wantProblem(t, rec, http.StatusForbidden, string(provisioning.CodeForbidden), "")
		if !strings.Contains(p.Detail, "views the app as another member") {
			t.Errorf("%s %s: %s", w.method, w.path, p.Detail)
		}
	}
	if e.auditCount() != before || e.getMember(target.ID).DisplayName == "Hacked" {
		t.Error("a read-only token changed something")
	}

	// It expires.
	e.clock.Advance(accesstoken.DefaultTTL + time.Minute)
	wantProblem(t, e.as(view, http.MethodGet, "/members/"+target.ID, nil), http.StatusUnauthorized, string(provisioning.CodeUnauthenticated), "")
}

func TestViewAsRules(t *testing.T) {
	e := newEnv(t)
	e.withAccessTokens()
	admin := e.member("admin@acme.example", provisioning.RoleAdministrator)
	adminTok := e.tokenFor(admin.ID)
	reporter := e.member("rita@acme.example", provisioning.RoleReporter)
	reporterTok := e.tokenFor(reporter.ID)
	gone := e.member("gone@acme.example", provisioning.RoleReporter)
	wantStatus(t, e.as(e.owner, http.MethodPost, "/members/"+gone.ID+"/deactivate", nil), http.StatusOK)
	stranger := e.memberIn(e.other.Account.ID, "sam@globex.example")

	cases := []struct {
		name, token, target string
		status              int
		code                string
	}{
		{"admin views as the owner", adminTok, e.ownerID, http.StatusForbidden, string(provisioning.CodeOwnerProtected)},
		{"inactive target", adminTok, gone.ID, http.StatusConflict, CodeMemberInactive},
		{"another account's member", adminTok, stranger.ID, http.StatusNotFound, string(provisioning.CodeNotFound)},
		{"unknown member", adminTok, "nope", http.StatusNotFound, string(provisioning.CodeNotFound)},
		{"without team.view_as", reporterTok, admin.ID, http.StatusForbidden, string(provisioning.CodeForbidden)},
		{"no credential", "", admin.ID, http.StatusUnauthorized, string(provisioning.CodeUnauthenticated)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, e.as(tc.token, http.MethodPost, "/members/"+tc.target+"/impersonation", nil), tc.status, tc.code, "")
		})
	}
	// The owner may view the app as anyone, itself included.
	decodeAs[ViewAsToken](t, e.as(e.owner, http.MethodPost, "/members/"+admin.ID+"/impersonation", nil), http.StatusOK)
	decodeAs[ViewAsToken](t, e.as(e.owner, http.MethodPost, "/members/"+e.ownerID+"/impersonation", nil), http.StatusOK)
}

func wantStatus(t *testing.T, rec interface{ Result() *http.Response }, status int) {
	t.Helper()
	if got := rec.Result().StatusCode; got != status {
		t.Fatalf("status %d, want %d", got, status)
	}
}

// TestAccessTokenBearer checks signed access tokens as credentials: a
// token of an active member works for reads and writes (unless read-only),
// and every bad token is one 401.
func TestAccessTokenBearer(t *testing.T) {
	e := newEnv(t)
	iss := e.withAccessTokens()
	admin := e.member("admin@acme.example", provisioning.RoleAdministrator)
	tok, _, err := iss.Issue(e.ctx, accesstoken.Claims{AccountID: e.acct.Account.ID, MemberID: admin.ID, SessionID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	// A session's access token may write; the audit names the member.
	rec := e.as(tok, http.MethodPost, "/roles", map[string]any{"key": "night_shift", "displayName": "Night shift"})
	expect(t, rec, http.StatusCreated)
	page, _ := e.store.ListAudit(e.ctx, e.acct.Account.ID, repository.AuditQuery{Action: "role.create"})
	if len(page.Items) != 1 || page.Items[0].ActorID != admin.ID {
		t.Errorf("audit %+v", page.Items)
	}
	// API tokens still work beside it.
	expect(t, e.as(e.owner, http.MethodGet, "/roles", nil), http.StatusOK)

	// A token claiming a member of another account reaches nothing.
	stranger := e.memberIn(e.other.Account.ID, "sam@globex.example", provisioning.RoleAdministrator)
	cross, _, err := iss.Issue(e.ctx, accesstoken.Claims{AccountID: e.acct.Account.ID, MemberID: stranger.ID})
	if err != nil {
		t.Fatal(err)
	}
	otherSealer, _ := seal.New([]byte(strings.Repeat("o", seal.KeySize)))
	foreign, _, err := accesstoken.NewIssuer(newEnv(t).store, otherSealer, accesstoken.Options{Issuer: "https://roster.example.com", Now: e.clock.Now}).
		Issue(e.ctx, accesstoken.Claims{AccountID: e.acct.Account.ID, MemberID: admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"tampered":            parts[0] + "." + parts[1] + "x." + parts[2],
		"other keys":          foreign,
		"member of elsewhere": cross,
		"garbage jwt":         "a.b.c",
	} {
		t.Run(name, func(t *testing.T) {
			wantProblem(t, e.as(bad, http.MethodGet, "/roles", nil), http.StatusUnauthorized, string(provisioning.CodeUnauthenticated), "")
		})
	}
	// A deactivated member's token stops working at once.
	wantStatus(t, e.as(e.owner, http.MethodPost, "/members/"+admin.ID+"/deactivate", nil), http.StatusOK)
	wantProblem(t, e.as(tok, http.MethodGet, "/roles", nil), http.StatusUnauthorized, string(provisioning.CodeUnauthenticated), "")
}

// TestSSOUnconfigured checks the routes answer a problem when the
// deployment runs without the SSO bridge, and a JWT is then just a bad
// API token.
func TestSSOUnconfigured(t *testing.T) {
	e := newEnv(t)
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/sso-connections"},
		{http.MethodGet, "/sso-connections/x"},
		{http.MethodDelete, "/sso-connections/x"},
		{http.MethodPost, "/members/" + e.ownerID + "/impersonation"},
	} {
		p := wantProblem(t, e.as(e.owner, r.method, r.path, nil), http.StatusServiceUnavailable, CodeUnavailable, "")
		if !strings.Contains(p.Detail, "single sign-on is not configured") {
			t.Errorf("%s %s: %s", r.method, r.path, p.Detail)
		}
	}
	wantProblem(t, e.as("a.b.c", http.MethodGet, "/roles", nil), http.StatusUnauthorized, string(provisioning.CodeUnauthenticated), "")
	// Without sso.manage the routes are forbidden before anything else.
	rita := e.member("rita@acme.example", provisioning.RoleReporter)
	wantProblem(t, e.as(e.tokenFor(rita.ID), http.MethodGet, "/sso-connections", nil), http.StatusForbidden, string(provisioning.CodeForbidden), "")
}

// TestOpenAPIDocumentsSSO checks the new operations are in the document
// with their permissions.
func TestOpenAPIDocumentsSSO(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Perms []string `json:"x-permissions"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(expect(t, e.as("", http.MethodGet, "/openapi.json", nil), http.StatusOK), &doc); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct{ path, method, perm string }{
		{"/sso-connections", "get", provisioning.PermSSOManage},
		{"/sso-connections", "post", provisioning.PermSSOManage},
		{"/sso-connections/{id}", "get", provisioning.PermSSOManage},
		{"/sso-connections/{id}", "patch", provisioning.PermSSOManage},
		{"/sso-connections/{id}", "delete", provisioning.PermSSOManage},
		{"/members/{id}/impersonation", "post", provisioning.PermTeamViewAs},
	} {
		o, found := doc.Paths[op.path][op.method]
		if !found || len(o.Perms) != 1 || o.Perms[0] != op.perm {
			t.Errorf("%s %s: %+v (found %v)", op.method, op.path, o, found)
		}
	}
	for _, s := range []string{"SSOConnection", "SSOConnectionInput", "SSOConnectionPatch", "SAMLSettings", "OIDCSettings", "ViewAsToken"} {
		if doc.Components.Schemas[s] == nil {
			t.Errorf("schema %s missing", s)
		}
	}
	if strings.Contains(string(doc.Components.Schemas["OIDCSettings"]), "clientSecret\"") {
		t.Error("the OIDC view documents a client secret")
	}
}
