package main

// The SSO bridge behind a load balancer: two `roster serve` processes on
// one store, configured alike (the same base_url, the public address of
// the balancer, and the same sso.secret_key), with each step of a login
// sent to the instance the test chooses. What a login or a session needs
// from an earlier request — the SAML replay cache and request ids, the
// OIDC state, sessions, seat leases, access-token keys — must come from
// the store, so that it holds whichever instance answers.
//
// The identity providers are the independent npm ones of sso/idptest.
// Where an IdP sends the browser to the balancer's address (the SAML
// form's action, the OIDC redirect), the test sends that request to the
// instance it picks instead.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rosterhq/roster/internal/cluster"
	"github.com/rosterhq/roster/sso/idptest"
)

// lbBaseURL is the base_url of every instance: the address of a load
// balancer in front of them. Nothing listens there; requests the IdPs
// address to it are sent to one instance by the test.
const lbBaseURL = "http://roster-lb.test"

// ssoDomain is the email domain the test connections route (the domain of
// idptest's default users).
const ssoDomain = "example.com"

// ssoCluster is a two-instance cluster with its account.
type ssoCluster struct {
	*cluster.Cluster
	st   clusterStore
	acct cluster.Account
}

// startSSOCluster starts two instances on st behind lbBaseURL and creates
// an account with seats agent seats.
func startSSOCluster(t *testing.T, st clusterStore, name string, seats int) *ssoCluster {
	t.Helper()
	c := startCluster(t, st, "ROSTER_BASE_URL="+lbBaseURL)
	return &ssoCluster{Cluster: c, st: st, acct: c.CreateAccount(t, name+" "+st.name, seats)}
}

// onInstance returns u with the balancer's scheme and host replaced by
// the instance's: the request the balancer would forward there.
func onInstance(t *testing.T, instance, u string) string {
	t.Helper()
	if !strings.HasPrefix(u, lbBaseURL+"/") {
		t.Fatalf("%s is not an address of the balancer %s", u, lbBaseURL)
	}
	return instance + strings.TrimPrefix(u, lbBaseURL)
}

// stopAtBalancer makes the browser stop before any request to the
// balancer's address (or after 10 redirects), so the test chooses the
// instance it goes to.
func stopAtBalancer(b *idptest.Browser) {
	lb, _ := url.Parse(lbBaseURL)
	b.Client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == lb.Host || len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
}

// noRedirects makes the browser return every redirect as it is, so the
// test sees the response that sets the session cookie.
func noRedirects(b *idptest.Browser) {
	b.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
}

// sessionCookie returns the value of the session cookie a response sets
// ("" when it sets none, or only clears it).
func sessionCookie(h http.Header) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "roster_session" && c.Value != "" && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

// sessionInfo is what GET /auth/session tells the tests.
type sessionInfo struct {
	SessionID string `json:"sessionId"`
	CSRFToken string `json:"csrfToken"`
	Member    struct {
		ID       string `json:"id"`
		UserName string `json:"userName"`
	} `json:"member"`
	Agent struct {
		Capable      bool   `json:"capable"`
		NoSeatReason string `json:"noSeatReason"`
	} `json:"agent"`
}

// cookieRequest sends a request carrying the session cookie secret (when
// not empty) and headers, without following redirects, and returns the
// response with its body read.
func cookieRequest(t *testing.T, method, u, secret string, body io.Reader, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.AddCookie(&http.Cookie{Name: "roster_session", Value: secret})
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return resp, b
}

// sessionOn asks instance for the session of secret: the status and, on
// 200, the session.
func sessionOn(t *testing.T, instance, secret string) (int, sessionInfo) {
	t.Helper()
	resp, body := cookieRequest(t, http.MethodGet, instance+"/auth/session", secret, nil, nil)
	var s sessionInfo
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("GET %s/auth/session: %v: %s", instance, err, body)
		}
	}
	return resp.StatusCode, s
}

