package adminapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	rec := e.as(e.owner, http.MethodPost, "/api-tokens", `{"name":"CI","expiresAt":"2025-06-01T00:00:00Z"}`)
	issued := decodeAs[IssuedToken](t, rec, http.StatusCreated)
	if !strings.HasPrefix(issued.Token, "rst_api_") || issued.MemberID != e.ownerID || issued.Name != "CI" ||
		issued.ExpiresAt == nil || !issued.ExpiresAt.Equal(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("issued = %+v", issued)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
	}
	expect(t, e.as(issued.Token, http.MethodGet, "/seats", nil), http.StatusOK)

	list := decodeAs[List[Token]](t, e.as(e.owner, http.MethodGet, "/api-tokens", nil), http.StatusOK)
	if len(list.Items) != 2 || list.Items[0].ID != issued.ID || list.Items[0].Status != "active" || list.Items[0].LastUsedAt == nil {
		t.Errorf("list = %+v", list.Items)
	}
	body := e.as(e.owner, http.MethodGet, "/api-tokens", nil).Body.String()
	if strings.Contains(body, issued.Token) || strings.Contains(body, provisioning.HashToken(issued.Token)) {
		t.Error("the list shows a secret or its hash")
	}

	bad := []struct {
		body       string
		code, attr string
	}{
		{`{"name":"x","memberId":"` + e.ownerID + `"}`, "read_only", "memberId"},
		{`{"name":"x","expiresAt":"tomorrow"}`, "invalid_type", "expiresAt"},
		{`{"name":"x","expiresAt":"2020-01-01T00:00:00Z"}`, "invalid_value", "expiresAt"},
		{`{"name":""}`, "invalid_value", "name"},
		{`{"name":"x","token":"rst_api_mine"}`, "unknown_field", "token"},
	}
	for _, tc := range bad {
		t.Run(tc.body, func(t *testing.T) {
			before, _ := e.store.ListTokens(e.ctx, e.acct.Account.ID, repository.TokenAPI)
			wantProblem(t, e.as(e.owner, http.MethodPost, "/api-tokens", tc.body), http.StatusBadRequest, tc.code, tc.attr)
			if after, _ := e.store.ListTokens(e.ctx, e.acct.Account.ID, repository.TokenAPI); len(after) != len(before) {
				t.Error("a token was minted")
			}
		})
	}

	expect(t, e.as(e.owner, http.MethodDelete, "/api-tokens/"+issued.ID, nil), http.StatusNoContent)
	expect(t, e.as(e.owner, http.MethodDelete, "/api-tokens/"+issued.ID, nil), http.StatusNoContent) // idempotent
	wantProblem(t, e.as(issued.Token, http.MethodGet, "/seats", nil), http.StatusUnauthorized, "unauthenticated", "")
	list = decodeAs[List[Token]](t, e.as(e.owner, http.MethodGet, "/api-tokens", nil), http.StatusOK)
	if list.Items[0].Status != "revoked" || list.Items[0].RevokedAt == nil {
		t.Errorf("revoked token listed as %+v", list.Items[0])
	}
	scimTok, _ := e.store.ListTokens(e.ctx, e.acct.Account.ID, repository.TokenSCIM)
	wantProblem(t, e.as(e.owner, http.MethodDelete, "/api-tokens/"+scimTok[0].ID, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, e.as(e.owner, http.MethodDelete, "/api-tokens/nope", nil), http.StatusNotFound, "not_found", "")

	// Both changes are audited with the caller as actor, secrets left out.
	page, err := e.store.ListAudit(e.ctx, e.acct.Account.ID, repository.AuditQuery{TargetID: issued.ID, Limit: 10})
	if err != nil || page.Total != 2 || page.Items[0].Action != "api_token.revoke" || page.Items[1].Action != "api_token.create" ||
		page.Items[0].ActorID != e.ownerID || page.Items[0].ActorKind != repository.ActorMember {
		t.Fatalf("audit = %+v, %v", page.Items, err)
	}
	if strings.Contains(string(page.Items[1].Diff), issued.Token[8:]) || strings.Contains(string(page.Items[1].Diff), "Hash") {
		t.Errorf("audit diff shows a secret: %s", page.Items[1].Diff)
	}

	t.Run("expiry", func(t *testing.T) {
		e.clock.Advance(24 * time.Hour * 90)
		tok, _, err := e.svc.IssueToken(e.ctx, system, e.acct.Account.ID, provisioning.TokenInput{
			Kind: repository.TokenAPI, Name: "short", MemberID: e.ownerID, ExpiresAt: e.clock.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute)
		wantProblem(t, e.as(tok, http.MethodGet, "/seats", nil), http.StatusUnauthorized, "unauthenticated", "")
		list := decodeAs[List[Token]](t, e.as(e.owner, http.MethodGet, "/api-tokens", nil), http.StatusOK)
		if list.Items[0].Name != "short" || list.Items[0].Status != "expired" {
			t.Errorf("expired token listed as %+v", list.Items[0])
		}
	})
}

func TestSCIMTokens(t *testing.T) {
	e := newEnv(t)
	issued := decodeAs[IssuedToken](t, e.as(e.owner, http.MethodPost, "/scim-tokens", `{"name":"Okta"}`), http.StatusCreated)
	if !strings.HasPrefix(issued.Token, "rst_scim_") || issued.MemberID != "" {
		t.Errorf("issued = %+v", issued)
	}
	if tok, err := e.svc.Authenticate(e.ctx, issued.Token, repository.TokenSCIM); err != nil || tok.AccountID != e.acct.Account.ID {
		t.Fatalf("the SCIM token does not authenticate: %v", err)
	}
	// A SCIM token is no API credential.
	wantProblem(t, e.as(issued.Token, http.MethodGet, "/scim-tokens", nil), http.StatusUnauthorized, "unauthenticated", "")

	list := decodeAs[List[Token]](t, e.as(e.owner, http.MethodGet, "/scim-tokens", nil), http.StatusOK)
	if len(list.Items) != 2 || list.Items[0].ID != issued.ID || list.Items[1].Name != "Initial SCIM token" {
		t.Errorf("list = %+v", list.Items)
	}
	expect(t, e.as(e.owner, http.MethodDelete, "/scim-tokens/"+issued.ID, nil), http.StatusNoContent)
	if _, err := e.svc.Authenticate(e.ctx, issued.Token, repository.TokenSCIM); err == nil {
		t.Error("the revoked SCIM token still authenticates")
	}
	apiToks, _ := e.store.ListTokens(e.ctx, e.acct.Account.ID, repository.TokenAPI)
	wantProblem(t, e.as(e.owner, http.MethodDelete, "/scim-tokens/"+apiToks[0].ID, nil), http.StatusNotFound, "not_found", "")
	if _, err := e.svc.Authenticate(e.ctx, e.owner, repository.TokenAPI); err != nil {
		t.Errorf("the API token was revoked through the SCIM route: %v", err)
	}
}
