package oidcrp

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/seal"
)

const testBaseURL = "https://roster.example"

// env is one RP wired to a test OP and a real SQLite store.
type env struct {
	t         testing.TB
	ctx       context.Context
	op        *testOP
	store     *sqlite.Store
	sealer    *seal.Sealer
	providers *Providers
	rp        *RP
	// skew moves the RP's clock.
	skew atomic.Int64
}

func newEnv(t testing.TB, edit ...func(*connector.OIDC)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/r.db")
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key := make([]byte, seal.KeySize)
	_, _ = rand.Read(key)
	sealer, err := seal.New(key)
	if err != nil {
		t.Fatalf("sealer: %v", err)
	}
	e := &env{t: t, ctx: ctx, op: newTestOP(t), store: st, sealer: sealer}
	e.providers = NewProviders(nil, 0)
	e.rp = e.newRP("conn1", edit...)
	return e
}

func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }

func (e *env) config(edit ...func(*connector.OIDC)) connector.OIDC {
	cfg := connector.OIDC{
		Issuer:       e.op.issuer,
		ClientID:     testClientID,
		ClientSecret: e.sealer.SealString(SecretPurpose, testSecret),
	}
	for _, f := range edit {
		f(&cfg)
	}
	return cfg
}

func (e *env) newRP(connID string, edit ...func(*connector.OIDC)) *RP {
	e.t.Helper()
	conn := repository.SSOConnection{AccountID: "acct1", ID: connID, Kind: repository.SSOOIDC, Enabled: true}
	rp, err := New(e.ctx, conn, e.config(edit...), Options{
		BaseURL: testBaseURL, Store: e.store, Sealer: e.sealer, Providers: e.providers, Now: e.now,
	})
	if err != nil {
		e.t.Fatalf("new RP: %v", err)
	}
	return rp
}

// begin starts a login in browser and returns the callback URL the OP
// sends it back to.
func (e *env) begin(rp *RP, browser string) string {
	e.t.Helper()
	authURL, err := rp.StartLogin(e.ctx, "/app/inbox", browser)
	if err != nil {
		e.t.Fatalf("start login: %v", err)
	}
	return authorizeAt(e.ctx, e.t, authURL)
}

// finish presents a callback URL from browser.
func (e *env) finish(rp *RP, callbackURL, browser string) (connector.Identity, error) {
	req := httptest.NewRequest(http.MethodGet, callbackURL, nil)
	return rp.Callback(e.ctx, req, browser)
}

func (e *env) login(browser string) (connector.Identity, error) {
	return e.finish(e.rp, e.begin(e.rp, browser), browser)
}

// wantReason fails unless err is a LoginError with reason.
func wantReason(t testing.TB, err error, reason string) {
	t.Helper()
	var le *connector.LoginError
	if !errors.As(err, &le) {
		t.Fatalf("error = %v (%T), want a LoginError %q", err, err, reason)
	}
	if le.Reason != reason {
		t.Fatalf("reason = %q (%v), want %q", le.Reason, err, reason)
	}
	if le.Public == "" {
		t.Fatalf("reason %q without a public message", reason)
	}
}

