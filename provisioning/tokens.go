package provisioning

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/repository"
)

// CodeUnauthenticated means a credential is missing, unknown, revoked,
// expired or of the wrong kind. The public message never says which, so a
// caller cannot probe tokens; the private cause does, for logs.
const CodeUnauthenticated Code = "unauthenticated"

// TokenPrefix returns the text prefix of tokens of kind, or "" for an
// unknown kind. Each kind has a recognisable text form, so a token pasted
// into a ticket or pushed to a repository is spotted by people and secret
// scanners, and a token of one kind is refused by the other's door before
// any lookup.
func TokenPrefix(kind string) string {
	switch kind {
	case repository.TokenSCIM:
		return "rst_scim_"
	case repository.TokenAPI:
		return "rst_api_"
	}
	return ""
}

// secretBytes is the entropy of every bearer secret: 256 bits.
const secretBytes = 32

// touchInterval limits LastUsedAt writes: a busy SCIM client authenticates
// many times a second, and the last-used time only needs minute precision.
const touchInterval = time.Minute

// newSecret returns 256 random bits in base64url without padding.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken returns the stored form of a bearer secret (a token, an
// invitation link token, a session cookie): SHA-256 in hex.
//
// A fast hash is right here, unlike for passwords: the secrets are 256
// random bits, not something a person chose, so there is nothing to guess
// from a dictionary and a brute force over 2^256 values is out of reach at
// any hashing speed. A slow hash (bcrypt, argon2) would only cost CPU on
// every request. The hash must also be deterministic (no per-token salt),
// because the store finds a token by its hash.
func HashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// MintToken creates a bearer token of kind (repository.TokenSCIM or
// repository.TokenAPI) in the account and returns its text form, which is
// shown once and never stored, and the stored record. API tokens belong to
// a member (memberID); SCIM tokens belong to the account and take none.
func (s *Service) MintToken(ctx context.Context, accountID, kind, name, memberID string) (string, repository.Token, error) {
	return s.mintToken(ctx, accountID, kind, name, memberID, time.Time{})
}

// mintToken is MintToken with an expiry (zero: never).
func (s *Service) mintToken(ctx context.Context, accountID, kind, name, memberID string, expiresAt time.Time) (string, repository.Token, error) {
	prefix := TokenPrefix(kind)
	if prefix == "" {
		return "", repository.Token{}, &Error{Code: CodeInvalidValue, Attribute: "kind",
			Message: fmt.Sprintf("unknown token kind %q: use %s or %s", kind, repository.TokenSCIM, repository.TokenAPI)}
	}
	switch {
	case kind == repository.TokenAPI && memberID == "":
		return "", repository.Token{}, &Error{Code: CodeInvalidValue, Attribute: "memberId",
			Message: "an API token belongs to a member: name the member"}
	case kind == repository.TokenSCIM && memberID != "":
		return "", repository.Token{}, &Error{Code: CodeInvalidValue, Attribute: "memberId",
			Message: "a SCIM token belongs to the account, not to a member"}
	}
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 100 {
		return "", repository.Token{}, &Error{Code: CodeInvalidValue, Attribute: "name",
			Message: "a token needs a name of 1 to 100 characters"}
	}
	secret, err := newSecret()
	if err != nil {
		return "", repository.Token{}, fmt.Errorf("mint %s token: %w", kind, err)
	}
	plain := prefix + secret
	tok, err := s.store.CreateToken(ctx, repository.Token{
		AccountID: accountID,
		ID:        repository.NewID(),
		Kind:      kind,
		Name:      name,
		MemberID:  memberID,
		Hash:      HashToken(plain),
		CreatedAt: s.now().UTC(),
		ExpiresAt: expiresAt,
	})
	if err != nil {
		return "", repository.Token{}, fmt.Errorf("mint %s token: %w", kind, err)
	}
	return plain, tok, nil
}

