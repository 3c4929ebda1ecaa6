package oidcrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/rosterhq/roster/sso/connector"
)

// allowedAlgs are the ID-token signature algorithms Roster accepts:
// asymmetric ones only. "none" and the HMAC family are never accepted — an
// HS256 token "signed" with the client secret proves nothing about the IdP.
// EdDSA is left out because no IdP we connect to uses it.
var allowedAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
}

// Default timings of a Providers cache.
const (
	// DefaultProviderTTL is how long discovery is trusted before it is
	// fetched again. Signing keys are refetched sooner, whenever a token
	// names a key id the cached set lacks.
	DefaultProviderTTL = time.Hour
	// retryAfterFailure spaces out rediscovery attempts while an IdP is
	// down; the last good discovery keeps serving meanwhile.
	retryAfterFailure = time.Minute
)

// Providers caches discovery documents and signing key sets per issuer, so
// a login does not fetch them again. One Providers is shared by every
// connection of a process; connections of several accounts that use the
// same issuer share its entry (discovery and keys are the issuer's, not
// the client's).
type Providers struct {
	client *http.Client
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*providerEntry
}

// NewProviders returns an empty cache fetching with client
// (connector.HTTPClient(true) when nil) and trusting discovery for ttl
// (DefaultProviderTTL when 0).
func NewProviders(client *http.Client, ttl time.Duration) *Providers {
	if client == nil {
		client = connector.HTTPClient(true)
	}
	if ttl <= 0 {
		ttl = DefaultProviderTTL
	}
	return &Providers{client: client, ttl: ttl, now: time.Now, entries: map[string]*providerEntry{}}
}

// providerEntry is one issuer's slot; its own mutex keeps concurrent
// logins from fetching discovery more than once.
type providerEntry struct {
	mu          sync.Mutex
	current     *provider
	lastAttempt time.Time
}

// provider is one issuer's discovered configuration and key set.
type provider struct {
	issuer    string
	oidc      *oidc.Provider
	keys      *oidc.RemoteKeySet
	jwksURL   string
	meta      discovery
	algs      []string // allowedAlgs the issuer announces
	fetchedAt time.Time
}

// discovery holds the discovery fields go-oidc does not expose.
type discovery struct {
	Issuer                 string   `json:"issuer"`
	AuthorizationEndpoint  string   `json:"authorization_endpoint"`
	TokenEndpoint          string   `json:"token_endpoint"`
	UserinfoEndpoint       string   `json:"userinfo_endpoint"`
	JWKSURI                string   `json:"jwks_uri"`
	SigningAlgs            []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods       []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethods   []string `json:"code_challenge_methods_supported"`
	IssParameterSupported  bool     `json:"authorization_response_iss_parameter_supported"`
	ResponseTypesSupported []string `json:"response_types_supported"`
}

// get returns the issuer's provider, discovering it when absent or older
// than the TTL. When rediscovery fails the last good provider keeps
// serving (an IdP's brief outage must not stop logins whose keys we
// already hold), and the next attempt waits a minute.
func (ps *Providers) get(ctx context.Context, issuer string) (*provider, error) {
	ps.mu.Lock()
	e, ok := ps.entries[issuer]
	if !ok {
		e = &providerEntry{}
		ps.entries[issuer] = e
	}
	ps.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := ps.now()
	if e.current != nil {
		fresh := now.Sub(e.current.fetchedAt) < ps.ttl
		if fresh || now.Sub(e.lastAttempt) < retryAfterFailure {
			return e.current, nil
		}
	}
	e.lastAttempt = now
	p, err := ps.discover(ctx, issuer, e.current)
	if err != nil {
		if e.current != nil {
			return e.current, nil
		}
		return nil, err
	}
	e.current = p
	return p, nil
}

// Forget drops an issuer's cached discovery and keys, so the next login
// fetches them again (after a connection's issuer is edited, say).
func (ps *Providers) Forget(issuer string) {
	ps.mu.Lock()
	delete(ps.entries, issuer)
	ps.mu.Unlock()
}

// discover fetches and checks the issuer's discovery document. The key set
// of prev is kept when the jwks_uri did not change, so its cached keys
// survive a rediscovery.
func (ps *Providers) discover(ctx context.Context, issuer string, prev *provider) (*provider, error) {
	if err := checkEndpoint("issuer", issuer); err != nil {
		return nil, err
	}
	// go-oidc checks that the document's issuer is exactly ours.
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, ps.client), issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", issuer, err)
	}
	var meta discovery
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discover %s: %w", issuer, err)
	}
	for _, ep := range []struct{ name, url string }{
		{"authorization_endpoint", meta.AuthorizationEndpoint},
		{"token_endpoint", meta.TokenEndpoint},
		{"jwks_uri", meta.JWKSURI},
	} {
		if err := checkEndpoint(ep.name, ep.url); err != nil {
			return nil, fmt.Errorf("discover %s: %w", issuer, err)
		}
	}
	if meta.UserinfoEndpoint != "" {
		if err := checkEndpoint("userinfo_endpoint", meta.UserinfoEndpoint); err != nil {
			return nil, fmt.Errorf("discover %s: %w", issuer, err)
		}
	}
	if len(meta.CodeChallengeMethods) > 0 && !slices.Contains(meta.CodeChallengeMethods, "S256") {
		return nil, fmt.Errorf("discover %s: the provider does not support PKCE S256 (it announces %q)", issuer, meta.CodeChallengeMethods)
	}
	algs, err := signingAlgs(meta.SigningAlgs)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", issuer, err)
	}
	p := &provider{issuer: issuer, oidc: op, meta: meta, algs: algs, jwksURL: meta.JWKSURI, fetchedAt: ps.now()}
	if prev != nil && prev.jwksURL == meta.JWKSURI {
		p.keys = prev.keys
	} else {
		// The key set outlives the request: its fetches use a background
		// context carrying only our HTTP client (and its timeout).
		p.keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), ps.client), meta.JWKSURI)
	}
	return p, nil
}

// signingAlgs returns the accepted algorithms the provider announces.
// RS256 is the spec's default when it announces none.
func signingAlgs(announced []string) ([]string, error) {
	if len(announced) == 0 {
		return []string{oidc.RS256}, nil
	}
	var out []string
	for _, a := range announced {
		if slices.Contains(allowedAlgs, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the provider signs ID tokens only with %q; Roster accepts %q", announced, allowedAlgs)
	}
	return out, nil
}

// checkEndpoint requires an absolute https URL; plain http is allowed only
// on loopback addresses (local test IdPs).
func checkEndpoint(name, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is missing", name)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%s %q is not an absolute URL", name, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%s %q must use https", name, raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errNoUserinfo is returned when a connection wants userinfo from an IdP
// that has no endpoint for it.
var errNoUserinfo = errors.New("the provider has no userinfo_endpoint")