// wantSessionOn checks secret is a live session of userName on instance.
func wantSessionOn(t *testing.T, instance, secret, userName string) sessionInfo {
	t.Helper()
	status, s := sessionOn(t, instance, secret)
	if status != http.StatusOK || s.Member.UserName != userName {
		t.Fatalf("session on %s: %d as %q, want 200 as %q", instance, status, s.Member.UserName, userName)
	}
	return s
}

// wantSessionEnded checks instance answers 401 for secret.
func wantSessionEnded(t *testing.T, instance, secret, why string) {
	t.Helper()
	if status, s := sessionOn(t, instance, secret); status != http.StatusUnauthorized {
		t.Errorf("%s: session on %s answers %d as %q, want 401", why, instance, status, s.Member.UserName)
	}
}

// passwordLogin logs email in with password on instance and returns the
// session secret and what the login answered.
func passwordLogin(t *testing.T, instance, accountID, email, password string) (string, sessionInfo) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"account": accountID, "email": email, "password": password})
	resp, raw := cookieRequest(t, http.MethodPost, instance+"/auth/login", "", bytes.NewReader(body),
		map[string]string{"Content-Type": "application/json", "Accept": "application/json"})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("password login of %s on %s: %d %s", email, instance, resp.StatusCode, raw)
		return "", sessionInfo{}
	}
	var s sessionInfo
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Errorf("password login of %s: %v: %s", email, err, raw)
	}
	secret := sessionCookie(resp.Header)
	if secret == "" {
		t.Errorf("password login of %s on %s set no session cookie", email, instance)
	}
	return secret, s
}

// scimMember creates a member with a password through SCIM on instance
// and returns its id.
func (c *ssoCluster) scimMember(t *testing.T, instance, userName, password string, roles ...string) string {
	t.Helper()
	u := scimUser(userName, roles...)
	u["password"] = password
	code, body := send(t, http.MethodPost, instance+"/scim/v2/Users", c.acct.SCIMToken, u)
	id, _ := body["id"].(string)
	if code != http.StatusCreated || id == "" {
		t.Fatalf("SCIM create %s: %d %v", userName, code, body)
	}
	return id
}

// failedLogin is a log line of an instance reporting a refused login.
type failedLogin struct {
	Msg  string `json:"msg"`
	Kind string `json:"kind"`
	Code string `json:"code"`
}

