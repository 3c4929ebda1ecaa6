package sso

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/adminapi"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connections"
	"github.com/rosterhq/roster/sso/idptest"
	"github.com/rosterhq/roster/sso/seal"
)

// Helpers of the end-to-end tests (e2e_saml_test.go, e2e_oidc_test.go):
// connections are made through sso/connections as the admin API makes
// them, so the SP key pair, the fetched metadata and the sealed client
// secret are the real ones, and logins run through the bridge's HTTP
// routes with idptest's Browser against the npm IdPs.

// adminActor is who creates connections in these tests.
var adminActor = provisioning.Actor{Kind: repository.ActorSystem}

// connSvc returns a connections service over the env's store, sealing
// with the bridge's secret key.
func (e *env) connSvc() *connections.Service {
	e.t.Helper()
	sealer, err := seal.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		e.t.Fatal(err)
	}
	svc, err := connections.New(e.store, connections.Options{BaseURL: e.base, Sealer: sealer})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

func ptr[T any](v T) *T { return &v }

// samlOpts are the admin's choices for a SAML connection.
type samlOpts struct {
	jit, emailVerified, idpInitiated bool
	// pasteXML pastes the metadata document instead of giving its URL
	// (such a connection is never refreshed).
	pasteXML bool
	// metadataURL overrides the IdP's own metadata URL.
	metadataURL string
}

// samlConnection creates a SAML connection routing example.com from the
// IdP's metadata URL, and registers the connection's SP metadata (served
// by the bridge) at the IdP, as an admin would.
func (e *env) samlConnection(idp *idptest.SAMLIdP, o samlOpts) repository.SSOConnection {
	e.t.Helper()
	in := &adminapi.SAMLInput{
		AllowIdPInitiated: ptr(o.idpInitiated),
		Provisioning:      &adminapi.SSOProvisioning{JIT: o.jit, EmailVerified: o.emailVerified},
	}
	switch {
	case o.pasteXML:
		in.IdPMetadataXML = ptr(string(idp.Metadata(e.t)))
	case o.metadataURL != "":
		in.IdPMetadataURL = ptr(o.metadataURL)
	default:
		in.IdPMetadataURL = ptr(idp.MetadataURL)
	}
	v, err := e.connSvc().CreateConnection(e.ctx, adminActor, e.acct.Account.ID, adminapi.SSOConnectionInput{
		Kind: repository.SSOSAML, Name: "samlify", Domains: []string{"example.com"}, SAML: in})
	if err != nil {
		e.t.Fatalf("create SAML connection: %v", err)
	}
	conn, err := e.store.GetSSOConnection(e.ctx, e.acct.Account.ID, v.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, md := e.do(e.client(), http.MethodGet, "/sso/saml/"+conn.ID+"/metadata", nil, nil)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("SP metadata: %d %s", resp.StatusCode, md)
	}
	idp.RegisterSP(e.t, []byte(md))
	return conn
}

