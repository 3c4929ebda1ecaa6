package sso

// End-to-end OIDC tests: the bridge's HTTP routes (cookies, store,
// provisioning, seats) against the npm oidc-provider (OpenID Certified),
// run by sso/idptest, with connections made through sso/connections as an
// admin makes them (issuer, client id, client secret sealed there).
//
// oidc-provider is a correct OP and cannot be told to mint bad tokens, so
// the token-level attacks of issue 6 are covered in sso/oidcrp against its
// own in-process OP, which can (rp_test.go TestCallbackRefuses, case name
// in quotes). The matrix:
//
//	attack                              e2e (this file)                        sso/oidcrp/rp_test.go
//	alg none                            --                                     TestCallbackRefuses "alg none", TestGoOIDCAloneRefusesSymmetricAndNone
//	HS256 with the client secret        --                                     "HS256 with the client secret", "…published as an oct key"
//	wrong issuer                        --                                     "wrong issuer", "iss parameter of another issuer", "…missing though announced"
//	wrong audience                      --                                     "wrong audience"
//	extra audience without azp          --                                     "extra audience without azp", "…with a wrong azp"; TestExtraAudienceWithOurAzpIsAccepted
//	expired                             --                                     "expired", "no exp", "not yet valid"
//	bad nonce                           --                                     "bad nonce", "no nonce"
//	userinfo sub mismatch               --                                     "userinfo sub mismatch"
//	token signed by a foreign key       --                                     "signed by a key not the OP's"
//	replayed callback / state           TestE2EOIDCCallbackAttacks "replayed"  TestStateIsSingleUse, TestStateExpires
//	missing or forged state             TestE2EOIDCCallbackAttacks "state …"   "missing state", "forged state", TestStateOfAnotherConnection
//	code swapped between two browsers   TestE2EOIDCCallbackAttacks "callback opened in another browser",
//	                                    "code injected into another login"     TestSwappedBetweenBrowsers
//	JWKS rotation                       TestE2EOIDCKeyRotation                 TestKeyRotation, TestProvidersShareAndRefresh
//	IdP error                           TestE2EOIDCIdPError                    "IdP error", TestIdPErrorMessage
//	open-redirect return_to             TestE2EOIDCLogin (/sso/login), bridge_test.go TestReturnToOpenRedirectRefused
//	concurrent seats, logout            TestE2EOIDCConcurrentSeats             --

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/idptest"
)

// oidcUsers are the provider's people: both with verified emails.
var oidcUsers = []idptest.OIDCUser{
	{Subject: "alice", Email: "alice@example.com", EmailVerified: true, GivenName: "Alice", FamilyName: "Archer"},
	{Subject: "bob", Email: "bob@example.com", EmailVerified: true, GivenName: "Bob", FamilyName: "Baker"},
}

// oidcCallback starts a login in b and returns the callback URL the
// provider sent the browser to, without opening it.
func (e *env) oidcCallback(b *idptest.Browser, conn repository.SSOConnection) string {
	e.t.Helper()
	stopAt(b, "/callback")
	defer func() { b.Client.CheckRedirect = nil }()
	p := b.Get(e.base + "/sso/oidc/" + conn.ID + "/start")
	cb := location(e.t, p)
	if !strings.Contains(cb, "/sso/oidc/"+conn.ID+"/callback?") {
		e.t.Fatalf("provider redirected to %s", cb)
	}
	return cb
}

