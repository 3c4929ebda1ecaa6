// Package sso is the HTTP side of the SSO bridge: it routes a person to
// their company's identity provider by email domain, runs the SAML and
// OIDC logins (sso/samlsp, sso/oidcrp), hands the asserted identity to
// provisioning (which decides which member it is), and turns a successful
// login — SSO or password — into a platform session cookie and short-lived
// access tokens (sso/accesstoken).
//
// Routes (Mount):
//
//	GET  /sso/login?email=…&return_to=…   domain routing, or the login page
//	GET  /sso/saml/:id/metadata           SP metadata of a SAML connection
//	GET  /sso/saml/:id/start              SP-initiated SAML login
//	POST /sso/saml/:id/acs                assertion consumer service
//	GET  /sso/oidc/:id/start              OIDC login (code + PKCE)
//	GET  /sso/oidc/:id/callback           OIDC redirect URI
//	POST /auth/login                      password login (JSON or form)
//	GET  /auth/session                    the current session (JSON)
//	POST /auth/logout                     end the session
//	POST /auth/token                      an access token for the session
//	GET  /.well-known/jwks.json           the access-token keys
//
// Failures of browser logins render a small HTML page with a readable
// message and the request id; callers asking for JSON get problem+json.
package sso

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/accesstoken"
	"github.com/rosterhq/roster/sso/connections"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/oidcrp"
	"github.com/rosterhq/roster/sso/seal"
)

// Cookie names.
const (
	// SessionCookie carries the platform session secret.
	SessionCookie = "roster_session"
	// browserCookie binds a started login to the browser (SameSite=Lax:
	// sent on the IdP's top-level GET redirect back, the OIDC callback).
	browserCookie = "roster_sso_browser"
	// browserPostCookie is the same value for the SAML ACS, which the IdP
	// reaches with a cross-site POST that Lax cookies are not sent on; it
	// is SameSite=None, so it exists only over HTTPS (browsers refuse
	// SameSite=None without Secure).
	browserPostCookie = "roster_sso_browser_post"
	// browserCookieTTL outlives the protocols' own login state (10 min).
	browserCookieTTL = 15 * time.Minute
)

// headerCSRF carries the CSRF token of a session on unsafe requests.
const headerCSRF = "X-CSRF-Token"

// Options configures a Bridge.
type Options struct {
	// BaseURL is Roster's public base URL (https://roster.example.com),
	// without a trailing slash. Cookies are Secure when it is https.
	BaseURL string
	// SecretKey is the deployment's 32-byte secret key: it opens sealed
	// connection secrets and keys, and keys the CSRF tokens.
	SecretKey []byte
	// ReturnPaths is the allow-list of paths a login may return to; empty
	// Prefixes means connector.DefaultReturnPrefixes.
	ReturnPaths connector.ReturnPaths
	// AccessTokenTTL is the lifetime of access tokens; 0 means the
	// accesstoken package's default (5 minutes).
	AccessTokenTTL time.Duration
	// HTTPClient talks to identity providers; nil means
	// connector.HTTPClient(true), which reaches any address (cmd/roster
	// passes the one sso.allow_private_networks configures).
	HTTPClient *http.Client
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// Observe, when set, is called once per login attempt: kind is saml,
	// oidc or password; outcome success or failure; reason a short stable
	// label ("" on success).
	Observe func(kind, outcome, reason string)
	// Now replaces time.Now, for tests.
	Now func() time.Time
	// MetadataRefreshInterval is how old the IdP metadata of a SAML
	// connection set up by metadata URL may get before a login fetches it
	// again first; 0 means DefaultMetadataRefreshInterval, a negative
	// value never refreshes by age (signature failures still do).
	MetadataRefreshInterval time.Duration
	// MetadataRetryInterval is the least time between two metadata
	// fetches of one connection (by age or after a signature failure),
	// so forged responses or a dead metadata URL cost one fetch per
	// interval; 0 means DefaultMetadataRetryInterval.
	MetadataRetryInterval time.Duration
}

// Defaults of the SAML metadata refresh (Options).
const (
	DefaultMetadataRefreshInterval = 24 * time.Hour
	DefaultMetadataRetryInterval   = 5 * time.Minute
)

// Bridge serves the SSO and session routes. It is safe for concurrent use.
type Bridge struct {
	svc     *provisioning.Service
	store   repository.Store
	opts    Options
	sealer  *seal.Sealer
	csrfKey []byte
	secure  bool
	origin  string // scheme://host of BaseURL
	issuer  *accesstoken.Issuer
	log     *slog.Logger
	client  *http.Client
	oidc    *oidcrp.Providers
	conns   *connections.Service // refreshes SAML metadata

	mu    sync.Mutex
	saml  map[string]cachedSAML
	rps   map[string]cachedOIDC
	pages *pageSet
	// refreshTried is when each connection's metadata was last fetched
	// (or tried), for MetadataRetryInterval.
	refreshTried map[string]time.Time
}