// loggedRefusal reports whether the instance logged a refused login of
// kind with code (the stable reason, such as "replayed"). The log is read
// from the process's stderr by another goroutine, so a line written
// before the answer may arrive after it: it waits a little.
func loggedRefusal(in *cluster.Instance, kind, code string) bool {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(in.Logs(), "\n") {
			var f failedLogin
			if json.Unmarshal([]byte(line), &f) == nil && f.Msg == "sso: request failed" && f.Kind == kind && f.Code == code {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// wantRefusedPage checks a refused browser login: the readable HTML
// login page with status and text, no session cookie, and the reason in
// the instance's log.
func wantRefusedPage(t *testing.T, in *cluster.Instance, p *idptest.Page, status int, text, kind, code string) {
	t.Helper()
	body := p.String()
	if p.StatusCode != status {
		t.Errorf("%s answered %d, want %d: %s", p.URL, p.StatusCode, status, body)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s answered %q, want the HTML login page", p.URL, ct)
	}
	if !strings.Contains(body, "Sign-in failed") || !strings.Contains(body, text) {
		t.Errorf("%s: page lacks the title or %q: %s", p.URL, text, body)
	}
	if s := sessionCookie(p.Header); s != "" {
		t.Errorf("%s set a session cookie on a refused login", p.URL)
	}
	if !loggedRefusal(in, kind, code) {
		t.Errorf("%s did not log a %s login refused with code %q", in.URL, kind, code)
	}
}

// validUntil matches the validUntil attributes of SAML metadata.
var validUntil = regexp.MustCompile(` validUntil="[^"]*"`)

// createSAMLConnection creates a SAML connection routing ssoDomain
// through the admin API on instance, from the IdP's metadata URL, with
// JIT provisioning, and registers the SP metadata (as the other instance
// serves it) at the IdP. It returns the connection id.
func (c *ssoCluster) createSAMLConnection(t *testing.T, instance, other string, idp *idptest.SAMLIdP) string {
	t.Helper()
	code, body := send(t, http.MethodPost, instance+"/api/v1/sso-connections", c.acct.APIToken, map[string]any{
		"kind": "saml", "name": "samlify", "domains": []string{ssoDomain},
		"saml": map[string]any{"idpMetadataUrl": idp.MetadataURL, "provisioning": map[string]any{"jit": true}},
	})
	id, _ := body["id"].(string)
	if code != http.StatusCreated || id == "" {
		t.Fatalf("create SAML connection: %d %v", code, body)
	}
	saml, _ := body["saml"].(map[string]any)
	if acs, _ := saml["acsUrl"].(string); acs != lbBaseURL+"/sso/saml/"+id+"/acs" {
		t.Fatalf("acsUrl %q, want the balancer's", acs)
	}
	b := idptest.NewBrowser(t)
	md := b.Get(other + "/sso/saml/" + id + "/metadata")
	if md.StatusCode != http.StatusOK {
		t.Fatalf("SP metadata on %s: %d %s", other, md.StatusCode, md)
	}
	// The same document but for the validity each answer counts from now.
	if mdA := b.Get(instance + "/sso/saml/" + id + "/metadata"); validUntil.ReplaceAllString(mdA.String(), "") !=
		validUntil.ReplaceAllString(md.String(), "") {
		t.Errorf("the instances serve different SP metadata:\n%s\n%s", mdA, md)
	}
	idp.RegisterSP(t, md.Body)
	return id
}

// samlForm starts an SP-initiated login of conn on instance in browser b
// and returns the form carrying the IdP's SAMLResponse, not submitted.
func samlForm(t *testing.T, b *idptest.Browser, instance, conn string) *idptest.Form {
	t.Helper()
	p := b.Get(instance + "/sso/saml/" + conn + "/start?return_to=/auth/session")
	f, err := p.Form()
	if err != nil || f.Values.Get("SAMLResponse") == "" || !f.Auto {
		t.Fatalf("the IdP answered no SAMLResponse form (%v): %d at %s: %s", err, p.StatusCode, p.URL, p)
	}
	if f.Action.String() != lbBaseURL+"/sso/saml/"+conn+"/acs" {
		t.Fatalf("the IdP posts to %s, want the balancer's ACS", f.Action)
	}
	return f
}

// postTo submits form to instance instead of the balancer, without
// following the redirect.
func postTo(t *testing.T, b *idptest.Browser, instance string, f *idptest.Form) *idptest.Page {
	t.Helper()
	noRedirects(b)
	return b.PostForm(onInstance(t, instance, f.Action.String()), f.Values)
}

// wantLoggedIn checks the page is the redirect of a successful login to
// /auth/session and returns the session secret it sets.
func wantLoggedIn(t *testing.T, p *idptest.Page) string {
	t.Helper()
	secret := sessionCookie(p.Header)
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/auth/session" || secret == "" {
		t.Fatalf("%s answered %d to %q (session cookie set: %v), want 303 to /auth/session with a session: %s",
			p.URL, p.StatusCode, p.Header.Get("Location"), secret != "", p)
	}
	return secret
}

// TestClusterSAMLReplay: a SAML response accepted by one instance is
// refused as a replay by the other (the replay cache is in the store),
// and a login started on one instance (its request id stored) completes
// on the other.
func TestClusterSAMLReplay(t *testing.T) {
	for _, st := range clusterStores(t) {
		t.Run(st.name, func(t *testing.T) {
			idp := idptest.StartSAML(t, idptest.SAMLConfig{})
			c := startSSOCluster(t, st, "SAML", 10)
			a, b := c.URL(0), c.URL(1)
			conn := c.createSAMLConnection(t, a, b, idp)

			t.Run("accepted on A, replayed on B", func(t *testing.T) {
				br := idptest.NewBrowser(t)
				f := samlForm(t, br, a, conn)
				secret := wantLoggedIn(t, postTo(t, br, a, f))
				wantSessionOn(t, b, secret, "alice@example.com")

				p := postTo(t, br, b, f)
				wantRefusedPage(t, c.Instances[1], p, http.StatusBadRequest, "already used", "saml", "replayed")
				// An attacker who captured the form, in a browser of
				// their own, fares no better on either instance.
				for i, in := range c.Instances {
					p := postTo(t, idptest.NewBrowser(t), in.URL, f)
					wantRefusedPage(t, c.Instances[i], p, http.StatusBadRequest, "already used", "saml", "replayed")
				}
				// The replays did not end the real session.
				wantSessionOn(t, a, secret, "alice@example.com")
			})

			t.Run("started on A, completed on B", func(t *testing.T) {
				br := idptest.NewBrowser(t)
				f := samlForm(t, br, a, conn)
				secret := wantLoggedIn(t, postTo(t, br, b, f))
				wantSessionOn(t, a, secret, "alice@example.com")
				wantSessionOn(t, b, secret, "alice@example.com")
				// And the response B accepted is a replay on A.
				p := postTo(t, br, a, f)
				wantRefusedPage(t, c.Instances[0], p, http.StatusBadRequest, "already used", "saml", "replayed")

				// The SSO session ends everywhere when it ends on A.
				s := wantSessionOn(t, a, secret, "alice@example.com")
				resp, body := cookieRequest(t, http.MethodPost, a+"/auth/logout", secret, nil,
					map[string]string{"X-CSRF-Token": s.CSRFToken})
				if resp.StatusCode != http.StatusNoContent {
					t.Fatalf("logout on A: %d %s, want 204", resp.StatusCode, body)
				}
				wantSessionEnded(t, b, secret, "after logout on A")
			})

			t.Run("started on B, completed on A", func(t *testing.T) {
				br := idptest.NewBrowser(t)
				f := samlForm(t, br, b, conn)
				wantSessionOn(t, b, wantLoggedIn(t, postTo(t, br, a, f)), "alice@example.com")
			})
		})
	}
}

// createOIDCConnection creates an OIDC connection routing ssoDomain
// through the admin API on instance, the way an admin does: the
// connection first (to learn its redirect URI), the client at the
// provider with that URI, then the provider's issuer and client on the
// connection, which is enabled last. It returns the connection id and
// the provider.
func (c *ssoCluster) createOIDCConnection(t *testing.T, instance string) (string, *idptest.OIDCProvider) {
	t.Helper()
	code, body := send(t, http.MethodPost, instance+"/api/v1/sso-connections", c.acct.APIToken, map[string]any{
		"kind": "oidc", "name": "oidc-provider", "domains": []string{ssoDomain}, "enabled": false,
		"oidc": map[string]any{"issuer": "http://127.0.0.1:1", "clientId": "pending"},
	})
	id, _ := body["id"].(string)
	if code != http.StatusCreated || id == "" {
		t.Fatalf("create OIDC connection: %d %v", code, body)
	}
	oidc, _ := body["oidc"].(map[string]any)
	redirect, _ := oidc["redirectUri"].(string)
	if redirect != lbBaseURL+"/sso/oidc/"+id+"/callback" {
		t.Fatalf("redirectUri %q, want the balancer's", redirect)
	}
	op := idptest.StartOIDC(t, idptest.OIDCConfig{RedirectURIs: []string{redirect}})
	code, body = send(t, http.MethodPatch, instance+"/api/v1/sso-connections/"+id, c.acct.APIToken, map[string]any{
		"enabled": true,
		"oidc": map[string]any{"issuer": op.Issuer, "clientId": op.ClientID, "clientSecret": op.ClientSecret,
			"provisioning": map[string]any{"jit": true}},
	})
	if code != http.StatusOK {
		t.Fatalf("configure OIDC connection: %d %v", code, body)
	}
	return id, op
}

// TestClusterOIDCState: an OIDC login started on one instance (its state
// stored) completes on the other, and the callback cannot be replayed on
// either afterwards.
func TestClusterOIDCState(t *testing.T) {
	for _, st := range clusterStores(t) {
		t.Run(st.name, func(t *testing.T) {
			c := startSSOCluster(t, st, "OIDC", 10)
			conn, _ := c.createOIDCConnection(t, c.URL(0))

			for _, tc := range []struct {
				name          string
				start, finish int
			}{
				{"started on A, completed on B", 0, 1},
				{"started on B, completed on A", 1, 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					start, finish := c.Instances[tc.start], c.Instances[tc.finish]
					br := idptest.NewBrowser(t)
					stopAtBalancer(br)
					p := br.Get(start.URL + "/sso/oidc/" + conn + "/start?return_to=/auth/session")
					loc := p.Header.Get("Location")
					if p.StatusCode/100 != 3 || !strings.HasPrefix(loc, lbBaseURL+"/sso/oidc/"+conn+"/callback?") {
						t.Fatalf("the provider answered %d to %q, want a redirect to the balancer's callback: %s", p.StatusCode, loc, p)
					}
					callback := loc

					noRedirects(br)
					done := br.Get(onInstance(t, finish.URL, callback))
					secret := wantLoggedIn(t, done)
					wantSessionOn(t, start.URL, secret, "alice@example.com")
					wantSessionOn(t, finish.URL, secret, "alice@example.com")

					// The state was taken: the same callback is refused on
					// the instance that started the login, and again on the
					// one that completed it.
					for _, in := range []*cluster.Instance{start, finish} {
						p := br.Get(onInstance(t, in.URL, callback))
						wantRefusedPage(t, in, p, http.StatusBadRequest, "expired or was already used", "oidc", "state")
					}
				})
			}
		})
	}
}

// TestClusterSessionRevocation: a session works on every instance, and
// ends on every instance when it ends on one: by logout, and by the
// member's deactivation through SCIM.
func TestClusterSessionRevocation(t *testing.T) {
	const password = "correct horse battery staple 42"
	for _, st := range clusterStores(t) {
		t.Run(st.name, func(t *testing.T) {
			c := startSSOCluster(t, st, "Sessions", 10)
			a, b := c.URL(0), c.URL(1)

			t.Run("logout on B ends the session on A", func(t *testing.T) {
				const who = "logout@sessions.example"
				c.scimMember(t, a, who, password, "reporter")
				secret, _ := passwordLogin(t, a, c.acct.AccountID, who, password)
				if secret == "" {
					t.FailNow()
				}
				s := wantSessionOn(t, b, secret, who)
				wantSessionOn(t, a, secret, who)

				// Without the CSRF token the logout is refused and the
				// session lives on.
				resp, body := cookieRequest(t, http.MethodPost, b+"/auth/logout", secret, nil,
					map[string]string{"Accept": "application/json"})
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("logout without CSRF token: %d %s, want 403", resp.StatusCode, body)
				}
				wantSessionOn(t, a, secret, who)

				resp, body = cookieRequest(t, http.MethodPost, b+"/auth/logout", secret, nil,
					map[string]string{"X-CSRF-Token": s.CSRFToken})
				if resp.StatusCode != http.StatusNoContent {
					t.Fatalf("logout on B: %d %s, want 204", resp.StatusCode, body)
				}
				wantSessionEnded(t, a, secret, "after logout on B")
				wantSessionEnded(t, b, secret, "after logout on B")
			})

			t.Run("SCIM deactivation on A ends the session on B", func(t *testing.T) {
				const who = "leaver@sessions.example"
				id := c.scimMember(t, a, who, password, "reporter")
				secret, _ := passwordLogin(t, b, c.acct.AccountID, who, password)
				if secret == "" {
					t.FailNow()
				}
				wantSessionOn(t, b, secret, who)
				wantSessionOn(t, a, secret, who)

				code, body := send(t, http.MethodPatch, a+"/scim/v2/Users/"+id, c.acct.SCIMToken, map[string]any{
					"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
					"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}},
				})
				if code != http.StatusOK {
					t.Fatalf("SCIM deactivate on A: %d %v", code, body)
				}
				wantSessionEnded(t, b, secret, "after SCIM deactivation on A")
				wantSessionEnded(t, a, secret, "after SCIM deactivation on A")
			})
		})
	}
}

