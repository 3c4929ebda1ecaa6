// Package oidcrp is the OpenID Connect relying party of one SSO
// connection: it starts a login (authorization code flow with PKCE S256,
// state and nonce) and turns the IdP's callback into a connector.Identity
// after verifying everything the specification asks a client to verify.
//
// go-oidc verifies the ID token's signature (refetching the IdP's keys when
// a token names a key id it does not know), issuer, audience and expiry.
// This package adds what go-oidc leaves to the application: the nonce, the
// authorized party (azp), the at_hash, a strict list of asymmetric
// algorithms, the RFC 9207 "iss" response parameter, the binding of the
// state to the browser that started the login, and the userinfo subject.
package oidcrp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/seal"
)

// SecretPurpose is the seal purpose of a connection's client secret.
const SecretPurpose = "oidc-client-secret"

// StateTTL is how long a started login may take before its callback.
const StateTTL = 10 * time.Minute

// Options are what an RP needs besides its connection.
type Options struct {
	// BaseURL is Roster's public origin, e.g. https://roster.example; the
	// redirect URI is BaseURL + "/sso/oidc/{connID}/callback".
	BaseURL string
	// Store keeps each started login's state until its callback.
	Store repository.OneTimeStore
	// Sealer opens cfg.ClientSecret (purpose SecretPurpose).
	Sealer *seal.Sealer
	// HTTPClient talks to the IdP (token and userinfo endpoints); a client
	// with a 10 s timeout when nil.
	HTTPClient *http.Client
	// Providers caches discovery and signing keys across logins; New
	// makes a private one when nil (tests, one-off use).
	Providers *Providers
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// RP is the relying party of one OIDC connection. It is safe for
// concurrent use; build it once per connection (New runs discovery).
type RP struct {
	conn        repository.SSOConnection
	cfg         connector.OIDC
	issuer      string
	clientID    string
	secret      string
	scopes      []string
	redirectURI string

	store     repository.OneTimeStore
	client    *http.Client
	providers *Providers
	now       func() time.Time
}

// New checks the connection's configuration, opens its client secret and
// discovers its issuer (through opts.Providers' cache). Errors are
// *connector.LoginError with reason "config" or "discovery".
func New(ctx context.Context, conn repository.SSOConnection, cfg connector.OIDC, opts Options) (*RP, error) {
	if conn.ID == "" || conn.AccountID == "" {
		return nil, connector.Fail("config", publicUnavailable, errors.New("oidc: connection without id or account"))
	}
	if conn.Kind != "" && conn.Kind != repository.SSOOIDC {
		return nil, connector.Fail("config", publicUnavailable, fmt.Errorf("oidc: connection %s is of kind %q", conn.ID, conn.Kind))
	}
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, connector.Fail("config", publicUnavailable, fmt.Errorf("oidc: connection %s needs an issuer and a client id", conn.ID))
	}
	if opts.Store == nil {
		return nil, connector.Fail("config", publicUnavailable, errors.New("oidc: no one-time store"))
	}
	base, err := url.Parse(strings.TrimSuffix(opts.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, connector.Fail("config", publicUnavailable, fmt.Errorf("oidc: base URL %q is not an absolute URL", opts.BaseURL))
	}
	var secret string
	if cfg.ClientSecret != "" {
		if opts.Sealer == nil {
			return nil, connector.Fail("config", publicUnavailable, errors.New("oidc: a sealed client secret but no sealer"))
		}
		secret, err = opts.Sealer.OpenString(SecretPurpose, cfg.ClientSecret)
		if err != nil {
			return nil, connector.Fail("config", publicUnavailable, fmt.Errorf("oidc: open client secret of connection %s: %w", conn.ID, err))
		}
	}
	client := opts.HTTPClient
	if client == nil {
		client = connector.HTTPClient(true)
	}
	providers := opts.Providers
	if providers == nil {
		providers = NewProviders(client, 0)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	rp := &RP{
		conn:        conn,
		cfg:         cfg,
		issuer:      cfg.Issuer,
		clientID:    cfg.ClientID,
		secret:      secret,
		scopes:      scopes(cfg.Scopes),
		redirectURI: base.String() + "/sso/oidc/" + url.PathEscape(conn.ID) + "/callback",
		store:       opts.Store,
		client:      client,
		providers:   providers,
		now:         now,
	}
	p, err := rp.provider(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.UserInfo && p.meta.UserinfoEndpoint == "" {
		return nil, connector.Fail("config", publicUnavailable, fmt.Errorf("oidc: connection %s: %w", conn.ID, errNoUserinfo))
	}
	return rp, nil
}

// RedirectURI is the callback URL to register at the IdP.
func (rp *RP) RedirectURI() string { return rp.redirectURI }

// scopes always asks for "openid" (without it the IdP runs plain OAuth and
// sends no ID token).
func scopes(configured []string) []string {
	if len(configured) == 0 {
		return []string{"openid", "email", "profile"}
	}
	out := []string{"openid"}
	for _, s := range configured {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// provider returns the issuer's cached discovery.
func (rp *RP) provider(ctx context.Context) (*provider, error) {
	p, err := rp.providers.get(ctx, rp.issuer)
	if err != nil {
		return nil, connector.Fail("discovery", publicUnavailable, err)
	}
	return p, nil
}

// oauth2Config is the OAuth 2.0 client of this connection at p.
func (rp *RP) oauth2Config(p *provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     rp.clientID,
		ClientSecret: rp.secret,
		RedirectURL:  rp.redirectURI,
		Scopes:       rp.scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   p.meta.AuthorizationEndpoint,
			TokenURL:  p.meta.TokenEndpoint,
			AuthStyle: authStyle(p.meta.TokenAuthMethods, rp.secret),
		},
	}
}

// authStyle picks how the client secret reaches the token endpoint:
// HTTP Basic (client_secret_basic, the spec's default) unless the IdP
// announces only client_secret_post. A public client sends its id in the
// body.
func authStyle(methods []string, secret string) oauth2.AuthStyle {
	if secret == "" {
		return oauth2.AuthStyleInParams
	}
	if len(methods) == 0 || slices.Contains(methods, "client_secret_basic") {
		return oauth2.AuthStyleInHeader
	}
	if slices.Contains(methods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// StartLogin begins a login and returns the IdP URL to send the browser
// to; failures are *connector.LoginError. returnTo must already be checked against the allow-list
// (connector.ReturnPaths); browserID is the value of the caller's
// browser-binding cookie, which the callback must present again.
func (rp *RP) StartLogin(ctx context.Context, returnTo, browserID string) (string, error) {
	if browserID == "" {
		return "", connector.Fail("browser", publicRetry, errors.New("oidc: start login without a browser id"))
	}
	if len(returnTo) > 2048 {
		return "", connector.Fail("malformed", publicRetry, errors.New("oidc: return path too long"))
	}
	p, err := rp.provider(ctx)
	if err != nil {
		return "", err
	}
	state, err := randomToken()
	if err != nil {
		return "", connector.Fail("internal", publicRetry, fmt.Errorf("oidc: start login: %w", err))
	}
	nonce, err := randomToken()
	if err != nil {
		return "", connector.Fail("internal", publicRetry, fmt.Errorf("oidc: start login: %w", err))
	}
	rec := loginState{
		Version:   stateVersion,
		AccountID: rp.conn.AccountID,
		ConnID:    rp.conn.ID,
		Browser:   browserHash(browserID),
		Verifier:  oauth2.GenerateVerifier(),
		Nonce:     nonce,
		ReturnTo:  returnTo,
	}
	value, err := rec.encode()
	if err != nil {
		return "", connector.Fail("internal", publicRetry, fmt.Errorf("oidc: start login: %w", err))
	}
	if err := rp.store.PutOneTime(ctx, stateKey(state), value, rp.now().Add(StateTTL)); err != nil {
		return "", connector.Fail("store", publicUnavailableStore, fmt.Errorf("oidc: start login: store state: %w", err))
	}
	return rp.oauth2Config(p).AuthCodeURL(state,
		oauth2.SetAuthURLParam("nonce", nonce),
		oauth2.S256ChallengeOption(rec.Verifier),
	), nil
}

// randomToken returns 256 random bits, base64url without padding.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