// Authenticate returns the live token of kind whose text form is plain.
// Unknown, revoked, expired and wrong-kind tokens all fail with the same
// *Error (CodeUnauthenticated); its private cause says which. A store
// failure is returned as is, so the front door answers "unavailable"
// rather than "unauthenticated".
//
// A successful call records the use in LastUsedAt, at most once a minute.
func (s *Service) Authenticate(ctx context.Context, plain, kind string) (repository.Token, error) {
	deny := func(reason string) (repository.Token, error) {
		return repository.Token{}, &Error{Code: CodeUnauthenticated,
			Message: "invalid, expired or revoked token", Err: errors.New(reason)}
	}
	prefix := TokenPrefix(kind)
	if prefix == "" {
		return deny(fmt.Sprintf("unknown token kind %q", kind))
	}
	if !strings.HasPrefix(plain, prefix) || len(plain) > len(prefix)+64 {
		return deny("not a " + kind + " token")
	}
	hash := HashToken(plain)
	tok, cached := s.tokens.get(hash)
	if !cached {
		gen := s.tokens.generation()
		var err error
		tok, err = s.store.GetTokenByHash(ctx, hash)
		if errors.Is(err, repository.ErrNotFound) {
			return deny("unknown token")
		}
		if err != nil {
			return repository.Token{}, fmt.Errorf("authenticate %s token: %w", kind, err)
		}
		if tok.RevokedAt.IsZero() {
			s.tokens.put(hash, tok, gen)
		}
	}
	// The store matched the hash already; comparing again in constant time
	// guards against a backend whose lookup is looser than equality (a
	// case-insensitive collation, a prefix index) at no real cost.
	if subtle.ConstantTimeCompare([]byte(tok.Hash), []byte(hash)) != 1 {
		return deny("stored hash differs from the presented token's")
	}
	now := s.now().UTC()
	switch {
	case tok.Kind != kind:
		return deny(fmt.Sprintf("token %s is a %s token", tok.ID, tok.Kind))
	case !tok.RevokedAt.IsZero():
		return deny(fmt.Sprintf("token %s was revoked", tok.ID))
	case !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt):
		return deny(fmt.Sprintf("token %s expired", tok.ID))
	}
	if now.Sub(tok.LastUsedAt) >= touchInterval {
		// Best effort: the last-used time is information for admins, and a
		// failed write must not turn a valid credential away.
		if err := s.store.TouchToken(ctx, tok.AccountID, tok.ID, now); err == nil {
			tok.LastUsedAt = now
			s.tokens.touched(hash, now)
		}
	}
	return tok, nil
}

// tokenCacheTTL is how long Authenticate trusts a token record it read.
// Every SCIM request authenticates, and an identity provider sends
// hundreds a second with one token, so reading the record once a second
// instead of once a request takes a store read off nearly every request.
//
// What it costs: a token revoked (or its account deleted, or its member
// deactivated) by another process, or by a direct store write that
// bypasses this Service, still authenticates on this process for up to
// tokenCacheTTL afterwards. Revocations made through this Service
// (RevokeToken, deactivating or deleting a member, deleting the account)
// take effect at once: they empty the cache once committed. Expiry is
// checked on every request against the cached record.
const tokenCacheTTL = time.Second

// maxCachedTokens bounds the cache; a deployment has a few live tokens
// per account, and only valid ones are kept.
const maxCachedTokens = 4096

// tokenCache keeps token records by hash for tokenCacheTTL. A nil cache
// keeps nothing. Only tokens found live are kept, so unknown or revoked
// tokens sent by a misconfigured client still hit the store (and cannot
// fill the cache).
type tokenCache struct {
	mu  sync.Mutex
	m   map[string]cachedToken
	gen uint64 // bumped by invalidate
}

type cachedToken struct {
	tok     repository.Token
	fetched time.Time // time.Now of the read (monotonic, not the Service's clock)
}

func newTokenCache() *tokenCache {
	return &tokenCache{m: make(map[string]cachedToken)}
}

