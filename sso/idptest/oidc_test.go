package idptest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// rp is a minimal relying party built from go-oidc and x/oauth2, the
// checker of these tests: it proves that what the npm oidc-provider sends
// is what a standard RP accepts.
type rp struct {
	srv      *httptest.Server
	provider *oidc.Provider
	conf     oauth2.Config

	mu       sync.Mutex
	verifier string // PKCE verifier of the login under way
	nonce    string
}

// loginResult is what the callback saw, sent back to the browser as JSON.
type loginResult struct {
	Error      string         `json:"error,omitempty"`
	Claims     map[string]any `json:"claims,omitempty"`
	Kid        string         `json:"kid,omitempty"`
	RawIDToken string         `json:"rawIdToken,omitempty"`
	UserInfo   map[string]any `json:"userinfo,omitempty"`
}

func newRP(t *testing.T) *rp {
	r := &rp{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.callback))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rp) redirectURL() string { return r.srv.URL + "/callback" }

// discover points the RP at an issuer and its client.
func (r *rp) discover(t *testing.T, p *OIDCProvider, scopes ...string) {
	t.Helper()
	prov, err := oidc.NewProvider(t.Context(), p.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	r.provider = prov
	r.conf = oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret,
		Endpoint:     prov.Endpoint(),
		RedirectURL:  r.redirectURL(),
		Scopes:       append([]string{oidc.ScopeOpenID}, scopes...),
	}
}

// authURL starts a login with a fresh PKCE verifier and nonce.
func (r *rp) authURL(opts ...oauth2.AuthCodeOption) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verifier = oauth2.GenerateVerifier()
	r.nonce = oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(r.verifier), oidc.Nonce(r.nonce))
	return r.conf.AuthCodeURL("state-1", opts...)
}

func (r *rp) callback(w http.ResponseWriter, req *http.Request) {
	res := r.handle(req)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func (r *rp) handle(req *http.Request) loginResult {
	q := req.URL.Query()
	if e := q.Get("error"); e != "" {
		return loginResult{Error: e}
	}
	if q.Get("state") != "state-1" {
		return loginResult{Error: "state mismatch"}
	}
	r.mu.Lock()
	verifier, nonce := r.verifier, r.nonce
	r.mu.Unlock()
	ctx := req.Context()
	tok, err := r.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return loginResult{Error: "exchange: " + err.Error()}
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.provider.Verifier(&oidc.Config{ClientID: r.conf.ClientID}).Verify(ctx, raw)
	if err != nil {
		return loginResult{Error: "verify: " + err.Error()}
	}
	if idt.Nonce != nonce {
		return loginResult{Error: "nonce mismatch"}
	}
	res := loginResult{RawIDToken: raw, Kid: kidOf(raw)}
	if err := idt.Claims(&res.Claims); err != nil {
		return loginResult{Error: "claims: " + err.Error()}
	}
	ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return loginResult{Error: "userinfo: " + err.Error()}
	}
	if ui.Subject != idt.Subject {
		return loginResult{Error: "userinfo sub " + ui.Subject + " != " + idt.Subject}
	}
	if err := ui.Claims(&res.UserInfo); err != nil {
		return loginResult{Error: "userinfo claims: " + err.Error()}
	}
	return res
}

// login runs one login in browser b and decodes the callback's answer.
func (r *rp) login(t *testing.T, b *Browser, opts ...oauth2.AuthCodeOption) loginResult {
	t.Helper()
	page := b.Visit(r.authURL(opts...))
	if page.URL.Path != "/callback" {
		t.Fatalf("login ended at %s (%d), not the callback:\n%s", page.URL, page.StatusCode, page.Body)
	}
	var res loginResult
	if err := json.Unmarshal(page.Body, &res); err != nil {
		t.Fatalf("callback answer %q: %v", page.Body, err)
	}
	return res
}

func kidOf(jwt string) string {
	head, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Kid
}