// oidcConnection creates an OIDC connection routing example.com the way
// an admin does: the connection first (to learn its redirect URI), the
// client at the provider with that URI, then the issuer, client id and
// secret on the connection, which is enabled last.
func (e *env) oidcConnection(cfg idptest.OIDCConfig, jit bool) (repository.SSOConnection, *idptest.OIDCProvider) {
	e.t.Helper()
	svc := e.connSvc()
	v, err := svc.CreateConnection(e.ctx, adminActor, e.acct.Account.ID, adminapi.SSOConnectionInput{
		Kind: repository.SSOOIDC, Name: "oidc-provider", Domains: []string{"example.com"}, Enabled: ptr(false),
		OIDC: &adminapi.OIDCInput{Issuer: ptr("http://127.0.0.1:1"), ClientID: ptr("pending")}})
	if err != nil {
		e.t.Fatalf("create OIDC connection: %v", err)
	}
	cfg.RedirectURIs = []string{connections.OIDCRedirectURI(e.base, v.ID)}
	op := idptest.StartOIDC(e.t, cfg)
	if _, err := svc.UpdateConnection(e.ctx, adminActor, e.acct.Account.ID, v.ID, nil, adminapi.SSOConnectionPatch{
		Enabled: ptr(true),
		OIDC: &adminapi.OIDCInput{Issuer: ptr(op.Issuer), ClientID: ptr(op.ClientID), ClientSecret: ptr(op.ClientSecret),
			Provisioning: &adminapi.SSOProvisioning{JIT: jit}},
	}); err != nil {
		e.t.Fatalf("configure OIDC connection: %v", err)
	}
	conn, err := e.store.GetSSOConnection(e.ctx, e.acct.Account.ID, v.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return conn, op
}

// ssoMember creates an active member without a password (bcrypt under
// the race detector is slow, and SSO members need none).
func (e *env) ssoMember(userName string, roles ...string) repository.Member {
	e.t.Helper()
	m, err := e.svc.CreateMember(e.ctx, provisioning.Actor{Kind: repository.ActorSystem}, repository.Member{
		AccountID: e.acct.Account.ID, UserName: userName, Active: true, Roles: roles})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// session asks the bridge for the browser's session: the status and,
// on 200, the view.
func (e *env) session(b *idptest.Browser) (int, SessionView) {
	e.t.Helper()
	p := b.Get(e.base + "/auth/session")
	var v SessionView
	if p.StatusCode == http.StatusOK {
		if err := json.Unmarshal(p.Body, &v); err != nil {
			e.t.Fatalf("session JSON: %v: %s", err, p)
		}
	}
	return p.StatusCode, v
}

// wantSession checks the browser is signed in as userName.
func (e *env) wantSession(b *idptest.Browser, userName string) SessionView {
	e.t.Helper()
	status, v := e.session(b)
	if status != http.StatusOK || v.Member.UserName != userName {
		e.t.Fatalf("session: %d, member %q, want %q", status, v.Member.UserName, userName)
	}
	return v
}

// wantNoSession checks the browser is not signed in.
func (e *env) wantNoSession(b *idptest.Browser) {
	e.t.Helper()
	if status, v := e.session(b); status != http.StatusUnauthorized {
		e.t.Fatalf("session: %d as %q, want 401", status, v.Member.UserName)
	}
}

// lastObserved returns the last login outcome reported to Observe.
func (e *env) lastObserved() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.observe) == 0 {
		return ""
	}
	return e.observe[len(e.observe)-1]
}

// wantRefused checks a failed login: the login page (HTML, not a stack
// trace) with status and a message containing text, and the reason
// reported to Observe ("saml/failure/replayed").
func (e *env) wantRefused(p *idptest.Page, status int, observed, text string) {
	e.t.Helper()
	body := p.String()
	if p.StatusCode != status {
		e.t.Errorf("status %d, want %d at %s: %s", p.StatusCode, status, p.URL, body)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		e.t.Errorf("content type %q, want the HTML login page", ct)
	}
	if !strings.Contains(body, "Sign-in failed") || !strings.Contains(body, text) || !strings.Contains(body, "req-test-1") {
		e.t.Errorf("page lacks the title, %q or the request id: %s", text, body)
	}
	for _, leak := range []string{"goroutine", ".go:", "panic", "samlsp:", "oidcrp:", "<Assertion", "InResponseTo"} {
		if strings.Contains(body, leak) {
			e.t.Errorf("page leaks %q: %s", leak, body)
		}
	}
	if got := e.lastObserved(); got != observed {
		e.t.Errorf("observed %q, want %q", got, observed)
	}
}

// stopAt makes the browser stop (not follow) redirects to a URL whose
// path contains part, so the test can look at or replay it.
func stopAt(b *idptest.Browser, part string) {
	b.Client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.Contains(req.URL.Path, part) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
}

// location returns a redirect's target resolved against the page.
func location(t *testing.T, p *idptest.Page) string {
	t.Helper()
	loc := p.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no redirect from %s (%d): %s", p.URL, p.StatusCode, p)
	}
	u, err := p.URL.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// decodeResponse returns the XML of a posted SAMLResponse.
func decodeResponse(t *testing.T, f *idptest.Form) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(f.Values.Get("SAMLResponse"))
	if err != nil {
		t.Fatalf("SAMLResponse: %v", err)
	}
	return string(raw)
}

// withResponse returns a copy of f carrying xml as its SAMLResponse.
func withResponse(f *idptest.Form, xml string) *idptest.Form {
	vals := url.Values{}
	for k, v := range f.Values {
		vals[k] = append([]string(nil), v...)
	}
	vals.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(xml)))
	return &idptest.Form{Action: f.Action, Method: f.Method, Values: vals, Auto: f.Auto}
}