// get returns the record of hash read less than tokenCacheTTL ago.
func (c *tokenCache) get(hash string) (repository.Token, bool) {
	if c == nil {
		return repository.Token{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok {
		return repository.Token{}, false
	}
	if time.Since(e.fetched) >= tokenCacheTTL {
		delete(c.m, hash)
		return repository.Token{}, false
	}
	return e.tok, true
}

// generation returns the invalidation count, taken before a store read.
func (c *tokenCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps tok, read at generation gen: a read that started before an
// invalidation may predate the revocation, and is dropped.
func (c *tokenCache) put(hash string, tok repository.Token, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedTokens {
		clear(c.m)
	}
	c.m[hash] = cachedToken{tok: tok, fetched: time.Now()}
}

// touched records a new LastUsedAt in the cached record, so the next
// requests do not write it again within touchInterval.
func (c *tokenCache) touched(hash string, at time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[hash]; ok {
		e.tok.LastUsedAt = at
		c.m[hash] = e
	}
}

// invalidate forgets every cached token. Call it once a revocation is
// committed (and, inside a transaction, also when it is written: a store
// without transactions has committed it then).
func (c *tokenCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// maxTokenLifetime bounds the expiry an actor may give a token: a
// credential meant to expire should do so within a few years, and a bound
// keeps typos (year 20250) out of the store.
const maxTokenLifetime = 5 * 365 * 24 * time.Hour

// TokenInput is a token an actor issues.
type TokenInput struct {
	Kind string // repository.TokenSCIM or repository.TokenAPI
	Name string // 1 to 100 characters, shown in lists
	// MemberID owns an API token and must be an active member of the
	// account; SCIM tokens take none.
	MemberID string
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time
}

// IssueToken mints a token on an actor's behalf (an admin in the admin
// API) and records "<kind>_token.create" in the audit log. It returns the
// text form, shown once, and the stored record. Unlike MintToken, which
// seeds accounts, it checks that an API token's member is an active member
// of the account and that an expiry lies in the future.
func (s *Service) IssueToken(ctx context.Context, actor Actor, accountID string, in TokenInput) (string, repository.Token, error) {
	now := s.now().UTC()
	if !in.ExpiresAt.IsZero() {
		in.ExpiresAt = in.ExpiresAt.UTC()
		switch {
		case !in.ExpiresAt.After(now):
			return "", repository.Token{}, &Error{Code: CodeInvalidValue, Attribute: "expiresAt",
				Message: fmt.Sprintf("expiresAt %s is not in the future", in.ExpiresAt.Format(time.RFC3339))}
		case in.ExpiresAt.Sub(now) > maxTokenLifetime:
			return "", repository.Token{}, &Error{Code: CodeInvalidValue, Attribute: "expiresAt",
				Message: fmt.Sprintf("expiresAt %s is more than 5 years away", in.ExpiresAt.Format(time.RFC3339))}
		}
	}
	var plain string
	var tok repository.Token
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if in.Kind == repository.TokenAPI && in.MemberID != "" {
			m, err := s.store.GetMember(ctx, accountID, in.MemberID)
			if errors.Is(err, repository.ErrNotFound) {
				return &Error{Code: CodeInvalidValue, Attribute: "memberId",
					Message: fmt.Sprintf("no member of this account has the id %q", in.MemberID), Err: err}
			}
			if err != nil {
				return fmt.Errorf("issue %s token: %w", in.Kind, err)
			}
			if !m.Active {
				return &Error{Code: CodeInvalidValue, Attribute: "memberId",
					Message: fmt.Sprintf("member %s is deactivated and cannot hold an API token", m.ID)}
			}
		}
		var err error
		plain, tok, err = s.mintToken(ctx, accountID, in.Kind, in.Name, in.MemberID, in.ExpiresAt)
		if err != nil {
			return err
		}
		// The audit names the token's record, never its secret or hash.
		return s.auditChange(ctx, actor, accountID, in.Kind+"_token.create", "token", tok.ID, nil, tokenView(tok))
	})
	if err != nil {
		return "", repository.Token{}, err
	}
	return plain, tok, nil
}

// ListTokens returns the account's tokens of kind, revoked and expired
// ones included (their times say so), newest first.
func (s *Service) ListTokens(ctx context.Context, accountID, kind string) ([]repository.Token, error) {
	if TokenPrefix(kind) == "" {
		return nil, &Error{Code: CodeInvalidValue, Attribute: "kind", Message: fmt.Sprintf("unknown token kind %q", kind)}
	}
	toks, err := s.store.ListTokens(ctx, accountID, kind)
	if err != nil {
		return nil, fmt.Errorf("list %s tokens: %w", kind, err)
	}
	slices.SortFunc(toks, func(a, b repository.Token) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return toks, nil
}

// RevokeToken revokes the account's token id of kind and records
// "<kind>_token.revoke". A token of another kind or account is
// CodeNotFound. Revoking a revoked token changes nothing and succeeds, so a
// retried request gets the same answer.
func (s *Service) RevokeToken(ctx context.Context, actor Actor, accountID, kind, id string) (repository.Token, error) {
	var out repository.Token
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		// An account holds a handful of tokens; the store has no lookup by
		// id, and listing them costs less than adding one.
		toks, err := s.ListTokens(ctx, accountID, kind)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(toks, func(t repository.Token) bool { return t.ID == id })
		if i < 0 {
			return &Error{Code: CodeNotFound, Message: fmt.Sprintf("no %s token with id %q", kind, id),
				Err: repository.ErrNotFound}
		}
		before := toks[i]
		if !before.RevokedAt.IsZero() {
			out = before
			return nil
		}
		now := s.now().UTC()
		if err := s.store.RevokeToken(ctx, accountID, id, now); err != nil {
			return fmt.Errorf("revoke %s token: %w", kind, err)
		}
		out = before
		out.RevokedAt = now
		s.tokens.invalidate()
		return s.auditChange(ctx, actor, accountID, kind+"_token.revoke", "token", id, tokenView(before), tokenView(out))
	})
	s.tokens.invalidate() // committed (or not): a read cached meanwhile may predate it
	if err != nil {
		return repository.Token{}, err
	}
	return out, nil
}

// tokenView is the audited form of a token: its record without the hash
// or the last use (which changes on every request and is no change).
func tokenView(t repository.Token) map[string]any {
	t.Hash = ""
	t.LastUsedAt = time.Time{}
	return structView(t)
}
