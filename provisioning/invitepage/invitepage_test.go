package invitepage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

func init() { gin.SetMode(gin.ReleaseMode) }

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeSSO offers a login to members of acme.example.
type fakeSSO struct{}

func (fakeSSO) LoginURL(_ context.Context, d provisioning.InvitationDetails) (string, bool, error) {
	if strings.HasSuffix(d.Email, "@acme.example") {
		return "https://roster.example.com/sso/login?email=" + url.QueryEscape(d.Email), true, nil
	}
	return "", false, nil
}

type pageEnv struct {
	t      *testing.T
	svc    *provisioning.Service
	clock  *clock
	engine *gin.Engine
	acct   provisioning.CreatedAccount
	owner  provisioning.Actor
}

func newPageEnv(t *testing.T) *pageEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &clock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	svc := provisioning.New(store, provisioning.WithClock(c.Now), provisioning.WithBaseURL("https://roster.example.com"))
	acct, err := svc.CreateAccount(ctx, provisioning.CreateAccountInput{Name: "Acme", OwnerEmail: "olive@acme.example",
		OwnerGivenName: "Olive", OwnerFamilyName: "Owner", Seats: 2, BaseURL: "https://roster.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	if err := Mount(engine, svc, Options{SSO: fakeSSO{}, LoginURL: "https://roster.example.com/login"}); err != nil {
		t.Fatal(err)
	}
	return &pageEnv{t: t, svc: svc, clock: c, engine: engine, acct: acct,
		owner: provisioning.Actor{Kind: repository.ActorMember, ID: acct.Owner.ID}}
}

// invite invites email and returns the path of a fresh link to it.
func (e *pageEnv) invite(email string, sso bool) string {
	e.t.Helper()
	m := repository.Member{AccountID: e.acct.Account.ID, UserName: email, Roles: []string{provisioning.RoleReporter},
		Name: repository.Name{GivenName: "Sam", FamilyName: "Lee"}}
	m.Profile.ExternalSSO = sso
	inv, err := e.svc.Invite(context.Background(), e.owner, m)
	if err != nil {
		e.t.Fatal(err)
	}
	link, _, err := e.svc.FreshInvitationLink(context.Background(), e.owner, e.acct.Account.ID, inv.Invitation.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.TrimPrefix(link, "https://roster.example.com")
}

func (e *pageEnv) do(method, path, ct, accept, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	e.engine.ServeHTTP(rec, r)
	return rec
}

func want(t *testing.T, rec *httptest.ResponseRecorder, status int, contentType string, parts ...string) string {
	t.Helper()
	if rec.Code != status || !strings.HasPrefix(rec.Header().Get("Content-Type"), contentType) {
		t.Fatalf("%d %s, want %d %s: %s", rec.Code, rec.Header().Get("Content-Type"), status, contentType, rec.Body)
	}
	body := rec.Body.String()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("body lacks %q: %s", p, body)
		}
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
	return body
}

