package accesstoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	golangjwt "github.com/golang-jwt/jwt/v4"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
	"github.com/rosterhq/roster/sso/seal"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const testIssuer = "https://roster.example.com"

// newStore opens a real SQLite store.
func newStore(t testing.TB) repository.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newSealer(t testing.TB) *seal.Sealer {
	t.Helper()
	s, err := seal.New([]byte(strings.Repeat("k", seal.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newIssuer(t testing.TB, st repository.SigningKeyStore, c *clock) *Issuer {
	t.Helper()
	return NewIssuer(st, newSealer(t), Options{Issuer: testIssuer, Now: c.Now,
		TTL: 5 * time.Minute, RotateEvery: 24 * time.Hour})
}

var sample = Claims{AccountID: "acct-1", MemberID: "mem-1", SessionID: "sess-1",
	Roles: []string{"administrator", "agent"}, Agent: true}

func TestIssueVerify(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	iss := newIssuer(t, newStore(t), c)

	tok, exp, err := iss.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.Now().Add(5 * time.Minute); !exp.Equal(want) {
		t.Errorf("expiresAt %v, want %v", exp, want)
	}
	if n := strings.Count(tok, "."); n != 2 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	got, err := iss.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccountID != "acct-1" || got.MemberID != "mem-1" || got.SessionID != "sess-1" || !got.Agent ||
		got.ReadOnly || got.ActorID != "" || strings.Join(got.Roles, ",") != "administrator,agent" ||
		got.ID == "" || !got.ExpiresAt.Equal(exp) || !got.IssuedAt.Equal(c.Now()) {
		t.Errorf("claims %+v", got)
	}

	// The header and payload are what downstream services read.
	header, payload := decodeParts(t, tok)
	if header["alg"] != "ES256" || header["typ"] != TokenType || header["kid"] == "" {
		t.Errorf("header %v", header)
	}
	for _, k := range []string{"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "account_id", "sid", "roles", "agent"} {
		if payload[k] == nil {
			t.Errorf("payload lacks %s: %v", k, payload)
		}
	}
	if payload["iss"] != testIssuer || payload["aud"] != "roster" {
		t.Errorf("iss/aud %v %v", payload["iss"], payload["aud"])
	}

	// "view as": read-only, with the RFC 8693 actor.
	viewAs := Claims{AccountID: "acct-1", MemberID: "mem-2", ReadOnly: true, ActorID: "mem-1"}
	tok2, _, err := iss.IssueFor(ctx, viewAs, time.Hour) // capped at TTL
	if err != nil {
		t.Fatal(err)
	}
	got, err = iss.Verify(ctx, tok2)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ReadOnly || got.ActorID != "mem-1" || got.MemberID != "mem-2" || got.ExpiresAt.Sub(c.Now()) != 5*time.Minute {
		t.Errorf("view-as claims %+v", got)
	}
	_, payload = decodeParts(t, tok2)
	if act, _ := payload["act"].(map[string]any); act["sub"] != "mem-1" || payload["read_only"] != true {
		t.Errorf("act/read_only %v", payload)
	}
	if _, _, err := iss.Issue(ctx, Claims{AccountID: "a"}); err == nil {
		t.Error("a token without member was issued")
	}
}

func decodeParts(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

func encodePart(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyRefuses(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	st := newStore(t)
	iss := newIssuer(t, st, c)
	tok, _, err := iss.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	header, payload := decodeParts(t, tok)
	parts := strings.Split(tok, ".")

	// The public key, as a forger finds it in the JWKS.
	keys, err := st.ListSigningKeys(ctx, c.Now())
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	pubDER := keys[0].PublicKey

	tampered := payload
	tampered["sub"] = "mem-owner"
	hsHeader := map[string]any{"alg": "HS256", "typ": TokenType, "kid": header["kid"]}
	hsSigning := encodePart(t, hsHeader) + "." + encodePart(t, tampered)
	mac := hmac.New(sha256.New, pubDER)
	mac.Write([]byte(hsSigning))
	hsToken := hsSigning + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	noneHeader := map[string]any{"alg": "none", "typ": TokenType, "kid": header["kid"]}

	unknownKid := map[string]any{"alg": "ES256", "typ": TokenType, "kid": "nope"}

	otherIss := NewIssuer(newStore(t), newSealer(t), Options{Issuer: testIssuer, Now: c.Now})
	foreign, _, err := otherIss.Issue(ctx, sample) // same issuer name, other keys
	if err != nil {
		t.Fatal(err)
	}
	wrongAud := NewIssuer(st, newSealer(t), Options{Issuer: testIssuer, Audience: "billing", Now: c.Now})
	audTok, _, err := wrongAud.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	wrongIss := NewIssuer(st, newSealer(t), Options{Issuer: "https://evil.example", Now: c.Now})
	issTok, _, err := wrongIss.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, token string
	}{
		{"empty", ""},
		{"garbage", "a.b.c"},
		{"tampered payload", parts[0] + "." + encodePart(t, tampered) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))},
		{"alg none", encodePart(t, noneHeader) + "." + parts[1] + "."},
		{"HS256 with the public key", hsToken},
		{"unknown kid", encodePart(t, unknownKid) + "." + parts[1] + "." + parts[2]},
		{"signed by another deployment", foreign},
		{"other audience", audTok},
		{"other issuer", issTok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := iss.Verify(ctx, tc.token); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify = %v, want ErrInvalidToken", err)
			}
		})
	}

	// Expired, with the leeway honoured.
	c.Advance(5*time.Minute + DefaultLeeway/2)
	if _, err := iss.Verify(ctx, tok); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	c.Advance(DefaultLeeway)
	if _, err := iss.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired: %v", err)
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	st := newStore(t)
	iss := newIssuer(t, st, c) // rotates daily, publishes 5 min ahead

	old, _, err := iss.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	oldKid := kidOf(t, old)
	if n := len(jwksKids(t, iss)); n != 1 {
		t.Fatalf("JWKS has %d keys, want 1", n)
	}

	// Three minutes before the key retires its successor is published but
	// does not sign yet.
	c.Advance(24*time.Hour - 3*time.Minute)
	mid, _, err := iss.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, mid) != oldKid {
		t.Error("the successor signs before clients could see it")
	}
	kids := jwksKids(t, iss)
	if len(kids) != 2 {
		t.Fatalf("JWKS %v, want the key and its successor", kids)
	}

	// After retirement the new key signs; tokens of the old one verify
	// until they expire, and the JWKS has both.
	c.Advance(4 * time.Minute)
	fresh, _, err := iss.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	newKid := kidOf(t, fresh)
	if newKid == oldKid || !kids[newKid] {
		t.Errorf("new token kid %s (old %s, published %v)", newKid, oldKid, kids)
	}
	if _, err := iss.Verify(ctx, mid); err != nil {
		t.Errorf("a token of the retired key: %v", err)
	}
	if _, err := iss.Verify(ctx, fresh); err != nil {
		t.Error(err)
	}
	if k := jwksKids(t, iss); !k[oldKid] || !k[newKid] {
		t.Errorf("JWKS %v lacks a key", k)
	}

	// Once the retired key expires (retirement + 2 TTL) it leaves the JWKS.
	c.Advance(10 * time.Minute)
	if k := jwksKids(t, iss); k[oldKid] || !k[newKid] {
		t.Errorf("JWKS after expiry %v", k)
	}
	if _, err := iss.Verify(ctx, old); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of an expired key: %v", err)
	}
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _ := decodeParts(t, tok)
	return h["kid"].(string)
}

