// Package accesstoken issues the short-lived signed access tokens (JWT,
// ES256) that downstream services of the platform accept, verifies them,
// and publishes their keys as a JWKS.
//
// Keys are deployment-wide and live in the store (repository.SigningKeyStore)
// with the private half sealed, so every instance signs with the same key
// and publishes the same set. A key signs for RotateEvery, then stays
// published for two token lifetimes so the tokens it signed last still
// verify. The next key is made and published PublishAhead before the
// current one retires, so a downstream service that caches the JWKS has
// the new key before the first token it signs arrives.
package accesstoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/seal"
)

// Defaults of Options.
const (
	DefaultTTL          = 5 * time.Minute
	DefaultRotateEvery  = 30 * 24 * time.Hour
	DefaultAudience     = "roster"
	DefaultCacheFor     = 30 * time.Second
	DefaultPublishAhead = 5 * time.Minute
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 10 * time.Second
	// JWKSMaxAge is how long a client may cache the JWKS. It is well below
	// PublishAhead, so a client's cached set has the next key before it
	// signs anything.
	JWKSMaxAge = 60 * time.Second
)

// SealPurpose binds sealed signing keys to this use.
const SealPurpose = "access-token-key"

// TokenType is the JWS "typ" of access tokens (RFC 9068), which keeps an
// access token from being taken for another kind of JWT and back.
const TokenType = "at+jwt"

// algorithm is the only signature algorithm issued and accepted.
const algorithm = jose.ES256

// ErrInvalidToken is wrapped by every Verify failure that is the token's
// fault (malformed, forged, expired, unknown key, wrong issuer or
// audience). Other Verify errors are store failures.
var ErrInvalidToken = errors.New("invalid access token")

