package provisioning

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// testClock is a settable clock for WithClock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openSQLiteService returns a Service over a fresh SQLite store in a
// temporary directory, with a clock the test controls.
func openSQLiteService(t *testing.T) (*Service, repository.Store, *testClock) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &testClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	return New(store, WithClock(clock.Now)), store, clock
}

// newTestAccount creates an account and returns it with its secrets.
func newTestAccount(t *testing.T, s *Service, name string) CreatedAccount {
	t.Helper()
	created, err := s.CreateAccount(context.Background(), CreateAccountInput{
		Name: name, OwnerEmail: "owner@" + strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example",
		Seats: 5, BaseURL: "https://roster.example.com",
	})
	if err != nil {
		t.Fatalf("create account %q: %v", name, err)
	}
	return created
}

func TestHashToken(t *testing.T) {
	// SHA-256 test vector (FIPS 180-2).
	if got := HashToken("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("HashToken(abc) = %s", got)
	}
}

func TestMintToken(t *testing.T) {
	ctx := context.Background()
	s, store, _ := openSQLiteService(t)
	acct := newTestAccount(t, s, "Mint")

	for _, kind := range []string{repository.TokenSCIM, repository.TokenAPI} {
		member := ""
		if kind == repository.TokenAPI {
			member = acct.Owner.ID
		}
		plain, tok, err := s.MintToken(ctx, acct.Account.ID, kind, " CI token ", member)
		if err != nil {
			t.Fatalf("mint %s: %v", kind, err)
		}
		prefix := TokenPrefix(kind)
		if !strings.HasPrefix(plain, prefix) || len(plain) != len(prefix)+43 {
			t.Errorf("%s token %q: want %s + 43 base64url characters (256 bits)", kind, plain, prefix)
		}
		if tok.Hash != HashToken(plain) || strings.Contains(tok.Hash, plain[len(prefix):]) {
			t.Errorf("%s token stored as %q, want the hash of the text form only", kind, tok.Hash)
		}
		if tok.Name != "CI token" || tok.Kind != kind || tok.MemberID != member || tok.AccountID != acct.Account.ID {
			t.Errorf("%s token record = %+v", kind, tok)
		}
		got, err := store.GetTokenByHash(ctx, HashToken(plain))
		if err != nil || got.ID != tok.ID {
			t.Errorf("stored %s token: %+v, %v", kind, got, err)
		}
		other, _, err := s.MintToken(ctx, acct.Account.ID, kind, "second", member)
		if err != nil || other == plain {
			t.Errorf("second %s token %q equals the first or failed: %v", kind, other, err)
		}
	}

	tests := []struct {
		name, kind, tokenName, member, attr string
	}{
		{"unknown kind", "session", "x", "", "kind"},
		{"API token without member", repository.TokenAPI, "x", "", "memberId"},
		{"SCIM token with member", repository.TokenSCIM, "x", acct.Owner.ID, "memberId"},
		{"empty name", repository.TokenSCIM, "  ", "", "name"},
		{"long name", repository.TokenSCIM, strings.Repeat("n", 101), "", "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.MintToken(ctx, acct.Account.ID, tc.kind, tc.tokenName, tc.member)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidValue || e.Attribute != tc.attr {
				t.Errorf("err = %v, want invalid value on %s", err, tc.attr)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	s, store, clock := openSQLiteService(t)
	acct := newTestAccount(t, s, "Auth")
	other := newTestAccount(t, s, "Other")
	id := acct.Account.ID

	revokedPlain, revoked, err := s.MintToken(ctx, id, repository.TokenSCIM, "revoked", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RevokeToken(ctx, id, revoked.ID, clock.Now()); err != nil {
		t.Fatal(err)
	}
	const expiredPlain = "rst_scim_expiredexpiredexpiredexpiredexpiredexp"
	if _, err := store.CreateToken(ctx, repository.Token{
		AccountID: id, ID: repository.NewID(), Kind: repository.TokenSCIM, Name: "expired",
		Hash: HashToken(expiredPlain), CreatedAt: clock.Now().Add(-48 * time.Hour),
		ExpiresAt: clock.Now().Add(-time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	// A record whose kind disagrees with its text form: the kind stored
	// decides.
	const mislabelled = "rst_scim_mislabelledmislabelledmislabelledmisla"
	if _, err := store.CreateToken(ctx, repository.Token{
		AccountID: id, ID: repository.NewID(), Kind: repository.TokenAPI, Name: "api", MemberID: acct.Owner.ID,
		Hash: HashToken(mislabelled), CreatedAt: clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("valid tokens reach their own account", func(t *testing.T) {
		tok, err := s.Authenticate(ctx, acct.SCIMToken, repository.TokenSCIM)
		if err != nil || tok.AccountID != id || tok.Kind != repository.TokenSCIM {
			t.Errorf("SCIM token: %+v, %v", tok, err)
		}
		tok, err = s.Authenticate(ctx, other.SCIMToken, repository.TokenSCIM)
		if err != nil || tok.AccountID != other.Account.ID {
			t.Errorf("other account's SCIM token: %+v, %v", tok, err)
		}
		tok, err = s.Authenticate(ctx, acct.APIToken, repository.TokenAPI)
		if err != nil || tok.AccountID != id || tok.MemberID != acct.Owner.ID {
			t.Errorf("API token: %+v, %v", tok, err)
		}
	})

	denied := []struct{ name, plain, kind string }{
		{"API token at the SCIM door", acct.APIToken, repository.TokenSCIM},
		{"SCIM token at the API door", acct.SCIMToken, repository.TokenAPI},
		{"stored kind differs", mislabelled, repository.TokenSCIM},
		{"unknown token", "rst_scim_" + strings.Repeat("A", 43), repository.TokenSCIM},
		{"no prefix", strings.TrimPrefix(acct.SCIMToken, "rst_scim_"), repository.TokenSCIM},
		{"empty", "", repository.TokenSCIM},
		{"oversized", acct.SCIMToken + strings.Repeat("A", 100), repository.TokenSCIM},
		{"revoked", revokedPlain, repository.TokenSCIM},
		{"expired", expiredPlain, repository.TokenSCIM},
		{"unknown kind", acct.SCIMToken, "session"},
	}
	for _, tc := range denied {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Authenticate(ctx, tc.plain, tc.kind)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeUnauthenticated {
				t.Fatalf("err = %v, want unauthenticated", err)
			}
			// One public message for every reason, so callers cannot probe.
			if e.Message != "invalid, expired or revoked token" {
				t.Errorf("public message %q reveals the reason", e.Message)
			}
			if e.Err == nil {
				t.Error("no private cause for the logs")
			}
		})
	}

	t.Run("last use recorded at most once a minute", func(t *testing.T) {
		plain, _, err := s.MintToken(ctx, id, repository.TokenSCIM, "touch", "")
		if err != nil {
			t.Fatal(err)
		}
		lastUsed := func() time.Time {
			tok, err := store.GetTokenByHash(ctx, HashToken(plain))
			if err != nil {
				t.Fatal(err)
			}
			return tok.LastUsedAt
		}
		if !lastUsed().IsZero() {
			t.Fatal("new token has a last use")
		}
		first := clock.Now()
		if tok, err := s.Authenticate(ctx, plain, repository.TokenSCIM); err != nil || !tok.LastUsedAt.Equal(first) {
			t.Fatalf("first use: %+v, %v", tok, err)
		}
		if got := lastUsed(); !got.Equal(first) {
			t.Errorf("stored last use = %v, want %v", got, first)
		}
		clock.Advance(30 * time.Second)
		if _, err := s.Authenticate(ctx, plain, repository.TokenSCIM); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(first) {
			t.Errorf("use within a minute rewrote last use: %v", got)
		}
		clock.Advance(31 * time.Second)
		if _, err := s.Authenticate(ctx, plain, repository.TokenSCIM); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(clock.Now()) {
			t.Errorf("use after a minute: last use = %v, want %v", got, clock.Now())
		}
	})

	t.Run("store failure is not an authentication failure", func(t *testing.T) {
		s2, store2, _ := openSQLiteService(t)
		created := newTestAccount(t, s2, "Closed")
		store2.Close()
		_, err := s2.Authenticate(ctx, created.SCIMToken, repository.TokenSCIM)
		if err == nil {
			t.Fatal("authenticated against a closed store")
		}
		if e := AsError(err); e != nil {
			t.Errorf("store failure reported as rule error %v", e)
		}
	})
}

func TestIssueListRevokeToken(t *testing.T) {
	ctx := context.Background()
	s, store, clock := openSQLiteService(t)
	acct := newTestAccount(t, s, "Issue")
	other := newTestAccount(t, s, "Elsewhere")
	id := acct.Account.ID
	admin := Actor{Kind: repository.ActorMember, ID: acct.Owner.ID, RequestID: "req-1"}

	plain, tok, err := s.IssueToken(ctx, admin, id, TokenInput{Kind: repository.TokenAPI, Name: "CI", MemberID: acct.Owner.ID,
		ExpiresAt: clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !tok.ExpiresAt.Equal(clock.Now().Add(time.Hour)) || tok.MemberID != acct.Owner.ID {
		t.Errorf("issued %+v", tok)
	}
	if _, err := s.Authenticate(ctx, plain, repository.TokenAPI); err != nil {
		t.Fatalf("issued token does not authenticate: %v", err)
	}
	page, err := store.ListAudit(ctx, id, repository.AuditQuery{Action: "api_token.create", Limit: 5})
	if err != nil || page.Total != 1 || page.Items[0].TargetID != tok.ID || page.Items[0].RequestID != "req-1" ||
		strings.Contains(string(page.Items[0].Diff), tok.Hash) {
		t.Fatalf("audit of the creation: %+v, %v", page.Items, err)
	}

	bad := []struct {
		name string
		in   TokenInput
		attr string
	}{
		{"expiry in the past", TokenInput{Kind: repository.TokenAPI, Name: "x", MemberID: acct.Owner.ID, ExpiresAt: clock.Now().Add(-time.Second)}, "expiresAt"},
		{"expiry too far", TokenInput{Kind: repository.TokenAPI, Name: "x", MemberID: acct.Owner.ID, ExpiresAt: clock.Now().Add(6 * 365 * 24 * time.Hour)}, "expiresAt"},
		{"member of another account", TokenInput{Kind: repository.TokenAPI, Name: "x", MemberID: other.Owner.ID}, "memberId"},
		{"SCIM token with a member", TokenInput{Kind: repository.TokenSCIM, Name: "x", MemberID: acct.Owner.ID}, "memberId"},
		{"no name", TokenInput{Kind: repository.TokenSCIM}, "name"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := store.ListTokens(ctx, id, "")
			_, _, err := s.IssueToken(ctx, admin, id, tc.in)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidValue || e.Attribute != tc.attr {
				t.Fatalf("err = %v, want invalid value on %s", err, tc.attr)
			}
			if after, _ := store.ListTokens(ctx, id, ""); len(after) != len(before) {
				t.Error("a token was stored")
			}
		})
	}

	clock.Advance(time.Minute)
	_, scim, err := s.IssueToken(ctx, admin, id, TokenInput{Kind: repository.TokenSCIM, Name: "Okta"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTokens(ctx, id, repository.TokenSCIM)
	if err != nil || len(list) != 2 || list[0].ID != scim.ID {
		t.Fatalf("SCIM tokens newest first: %+v, %v", list, err)
	}

	if _, err := s.RevokeToken(ctx, admin, id, repository.TokenSCIM, tok.ID); AsError(err) == nil || AsError(err).Code != CodeNotFound {
		t.Errorf("revoking an API token as a SCIM token: %v", err)
	}
	if _, err := s.RevokeToken(ctx, admin, other.Account.ID, repository.TokenAPI, tok.ID); AsError(err) == nil || AsError(err).Code != CodeNotFound {
		t.Errorf("revoking through another account: %v", err)
	}
	revoked, err := s.RevokeToken(ctx, admin, id, repository.TokenAPI, tok.ID)
	if err != nil || !revoked.RevokedAt.Equal(clock.Now()) {
		t.Fatalf("revoke: %+v, %v", revoked, err)
	}
	clock.Advance(time.Minute)
	again, err := s.RevokeToken(ctx, admin, id, repository.TokenAPI, tok.ID)
	if err != nil || !again.RevokedAt.Equal(revoked.RevokedAt) {
		t.Errorf("second revocation: %+v, %v", again, err)
	}
	if _, err := s.Authenticate(ctx, plain, repository.TokenAPI); err == nil {
		t.Error("revoked token authenticates")
	}
	page, err = store.ListAudit(ctx, id, repository.AuditQuery{Action: "api_token.revoke", Limit: 5})
	if err != nil || page.Total != 1 {
		t.Errorf("revocations audited: %d, %v", page.Total, err)
	}
}

// TestAuthenticateCache: Authenticate keeps a token it found for
// tokenCacheTTL. A revocation made through the Service ends it at once;
// one written to the store behind the Service's back (another process)
// ends it within tokenCacheTTL; expiry is checked on every request.
func TestAuthenticateCache(t *testing.T) {
	ctx := context.Background()
	s, store, clock := openSQLiteService(t)
	acct := newTestAccount(t, s, "Cache")
	id := acct.Account.ID
	admin := Actor{Kind: repository.ActorMember, ID: acct.Owner.ID, RequestID: "req-cache"}
	mint := func(name string, expires time.Time) (string, repository.Token) {
		t.Helper()
		plain, tok, err := s.mintToken(ctx, id, repository.TokenSCIM, name, "", expires)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, plain, repository.TokenSCIM); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return plain, tok
	}
	denied := func(what, plain string) {
		t.Helper()
		if _, err := s.Authenticate(ctx, plain, repository.TokenSCIM); AsError(err) == nil || AsError(err).Code != CodeUnauthenticated {
			t.Errorf("%s: %v, want unauthenticated", what, err)
		}
	}

	viaService, tok := mint("via service", time.Time{})
	if _, err := s.RevokeToken(ctx, admin, id, repository.TokenSCIM, tok.ID); err != nil {
		t.Fatal(err)
	}
	denied("revoked through the Service, at once", viaService)

	expiring, _ := mint("expiring", clock.Now().Add(time.Minute))
	clock.Advance(time.Minute)
	denied("expired while cached", expiring)

	behind, tok := mint("behind the back", time.Time{})
	if err := store.RevokeToken(ctx, id, tok.ID, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, behind, repository.TokenSCIM); err != nil {
		t.Logf("revoked in the store: refused even before the cache expired (%v)", err)
	}
	time.Sleep(tokenCacheTTL + 50*time.Millisecond)
	denied("revoked in the store, after tokenCacheTTL", behind)

	// Deactivating the member that owns an API token ends it at once.
	m, err := s.CreateMember(ctx, scimActor, repository.Member{AccountID: id, UserName: "api@cache.example", Active: true, Roles: []string{RoleReporter}})
	if err != nil {
		t.Fatal(err)
	}
	apiPlain, _, err := s.MintToken(ctx, id, repository.TokenAPI, "api", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, apiPlain, repository.TokenAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateMember(ctx, scimActor, id, m.ID, nil, func(m repository.Member) (repository.Member, error) {
		m.Active = false
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, apiPlain, repository.TokenAPI); AsError(err) == nil || AsError(err).Code != CodeUnauthenticated {
		t.Errorf("API token of a deactivated member: %v, want unauthenticated", err)
	}
}