// accessToken gets an access token for the session secret on instance.
func accessToken(t *testing.T, instance, secret string) string {
	t.Helper()
	_, s := sessionOn(t, instance, secret)
	resp, body := cookieRequest(t, http.MethodPost, instance+"/auth/token", secret, nil,
		map[string]string{"X-CSRF-Token": s.CSRFToken, "Accept": "application/json"})
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("POST %s/auth/token: %d %s", instance, resp.StatusCode, body)
	}
	return tok.AccessToken
}

// jwks fetches an instance's access-token keys.
func jwks(t *testing.T, instance string) jose.JSONWebKeySet {
	t.Helper()
	resp, body := cookieRequest(t, http.MethodGet, instance+"/.well-known/jwks.json", "", nil, nil)
	var set jose.JSONWebKeySet
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &set) != nil || len(set.Keys) == 0 {
		t.Fatalf("GET %s/.well-known/jwks.json: %d %s", instance, resp.StatusCode, body)
	}
	return set
}

// verifyWith checks token against a JWKS as a downstream service would:
// ES256 by a published key, our issuer and audience, not expired; it
// returns the subject.
func verifyWith(t *testing.T, token string, set jose.JSONWebKeySet, from string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		t.Fatalf("parse access token: %v", err)
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("the JWKS of %s has no key %q (it has %d keys)", from, kid, len(set.Keys))
	}
	var claims jwt.Claims
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("the access token does not verify with key %q of %s: %v", kid, from, err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: lbBaseURL, Time: time.Now()}, 10*time.Second); err != nil {
		t.Fatalf("access token claims %+v: %v", claims, err)
	}
	if claims.Subject == "" {
		t.Fatalf("access token without subject: %+v", claims)
	}
	return claims.Subject
}