func TestInvitationPage(t *testing.T) {
	e := newPageEnv(t)
	path := e.invite("sam@globex.example", false)

	body := want(t, e.do(http.MethodGet, path, "", "", ""), http.StatusOK, "text/html",
		"Olive Owner", "Sam Lee", "sam@globex.example", "Acme", `action="`+path+`/accept"`, `name="password"`)
	if strings.Contains(body, "<script") {
		t.Error("the page runs a script")
	}
	rec := e.do(http.MethodGet, path, "", "text/html,application/json;q=0.9", "")
	want(t, rec, http.StatusOK, "text/html")
	if rec.Header().Get("Referrer-Policy") != "no-referrer" || rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", rec.Header())
	}
	var v Invitation
	if err := json.Unmarshal([]byte(want(t, e.do(http.MethodGet, path, "", "application/json", ""), http.StatusOK, "application/json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.InviterName != "Olive Owner" || v.Name != "Sam Lee" || v.AcceptURL != path+"/accept" || v.ExternalSSO || v.Kind != "invitation" {
		t.Errorf("JSON = %+v", v)
	}

	// Mistakes keep the link alive.
	want(t, e.do(http.MethodPost, path+"/accept", "application/x-www-form-urlencoded", "", "password=abc&passwordConfirm=abc"),
		http.StatusBadRequest, "text/html", "at least 12", "<form")
	want(t, e.do(http.MethodPost, path+"/accept", "application/json", "", `{"password":"long enough phrase","passwordConfirm":"long enough phrasf"}`),
		http.StatusBadRequest, "application/problem+json", `"attribute":"passwordConfirm"`)
	want(t, e.do(http.MethodPost, path+"/accept", "application/json", "", `{"pass":"x"}`), http.StatusBadRequest, "application/problem+json")
	want(t, e.do(http.MethodPost, path+"/accept", "text/xml", "application/json", `<p/>`), http.StatusUnsupportedMediaType, "application/problem+json")
	want(t, e.do(http.MethodPost, path+"/accept", "application/x-www-form-urlencoded", "", "password="+strings.Repeat("x", 20_000)),
		http.StatusRequestEntityTooLarge, "text/html")

	want(t, e.do(http.MethodPost, path+"/accept", "application/x-www-form-urlencoded", "", "password=long+enough+phrase&passwordConfirm=long+enough+phrase"),
		http.StatusOK, "text/html", "all set", "sam@globex.example", "https://roster.example.com/login")
	want(t, e.do(http.MethodGet, path, "", "", ""), http.StatusGone, "text/html", "already accepted")
	want(t, e.do(http.MethodPost, path+"/accept", "application/json", "", `{"password":"long enough phrase"}`),
		http.StatusGone, "application/problem+json", `"code":"invitation_gone"`)
}

func TestDeadLinks(t *testing.T) {
	e := newPageEnv(t)
	path := e.invite("sam@globex.example", false)
	for _, p := range []string{"/invite/nonsense", "/invite/" + strings.Repeat("a", 200), "/invite/bad%20token"} {
		want(t, e.do(http.MethodGet, p, "", "application/json", ""), http.StatusGone, "application/problem+json", "Ask an administrator")
	}
	e.clock.Advance(8 * 24 * time.Hour)
	want(t, e.do(http.MethodGet, path, "", "", ""), http.StatusGone, "text/html", "expired", "Ask an administrator")
	want(t, e.do(http.MethodPost, path+"/accept", "application/json", "", `{"password":"long enough phrase"}`),
		http.StatusGone, "application/problem+json", "expired")
}

func TestExternalSSOPage(t *testing.T) {
	e := newPageEnv(t)
	path := e.invite("sso@acme.example", true)
	body := want(t, e.do(http.MethodGet, path, "", "", ""), http.StatusOK, "text/html",
		"company&#39;s single sign-on", "https://roster.example.com/sso/login?email=sso%40acme.example")
	if strings.Contains(body, "<form") {
		t.Error("an external-SSO member is offered a password form")
	}
	var v Invitation
	_ = json.Unmarshal([]byte(want(t, e.do(http.MethodGet, path, "", "application/json", ""), http.StatusOK, "application/json")), &v)
	if !v.ExternalSSO || v.AcceptURL != "" || v.SSOLoginURL == "" {
		t.Errorf("JSON = %+v", v)
	}
	want(t, e.do(http.MethodPost, path+"/accept", "application/json", "", `{"password":"long enough phrase"}`),
		http.StatusForbidden, "application/problem+json", `"code":"sso_required"`, "SSO")
	want(t, e.do(http.MethodPost, path+"/accept", "application/x-www-form-urlencoded", "", "password=long+enough+phrase"),
		http.StatusForbidden, "text/html", "single sign-on")
	// Without a connection for the domain, the advice stands alone.
	other := e.invite("sso@globex.example", true)
	body = want(t, e.do(http.MethodGet, other, "", "", ""), http.StatusOK, "text/html", "single sign-on")
	if strings.Contains(body, "/sso/login") {
		t.Error("a login link without a connection")
	}
}