// Options configures an Issuer.
type Options struct {
	// Issuer is the "iss" of the tokens: the deployment's base URL.
	Issuer string
	// Audience is the "aud"; empty means DefaultAudience.
	Audience string
	// TTL is a token's lifetime; 0 means DefaultTTL.
	TTL time.Duration
	// RotateEvery is how long a key signs; 0 means DefaultRotateEvery.
	RotateEvery time.Duration
	// CacheFor is how long keys read from the store are reused before
	// reading them again; 0 means DefaultCacheFor.
	CacheFor time.Duration
	// PublishAhead is how long before the signing key retires its
	// successor is made (and published); 0 means DefaultPublishAhead,
	// capped at half of RotateEvery.
	PublishAhead time.Duration
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Claims is what an access token says.
type Claims struct {
	AccountID string
	// MemberID is the "sub": the member the token acts as.
	MemberID string
	// SessionID is the "sid": the platform session the token came from,
	// empty when none did.
	SessionID string
	Roles     []string
	// Agent tells whether the member holds the agent capability (a seat).
	Agent bool
	// ReadOnly marks a "view as" token: it may read but never change.
	ReadOnly bool
	// ActorID is who really acts ("act": {"sub": ActorID}, RFC 8693):
	// the admin viewing the app as MemberID.
	ActorID string

	// ID, IssuedAt and ExpiresAt are set by Issue's token and read back by
	// Verify; Issue ignores them.
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// tokenClaims are the private claims of the JWT.
type tokenClaims struct {
	AccountID string   `json:"account_id"`
	SessionID string   `json:"sid,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	Agent     bool     `json:"agent,omitempty"`
	ReadOnly  bool     `json:"read_only,omitempty"`
	Act       *actor   `json:"act,omitempty"`
}

// actor is the RFC 8693 "act" claim.
type actor struct {
	Subject string `json:"sub"`
}

// Issuer issues and verifies access tokens. It is safe for concurrent
// use; several Issuers (instances) may share one store.
type Issuer struct {
	store  repository.SigningKeyStore
	sealer *seal.Sealer
	opts   Options

	// createMu lets one caller of this instance at a time decide to make
	// a key, so concurrent requests at a rotation make one key, not many.
	createMu sync.Mutex

	mu       sync.Mutex // guards the fields below
	keys     []*key     // newest first
	loadedAt time.Time
	// reloadedAt limits the reloads an unknown kid triggers, so tokens
	// with made-up kids cannot make every Verify read the store.
	reloadedAt time.Time
}

// key is a signing key read from the store.
type key struct {
	id        string
	public    *ecdsa.PublicKey
	private   *ecdsa.PrivateKey // nil when it could not be opened
	createdAt time.Time
	retiresAt time.Time
	expiresAt time.Time
}

// NewIssuer returns an Issuer over store. sealer seals the private keys.
func NewIssuer(store repository.SigningKeyStore, sealer *seal.Sealer, opts Options) *Issuer {
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.RotateEvery <= 0 {
		opts.RotateEvery = DefaultRotateEvery
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = DefaultCacheFor
	}
	if opts.PublishAhead <= 0 {
		opts.PublishAhead = DefaultPublishAhead
	}
	opts.PublishAhead = min(opts.PublishAhead, opts.RotateEvery/2)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Issuer{store: store, sealer: sealer, opts: opts}
}

// TTL is the lifetime of the tokens the Issuer signs.
func (i *Issuer) TTL() time.Duration { return i.opts.TTL }

// Issue signs a token carrying c, valid for the Issuer's TTL.
func (i *Issuer) Issue(ctx context.Context, c Claims) (string, time.Time, error) {
	return i.issue(ctx, c, i.opts.TTL)
}

// IssueFor signs a token valid for ttl, capped at the Issuer's TTL (a key
// stays published two TTLs past its retirement, no longer).
func (i *Issuer) IssueFor(ctx context.Context, c Claims, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 || ttl > i.opts.TTL {
		ttl = i.opts.TTL
	}
	return i.issue(ctx, c, ttl)
}

func (i *Issuer) issue(ctx context.Context, c Claims, ttl time.Duration) (string, time.Time, error) {
	if c.AccountID == "" || c.MemberID == "" {
		return "", time.Time{}, errors.New("issue access token: account and member are required")
	}
	k, err := i.signingKey(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue access token: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: algorithm, Key: k.private},
		(&jose.SignerOptions{}).WithType(TokenType).WithHeader(jose.HeaderKey("kid"), k.id))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue access token: %w", err)
	}
	now := i.opts.Now().Truncate(time.Second)
	exp := now.Add(ttl)
	std := jwt.Claims{
		Issuer:    i.opts.Issuer,
		Subject:   c.MemberID,
		Audience:  jwt.Audience{i.opts.Audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(exp),
		ID:        newJTI(),
	}
	priv := tokenClaims{AccountID: c.AccountID, SessionID: c.SessionID, Roles: c.Roles, Agent: c.Agent, ReadOnly: c.ReadOnly}
	if c.ActorID != "" {
		priv.Act = &actor{Subject: c.ActorID}
	}
	tok, err := jwt.Signed(signer).Claims(std).Claims(priv).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue access token: %w", err)
	}
	return tok, exp, nil
}

// newJTI returns a random token id.
func newJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// Verify checks a token — ES256 only, a published key, our issuer and
// audience, within its lifetime — and returns its claims. A token at fault
// gives an error wrapping ErrInvalidToken.
func (i *Issuer) Verify(ctx context.Context, token string) (Claims, error) {
	invalid := func(format string, args ...any) (Claims, error) {
		return Claims{}, fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
	}
	// ParseSigned refuses every algorithm but ES256 (so "none" and HS256
	// made with a public key never reach a key).
	t, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{algorithm})
	if err != nil {
		return invalid("%v", err)
	}
	if len(t.Headers) != 1 {
		return invalid("one signature expected")
	}
	h := t.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != TokenType {
		return invalid("typ %q is not %s", typ, TokenType)
	}
	if h.KeyID == "" {
		return invalid("no kid")
	}
	k, err := i.verificationKey(ctx, h.KeyID)
	if err != nil {
		return Claims{}, err
	}
	if k == nil {
		return invalid("unknown kid %q", h.KeyID)
	}
	var std jwt.Claims
	var priv tokenClaims
	if err := t.Claims(k.public, &std, &priv); err != nil {
		return invalid("%v", err)
	}
	if std.Expiry == nil || std.IssuedAt == nil {
		return invalid("exp and iat are required")
	}
	if err := std.ValidateWithLeeway(jwt.Expected{
		Issuer: i.opts.Issuer, AnyAudience: jwt.Audience{i.opts.Audience}, Time: i.opts.Now(),
	}, DefaultLeeway); err != nil {
		return invalid("%v", err)
	}
	if std.Issuer != i.opts.Issuer {
		return invalid("issuer %q", std.Issuer) // Expected ignores an empty issuer
	}
	if std.Subject == "" || priv.AccountID == "" {
		return invalid("sub and account_id are required")
	}
	c := Claims{
		AccountID: priv.AccountID, MemberID: std.Subject, SessionID: priv.SessionID,
		Roles: priv.Roles, Agent: priv.Agent, ReadOnly: priv.ReadOnly,
		ID: std.ID, IssuedAt: std.IssuedAt.Time().UTC(), ExpiresAt: std.Expiry.Time().UTC(),
	}
	if priv.Act != nil {
		c.ActorID = priv.Act.Subject
	}
	return c, nil
}

// JWKS returns the JSON Web Key Set of every published key. It makes the
// first (or the next) key when one is due, so the set always holds the
// key tokens are, or are about to be, signed with.
func (i *Issuer) JWKS(ctx context.Context) ([]byte, error) {
	if _, err := i.signingKey(ctx); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys, err := i.load(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	now := i.opts.Now()
	// A key younger than the cache may have been made by another instance
	// at the same moment as one of ours: read the store again, so every
	// instance publishes every key any of them may sign with.
	for _, k := range keys {
		if now.Sub(k.createdAt) < i.opts.CacheFor {
			if keys, err = i.load(ctx, true); err != nil {
				return nil, fmt.Errorf("jwks: %w", err)
			}
			break
		}
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		if !now.Before(k.expiresAt) {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.public, KeyID: k.id, Algorithm: string(algorithm), Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return b, nil
}

// JWKSHandler serves the JWKS (mount it at /.well-known/jwks.json).
func (i *Issuer) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeProblem(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
			return
		}
		b, err := i.JWKS(r.Context())
		if err != nil {
			writeProblem(w, http.StatusServiceUnavailable, "unavailable", "the signing keys cannot be read; try again later")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(JWKSMaxAge/time.Second)))
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	})
}

// writeProblem answers with a small problem+json body.
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	b, _ := json.Marshal(map[string]any{"type": "urn:roster:problem:" + code, "title": http.StatusText(status),
		"status": status, "code": code, "detail": detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// load returns the published keys, newest first, from the cache when it
// is fresh or force is false and it is younger than CacheFor.
func (i *Issuer) load(ctx context.Context, force bool) ([]*key, error) {
	now := i.opts.Now()
	i.mu.Lock()
	if !force && !i.loadedAt.IsZero() && now.Sub(i.loadedAt) < i.opts.CacheFor && now.Sub(i.loadedAt) >= 0 {
		keys := i.keys
		i.mu.Unlock()
		return keys, nil
	}
	i.mu.Unlock()
	recs, err := i.store.ListSigningKeys(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	keys := make([]*key, 0, len(recs))
	for _, r := range recs {
		k, err := i.parse(r)
		if err != nil {
			// One unreadable key (sealed with another secret) must not
			// stop the others; it is skipped.
			continue
		}
		keys = append(keys, k)
	}
	slices.SortStableFunc(keys, func(a, b *key) int { return b.createdAt.Compare(a.createdAt) })
	i.mu.Lock()
	i.keys, i.loadedAt = keys, now
	i.mu.Unlock()
	return keys, nil
}

// parse turns a stored key into a usable one.
func (i *Issuer) parse(r repository.SigningKey) (*key, error) {
	if r.Algorithm != string(algorithm) {
		return nil, fmt.Errorf("signing key %s: algorithm %q", r.ID, r.Algorithm)
	}
	pub, err := x509.ParsePKIXPublicKey(r.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.ID, err)
	}
	ecPub, ok := pub.(*ecdsa.PublicKey)
	if !ok || ecPub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing key %s: not a P-256 key", r.ID)
	}
	k := &key{id: r.ID, public: ecPub, createdAt: r.CreatedAt, retiresAt: r.RetiresAt, expiresAt: r.ExpiresAt}
	if i.sealer != nil {
		if der, err := i.sealer.Open(SealPurpose, r.PrivateKey); err == nil {
			if priv, err := x509.ParsePKCS8PrivateKey(der); err == nil {
				if ecPriv, ok := priv.(*ecdsa.PrivateKey); ok && ecPriv.PublicKey.Equal(ecPub) {
					k.private = ecPriv
				}
			}
		}
	}
	return k, nil
}

// verificationKey finds the published key kid, reading the store again
// (at most once a second) when it is not cached: another instance may
// have just made it. It returns nil for a kid that is not published.
func (i *Issuer) verificationKey(ctx context.Context, kid string) (*key, error) {
	keys, err := i.load(ctx, false)
	if err != nil {
		return nil, err
	}
	if k := find(keys, kid); k != nil {
		return k, nil
	}
	now := i.opts.Now()
	i.mu.Lock()
	recent := !i.reloadedAt.IsZero() && now.Sub(i.reloadedAt) < time.Second && now.Sub(i.reloadedAt) >= 0
	if !recent {
		i.reloadedAt = now
	}
	i.mu.Unlock()
	if recent {
		return nil, nil
	}
	if keys, err = i.load(ctx, true); err != nil {
		return nil, err
	}
	return find(keys, kid), nil
}

func find(keys []*key, kid string) *key {
	for _, k := range keys {
		if k.id == kid {
			return k
		}
	}
	return nil
}

// signingKey returns the key to sign with now, making one when none
// signs or the successor is due.
func (i *Issuer) signingKey(ctx context.Context) (*key, error) {
	keys, err := i.load(ctx, false)
	if err != nil {
		return nil, err
	}
	now := i.opts.Now()
	if i.due(keys, now) {
		i.createMu.Lock()
		defer i.createMu.Unlock()
		// Read again before making a key: another instance (or caller)
		// may have made one since the cache was filled.
		if keys, err = i.load(ctx, true); err != nil {
			return nil, err
		}
		if i.due(keys, now) {
			if err := i.create(ctx, now); err != nil {
				return nil, err
			}
			if keys, err = i.load(ctx, true); err != nil {
				return nil, err
			}
		}
	}
	k := i.pick(keys, now)
	if k != nil && now.Sub(k.createdAt) < i.opts.CacheFor {
		// A deployment's first minutes: another instance may have made a
		// first key at the same moment, after our cache was filled. Read
		// the store again so every instance picks the same one.
		if keys, err = i.load(ctx, true); err != nil {
			return nil, err
		}
		k = i.pick(keys, now)
	}
	if k != nil {
		return k, nil
	}
	return nil, errors.New("no signing key can be opened (was the secret key changed?)")
}

// due reports whether a new key must be made: no usable key signs now, or
// the newest retires within PublishAhead.
func (i *Issuer) due(keys []*key, now time.Time) bool {
	for _, k := range keys {
		if k.private != nil && now.Before(k.retiresAt) {
			return k.retiresAt.Sub(now) <= i.opts.PublishAhead
		}
	}
	return true
}

// pick chooses among the usable keys that sign now the newest one
// published at least PublishAhead ago, so clients that cached the JWKS
// know it. A deployment whose keys are all younger (its first minutes)
// uses the oldest, ties broken by id: instances that made their first keys
// at the same moment then settle on the same one.
func (i *Issuer) pick(keys []*key, now time.Time) *key {
	var oldest *key
	for _, k := range keys { // newest first
		if k.private == nil || !now.Before(k.retiresAt) {
			continue
		}
		if now.Sub(k.createdAt) >= i.opts.PublishAhead {
			return k
		}
		if oldest == nil || k.createdAt.Before(oldest.createdAt) ||
			(k.createdAt.Equal(oldest.createdAt) && k.id < oldest.id) {
			oldest = k
		}
	}
	return oldest
}

// create makes, seals and stores a new P-256 key, and clears keys long
// expired.
func (i *Issuer) create(ctx context.Context, now time.Time) error {
	if i.sealer == nil {
		return errors.New("create signing key: no sealer configured")
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	created := now.UTC().Truncate(time.Second)
	retires := created.Add(i.opts.RotateEvery)
	err = i.store.CreateSigningKey(ctx, repository.SigningKey{
		// The RFC 7638 thumbprint: unique per key and checkable by anyone
		// holding the public key.
		ID:         base64.RawURLEncoding.EncodeToString(tp),
		Algorithm:  string(algorithm),
		PrivateKey: i.sealer.Seal(SealPurpose, der),
		PublicKey:  pubDER,
		CreatedAt:  created,
		RetiresAt:  retires,
		ExpiresAt:  retires.Add(2 * i.opts.TTL),
	})
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	// Housekeeping; a failure here costs nothing but space.
	_, _ = i.store.DeleteExpiredSigningKeys(ctx, now.Add(-time.Hour))
	return nil
}