func TestLoginHappyPath(t *testing.T) {
	e := newEnv(t)
	authURL, err := e.rp.StartLogin(e.ctx, "/app/inbox", "browser-A")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	for k, want := range map[string]string{
		"client_id":             testClientID,
		"response_type":         "code",
		"redirect_uri":          testBaseURL + "/sso/oidc/conn1/callback",
		"code_challenge_method": "S256",
		"scope":                 "openid email profile",
	} {
		if q.Get(k) != want {
			t.Errorf("auth URL %s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) != 43 {
			t.Errorf("auth URL %s = %q, want 256 bits base64url", k, q.Get(k))
		}
	}
	if q.Get("state") == q.Get("nonce") {
		t.Error("state and nonce are the same value")
	}
	id, err := e.finish(e.rp, authorizeAt(e.ctx, t, authURL), "browser-A")
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	want := connector.Identity{
		ConnectionID: "conn1", Subject: testSubject, Email: "ada@acme.example", EmailVerified: true,
		GivenName: "Ada", FamilyName: "Lovelace", DisplayName: "Ada Lovelace",
		Groups: []string{"Support", "Tier 2"}, ReturnTo: "/app/inbox",
	}
	if !reflect.DeepEqual(id, want) {
		t.Errorf("identity = %+v\nwant       %+v", id, want)
	}
}

// TestCallbackRefuses runs one login per case with the OP (or the
// callback) bent one way, and checks the reason of the refusal.
func TestCallbackRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bend   func(b *behaviour)
		edit   func(q url.Values) // the callback query, as an attacker would
		reason string
	}{
		{name: "alg none", bend: func(b *behaviour) { b.sign = signNone }, reason: "alg"},
		{name: "HS256 with the client secret", bend: func(b *behaviour) { b.sign = signHS256 }, reason: "alg"},
		{name: "HS256 with the secret published as an oct key", bend: func(b *behaviour) {
			b.sign = signHS256
			b.publishOct = true
		}, reason: "alg"},
		{name: "signed by a key not the OP's", bend: func(b *behaviour) { b.sign = signRogue }, reason: "signature"},
		{name: "wrong issuer", bend: claims(func(c map[string]any) { c["iss"] = "https://evil.example" }), reason: "issuer"},
		{name: "wrong audience", bend: claims(func(c map[string]any) { c["aud"] = "another-client" }), reason: "audience"},
		{name: "extra audience without azp", bend: claims(func(c map[string]any) {
			c["aud"] = []string{testClientID, "another-client"}
		}), reason: "azp"},
		{name: "extra audience with a wrong azp", bend: claims(func(c map[string]any) {
			c["aud"] = []string{testClientID, "another-client"}
			c["azp"] = "another-client"
		}), reason: "azp"},
		{name: "single audience with a wrong azp", bend: claims(func(c map[string]any) { c["azp"] = "another-client" }), reason: "azp"},
		{name: "azp not a string", bend: claims(func(c map[string]any) { c["azp"] = 42 }), reason: "azp"},
		{name: "expired", bend: claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), reason: "expired"},
		{name: "no exp", bend: claims(func(c map[string]any) { delete(c, "exp") }), reason: "expired"},
		{name: "not yet valid", bend: claims(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), reason: "expired"},
		{name: "bad nonce", bend: claims(func(c map[string]any) { c["nonce"] = "an-old-nonce" }), reason: "nonce"},
		{name: "no nonce", bend: claims(func(c map[string]any) { delete(c, "nonce") }), reason: "nonce"},
		{name: "at_hash mismatch", bend: claims(func(c map[string]any) { c["at_hash"] = atHash("other") }), reason: "at_hash"},
		{name: "no sub", bend: claims(func(c map[string]any) { delete(c, "sub") }), reason: "malformed"},
		{name: "userinfo sub mismatch", bend: func(b *behaviour) {
			b.userinfo = func(c map[string]any) { c["sub"] = "someone-else" }
		}, reason: "userinfo_sub"},
		{name: "iss parameter of another issuer", bend: func(b *behaviour) { b.issParam = "https://evil.example" }, reason: "issuer"},
		{name: "iss parameter missing though announced", bend: func(b *behaviour) {
			b.issParam = "-"
			b.announceIss = true
		}, reason: "issuer"},
		{name: "IdP error", bend: func(b *behaviour) { b.authError = "access_denied" }, reason: "idp_error"},
		{name: "missing state", edit: func(q url.Values) { q.Del("state") }, reason: "state"},
		{name: "forged state", edit: func(q url.Values) { q.Set("state", strings.Repeat("A", 43)) }, reason: "state"},
		{name: "missing code", edit: func(q url.Values) { q.Del("code") }, reason: "malformed"},
		{name: "unknown code", edit: func(q url.Values) { q.Set("code", "nope") }, reason: "exchange"},
		{name: "repeated code", edit: func(q url.Values) { q.Add("code", "x") }, reason: "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *connector.OIDC) { c.UserInfo = true })
			if tc.bend != nil {
				e.op.set(tc.bend)
				// Some bends change discovery, which New already cached.
				e.providers.Forget(e.op.issuer)
			}
			cb := e.begin(e.rp, "browser-A")
			if tc.edit != nil {
				u, _ := url.Parse(cb)
				q := u.Query()
				tc.edit(q)
				u.RawQuery = q.Encode()
				cb = u.String()
			}
			_, err := e.finish(e.rp, cb, "browser-A")
			wantReason(t, err, tc.reason)
		})
	}
}

func claims(f func(c map[string]any)) func(b *behaviour) {
	return func(b *behaviour) { b.claims = f }
}

func TestExtraAudienceWithOurAzpIsAccepted(t *testing.T) {
	e := newEnv(t)
	e.op.set(claims(func(c map[string]any) {
		c["aud"] = []string{testClientID, "api://roster"}
		c["azp"] = testClientID
	}))
	if _, err := e.login("b"); err != nil {
		t.Fatalf("login: %v", err)
	}
}

