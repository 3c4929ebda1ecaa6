package oidcrp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testOP is an in-process OpenID provider for the RP's tests: discovery,
// authorization (answering at once with a code), a token endpoint that
// checks the client secret, redirect URI and PKCE verifier, a JWKS and a
// userinfo endpoint. Its behaviour can be bent to misbehave.
type testOP struct {
	t        testing.TB
	srv      *httptest.Server
	issuer   string
	clientID string
	secret   string

	mu        sync.Mutex
	keys      map[string]*opKey
	published []string // kids in the JWKS, in order
	signKid   string
	grants    map[string]*grant // by code
	tokens    map[string]string // access token → sub
	bend      behaviour

	jwksFetches      int
	discoveryFetches int
	tokenCalls       int
}

// behaviour is what a test may bend. The zero value is a correct OP.
type behaviour struct {
	// claims edits the ID token's claims before signing.
	claims func(c map[string]any)
	// sign replaces the signing of the ID token.
	sign func(op *testOP, claims map[string]any) string
	// issParam: "" sends the issuer, "-" omits it, anything else is sent.
	issParam string
	// announceIss sets authorization_response_iss_parameter_supported.
	announceIss bool
	// authError makes /authorize answer with this OAuth error.
	authError string
	// userinfo edits the userinfo answer.
	userinfo func(c map[string]any)
	// publishOct adds the client secret as an "oct" key to the JWKS.
	publishOct bool
	// algs overrides id_token_signing_alg_values_supported.
	algs []string
	// signedUserinfo answers userinfo as a JWT (application/jwt) signed
	// with the current key, with iss and aud added.
	signedUserinfo bool
}

type opKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

type grant struct {
	challenge   string
	redirectURI string
	used        bool
	idToken     string
	accessToken string
}

// fixtureKeys are made once per test binary: RSA key generation is slow.
var fixtureKeys = sync.OnceValue(func() map[string]*opKey {
	r1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	e2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return map[string]*opKey{
		"k1":    {kid: "k1", alg: "RS256", priv: r1},
		"k2":    {kid: "k2", alg: "ES256", priv: e2},
		"rogue": {kid: "k1", alg: "RS256", priv: rogue}, // claims k1's id, not published
	}
})

const (
	testClientID = "roster-client"
	testSecret   = "s3cret-of-the-client-at-least-32-bytes"
	testSubject  = "00u1abcd"
)

