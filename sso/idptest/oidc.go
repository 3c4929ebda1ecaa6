package idptest

import "testing"

// OIDCUser is a person the test OpenID Provider knows. Its fields become
// the standard claims of the same names (groups needs the "groups" scope).
type OIDCUser struct {
	Subject       string   `json:"sub"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	GivenName     string   `json:"given_name,omitempty"`
	FamilyName    string   `json:"family_name,omitempty"`
	Name          string   `json:"name,omitempty"` // default: given + family name
	Groups        []string `json:"groups,omitempty"`
}

// OIDCConfig configures StartOIDC. The zero value is usable: one client
// "roster-test" with secret "roster-test-secret" and one user, alice.
type OIDCConfig struct {
	ClientID string
	// ClientSecret of a confidential client; with Public set the client
	// has none (token_endpoint_auth_method "none").
	ClientSecret string
	Public       bool
	// TokenAuthMethod is "client_secret_basic" (default) or
	// "client_secret_post".
	TokenAuthMethod string
	// RedirectURIs are compared exactly by the provider.
	RedirectURIs []string
	// Users default to DefaultOIDCUsers.
	Users []OIDCUser
	// DefaultUser (a sub or email) is who logs in when the authorization
	// request has no login_hint; default: the first user.
	DefaultUser string
	// ClaimsOnlyInUserInfo keeps profile and email claims out of the ID
	// token (oidc-provider's strict default when an access token is
	// issued), so the RP must call userinfo to see them.
	ClaimsOnlyInUserInfo bool
}

// DefaultOIDCUsers are the users of an OIDCConfig that names none.
var DefaultOIDCUsers = []OIDCUser{
	{Subject: "alice", Email: "alice@example.com", EmailVerified: true, GivenName: "Alice", FamilyName: "Archer", Groups: []string{"agents"}},
	{Subject: "bob", Email: "bob@example.com", EmailVerified: false, GivenName: "Bob", FamilyName: "Baker", Groups: []string{"agents", "supervisors"}},
}

// OIDCProvider is a running npm oidc-provider (tools/idp/oidc.js).
type OIDCProvider struct {
	// Issuer is http://127.0.0.1:PORT; discovery is at DiscoveryURL().
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURIs []string
	// Kid is the id of the current signing key.
	Kid string

	proc *process
}

// StartOIDC starts an OpenID Provider for the test and stops it when the
// test ends. Without node or tools/idp/node_modules it skips the test, or
// fails it when CI=true.
func StartOIDC(t testing.TB, cfg OIDCConfig) *OIDCProvider {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID = "roster-test"
	}
	if cfg.ClientSecret == "" && !cfg.Public {
		cfg.ClientSecret = "roster-test-secret"
	}
	if cfg.Public {
		cfg.ClientSecret = ""
	}
	if len(cfg.Users) == 0 {
		cfg.Users = DefaultOIDCUsers
	}
	client := map[string]any{
		"client_id":     cfg.ClientID,
		"client_secret": cfg.ClientSecret,
		"redirect_uris": cfg.RedirectURIs,
	}
	if cfg.TokenAuthMethod != "" && !cfg.Public {
		client["token_endpoint_auth_method"] = cfg.TokenAuthMethod
	}
	if len(cfg.RedirectURIs) == 0 {
		client["redirect_uris"] = []string{"http://127.0.0.1/callback"}
	}
	node := map[string]any{
		"port":            0,
		"client":          client,
		"users":           cfg.Users,
		"defaultUser":     cfg.DefaultUser,
		"claimsInIDToken": !cfg.ClaimsOnlyInUserInfo,
	}
	var ready struct {
		Issuer string `json:"issuer"`
		Kid    string `json:"kid"`
	}
	proc := startNode(t, "oidc.js", node, &ready)
	proc.base = ready.Issuer
	return &OIDCProvider{
		Issuer:       ready.Issuer,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURIs: client["redirect_uris"].([]string),
		Kid:          ready.Kid,
		proc:         proc,
	}
}

// DiscoveryURL is the provider's /.well-known/openid-configuration.
func (p *OIDCProvider) DiscoveryURL() string {
	return p.Issuer + "/.well-known/openid-configuration"
}

// JWKSURL is where the provider publishes its signing keys.
func (p *OIDCProvider) JWKSURL() string { return p.Issuer + "/jwks" }

// RotateKeys adds a new signing key and makes it current: tokens issued
// from now on carry its kid, and the old keys stay published so earlier
// tokens still verify. It returns the new kid (also in p.Kid).
func (p *OIDCProvider) RotateKeys(t testing.TB) string {
	t.Helper()
	return p.rotate(t, "/admin/rotate")
}

// ReplaceKeys is RotateKeys that also withdraws every earlier key from
// the JWKS, so tokens signed before no longer verify.
func (p *OIDCProvider) ReplaceKeys(t testing.TB) string {
	t.Helper()
	return p.rotate(t, "/admin/rotate?retire=1")
}

func (p *OIDCProvider) rotate(t testing.TB, path string) string {
	t.Helper()
	var out struct {
		Kid string `json:"kid"`
	}
	p.proc.admin(t, path, nil, &out)
	p.Kid = out.Kid
	return out.Kid
}

// LoginAs makes the next logins (without a login_hint) log in user, a sub
// or an email; "" returns to the configured default. A browser that already
// has a session at the provider stays logged in as before: use a new
// Browser, or prompt=login.
func (p *OIDCProvider) LoginAs(t testing.TB, user string) {
	t.Helper()
	p.proc.admin(t, "/admin/login", map[string]string{"user": user}, nil)
}

// FailLogins makes the next logins end with the OAuth error code (such as
// "access_denied" or "login_required") sent back to the redirect URI;
// LoginAs undoes it.
func (p *OIDCProvider) FailLogins(t testing.TB, oauthError string) {
	t.Helper()
	p.proc.admin(t, "/admin/login", map[string]string{"error": oauthError}, nil)
}

// PutUser adds a user or replaces the one with the same Subject; the
// change shows in the next tokens and userinfo answers.
func (p *OIDCProvider) PutUser(t testing.TB, u OIDCUser) {
	t.Helper()
	p.proc.admin(t, "/admin/users", u, nil)
}

// Stderr returns the provider's diagnostics so far.
func (p *OIDCProvider) Stderr() string { return p.proc.Stderr() }