// New returns a Bridge over the service's store.
func New(svc *provisioning.Service, opts Options) (*Bridge, error) {
	if svc == nil {
		return nil, errors.New("sso: no provisioning service")
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sso: base URL %q is not an absolute http(s) URL", opts.BaseURL)
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	sealer, err := seal.New(opts.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("sso: secret key: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = connector.HTTPClient(true)
	}
	if opts.Observe == nil {
		opts.Observe = func(string, string, string) {}
	}
	if opts.MetadataRefreshInterval == 0 {
		opts.MetadataRefreshInterval = DefaultMetadataRefreshInterval
	}
	if opts.MetadataRetryInterval <= 0 {
		opts.MetadataRetryInterval = DefaultMetadataRetryInterval
	}
	store := svc.Store()
	pages, err := newPages()
	if err != nil {
		return nil, err
	}
	b := &Bridge{
		svc: svc, store: store, opts: opts, sealer: sealer,
		// A key of its own for CSRF tokens, derived from the secret key,
		// so the AES key is never used as an HMAC key too.
		csrfKey: derive(opts.SecretKey, "roster csrf token v1"),
		secure:  u.Scheme == "https",
		origin:  u.Scheme + "://" + u.Host,
		log:     opts.Logger,
		client:  opts.HTTPClient,
		oidc:    oidcrp.NewProviders(opts.HTTPClient, 0),
		saml:    map[string]cachedSAML{},
		rps:     map[string]cachedOIDC{},
		pages:   pages,

		refreshTried: map[string]time.Time{},
	}
	b.conns, err = connections.New(store, connections.Options{BaseURL: opts.BaseURL, Sealer: sealer,
		HTTPClient: opts.HTTPClient, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("sso: %w", err)
	}
	b.issuer = accesstoken.NewIssuer(store, sealer, accesstoken.Options{
		Issuer: opts.BaseURL, TTL: opts.AccessTokenTTL, Now: opts.Now,
	})
	return b, nil
}

// derive returns HMAC-SHA256(key, label): a sub-key for one use.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Mount adds the bridge's routes to e.
func (b *Bridge) Mount(e *gin.Engine) {
	e.GET("/sso/login", b.login)
	e.GET("/sso/saml/:id/metadata", b.samlMetadata)
	e.GET("/sso/saml/:id/start", b.samlStart)
	e.POST("/sso/saml/:id/acs", b.samlACS)
	e.GET("/sso/oidc/:id/start", b.oidcStart)
	e.GET("/sso/oidc/:id/callback", b.oidcCallback)
	e.POST("/auth/login", b.passwordLogin)
	e.GET("/auth/session", b.session)
	e.POST("/auth/logout", b.logout)
	e.POST("/auth/token", b.token)
	e.POST("/auth/password", b.changePassword)
	jwks := gin.WrapH(b.issuer.JWKSHandler())
	e.GET("/.well-known/jwks.json", jwks)
	e.HEAD("/.well-known/jwks.json", jwks)
}

// Issuer returns the access-token issuer, for services verifying tokens.
func (b *Bridge) Issuer() *accesstoken.Issuer { return b.issuer }

// RunSweeper deletes expired sessions (releasing their seat leases) and
// expired login states every interval until ctx ends.
func (b *Bridge) RunSweeper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rep, err := b.svc.SweepSessions(ctx, b.opts.Now())
			if err != nil && ctx.Err() == nil {
				b.log.WarnContext(ctx, "sso: sweep sessions", "error", err)
			}
			if rep.Sessions > 0 || rep.Leases > 0 {
				b.log.DebugContext(ctx, "sso: swept sessions", "sessions", rep.Sessions, "leases", rep.Leases,
					"one_time", rep.OneTime, "replays", rep.Replays)
			}
		}
	}
}

// randomValue returns 256 random bits in base64url.
func randomValue() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("sso: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// csrfToken is the CSRF proof of a session: an HMAC of its id, so no
// state is kept for it and every instance computes the same.
func (b *Bridge) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, b.csrfKey)
	m.Write([]byte("session:" + sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF checks an unsafe request made with a session cookie: a
// foreign Origin is refused, and the X-CSRF-Token header must carry the
// session's token.
func (b *Bridge) checkCSRF(r *http.Request, sessionID string) error {
	if o := r.Header.Get("Origin"); o != "" && o != b.origin {
		return &provisioning.Error{Code: provisioning.CodeForbidden,
			Message: "this request comes from another site and was refused", Err: fmt.Errorf("origin %q", o)}
	}
	got := r.Header.Get(headerCSRF)
	if got == "" || !hmac.Equal([]byte(got), []byte(b.csrfToken(sessionID))) {
		return &provisioning.Error{Code: provisioning.CodeForbidden,
			Message: "missing or wrong " + headerCSRF + " header: send the csrfToken of GET /auth/session",
			Err:     errors.New("csrf token mismatch")}
	}
	return nil
}

// unsafeMethod reports whether a method changes something.
func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// setCookie writes a cookie with the bridge's attributes.
func (b *Bridge) setCookie(w http.ResponseWriter, name, value, path string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: b.secure || sameSite == http.SameSiteNoneMode, SameSite: sameSite,
	})
}

// setSessionCookie writes the session cookie, expiring with the session.
func (b *Bridge) setSessionCookie(w http.ResponseWriter, secret string, expires time.Time) {
	maxAge := int(expires.Sub(b.opts.Now()) / time.Second)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: secret, Path: "/", MaxAge: max(maxAge, 1), Expires: expires.UTC(),
		HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode,
	})
}

// clearSessionCookie removes the session cookie.
func (b *Bridge) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode})
}

// cookie returns a request cookie's value, or "".
func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