func TestIssParameterOptionalWhenNotAnnounced(t *testing.T) {
	e := newEnv(t)
	e.op.set(func(b *behaviour) { b.issParam = "-" })
	if _, err := e.login("b"); err != nil {
		t.Fatalf("login without iss parameter: %v", err)
	}
}

func TestIdPErrorMessage(t *testing.T) {
	e := newEnv(t)
	e.op.set(func(b *behaviour) { b.authError = "access_denied" })
	_, err := e.login("b")
	wantReason(t, err, "idp_error")
	var le *connector.LoginError
	errors.As(err, &le)
	if !strings.Contains(le.Public, "access_denied") || strings.Contains(le.Public, "<script>") {
		t.Errorf("public message %q: want the code, never the description", le.Public)
	}
	// A forged error with a made-up code shows no code at all.
	_, err = e.finish(e.rp, testBaseURL+"/sso/oidc/conn1/callback?error=%3Cb%3Ehi", "b")
	errors.As(err, &le)
	if le.Reason != "idp_error" || strings.Contains(le.Public, "<b>") {
		t.Errorf("forged error: %q %q", le.Reason, le.Public)
	}
	if _, _, tokens := e.op.counts(); tokens != 0 {
		t.Errorf("token endpoint called %d times after errors", tokens)
	}
}

func TestStateIsSingleUse(t *testing.T) {
	e := newEnv(t)
	cb := e.begin(e.rp, "b")
	if _, err := e.finish(e.rp, cb, "b"); err != nil {
		t.Fatalf("first callback: %v", err)
	}
	_, err := e.finish(e.rp, cb, "b")
	wantReason(t, err, "state")
	if _, _, tokens := e.op.counts(); tokens != 1 {
		t.Errorf("token endpoint called %d times, want 1 (the replay must stop before it)", tokens)
	}
}

func TestStateExpires(t *testing.T) {
	e := newEnv(t)
	cb := e.begin(e.rp, "b")
	e.skew.Store(int64(StateTTL + time.Second))
	_, err := e.finish(e.rp, cb, "b")
	wantReason(t, err, "state")
}

// TestSwappedBetweenBrowsers: an attacker starts a login in their own
// browser and gets a victim's browser to present the callback (login
// CSRF), or the two callbacks' codes get swapped.
func TestSwappedBetweenBrowsers(t *testing.T) {
	t.Run("attacker's state and code in the victim's browser", func(t *testing.T) {
		e := newEnv(t)
		cb := e.begin(e.rp, "attacker")
		_, err := e.finish(e.rp, cb, "victim")
		wantReason(t, err, "browser")
		// The state is gone: the attacker cannot use it either.
		_, err = e.finish(e.rp, cb, "attacker")
		wantReason(t, err, "state")
	})
	t.Run("no browser id at the callback", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.finish(e.rp, e.begin(e.rp, "attacker"), "")
		wantReason(t, err, "browser")
	})
	t.Run("victim's state with the attacker's code", func(t *testing.T) {
		e := newEnv(t)
		victim, _ := url.Parse(e.begin(e.rp, "victim"))
		attacker, _ := url.Parse(e.begin(e.rp, "attacker"))
		q := victim.Query()
		q.Set("code", attacker.Query().Get("code"))
		victim.RawQuery = q.Encode()
		// The state is the victim's, but the code was issued against the
		// attacker's PKCE challenge: the OP refuses the exchange.
		_, err := e.finish(e.rp, victim.String(), "victim")
		wantReason(t, err, "exchange")
	})
}

func TestStateOfAnotherConnection(t *testing.T) {
	e := newEnv(t)
	other := e.newRP("conn2")
	cb := e.begin(other, "b")
	_, err := e.finish(e.rp, cb, "b")
	wantReason(t, err, "state")
}

func TestWrongClientSecret(t *testing.T) {
	e := newEnv(t)
	rp := e.newRP("conn1", func(c *connector.OIDC) { c.ClientSecret = e.sealer.SealString(SecretPurpose, "wrong") })
	_, err := e.finish(rp, e.begin(rp, "b"), "b")
	wantReason(t, err, "exchange")
}

