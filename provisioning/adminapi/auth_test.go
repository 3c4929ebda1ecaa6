package adminapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	expiring, _, err := e.svc.IssueToken(e.ctx, system, e.acct.Account.ID, provisioning.TokenInput{
		Kind: repository.TokenAPI, Name: "short", MemberID: e.ownerID, ExpiresAt: e.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	revoked, revokedTok, err := e.svc.IssueToken(e.ctx, system, e.acct.Account.ID, provisioning.TokenInput{
		Kind: repository.TokenAPI, Name: "revoked", MemberID: e.ownerID})
	if err != nil {
		t.Fatal(err)
	}
	// Both work until they expire or are revoked.
	for _, tok := range []string{expiring, revoked} {
		expect(t, e.as(tok, http.MethodGet, "/seats", nil), http.StatusOK)
	}
	expect(t, e.as(e.owner, http.MethodDelete, "/api-tokens/"+revokedTok.ID, nil), http.StatusNoContent)
	e.clock.Advance(2 * time.Hour)

	tests := []struct {
		name   string
		header string
	}{
		{"no Authorization", ""},
		{"basic scheme", "Basic b3duZXI6cHc="},
		{"empty bearer", "Bearer "},
		{"unknown token", "Bearer rst_api_" + strings.Repeat("A", 43)},
		{"SCIM token", "Bearer " + e.acct.SCIMToken},
		{"expired token", "Bearer " + expiring},
		{"revoked token", "Bearer " + revoked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := req{method: http.MethodPost, path: "/members", body: `{"userName":"intruder@acme.example"}`}
			if tc.header != "" {
				r.header = map[string]string{"Authorization": tc.header}
			}
			members := e.memberCount(e.acct.Account.ID)
			p := wantProblem(t, e.do(r), http.StatusUnauthorized, "unauthenticated", "")
			if strings.Contains(p.Detail, "expired") && !strings.Contains(p.Detail, "revoked") {
				t.Errorf("detail %q tells the reason apart", p.Detail)
			}
			if n := e.memberCount(e.acct.Account.ID); n != members {
				t.Error("a member was created")
			}
		})
	}

	t.Run("deactivated member", func(t *testing.T) {
		m := e.member("gone@acme.example", provisioning.RoleAdministrator)
		tok := e.tokenFor(m.ID)
		expect(t, e.as(tok, http.MethodGet, "/seats", nil), http.StatusOK)
		// Deactivated straight in the store, so the token is not revoked:
		// the member's state alone must shut it out.
		if _, err := e.store.UpdateMember(e.ctx, e.acct.Account.ID, m.ID, func(x repository.Member) (repository.Member, error) {
			x.Active, x.Status = false, repository.StatusDeactivated
			return x, nil
		}); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, e.as(tok, http.MethodGet, "/seats", nil), http.StatusUnauthorized, "unauthenticated", "")
	})

	t.Run("last use is recorded", func(t *testing.T) {
		list := decodeAs[List[Token]](t, e.as(e.owner, http.MethodGet, "/api-tokens", nil), http.StatusOK)
		found := false
		for _, tok := range list.Items {
			if tok.Name != "Owner API token" {
				continue
			}
			found = true
			if tok.LastUsedAt == nil || !tok.LastUsedAt.Equal(e.clock.Now()) || tok.Status != "active" {
				t.Errorf("owner token %+v: want last use %v", tok, e.clock.Now())
			}
		}
		if !found {
			t.Errorf("owner token not listed: %+v", list.Items)
		}
	})
}

// TestEveryRouteChecksPermission calls every documented operation without
// credentials (401) and as a member whose roles grant none of the
// admin permissions (403), and checks nothing changed.
func TestEveryRouteChecksPermission(t *testing.T) {
	e := newEnv(t)
	agent := e.member("agent@acme.example", provisioning.RoleAgent, provisioning.RoleReporter)
	tok := e.tokenFor(agent.ID)
	doc := openAPIDoc(t, e)
	audits := e.auditCount()
	for path, ops := range doc.Paths {
		for method, op := range ops {
			method = strings.ToUpper(method)
			p := strings.NewReplacer("{id}", agent.ID, "{key}", "agent", "{memberId}", agent.ID).Replace(path)
			t.Run(method+" "+path, func(t *testing.T) {
				if len(op.Security) == 0 && op.Security != nil {
					expect(t, e.as("", method, p, nil), http.StatusOK)
					return
				}
				if len(op.Permissions) == 0 {
					t.Fatal("no x-permissions documented")
				}
				wantProblem(t, e.as("", method, p, `{}`), http.StatusUnauthorized, "unauthenticated", "")
				pr := wantProblem(t, e.as(tok, method, p, `{}`), http.StatusForbidden, "forbidden", "")
				for _, perm := range op.Permissions {
					if !strings.Contains(pr.Detail, perm) {
						t.Errorf("detail %q does not name %s", pr.Detail, perm)
					}
				}
			})
		}
	}
	if n := e.auditCount(); n != audits {
		t.Errorf("%d audit events written by refused calls", n-audits)
	}
}