// withQuery returns raw with its query changed by edit.
func withQuery(t *testing.T, raw string, edit func(q url.Values)) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	edit(q)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestE2EOIDCLogin(t *testing.T) {
	e := newEnv(t, "")
	conn, _ := e.oidcConnection(idptest.OIDCConfig{Users: oidcUsers}, true)

	for _, tc := range []struct{ returnTo, want string }{
		{"/app/inbox?tab=2", "/app/inbox?tab=2"},
		{"https://evil.example/app", "/auth/session"},
		{"//evil.example/app", "/auth/session"},
		{"/\\evil.example/app", "/auth/session"},
	} {
		b := idptest.NewBrowser(t)
		p := b.Visit(e.base + "/sso/login?" + url.Values{"email": {"alice@example.com"}, "return_to": {tc.returnTo}}.Encode())
		if p.URL.Host != strings.TrimPrefix(e.base, "http://") || p.URL.RequestURI() != tc.want {
			t.Errorf("return_to %q: login ended at %s (%d), want %s", tc.returnTo, p.URL, p.StatusCode, tc.want)
		}
		v := e.wantSession(b, "alice@example.com")
		if !v.Member.ExternalSSO || v.Member.GivenName != "Alice" || v.Via["connectionId"] != conn.ID {
			t.Errorf("session %+v", v)
		}
	}
	m, err := e.store.GetMemberByUserName(e.ctx, e.acct.Account.ID, "alice@example.com")
	if err != nil || m.Source != repository.SourceJIT {
		t.Fatalf("JIT member %+v, %v", m, err)
	}
	if l, err := e.store.GetIdentityLink(e.ctx, e.acct.Account.ID, conn.ID, "alice"); err != nil || l.MemberID != m.ID {
		t.Errorf("link %+v, %v", l, err)
	}
	// Four logins, one member.
	page, err := e.store.ListMembers(e.ctx, e.acct.Account.ID, repository.Query{Count: 10,
		Filter: repository.Compare{Field: repository.MemberEmailValue, Op: repository.OpEq, Value: "alice@example.com"}})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("members with alice's email: %d, %v", len(page.Items), err)
	}
	// The sealed client secret is what went to the store, not the secret.
	if strings.Contains(string(conn.Config), "roster-test-secret") {
		t.Errorf("client secret stored in clear: %s", conn.Config)
	}
}

func TestE2EOIDCNotProvisioned(t *testing.T) {
	e := newEnv(t, "")
	conn, _ := e.oidcConnection(idptest.OIDCConfig{Users: oidcUsers}, false)
	b := idptest.NewBrowser(t)
	p := b.Visit(e.base + "/sso/oidc/" + conn.ID + "/start")
	e.wantRefused(p, http.StatusForbidden, "oidc/failure/not_provisioned", "not provisioned")
	e.wantNoSession(b)
}

func TestE2EOIDCCallbackAttacks(t *testing.T) {
	e := newEnv(t, "")
	conn, _ := e.oidcConnection(idptest.OIDCConfig{Users: oidcUsers}, true)

	t.Run("replayed", func(t *testing.T) {
		b := idptest.NewBrowser(t)
		cb := e.oidcCallback(b, conn)
		if p := b.Get(cb); p.URL.Path != "/auth/session" {
			t.Fatalf("callback at %s (%d): %s", p.URL, p.StatusCode, p)
		}
		e.wantSession(b, "alice@example.com")
		// The same browser opens the callback again (history, reload).
		e.wantRefused(b.Get(cb), http.StatusBadRequest, "oidc/failure/state", "")
		// So does another one (a leaked URL).
		other := idptest.NewBrowser(t)
		e.wantRefused(other.Get(cb), http.StatusBadRequest, "oidc/failure/state", "")
		e.wantNoSession(other)
	})

	t.Run("state missing", func(t *testing.T) {
		b := idptest.NewBrowser(t)
		cb := withQuery(t, e.oidcCallback(b, conn), func(q url.Values) { q.Del("state") })
		e.wantRefused(b.Get(cb), http.StatusBadRequest, "oidc/failure/state", "")
		e.wantNoSession(b)
	})

	t.Run("state forged", func(t *testing.T) {
		b := idptest.NewBrowser(t)
		cb := withQuery(t, e.oidcCallback(b, conn), func(q url.Values) { q.Set("state", strings.Repeat("A", 43)) })
		e.wantRefused(b.Get(cb), http.StatusBadRequest, "oidc/failure/state", "")
		e.wantNoSession(b)
	})

	t.Run("callback opened in another browser", func(t *testing.T) {
		// The attacker's login, completed in the victim's browser (login
		// CSRF), with and without a login of the victim's own pending.
		for _, victimStarted := range []bool{false, true} {
			attacker := idptest.NewBrowser(t)
			cb := e.oidcCallback(attacker, conn)
			victim := idptest.NewBrowser(t)
			if victimStarted {
				e.oidcCallback(victim, conn)
			}
			e.wantRefused(victim.Get(cb), http.StatusBadRequest, "oidc/failure/browser", "")
			e.wantNoSession(victim)
			// The state is spent: the attacker cannot finish either.
			e.wantRefused(attacker.Get(cb), http.StatusBadRequest, "oidc/failure/state", "")
		}
	})

	t.Run("code injected into another login", func(t *testing.T) {
		// The victim's own state (so the browser check passes) with the
		// attacker's code: the code was issued for the attacker's PKCE
		// challenge, and the provider refuses to exchange it.
		attacker := idptest.NewBrowser(t)
		attackerCB, _ := url.Parse(e.oidcCallback(attacker, conn))
		victim := idptest.NewBrowser(t)
		cb := withQuery(t, e.oidcCallback(victim, conn), func(q url.Values) { q.Set("code", attackerCB.Query().Get("code")) })
		e.wantRefused(victim.Get(cb), http.StatusBadGateway, "oidc/failure/exchange", "")
		e.wantNoSession(victim)
	})
}