func TestOIDCDiscovery(t *testing.T) {
	p := StartOIDC(t, OIDCConfig{})
	var doc struct {
		Issuer        string   `json:"issuer"`
		Authorization string   `json:"authorization_endpoint"`
		JWKS          string   `json:"jwks_uri"`
		PKCE          []string `json:"code_challenge_methods_supported"`
		Scopes        []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal(p.proc.get(t, "/.well-known/openid-configuration"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != p.Issuer || !strings.HasPrefix(p.Issuer, "http://127.0.0.1:") {
		t.Errorf("issuer %q, provider says %q", p.Issuer, doc.Issuer)
	}
	if doc.JWKS != p.JWKSURL() {
		t.Errorf("jwks_uri %q, want %q", doc.JWKS, p.JWKSURL())
	}
	if !slices.Equal(doc.PKCE, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", doc.PKCE)
	}
	for _, s := range []string{"openid", "email", "profile", "groups"} {
		if !slices.Contains(doc.Scopes, s) {
			t.Errorf("scope %q not supported: %v", s, doc.Scopes)
		}
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(p.proc.get(t, "/jwks"), &jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kid != p.Kid || jwks.Keys[0].Alg != "RS256" || jwks.Keys[0].D != "" {
		t.Errorf("jwks = %+v, want one public RS256 key %q", jwks.Keys, p.Kid)
	}
}

func TestOIDCLogin(t *testing.T) {
	r := newRP(t)
	p := StartOIDC(t, OIDCConfig{RedirectURIs: []string{r.redirectURL()}})
	r.discover(t, p, "email", "profile", "groups")

	for _, tc := range []struct {
		name     string
		loginAs  string // LoginAs before the login
		opts     []oauth2.AuthCodeOption
		sub      string
		email    string
		verified bool
		groups   []string
	}{
		{name: "default user", sub: "alice", email: "alice@example.com", verified: true, groups: []string{"agents"}},
		{name: "login_hint by email", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("login_hint", "bob@example.com")},
			sub: "bob", email: "bob@example.com", groups: []string{"agents", "supervisors"}},
		{name: "LoginAs", loginAs: "bob", sub: "bob", email: "bob@example.com", groups: []string{"agents", "supervisors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.LoginAs(t, tc.loginAs)
			res := r.login(t, NewBrowser(t), tc.opts...)
			if res.Error != "" {
				t.Fatalf("login failed: %s\n%s", res.Error, p.Stderr())
			}
			c := res.Claims
			if c["sub"] != tc.sub || c["email"] != tc.email || c["email_verified"] != tc.verified || c["iss"] != p.Issuer {
				t.Errorf("claims = %v", c)
			}
			if got := toStrings(c["groups"]); !slices.Equal(got, tc.groups) {
				t.Errorf("groups = %v, want %v", got, tc.groups)
			}
			if res.UserInfo["email"] != tc.email {
				t.Errorf("userinfo = %v", res.UserInfo)
			}
			if res.Kid != p.Kid {
				t.Errorf("ID token kid %q, want current %q", res.Kid, p.Kid)
			}
		})
	}
	p.LoginAs(t, "")

	t.Run("session kept", func(t *testing.T) {
		b := NewBrowser(t)
		first := r.login(t, b)
		p.LoginAs(t, "bob")
		defer p.LoginAs(t, "")
		second := r.login(t, b)
		if first.Error != "" || second.Error != "" || second.Claims["sub"] != "alice" {
			t.Errorf("second login in the same browser = %+v, want alice's session kept", second)
		}
	})

	t.Run("refused", func(t *testing.T) {
		p.FailLogins(t, "access_denied")
		defer p.LoginAs(t, "")
		if res := r.login(t, NewBrowser(t)); res.Error != "access_denied" {
			t.Errorf("error = %q, want access_denied", res.Error)
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		res := r.login(t, NewBrowser(t), oauth2.SetAuthURLParam("login_hint", "mallory"))
		if res.Error != "access_denied" {
			t.Errorf("error = %q, want access_denied", res.Error)
		}
	})

	t.Run("PKCE required", func(t *testing.T) {
		u := r.conf.AuthCodeURL("state-1", oidc.Nonce("n"))
		page := NewBrowser(t).Visit(u)
		var res loginResult
		_ = json.Unmarshal(page.Body, &res)
		if res.Error != "invalid_request" {
			t.Errorf("login without code_challenge = %s %s, want invalid_request", page.URL, page.Body)
		}
	})

	t.Run("PutUser", func(t *testing.T) {
		p.PutUser(t, OIDCUser{Subject: "carol", Email: "carol@example.com", EmailVerified: true, Groups: []string{"admins"}})
		res := r.login(t, NewBrowser(t), oauth2.SetAuthURLParam("login_hint", "carol"))
		if res.Claims["sub"] != "carol" || !slices.Equal(toStrings(res.Claims["groups"]), []string{"admins"}) {
			t.Errorf("claims = %v (%s)", res.Claims, res.Error)
		}
	})
}

func TestOIDCClaimsOnlyInUserInfo(t *testing.T) {
	r := newRP(t)
	p := StartOIDC(t, OIDCConfig{RedirectURIs: []string{r.redirectURL()}, ClaimsOnlyInUserInfo: true})
	r.discover(t, p, "email", "profile")
	res := r.login(t, NewBrowser(t))
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	if _, ok := res.Claims["email"]; ok {
		t.Errorf("ID token has email: %v", res.Claims)
	}
	if res.UserInfo["email"] != "alice@example.com" || res.UserInfo["given_name"] != "Alice" {
		t.Errorf("userinfo = %v", res.UserInfo)
	}
}

func TestOIDCPublicClientPost(t *testing.T) {
	for _, cfg := range []OIDCConfig{
		{Public: true},
		{TokenAuthMethod: "client_secret_post"},
	} {
		r := newRP(t)
		cfg.RedirectURIs = []string{r.redirectURL()}
		p := StartOIDC(t, cfg)
		r.discover(t, p)
		if res := r.login(t, NewBrowser(t)); res.Error != "" || res.Claims["sub"] != "alice" {
			t.Errorf("%+v: login = %+v", cfg, res)
		}
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	r := newRP(t)
	p := StartOIDC(t, OIDCConfig{RedirectURIs: []string{r.redirectURL()}})
	r.discover(t, p)
	oldKid := p.Kid
	before := r.login(t, NewBrowser(t))
	if before.Error != "" || before.Kid != oldKid {
		t.Fatalf("first login = %+v, want kid %q", before, oldKid)
	}

	// The same verifier (and its cached key set) must accept a token signed
	// with the new key: go-oidc refetches the JWKS on an unknown kid.
	newKid := p.RotateKeys(t)
	if newKid == "" || newKid == oldKid {
		t.Fatalf("RotateKeys returned %q (old %q)", newKid, oldKid)
	}
	after := r.login(t, NewBrowser(t))
	if after.Error != "" || after.Kid != newKid {
		t.Fatalf("login after rotation = %+v, want kid %q", after, newKid)
	}
	verify := func(raw string) error {
		_, err := r.provider.Verifier(&oidc.Config{ClientID: p.ClientID}).Verify(context.Background(), raw)
		return err
	}
	if err := verify(before.RawIDToken); err != nil {
		t.Errorf("token of the old key no longer verifies after RotateKeys: %v", err)
	}

	// ReplaceKeys withdraws the old keys: a fresh key set refuses them.
	latest := p.ReplaceKeys(t)
	fresh, err := oidc.NewProvider(t.Context(), p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Verifier(&oidc.Config{ClientID: p.ClientID}).Verify(t.Context(), after.RawIDToken); err == nil {
		t.Errorf("token of a retired key %q still verifies", newKid)
	}
	last := r.login(t, NewBrowser(t))
	if last.Error != "" || last.Kid != latest {
		t.Errorf("login after ReplaceKeys = %+v, want kid %q", last, latest)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
