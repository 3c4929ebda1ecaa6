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
	"strings"
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
	tok, err := s.store.GetTokenByHash(ctx, hash)
	if errors.Is(err, repository.ErrNotFound) {
		return deny("unknown token")
	}
	if err != nil {
		return repository.Token{}, fmt.Errorf("authenticate %s token: %w", kind, err)
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
		}
	}
	return tok, nil
}