// TestKeyRotation: the OP starts signing with a new key and drops the old
// one from its JWKS; the RP, holding the old set, refetches it once when
// it meets the new kid, and not again afterwards.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	if _, err := e.login("b"); err != nil {
		t.Fatalf("login with k1: %v", err)
	}
	if _, err := e.login("b"); err != nil {
		t.Fatalf("second login with k1: %v", err)
	}
	_, jwks, _ := e.op.counts()
	if jwks != 1 {
		t.Fatalf("JWKS fetched %d times for two logins, want 1", jwks)
	}
	e.op.rotate("k2", "k2") // ES256 key, old one withdrawn
	if _, err := e.login("b"); err != nil {
		t.Fatalf("login after rotation: %v", err)
	}
	if _, err := e.login("b"); err != nil {
		t.Fatalf("second login after rotation: %v", err)
	}
	disc, jwks, _ := e.op.counts()
	if jwks != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (one refetch at the new kid)", jwks)
	}
	if disc != 1 {
		t.Errorf("discovery fetched %d times, want 1", disc)
	}
	// A token signed with the withdrawn key no longer verifies.
	e.op.rotate("k1", "k2")
	_, err := e.login("b")
	wantReason(t, err, "signature")
}

func TestProvidersShareAndRefresh(t *testing.T) {
	e := newEnv(t)
	e.newRP("conn2")
	e.newRP("conn3")
	if disc, _, _ := e.op.counts(); disc != 1 {
		t.Errorf("three connections of one issuer fetched discovery %d times, want 1", disc)
	}
	now := time.Now()
	e.providers.now = func() time.Time { return now.Add(DefaultProviderTTL + time.Minute) }
	if _, err := e.login("b"); err != nil {
		t.Fatal(err)
	}
	if disc, _, _ := e.op.counts(); disc != 2 {
		t.Errorf("discovery fetched %d times after the TTL, want 2", disc)
	}
	// Keys cached before the rediscovery survive it (same jwks_uri).
	if _, jwks, _ := e.op.counts(); jwks != 1 {
		t.Errorf("JWKS fetched %d times, want 1", jwks)
	}
	// The IdP goes away: the last good discovery keeps serving.
	e.op.srv.Config.Handler = http.NotFoundHandler()
	e.providers.now = func() time.Time { return now.Add(3 * DefaultProviderTTL) }
	if _, err := e.providers.get(e.ctx, e.op.issuer); err != nil {
		t.Errorf("stale provider not served during an outage: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	e := newEnv(t)
	conn := repository.SSOConnection{AccountID: "acct1", ID: "c", Kind: repository.SSOOIDC}
	opts := Options{BaseURL: testBaseURL, Store: e.store, Sealer: e.sealer}
	for _, tc := range []struct {
		name   string
		cfg    connector.OIDC
		bend   func(b *behaviour)
		reason string
	}{
		{name: "no issuer", cfg: connector.OIDC{ClientID: "x"}, reason: "config"},
		{name: "unsealed secret", cfg: connector.OIDC{Issuer: e.op.issuer, ClientID: "x", ClientSecret: "plain"}, reason: "config"},
		{name: "secret sealed for another purpose", cfg: connector.OIDC{Issuer: e.op.issuer, ClientID: "x",
			ClientSecret: e.sealer.SealString("saml-sp-key", "s")}, reason: "config"},
		{name: "issuer over plain http", cfg: connector.OIDC{Issuer: "http://idp.example", ClientID: "x"}, reason: "discovery"},
		{name: "issuer mismatch", cfg: connector.OIDC{Issuer: e.op.issuer + "/", ClientID: "x"}, reason: "discovery"},
		{name: "only HS256 announced", cfg: connector.OIDC{Issuer: e.op.issuer, ClientID: "x"},
			bend: func(b *behaviour) { b.algs = []string{"HS256", "none"} }, reason: "discovery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bend != nil {
				e.op.set(tc.bend)
				defer e.op.set(func(b *behaviour) { *b = behaviour{} })
			}
			_, err := New(e.ctx, conn, tc.cfg, opts)
			wantReason(t, err, tc.reason)
		})
	}
}

