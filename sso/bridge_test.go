package sso

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/adminapi"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// env is a bridge over a real SQLite store, mounted on an engine with the
// admin API, behind the request-id header the server's middleware sets.
type env struct {
	t       *testing.T
	ctx     context.Context
	store   repository.Store
	svc     *provisioning.Service
	bridge  *Bridge
	srv     *httptest.Server
	base    string
	acct    provisioning.CreatedAccount
	admin   repository.Member
	mu      sync.Mutex
	observe []string
}

const testPassword = "correct horse battery"

// newEnv builds the env; opts adjust the bridge's Options before New.
func newEnv(t *testing.T, baseURL string, opts ...func(*Options)) *env {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// An empty baseURL is the test server's own (IdPs redirect to it).
	var handler atomic.Pointer[gin.Engine]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.Load().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if baseURL == "" {
		baseURL = srv.URL
	}
	// The service's clock stands still, so login backoff does not depend
	// on how fast bcrypt runs on a busy machine.
	start := time.Now()
	svc := provisioning.New(st, provisioning.WithBaseURL(baseURL), provisioning.WithClock(func() time.Time { return start }))
	e := &env{srv: srv, t: t, ctx: ctx, store: st, svc: svc, base: baseURL}
	bopts := Options{
		BaseURL:   baseURL,
		SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Observe: func(kind, outcome, reason string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.observe = append(e.observe, kind+"/"+outcome+"/"+reason)
		},
	}
	for _, o := range opts {
		o(&bopts)
	}
	e.bridge, err = New(svc, bopts)
	if err != nil {
		t.Fatal(err)
	}
	eng := gin.New()
	eng.Use(func(c *gin.Context) { c.Header("X-Request-Id", "req-test-1"); c.Next() })
	e.bridge.Mount(eng)
	if err := adminapi.Mount(eng.Group("/api/v1"), svc, adminapi.Options{Sessions: e.bridge.AdminSessions,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatal(err)
	}
	handler.Store(eng)
	e.acct, err = svc.CreateAccount(ctx, provisioning.CreateAccountInput{Name: "Acme", OwnerEmail: "owner@acme.example",
		Seats: 5, BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	e.admin = e.member("admin@acme.example", provisioning.RoleAdministrator)
	return e
}

// member creates an active member with the test password.
func (e *env) member(userName string, roles ...string) repository.Member {
	e.t.Helper()
	m, err := e.svc.CreateMember(e.ctx, provisioning.Actor{Kind: repository.ActorSystem}, repository.Member{
		AccountID: e.acct.Account.ID, UserName: userName, Active: true, Roles: roles})
	if err != nil {
		e.t.Fatal(err)
	}
	hash, err := provisioning.HashPassword(testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err = e.store.UpdateMember(e.ctx, m.AccountID, m.ID, func(m repository.Member) (repository.Member, error) {
		m.PasswordHash = hash
		return m, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// connection stores an enabled connection of kind routing domain.
func (e *env) connection(kind, domain string, enabled bool) repository.SSOConnection {
	e.t.Helper()
	c, err := e.store.CreateSSOConnection(e.ctx, repository.SSOConnection{AccountID: e.acct.Account.ID,
		ID: repository.NewID(), Kind: kind, Name: domain, Domains: []string{domain}, Enabled: enabled, Config: []byte(`{}`)})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// client returns a client that keeps cookies and does not follow
// redirects.
func (e *env) client() *http.Client {
	jar := newJar()
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request and returns the response with its body read.
func (e *env) do(c *http.Client, method, path string, body io.Reader, header map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// login signs in with a password over JSON and returns the session view.
func (e *env) login(c *http.Client, email string) SessionView {
	e.t.Helper()
	resp, body := e.do(c, http.MethodPost, "/auth/login",
		strings.NewReader(`{"account":"`+e.acct.Account.ID+`","email":"`+email+`","password":"`+testPassword+`"}`),
		map[string]string{"Content-Type": "application/json", "Accept": "application/json"})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, resp.StatusCode, body)
	}
	var v SessionView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

func TestLoginRouting(t *testing.T) {
	e := newEnv(t, "http://roster.test")
	oidc := e.connection(repository.SSOOIDC, "acme.example", true)
	e.connection(repository.SSOSAML, "off.example", false)
	c := e.client()
	for _, tc := range []struct {
		name, query, accept string
		status              int
		location, body      string
	}{
		{"page", "", "", http.StatusOK, "", "Sign in with your company"},
		{"routed", "?email=Ana@ACME.example&return_to=/app/inbox", "", http.StatusSeeOther,
			"/sso/oidc/" + oidc.ID + "/start?return_to=%2Fapp%2Finbox", ""},
		{"unknown domain", "?email=bo@nowhere.example", "", http.StatusNotFound, "", "No single sign-on is set up for nowhere.example"},
		{"disabled connection", "?email=bo@off.example", "", http.StatusNotFound, "", "No single sign-on is set up for off.example"},
		{"not an email", "?email=nobody", "", http.StatusBadRequest, "", "Enter your work email address"},
		{"json", "?email=ana@acme.example", "application/json", http.StatusOK, "", `"loginUrl":"/sso/oidc/` + oidc.ID},
		{"json unknown", "?email=bo@nowhere.example", "application/json", http.StatusNotFound, "", `"code":"not_found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(c, http.MethodGet, "/sso/login"+tc.query, nil, map[string]string{"Accept": tc.accept})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("location %q, want %q", got, tc.location)
			}
			if !strings.Contains(body, tc.body) {
				t.Errorf("body lacks %q: %s", tc.body, body)
			}
			if tc.status >= 400 && tc.accept == "" && !strings.Contains(body, "req-test-1") {
				t.Errorf("error page without the request id")
			}
		})
	}
}

func TestReturnToOpenRedirectRefused(t *testing.T) {
	e := newEnv(t, "http://roster.test")
	oidc := e.connection(repository.SSOOIDC, "acme.example", true)
	e.member("pat@acme.example", provisioning.RoleReporter)
	for _, evil := range []string{"https://evil.example/app", "//evil.example/app", "/\\evil.example", "/app/../admin",
		"javascript:alert(1)", "/application"} {
		resp, _ := e.do(e.client(), http.MethodGet, "/sso/login?"+url.Values{"email": {"a@acme.example"}, "return_to": {evil}}.Encode(), nil, nil)
		want := "/sso/oidc/" + oidc.ID + "/start?return_to=%2Fauth%2Fsession"
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("return_to %q: location %q, want %q", evil, got, want)
		}
		// The password form too ends on our own default path.
		form := url.Values{"account": {e.acct.Account.ID}, "email": {"pat@acme.example"}, "password": {testPassword}, "return_to": {evil}}
		resp, body := e.do(e.client(), http.MethodPost, "/auth/login", strings.NewReader(form.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/auth/session" {
			t.Errorf("form return_to %q: %d %q %s", evil, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		base   string
		secure bool
	}{{"http://roster.test", false}, {"https://roster.test", true}} {
		t.Run(tc.base, func(t *testing.T) {
			e := newEnv(t, tc.base)
			e.member("pat@acme.example", provisioning.RoleReporter)
			resp, body := e.do(e.client(), http.MethodPost, "/auth/login",
				strings.NewReader(`{"account":"Acme-not-an-id-`+`","email":"x","password":"y"}`),
				map[string]string{"Content-Type": "application/json"})
			if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
				t.Fatalf("failed login: %d, cookies %v: %s", resp.StatusCode, resp.Cookies(), body)
			}
			resp, body = e.do(e.client(), http.MethodPost, "/auth/login",
				strings.NewReader(`{"account":"`+e.acct.Account.ID+`","email":"pat@acme.example","password":"`+testPassword+`"}`),
				map[string]string{"Content-Type": "application/json"})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("login: %d %s", resp.StatusCode, body)
			}
			var sc *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == SessionCookie {
					sc = ck
				}
			}
			if sc == nil {
				t.Fatal("no session cookie")
			}
			if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure != tc.secure ||
				sc.MaxAge <= 0 || sc.MaxAge > int(provisioning.DefaultSessionTTL/time.Second) || len(sc.Value) != 43 {
				t.Errorf("cookie %+v", sc)
			}
		})
	}
}

func TestSessionEndpointAndLogout(t *testing.T) {
	e := newEnv(t, "http://roster.test")
	c := e.client()
	resp, body := e.do(c, http.MethodGet, "/auth/session", nil, nil)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("without a session: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	agent := e.member("ana@acme.example", provisioning.RoleAgent)
	v := e.login(c, "ana@acme.example")
	if v.Member.ID != agent.ID || v.Account.Name != "Acme" || !v.Agent.Capable || v.CSRFToken == "" ||
		len(v.Roles) != 1 || v.Roles[0] != provisioning.RoleAgent || v.ExpiresAt.IsZero() {
		t.Errorf("login view %+v", v)
	}
	resp, body = e.do(c, http.MethodGet, "/auth/session", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"csrfToken":"`+v.CSRFToken+`"`) {
		t.Fatalf("session: %d %s", resp.StatusCode, body)
	}
	// Logout from a script needs the CSRF token.
	resp, _ = e.do(c, http.MethodPost, "/auth/logout", nil, map[string]string{"X-CSRF-Token": "wrong"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout with a wrong token: %d", resp.StatusCode)
	}
	resp, _ = e.do(c, http.MethodPost, "/auth/logout", nil, map[string]string{"X-CSRF-Token": v.CSRFToken})
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	resp, _ = e.do(c, http.MethodGet, "/auth/session", nil, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("session after logout: %d", resp.StatusCode)
	}
}

func TestAdminAPIThroughSessionNeedsCSRF(t *testing.T) {
	e := newEnv(t, "http://roster.test")
	c := e.client()
	v := e.login(c, "admin@acme.example")
	resp, body := e.do(c, http.MethodGet, "/api/v1/roles", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read with the cookie: %d %s", resp.StatusCode, body)
	}
	group := func(name string, header map[string]string) int {
		h := map[string]string{"Content-Type": "application/json"}
		for k, v := range header {
			h[k] = v
		}
		resp, _ := e.do(c, http.MethodPost, "/api/v1/groups", strings.NewReader(`{"displayName":"`+name+`"}`), h)
		return resp.StatusCode
	}
	// The session is a valid credential, refused for this request: 403.
	if got := group("No token", nil); got != http.StatusForbidden {
		t.Errorf("write without CSRF token: %d, want 403", got)
	}
	if got := group("Bad token", map[string]string{"X-CSRF-Token": "x" + v.CSRFToken}); got != http.StatusForbidden {
		t.Errorf("write with a wrong token: %d, want 403", got)
	}
	if got := group("Foreign", map[string]string{"X-CSRF-Token": v.CSRFToken, "Origin": "https://evil.example"}); got != http.StatusForbidden {
		t.Errorf("write from a foreign origin: %d, want 403", got)
	}
	if _, body := e.do(c, http.MethodPost, "/api/v1/groups", strings.NewReader(`{"displayName":"x"}`),
		map[string]string{"Content-Type": "application/json"}); !strings.Contains(body, "X-CSRF-Token") {
		t.Errorf("a write without CSRF token does not say what is missing: %s", body)
	}
	if got := group("Good", map[string]string{"X-CSRF-Token": v.CSRFToken, "Origin": "http://roster.test"}); got != http.StatusCreated {
		t.Errorf("write with the token: %d", got)
	}
	// Deactivation ends the session at the next request.
	other := e.client()
	e.member("ana@acme.example", provisioning.RoleReporter)
	e.login(other, "ana@acme.example")
	m, err := e.store.GetMemberByUserName(e.ctx, e.acct.Account.ID, "ana@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateMember(e.ctx, provisioning.Actor{Kind: repository.ActorSystem}, m.AccountID, m.ID, nil,
		func(m repository.Member) (repository.Member, error) { m.Active = false; return m, nil }); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do(other, http.MethodGet, "/auth/session", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("deactivated member's session: %d", resp.StatusCode)
	}
}

func TestPasswordLoginOverHTTP(t *testing.T) {
	e := newEnv(t, "http://roster.test")
	e.member("pat@acme.example", provisioning.RoleReporter)
	form := func(password string) (*http.Response, string) {
		f := url.Values{"account": {e.acct.Account.ID}, "email": {"pat@acme.example"}, "password": {password}}
		return e.do(e.client(), http.MethodPost, "/auth/login", strings.NewReader(f.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	}
	resp, body := form("wrong")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The email address or password is not correct") &&
		!strings.Contains(body, "the email address or password is not correct") || !strings.Contains(body, "req-test-1") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("wrong password page: %d %s", resp.StatusCode, body)
	}
	for range 4 {
		form("wrong")
	}
	resp, body = form(testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("locked: %d retry-after %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// A foreign site's form cannot log someone in.
	f := url.Values{"account": {e.acct.Account.ID}, "email": {"pat@acme.example"}, "password": {testPassword}}
	resp, _ = e.do(e.client(), http.MethodPost, "/auth/login", strings.NewReader(f.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d", resp.StatusCode)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.observe) == 0 || e.observe[0] != "password/failure/unauthenticated" {
		t.Errorf("observed %v", e.observe)
	}
}

func TestAccessToken(t *testing.T) {
	e := newEnv(t, "http://roster.test")
	c := e.client()
	e.member("ana@acme.example", provisioning.RoleAgent)
	v := e.login(c, "ana@acme.example")
	resp, body := e.do(c, http.MethodPost, "/auth/token", nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("token without CSRF: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(c, http.MethodPost, "/auth/token", nil, map[string]string{"X-CSRF-Token": v.CSRFToken})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatal(err)
	}
	claims, err := e.bridge.Issuer().Verify(e.ctx, tr.AccessToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if claims.MemberID != v.Member.ID || claims.SessionID != v.SessionID || !claims.Agent || tr.TokenType != "Bearer" {
		t.Errorf("claims %+v", claims)
	}
	resp, body = e.do(c, http.MethodGet, "/.well-known/jwks.json", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"keys"`) {
		t.Errorf("jwks: %d %s", resp.StatusCode, body)
	}
}

func TestUnknownConnectionPages(t *testing.T) {
	e := newEnv(t, "http://roster.test")
	for _, p := range []string{"/sso/saml/nope/metadata", "/sso/saml/nope/start", "/sso/oidc/nope/start", "/sso/oidc/nope/callback?code=x&state=y"} {
		resp, body := e.do(e.client(), http.MethodGet, p, nil, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not valid") || strings.Contains(body, "goroutine") {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
}

func TestLoadOrCreateSecretKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", SecretKeyFile)
	k1, err := LoadOrCreateSecretKey(path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create: %v %d", err, len(k1))
	}
	k2, err := LoadOrCreateSecretKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("reload: %v, same %v", err, string(k1) == string(k2))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v %v", fi, err)
	}
}

// TestTemporaryPassword: a member created with a temporary password may
// sign in, but gets nothing but its session until it chose its own
// password through POST /auth/password.
func TestTemporaryPassword(t *testing.T) {
	e := newEnv(t, "http://roster.test")
	m := e.member("tess@acme.example", provisioning.RoleAdministrator)
	if _, err := e.store.UpdateMember(e.ctx, m.AccountID, m.ID, func(m repository.Member) (repository.Member, error) {
		m.MustChangePassword = true
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	v := e.login(c, "tess@acme.example")
	csrf := map[string]string{"X-CSRF-Token": v.CSRFToken, "Content-Type": "application/json"}
	if resp, body := e.do(c, http.MethodGet, "/api/v1/roles", nil, nil); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(body, "/auth/password") {
		t.Errorf("admin API with a temporary password: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(c, http.MethodPost, "/auth/token", nil, csrf); resp.StatusCode != http.StatusForbidden {
		t.Errorf("access token with a temporary password: %d %s", resp.StatusCode, body)
	}
	change := func(current, next string, hdr map[string]string) (int, string) {
		resp, body := e.do(c, http.MethodPost, "/auth/password",
			strings.NewReader(`{"currentPassword":"`+current+`","newPassword":"`+next+`"}`), hdr)
		return resp.StatusCode, body
	}
	const mine = "a long passphrase of my own 42"
	if got, _ := change(testPassword, mine, map[string]string{"Content-Type": "application/json"}); got != http.StatusForbidden {
		t.Errorf("change without CSRF token: %d", got)
	}
	if got, body := change("not the temporary one", mine, csrf); got != http.StatusForbidden || !strings.Contains(body, "current password") {
		t.Errorf("wrong current password: %d %s", got, body)
	}
	if got, body := change(testPassword, "short", csrf); got != http.StatusBadRequest {
		t.Errorf("weak new password: %d %s", got, body)
	}
	if got, body := change(testPassword, mine, csrf); got != http.StatusNoContent {
		t.Fatalf("change: %d %s", got, body)
	}
	if resp, body := e.do(c, http.MethodGet, "/api/v1/roles", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("admin API after the change: %d %s", resp.StatusCode, body)
	}
	got, err := e.store.GetMember(e.ctx, m.AccountID, m.ID)
	if err != nil || got.MustChangePassword || !provisioning.CheckPassword(got.PasswordHash, mine) {
		t.Errorf("after the change: must change %v, new password works %v, %v",
			got.MustChangePassword, provisioning.CheckPassword(got.PasswordHash, mine), err)
	}
	page, _ := e.store.ListAudit(e.ctx, m.AccountID, repository.AuditQuery{Action: "member.password_change"})
	if len(page.Items) != 1 || page.Items[0].ActorID != m.ID {
		t.Errorf("audit of the change: %+v", page.Items)
	}
}