// TestClusterAccessTokenKeys: an access token minted on one instance
// verifies with the JWKS another serves (the keys are in the store), and
// the instances publish the same key set.
func TestClusterAccessTokenKeys(t *testing.T) {
	const password = "correct horse battery staple 42"
	for _, st := range clusterStores(t) {
		t.Run(st.name, func(t *testing.T) {
			c := startSSOCluster(t, st, "Tokens", 10)
			a, b := c.URL(0), c.URL(1)
			const who = "tokens@tokens.example"
			memberID := c.scimMember(t, a, who, password, "reporter")
			secret, _ := passwordLogin(t, a, c.acct.AccountID, who, password)
			if secret == "" {
				t.FailNow()
			}

			// Minted first on A: A makes the deployment's first key.
			tokA := accessToken(t, a, secret)
			if sub := verifyWith(t, tokA, jwks(t, b), "B"); sub != memberID {
				t.Errorf("token subject %q does not name member %s", sub, memberID)
			}
			tokB := accessToken(t, b, secret)
			verifyWith(t, tokB, jwks(t, a), "A")

			setA, setB := jwks(t, a), jwks(t, b)
			if ka, kb := keyIDs(setA), keyIDs(setB); ka != kb {
				t.Errorf("the instances publish different keys: A %s, B %s", ka, kb)
			}
		})
	}
}