// TestOtherAccountIsNotFound uses ids of another account's records: each
// is a 404 exactly like an id that does not exist, and nothing of the
// other account changes.
func TestOtherAccountIsNotFound(t *testing.T) {
	e := newEnv(t)
	foreign := e.memberIn(e.other.Account.ID, "f@globex.example", provisioning.RoleReporter)
	fgroup, err := e.svc.CreateGroup(e.ctx, system, repository.Group{AccountID: e.other.Account.ID, DisplayName: "Globex support"}, []string{foreign.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateRole(e.ctx, system, e.other.Account.ID, repository.Role{
		AccountID: e.other.Account.ID, Key: "globex_only", DisplayName: "Globex only", Permissions: []string{provisioning.PermReportsView}}); err != nil {
		t.Fatal(err)
	}
	ftoks, err := e.store.ListTokens(e.ctx, e.other.Account.ID, "")
	if err != nil || len(ftoks) < 2 {
		t.Fatalf("other account's tokens: %v %v", ftoks, err)
	}
	var fapi, fscim string
	for _, tk := range ftoks {
		if tk.Kind == repository.TokenAPI {
			fapi = tk.ID
		} else {
			fscim = tk.ID
		}
	}
	fownerBefore, _ := e.store.GetMember(e.ctx, e.other.Account.ID, e.other.Owner.ID)
	foreignBefore, _ := e.store.GetMember(e.ctx, e.other.Account.ID, foreign.ID)

	calls := []struct {
		method, path string
		body         string
	}{
		{http.MethodGet, "/members/" + foreign.ID, ""},
		{http.MethodPatch, "/members/" + foreign.ID, `{"title":"pwned"}`},
		{http.MethodDelete, "/members/" + foreign.ID, ""},
		{http.MethodPost, "/members/" + foreign.ID + "/deactivate", ""},
		{http.MethodPost, "/members/" + e.other.Owner.ID + "/deactivate", ""},
		{http.MethodPost, "/members/" + foreign.ID + "/reactivate", ""},
		{http.MethodGet, "/members/" + foreign.ID + "/permissions", ""},
		{http.MethodGet, "/members/" + foreign.ID + "/reports", ""},
		{http.MethodGet, "/groups/" + fgroup.ID, ""},
		{http.MethodPatch, "/groups/" + fgroup.ID, `{"displayName":"pwned"}`},
		{http.MethodDelete, "/groups/" + fgroup.ID, ""},
		{http.MethodGet, "/groups/" + fgroup.ID + "/members", ""},
		{http.MethodPost, "/groups/" + fgroup.ID + "/members", `{"memberIds":[]}`},
		{http.MethodDelete, "/groups/" + fgroup.ID + "/members/" + foreign.ID, ""},
		{http.MethodGet, "/groups/" + fgroup.ID + "/role-mapping", ""},
		{http.MethodPut, "/groups/" + fgroup.ID + "/role-mapping", `{"roleKey":"agent"}`},
		{http.MethodDelete, "/groups/" + fgroup.ID + "/role-mapping", ""},
		{http.MethodGet, "/roles/globex_only", ""},
		{http.MethodPatch, "/roles/globex_only", `{"displayName":"pwned"}`},
		{http.MethodDelete, "/roles/globex_only", ""},
		{http.MethodDelete, "/api-tokens/" + fapi, ""},
		{http.MethodDelete, "/scim-tokens/" + fscim, ""},
	}
	for _, tc := range calls {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			p := wantProblem(t, e.as(e.owner, tc.method, tc.path, body), http.StatusNotFound, "not_found", "")
			if strings.Contains(p.Detail, "Globex") || strings.Contains(p.Detail, "globex.example") {
				t.Errorf("detail %q leaks the other account", p.Detail)
			}
		})
	}

	t.Run("a member of another account cannot be added", func(t *testing.T) {
		g, err := e.svc.CreateGroup(e.ctx, system, repository.Group{AccountID: e.acct.Account.ID, DisplayName: "Acme support"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"memberIds":["` + foreign.ID + `"]}`
		wantProblem(t, e.as(e.owner, http.MethodPost, "/groups/"+g.ID+"/members", body), http.StatusBadRequest, "invalid_value", "memberIds")
		if edges, _ := e.store.ListGroupMembers(e.ctx, e.acct.Account.ID, g.ID, "", 10); len(edges) != 0 {
			t.Errorf("edges = %v", edges)
		}
	})

	t.Run("ownership cannot go to another account", func(t *testing.T) {
		rec := e.as(e.owner, http.MethodPost, "/ownership/transfer", `{"memberId":"`+e.other.Owner.ID+`"}`)
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		acct, _ := e.store.GetAccount(e.ctx, e.acct.Account.ID)
		if acct.OwnerMemberID != e.ownerID {
			t.Errorf("owner is now %s", acct.OwnerMemberID)
		}
	})

	// Nothing of the other account changed.
	fownerAfter, _ := e.store.GetMember(e.ctx, e.other.Account.ID, e.other.Owner.ID)
	foreignAfter, _ := e.store.GetMember(e.ctx, e.other.Account.ID, foreign.ID)
	if fownerAfter.Version != fownerBefore.Version || foreignAfter.Version != foreignBefore.Version {
		t.Error("the other account's members changed")
	}
	if g, err := e.store.GetGroup(e.ctx, e.other.Account.ID, fgroup.ID, true); err != nil || g.DisplayName != "Globex support" || len(g.Members) != 1 || g.RoleKey != "" {
		t.Errorf("the other account's group: %+v, %v", g, err)
	}
	if r, err := e.store.GetRole(e.ctx, e.other.Account.ID, "globex_only"); err != nil || r.DisplayName != "Globex only" {
		t.Errorf("the other account's role: %+v, %v", r, err)
	}
	ftoks2, _ := e.store.ListTokens(e.ctx, e.other.Account.ID, "")
	for _, tk := range ftoks2 {
		if !tk.RevokedAt.IsZero() {
			t.Errorf("the other account's token %s was revoked", tk.ID)
		}
	}
	page, _ := e.store.ListAudit(e.ctx, e.other.Account.ID, repository.AuditQuery{ActorID: e.ownerID, Limit: 10})
	if page.Total != 0 {
		t.Errorf("%d audit events in the other account by this caller", page.Total)
	}
}

// openAPIDocSubset is the part of the OpenAPI document tests read.
type openAPIDocSubset struct {
	OpenAPI string                                 `json:"openapi"`
	Paths   map[string]map[string]openAPIOperation `json:"paths"`
}

type openAPIOperation struct {
	OperationID string            `json:"operationId"`
	Permissions []string          `json:"x-permissions"`
	Security    []json.RawMessage `json:"security"`
	Responses   map[string]any    `json:"responses"`
}

// openAPIDoc fetches the document through the API.
func openAPIDoc(t *testing.T, e *env) openAPIDocSubset {
	t.Helper()
	return decodeAs[openAPIDocSubset](t, e.as("", http.MethodGet, "/openapi.json", nil), http.StatusOK)
}

// TestSessionHook: browser sessions come through Options.Sessions; a
// read-only ("view as") session may read but not write.
func TestSessionHook(t *testing.T) {
	e := newEnv(t)
	hook := func(r *http.Request) (Principal, bool, error) {
		c, err := r.Cookie("roster_session")
		if err != nil {
			return Principal{}, false, nil
		}
		switch c.Value {
		case "view-as":
			return Principal{AccountID: e.acct.Account.ID, MemberID: e.ownerID, CredentialID: "s1", ReadOnly: true}, true, nil
		case "full":
			return Principal{AccountID: e.acct.Account.ID, MemberID: e.ownerID, CredentialID: "s2"}, true, nil
		case "down":
			return Principal{}, false, errors.New("session store unreachable")
		}
		return Principal{}, false, &provisioning.Error{Code: provisioning.CodeUnauthenticated, Message: "expired session"}
	}
	api, err := New(e.svc, Options{Sessions: hook, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	api.Mount(engine.Group("/api/v1"))
	send := func(method, path, cookie, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/api/v1"+path, strings.NewReader(body))
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "roster_session", Value: cookie})
		}
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, r)
		return rec
	}
	expect(t, send(http.MethodGet, "/seats", "view-as", ""), http.StatusOK)
	wantProblem(t, send(http.MethodPut, "/seats", "view-as", `{"total":9}`), http.StatusForbidden, "forbidden", "")
	decodeAs[Seats](t, send(http.MethodPut, "/seats", "full", `{"total":9}`), http.StatusOK)
	wantProblem(t, send(http.MethodGet, "/seats", "", ""), http.StatusUnauthorized, "unauthenticated", "")
	wantProblem(t, send(http.MethodGet, "/seats", "stale", ""), http.StatusUnauthorized, "unauthenticated", "")
	wantProblem(t, send(http.MethodGet, "/seats", "down", ""), http.StatusServiceUnavailable, "unavailable", "")
	if acct, _ := e.store.GetAccount(e.ctx, e.acct.Account.ID); acct.Seats.Total != 9 {
		t.Errorf("seats = %d", acct.Seats.Total)
	}
}