func jwksKids(t *testing.T, iss *Issuer) map[string]bool {
	t.Helper()
	b, err := iss.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range set.Keys {
		if k["d"] != nil {
			t.Fatal("the JWKS publishes a private key")
		}
		if k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["use"] != "sig" {
			t.Errorf("key %v", k)
		}
		out[k["kid"].(string)] = true
	}
	return out
}

// TestInstancesShareKeys runs two issuers on one store, as two instances
// behind a load balancer: each verifies the other's tokens, and when both
// make a key at once both keys are published.
func TestInstancesShareKeys(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	st := newStore(t)
	a, b := newIssuer(t, st, c), newIssuer(t, st, c)

	var wg sync.WaitGroup
	toks := make([]string, 2)
	errs := make([]error, 2)
	for n, iss := range []*Issuer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[n], _, errs[n] = iss.Issue(ctx, sample)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, iss := range []*Issuer{a, b} {
		for _, tok := range toks {
			if _, err := iss.Verify(ctx, tok); err != nil {
				t.Errorf("cross-instance verify: %v", err)
			}
		}
	}
	// Force both caches to read the store, as they do after CacheFor.
	for _, iss := range []*Issuer{a, b} {
		if _, err := iss.load(ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	ka, kb := jwksKids(t, a), jwksKids(t, b)
	if len(ka) == 0 || len(ka) != len(kb) {
		t.Errorf("instances publish %v and %v", ka, kb)
	}
	for _, tok := range toks {
		if !ka[kidOf(t, tok)] {
			t.Errorf("kid %s is not published", kidOf(t, tok))
		}
	}
	// After the caches settle both sign with the same (newest) key.
	c.Advance(DefaultCacheFor + DefaultPublishAhead)
	t1, _, _ := a.Issue(ctx, sample)
	t2, _, _ := b.Issue(ctx, sample)
	if kidOf(t, t1) != kidOf(t, t2) {
		t.Errorf("instances sign with %s and %s", kidOf(t, t1), kidOf(t, t2))
	}
}

// TestSimultaneousFirstKeys is two instances making their first keys at
// the same moment, each with a cache filled before the other's insert:
// neither may sign with a key the other does not publish, and both settle
// on one signing key at once rather than after their caches expire.
func TestSimultaneousFirstKeys(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	st := newStore(t)
	a, b := newIssuer(t, st, c), newIssuer(t, st, c)
	// Each instance makes a key and caches the store as it saw it then.
	if err := a.create(ctx, c.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.load(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := b.create(ctx, c.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.load(ctx, true); err != nil {
		t.Fatal(err)
	}
	ta, _, err := a.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	tb, _, err := b.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, ta) != kidOf(t, tb) {
		t.Errorf("instances sign with different first keys %s and %s", kidOf(t, ta), kidOf(t, tb))
	}
	for name, iss := range map[string]*Issuer{"a": a, "b": b} {
		kids := jwksKids(t, iss)
		if len(kids) != 2 || !kids[kidOf(t, ta)] || !kids[kidOf(t, tb)] {
			t.Errorf("instance %s publishes %v, want both first keys", name, kids)
		}
	}
}

// TestJWKSVerifiesWithAnotherLibrary checks the published set with code
// that shares nothing with go-jose: the JWK is decoded by hand into a
// crypto/ecdsa key and the token verified with golang-jwt.
func TestJWKSVerifiesWithAnotherLibrary(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Now().Truncate(time.Second)}
	iss := newIssuer(t, newStore(t), c)
	tok, _, err := iss.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(iss.JWKSHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=60") ||
		resp.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("JWKS response %d %v", resp.StatusCode, resp.Header)
	}
	var set struct {
		Keys []struct {
			Kty, Crv, X, Y, Kid, Alg string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		x, err1 := base64.RawURLEncoding.DecodeString(k.X)
		y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
		if err1 != nil || err2 != nil || k.Kty != "EC" || k.Crv != "P-256" {
			t.Fatalf("bad JWK %+v", k)
		}
		keys[k.Kid] = &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	}

	type claims struct {
		AccountID string `json:"account_id"`
		golangjwt.RegisteredClaims
	}
	var got claims
	parsed, err := golangjwt.ParseWithClaims(tok, &got, func(tk *golangjwt.Token) (any, error) {
		if tk.Method.Alg() != "ES256" {
			return nil, errors.New("alg")
		}
		k := keys[tk.Header["kid"].(string)]
		if k == nil {
			return nil, errors.New("unknown kid")
		}
		return k, nil
	})
	if err != nil || !parsed.Valid {
		t.Fatalf("golang-jwt verify: %v", err)
	}
	if got.Subject != "mem-1" || got.AccountID != "acct-1" || got.Issuer != testIssuer || !got.VerifyAudience("roster", true) {
		t.Errorf("claims %+v", got)
	}

	// And the key itself matches the stored public key (PKIX DER).
	for _, pub := range keys {
		if _, err := x509.MarshalPKIXPublicKey(pub); err != nil {
			t.Error(err)
		}
	}

	// Only GET and HEAD.
	r, err := http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

// TestWrongSecretKey checks that keys sealed with another secret are not
// used: a new key is made rather than failing.
func TestWrongSecretKey(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	st := newStore(t)
	a := newIssuer(t, st, c)
	tokA, _, err := a.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := seal.New([]byte(strings.Repeat("z", seal.KeySize)))
	b := NewIssuer(st, other, Options{Issuer: testIssuer, Now: c.Now})
	tokB, _, err := b.Issue(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, tokA) == kidOf(t, tokB) {
		t.Error("an issuer signed with a key it cannot open")
	}
	// Verification needs only public keys, so both verify everywhere.
	if _, err := b.Verify(ctx, tokA); err != nil {
		t.Error(err)
	}
}

func BenchmarkIssue(b *testing.B) {
	ctx := context.Background()
	c := &clock{now: time.Now()}
	iss := newIssuer(b, newStore(b), c)
	if _, _, err := iss.Issue(ctx, sample); err != nil {
		b.Fatal(err)
	}
	// Steady state: the key is past the deployment's first minutes, in
	// which every instance re-reads the store before signing.
	c.Advance(DefaultPublishAhead + DefaultCacheFor)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := iss.Issue(ctx, sample); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	c := &clock{now: time.Now()}
	iss := newIssuer(b, newStore(b), c)
	tok, _, err := iss.Issue(ctx, sample)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentFirstUse checks that concurrent requests on one instance
// at its first use make one key between them.
func TestConcurrentFirstUse(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	st := newStore(t)
	iss := newIssuer(t, st, c)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for n := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[n] = iss.Issue(ctx, sample)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	keys, err := st.ListSigningKeys(ctx, c.Now())
	if err != nil || len(keys) != 1 {
		t.Errorf("%d keys (%v), want 1", len(keys), err)
	}
}