// keyIDs lists a JWKS's key ids.
func keyIDs(set jose.JSONWebKeySet) string {
	var ids []string
	for _, k := range set.Keys {
		ids = append(ids, k.KeyID)
	}
	return strings.Join(ids, ",")
}

// TestClusterConcurrentSeatLeases: under the concurrent seat policy, 3N
// agents logging in at once through both instances of an account with N
// seats get exactly N sessions with the agent capability; a lease given
// back on one instance is taken by a login on the other.
func TestClusterConcurrentSeatLeases(t *testing.T) {
	const (
		seats    = 4
		agents   = 3 * seats
		password = "correct horse battery staple 42"
	)
	for _, st := range clusterStores(t) {
		t.Run(st.name, func(t *testing.T) {
			c := startSSOCluster(t, st, "Leases", seats)
			a := c.URL(0)
			code, body := send(t, http.MethodPut, a+"/api/v1/seats", c.acct.APIToken, map[string]any{"policy": "concurrent"})
			if code != http.StatusOK || body["policy"] != "concurrent" {
				t.Fatalf("PUT seats: %d %v", code, body)
			}
			names := make([]string, agents)
			for i := range agents {
				names[i] = fmt.Sprintf("agent%02d@leases.example", i)
				c.scimMember(t, c.URL(i%2), names[i], password, "agent")
			}

			secrets := make([]string, agents)
			capable := make([]bool, agents)
			parallel(agents, func(i int) {
				var s sessionInfo
				secrets[i], s = passwordLogin(t, c.URL(i%2), c.acct.AccountID, names[i], password)
				capable[i] = s.Agent.Capable
			})
			if t.Failed() {
				return
			}
			leased := 0
			for i := range agents {
				// Each session as the other instance sees it.
				_, s := sessionOn(t, c.URL((i+1)%2), secrets[i])
				if s.Agent.Capable != capable[i] {
					t.Errorf("%s: capable %v at login, %v on the other instance", names[i], capable[i], s.Agent.Capable)
				}
				if s.Agent.Capable {
					leased++
				} else if s.Agent.NoSeatReason == "" {
					t.Errorf("%s has no agent capability and no reason", names[i])
				}
			}
			if leased > seats && st.ferret {
				t.Skipf("needs real MongoDB: FerretDB's non-atomic updates let %d agents lease %d seats", leased, seats)
			}
			if leased != seats {
				t.Fatalf("%d of %d agents got the agent capability, want exactly %d (the seats)", leased, agents, seats)
			}
			code, body = send(t, http.MethodGet, c.URL(1)+"/api/v1/seats", c.acct.APIToken, nil)
			if code != http.StatusOK || body["used"] != float64(seats) {
				t.Errorf("GET seats: %d %v, want %d used", code, body, seats)
			}

			// A capable agent logs out on one instance; an agent without a
			// seat logs in again on the other and takes the freed lease.
			holder, waiter := -1, -1
			for i := range agents {
				switch {
				case capable[i] && holder < 0:
					holder = i
				case !capable[i] && waiter < 0:
					waiter = i
				}
			}
			out := c.URL(holder % 2)
			_, s := sessionOn(t, out, secrets[holder])
			resp, raw := cookieRequest(t, http.MethodPost, out+"/auth/logout", secrets[holder], nil,
				map[string]string{"X-CSRF-Token": s.CSRFToken})
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("logout of %s: %d %s", names[holder], resp.StatusCode, raw)
			}
			_, again := passwordLogin(t, c.URL((holder+1)%2), c.acct.AccountID, names[waiter], password)
			if !again.Agent.Capable {
				t.Errorf("%s logging in after a seat was freed: no agent capability (%q)", names[waiter], again.Agent.NoSeatReason)
			}
			code, body = send(t, http.MethodGet, a+"/api/v1/seats", c.acct.APIToken, nil)
			if code != http.StatusOK || body["used"] != float64(seats) {
				t.Errorf("GET seats after the hand-over: %d %v, want %d used", code, body, seats)
			}
		})
	}
}
