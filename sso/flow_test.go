package sso

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/idptest"
	"github.com/rosterhq/roster/sso/oidcrp"
	"github.com/rosterhq/roster/sso/seal"
)

// TestOIDCLoginThroughBridge runs a whole OIDC login against the
// independent test provider (npm oidc-provider): domain routing, the
// provider's redirect back, JIT creation, the session cookie and the
// return path.
func TestOIDCLoginThroughBridge(t *testing.T) {
	e := newEnv(t, "")
	connID := repository.NewID()
	idp := idptest.StartOIDC(t, idptest.OIDCConfig{RedirectURIs: []string{e.base + "/sso/oidc/" + connID + "/callback"}})
	sealer, err := seal.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := json.Marshal(connector.OIDC{Issuer: idp.Issuer, ClientID: idp.ClientID,
		ClientSecret: sealer.SealString(oidcrp.SecretPurpose, idp.ClientSecret),
		Provisioning: connector.Provisioning{JIT: true}})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := e.store.CreateSSOConnection(e.ctx, repository.SSOConnection{AccountID: e.acct.Account.ID, ID: connID,
		Kind: repository.SSOOIDC, Name: "Test OP", Domains: []string{"example.com"}, Enabled: true, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}

	b := idptest.NewBrowser(t)
	page := b.Visit(e.base + "/sso/login?email=alice@example.com&return_to=/auth/session")
	if page.StatusCode != http.StatusOK || page.URL.Path != "/auth/session" {
		t.Fatalf("login ended at %s with %d: %s", page.URL, page.StatusCode, page)
	}
	var v SessionView
	if err := json.Unmarshal(page.Body, &v); err != nil {
		t.Fatalf("session JSON: %v: %s", err, page)
	}
	if v.Member.UserName != "alice@example.com" || !v.Member.ExternalSSO || v.Account.ID != e.acct.Account.ID ||
		v.Via["connectionId"] != conn.ID {
		t.Errorf("session %+v", v)
	}
	m, err := e.store.GetMemberByUserName(e.ctx, e.acct.Account.ID, "alice@example.com")
	if err != nil || m.Source != repository.SourceJIT {
		t.Fatalf("JIT member %+v, %v", m, err)
	}
	if l, err := e.store.GetIdentityLink(e.ctx, e.acct.Account.ID, conn.ID, "alice"); err != nil || l.MemberID != m.ID {
		t.Errorf("link %+v, %v", l, err)
	}
	e.mu.Lock()
	observed := strings.Join(e.observe, ",")
	e.mu.Unlock()
	if !strings.Contains(observed, "oidc/success/") {
		t.Errorf("observed %s", observed)
	}
}