func TestE2EOIDCKeyRotation(t *testing.T) {
	e := newEnv(t, "")
	conn, op := e.oidcConnection(idptest.OIDCConfig{Users: oidcUsers}, true)
	login := func(what string) {
		t.Helper()
		b := idptest.NewBrowser(t)
		if p := b.Visit(e.base + "/sso/oidc/" + conn.ID + "/start"); p.URL.Path != "/auth/session" {
			t.Fatalf("%s: login at %s (%d): %s", what, p.URL, p.StatusCode, p)
		}
		e.wantSession(b, "alice@example.com")
	}
	login("first key")
	first := op.Kid
	if kid := op.RotateKeys(t); kid == first {
		t.Fatalf("rotation kept kid %s", kid)
	}
	login("rotated key, old one still published")
	op.ReplaceKeys(t)
	login("replaced key, old ones withdrawn")
}

func TestE2EOIDCIdPError(t *testing.T) {
	e := newEnv(t, "")
	conn, op := e.oidcConnection(idptest.OIDCConfig{Users: oidcUsers}, true)
	op.FailLogins(t, "access_denied")
	b := idptest.NewBrowser(t)
	p := b.Visit(e.base + "/sso/oidc/" + conn.ID + "/start")
	e.wantRefused(p, http.StatusUnauthorized, "oidc/failure/idp_error", "")
	e.wantNoSession(b)
	op.LoginAs(t, "")
	if p := idptest.NewBrowser(t).Visit(e.base + "/sso/oidc/" + conn.ID + "/start"); p.URL.Path != "/auth/session" {
		t.Fatalf("login after the error at %s (%d): %s", p.URL, p.StatusCode, p)
	}
}

func TestE2EOIDCConcurrentSeats(t *testing.T) {
	e := newEnv(t, "")
	for _, ch := range []provisioning.SeatChange{
		{Policy: ptr(repository.SeatPolicyConcurrent)},
		{Total: ptr(1)},
	} {
		if _, err := e.svc.ChangeSeats(e.ctx, adminActor, e.acct.Account.ID, ch); err != nil {
			t.Fatal(err)
		}
	}
	conn, op := e.oidcConnection(idptest.OIDCConfig{Users: oidcUsers}, true) // JIT: agents by default
	login := func(user string) (*idptest.Browser, SessionView) {
		t.Helper()
		op.LoginAs(t, user)
		b := idptest.NewBrowser(t)
		if p := b.Visit(e.base + "/sso/oidc/" + conn.ID + "/start"); p.URL.Path != "/auth/session" {
			t.Fatalf("%s: login at %s (%d): %s", user, p.URL, p.StatusCode, p)
		}
		return b, e.wantSession(b, user+"@example.com")
	}

	alice, av := login("alice")
	if !av.Agent.Capable || av.Agent.NoSeatReason != "" {
		t.Fatalf("first agent: %+v", av.Agent)
	}
	_, bv := login("bob")
	if bv.Agent.Capable || !strings.Contains(bv.Agent.NoSeatReason, "all 1 agent seats are in use") {
		t.Fatalf("agent beyond the seats: %+v", bv.Agent)
	}

	// Alice signs out: her lease goes back.
	req, err := http.NewRequest(http.MethodPost, e.base+"/auth/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(headerCSRF, av.CSRFToken)
	if p := alice.Do(req); p.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", p.StatusCode, p)
	}
	e.wantNoSession(alice)
	sum, err := e.svc.Seats(e.ctx, e.acct.Account.ID)
	if err != nil || sum.Used != 0 {
		t.Fatalf("seats after logout %+v, %v", sum, err)
	}
	_, bv = login("bob")
	if !bv.Agent.Capable || bv.Agent.NoSeatReason != "" {
		t.Fatalf("agent after a seat was freed: %+v", bv.Agent)
	}
	_, av = login("alice")
	if av.Agent.Capable || av.Agent.NoSeatReason == "" {
		t.Fatalf("alice now beyond the seats: %+v", av.Agent)
	}
}