func newTestOP(t testing.TB) *testOP {
	t.Helper()
	op := &testOP{
		t:         t,
		clientID:  testClientID,
		secret:    testSecret,
		keys:      fixtureKeys(),
		published: []string{"k1"},
		signKid:   "k1",
		grants:    map[string]*grant{},
		tokens:    map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("GET /authorize", op.authorize)
	mux.HandleFunc("POST /token", op.token)
	mux.HandleFunc("GET /jwks", op.jwks)
	mux.HandleFunc("GET /userinfo", op.userinfo)
	op.srv = httptest.NewServer(mux)
	op.issuer = op.srv.URL
	t.Cleanup(op.srv.Close)
	return op
}

// set bends the OP's behaviour.
func (op *testOP) set(f func(b *behaviour)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(&op.bend)
}

// rotate publishes kids and signs with signKid from now on.
func (op *testOP) rotate(signKid string, published ...string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.signKid = signKid
	op.published = published
}

func (op *testOP) counts() (discovery, jwks, token int) {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.discoveryFetches, op.jwksFetches, op.tokenCalls
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (op *testOP) discovery(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	op.discoveryFetches++
	algs := op.bend.algs
	announce := op.bend.announceIss
	op.mu.Unlock()
	if algs == nil {
		algs = []string{"RS256", "ES256"}
	}
	writeJSON(w, 200, map[string]any{
		"issuer":                                         op.issuer,
		"authorization_endpoint":                         op.issuer + "/authorize",
		"token_endpoint":                                 op.issuer + "/token",
		"jwks_uri":                                       op.issuer + "/jwks",
		"userinfo_endpoint":                              op.issuer + "/userinfo",
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          algs,
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": announce,
	})
}

// authorize answers at once, as if the person had signed in. The ID token
// is minted here (the nonce is known), so the token endpoint's cost in the
// benchmark is bookkeeping, not signing.
func (op *testOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != op.clientID || redirect == "" || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		!strings.Contains(" "+q.Get("scope")+" ", " openid ") || q.Get("nonce") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	op.mu.Lock()
	b := op.bend
	op.mu.Unlock()
	back := url.Values{"state": {q.Get("state")}}
	switch b.issParam {
	case "":
		back.Set("iss", op.issuer)
	case "-":
	default:
		back.Set("iss", b.issParam)
	}
	if b.authError != "" {
		back.Set("error", b.authError)
		back.Set("error_description", "The user said no <script>")
		http.Redirect(w, r, redirect+"?"+back.Encode(), http.StatusFound)
		return
	}
	code := rand.Text()
	access := rand.Text()
	idt := op.mint(q.Get("nonce"), access)
	op.mu.Lock()
	op.grants[code] = &grant{challenge: q.Get("code_challenge"), redirectURI: redirect, idToken: idt, accessToken: access}
	op.tokens[access] = testSubject
	op.mu.Unlock()
	back.Set("code", code)
	http.Redirect(w, r, redirect+"?"+back.Encode(), http.StatusFound)
}

// mint makes a (possibly bent) ID token for nonce and access token.
func (op *testOP) mint(nonce, access string) string {
	op.mu.Lock()
	b := op.bend
	k := op.keys[op.signKid]
	op.mu.Unlock()
	now := time.Now()
	c := map[string]any{
		"iss":            op.issuer,
		"sub":            testSubject,
		"aud":            op.clientID,
		"exp":            now.Add(5 * time.Minute).Unix(),
		"iat":            now.Unix(),
		"nonce":          nonce,
		"at_hash":        atHash(access),
		"email":          "ada@acme.example",
		"email_verified": true,
		"given_name":     "Ada",
		"family_name":    "Lovelace",
		"name":           "Ada Lovelace",
		"groups":         []string{"Support", "Tier 2"},
	}
	if b.claims != nil {
		b.claims(c)
	}
	if b.sign != nil {
		return b.sign(op, c)
	}
	return signJWT(op.t, k, c)
}

// atHash is the at_hash of an access token for a *256 algorithm.
func atHash(access string) string {
	sum := sha256.Sum256([]byte(access))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func signJWT(t testing.TB, k *opKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(k.alg),
		Key:       jose.JSONWebKey{Key: k.priv, KeyID: k.kid},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	return signRaw(t, signer, claims)
}

func signRaw(t testing.TB, signer jose.Signer, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return s
}

// signNone makes an unsigned ("alg":"none") token.
func signNone(_ *testOP, claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	p, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// signHS256 "signs" with the client secret, as an attacker who knows it
// (or a confused OP) would.
func signHS256(op *testOP, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(op.secret)},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		op.t.Fatalf("hs256 signer: %v", err)
	}
	return signRaw(op.t, signer, claims)
}

// signRogue signs with a key that is not the OP's but claims its kid.
func signRogue(op *testOP, claims map[string]any) string {
	return signJWT(op.t, op.keys["rogue"], claims)
}

func (op *testOP) token(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	op.tokenCalls++
	op.mu.Unlock()
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	if !ok || id != op.clientID || secret != op.secret {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	op.mu.Lock()
	g := op.grants[r.PostForm.Get("code")]
	valid := g != nil && !g.used
	if g != nil {
		g.used = true
	}
	op.mu.Unlock()
	if !valid {
		writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "unknown or used code"})
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, map[string]any{
		"access_token": g.accessToken,
		"token_type":   "Bearer",
		"expires_in":   300,
		"id_token":     g.idToken,
	})
}

func (op *testOP) jwks(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	op.jwksFetches++
	var set jose.JSONWebKeySet
	for _, kid := range op.published {
		k := op.keys[kid]
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
	}
	oct := op.bend.publishOct
	op.mu.Unlock()
	body, err := json.Marshal(set)
	if err != nil {
		op.t.Errorf("jwks: %v", err)
	}
	if oct {
		// A symmetric key made of the client secret, without "alg" (with
		// one, go-oidc drops it): the classic HS256 confusion bait.
		var raw map[string][]json.RawMessage
		_ = json.Unmarshal(body, &raw)
		k := base64.RawURLEncoding.EncodeToString([]byte(op.secret))
		raw["keys"] = append(raw["keys"], json.RawMessage(`{"kty":"oct","kid":"k1","k":"`+k+`"}`))
		body, _ = json.Marshal(raw)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (op *testOP) userinfo(w http.ResponseWriter, r *http.Request) {
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	op.mu.Lock()
	sub, known := op.tokens[access]
	edit := op.bend.userinfo
	signed := op.bend.signedUserinfo
	k := op.keys[op.signKid]
	op.mu.Unlock()
	if !ok || !known {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	c := map[string]any{
		"sub":            sub,
		"email":          "ada@acme.example",
		"email_verified": "true",
		"given_name":     "Ada",
		"family_name":    "Lovelace",
		"name":           "Ada King",
		"groups":         []string{"Support", "Tier 2", "Admins"},
	}
	if signed {
		c["iss"] = op.issuer
		c["aud"] = op.clientID
	}
	if edit != nil {
		edit(c)
	}
	if signed {
		w.Header().Set("Content-Type", "application/jwt")
		_, _ = w.Write([]byte(signJWT(op.t, k, c)))
		return
	}
	writeJSON(w, 200, c)
}

// noRedirect is a client that hands redirects back instead of following.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// authorizeAt plays the browser at the OP: it follows authURL and returns
// the callback URL the OP redirects to.
func authorizeAt(ctx context.Context, t testing.TB, authURL string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatalf("authorize request: %v", err)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}