// TestGoOIDCAloneRefusesSymmetricAndNone checks that go-oidc's verifier as
// configured here refuses "none" and HS256 even without checkJWSHeader in
// front of it (defence in depth, and pins the messages
// classifyVerifyError matches).
func TestGoOIDCAloneRefusesSymmetricAndNone(t *testing.T) {
	e := newEnv(t)
	e.op.set(func(b *behaviour) { b.publishOct = true })
	p, err := e.rp.provider(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := map[string]any{"iss": e.op.issuer, "aud": testClientID, "sub": "x", "exp": time.Now().Add(time.Minute).Unix()}
	for name, raw := range map[string]string{
		"none":  signNone(e.op, c),
		"HS256": signHS256(e.op, c),
	} {
		_, err := e.rp.verifier(p).Verify(e.ctx, raw)
		if err == nil {
			t.Fatalf("go-oidc accepted %s", name)
		}
		wantReason(t, classifyVerifyError(err), "alg")
	}
}

func TestUserInfoClaimsWin(t *testing.T) {
	e := newEnv(t, func(c *connector.OIDC) { c.UserInfo = true })
	id, err := e.login("b")
	if err != nil {
		t.Fatal(err)
	}
	if id.DisplayName != "Ada King" || len(id.Groups) != 3 || !id.EmailVerified {
		t.Errorf("identity = %+v, want userinfo's name, groups and verified (string \"true\")", id)
	}
}

func TestSignedUserInfo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(c map[string]any)
		reason string // "" when accepted
	}{
		{name: "good"},
		{name: "another audience", edit: func(c map[string]any) { c["aud"] = "another-client" }, reason: "audience"},
		{name: "another issuer", edit: func(c map[string]any) { c["iss"] = "https://evil.example" }, reason: "issuer"},
		{name: "another subject", edit: func(c map[string]any) { c["sub"] = "someone-else" }, reason: "userinfo_sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *connector.OIDC) { c.UserInfo = true })
			e.op.set(func(b *behaviour) {
				b.signedUserinfo = true
				b.userinfo = tc.edit
			})
			id, err := e.login("b")
			if tc.reason == "" {
				if err != nil || id.DisplayName != "Ada King" {
					t.Fatalf("signed userinfo: %+v, %v", id, err)
				}
				return
			}
			wantReason(t, err, tc.reason)
		})
	}
}

func TestMapClaims(t *testing.T) {
	for _, tc := range []struct {
		name     string
		m        connector.AttributeMapping
		idt, ui  map[string]any
		email    string
		verified bool
		groups   []string
		display  string
	}{
		{name: "bool true", idt: map[string]any{"email": "a@x", "email_verified": true}, email: "a@x", verified: true},
		{name: "string true", idt: map[string]any{"email": "a@x", "email_verified": "true"}, email: "a@x", verified: true},
		{name: "string false", idt: map[string]any{"email": "a@x", "email_verified": "false"}, email: "a@x"},
		{name: "number 1", idt: map[string]any{"email": "a@x", "email_verified": float64(1)}, email: "a@x"},
		{name: "string yes", idt: map[string]any{"email": "a@x", "email_verified": "yes"}, email: "a@x"},
		{name: "missing", idt: map[string]any{"email": "a@x"}, email: "a@x"},
		{name: "verified without email", idt: map[string]any{"email_verified": true}},
		{name: "verified flag follows its email's source",
			idt: map[string]any{"email": "a@x", "email_verified": true},
			ui:  map[string]any{"email": "b@x"}, email: "b@x"},
		{name: "custom claims", m: connector.AttributeMapping{Email: "upn", Groups: "roles", DisplayName: "nick"},
			idt:   map[string]any{"upn": "u@x", "email": "e@x", "roles": "admins", "nick": "Al"},
			email: "u@x", groups: []string{"admins"}, display: "Al"},
		{name: "groups with junk", idt: map[string]any{"groups": []any{"a", 3.0, nil, " ", "b"}}, groups: []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := mapClaims(tc.m, tc.idt, tc.ui)
			if id.Email != tc.email || id.EmailVerified != tc.verified || !reflect.DeepEqual(id.Groups, tc.groups) || id.DisplayName != tc.display {
				t.Errorf("got email %q verified %v groups %q display %q", id.Email, id.EmailVerified, id.Groups, id.DisplayName)
			}
		})
	}
}

func TestStartLoginNeedsBrowser(t *testing.T) {
	e := newEnv(t)
	_, err := e.rp.StartLogin(e.ctx, "/app", "")
	wantReason(t, err, "browser")
}

func TestStoredStateHoldsNoSecretsInClear(t *testing.T) {
	e := newEnv(t)
	authURL, err := e.rp.StartLogin(e.ctx, "/app", "browser-cookie-value")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	state := u.Query().Get("state")
	if _, err := e.store.TakeOneTime(e.ctx, state, time.Now()); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("state stored under its own value (err %v), want under its hash", err)
	}
	raw, err := e.store.TakeOneTime(e.ctx, stateKey(state), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "browser-cookie-value") {
		t.Errorf("stored state holds the browser cookie: %s", raw)
	}
}
