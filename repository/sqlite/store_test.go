package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func TestConflictsNameTheAttribute(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "Ærø Support"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateAccount(ctx, repository.Account{Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "Émile@Example.com", ExternalID: "E1"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "second@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Tier 1", ExternalID: "G1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "Agent"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateToken(ctx, repository.Token{AccountID: a.ID, Kind: repository.TokenSCIM, Hash: "h1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSession(ctx, repository.Session{AccountID: a.ID, MemberID: m.ID, Hash: "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateInvitation(ctx, repository.Invitation{AccountID: a.ID, MemberID: m.ID, TokenHash: "i1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSSOConnection(ctx, repository.SSOConnection{AccountID: a.ID, Kind: repository.SSOSAML, Domains: []string{"Example.COM"}}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		kind string
		attr string
		do   func() error
	}{
		{"account name in other case", "account", "name", func() error {
			_, err := s.CreateAccount(ctx, repository.Account{Name: "ærø SUPPORT"})
			return err
		}},
		{"account renamed onto another", "account", "name", func() error {
			_, err := s.UpdateAccount(ctx, b.ID, func(x repository.Account) (repository.Account, error) {
				x.Name = "ÆRØ support"
				return x, nil
			})
			return err
		}},
		{"userName in other case (non-ASCII)", "member", "userName", func() error {
			_, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "émile@EXAMPLE.com"})
			return err
		}},
		{"userName changed onto another", "member", "userName", func() error {
			_, err := s.UpdateMember(ctx, a.ID, m2.ID, func(x repository.Member) (repository.Member, error) {
				x.UserName = "ÉMILE@example.com"
				return x, nil
			})
			return err
		}},
		{"externalId", "member", "externalId", func() error {
			_, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "x@example.com", ExternalID: "E1"})
			return err
		}},
		{"member id", "member", "id", func() error {
			_, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, ID: m.ID, UserName: "y@example.com"})
			return err
		}},
		{"group displayName in other case", "group", "displayName", func() error {
			_, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "TIER 1"})
			return err
		}},
		{"group externalId", "group", "externalId", func() error {
			_, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Tier 2", ExternalID: "G1"})
			return err
		}},
		{"group renamed onto another", "group", "displayName", func() error {
			g2, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Tier 3"})
			if err != nil {
				return err
			}
			_, err = s.UpdateGroup(ctx, a.ID, g2.ID, func(x repository.Group) (repository.Group, error) {
				x.DisplayName = "tier 1"
				return x, nil
			})
			return err
		}},
		{"role key in other case", "role", "key", func() error {
			_, err := s.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "AGENT"})
			return err
		}},
		{"token hash across accounts", "token", "hash", func() error {
			_, err := s.CreateToken(ctx, repository.Token{AccountID: b.ID, Kind: repository.TokenSCIM, Hash: "h1"})
			return err
		}},
		{"session hash", "session", "hash", func() error {
			_, err := s.CreateSession(ctx, repository.Session{AccountID: b.ID, Hash: "s1"})
			return err
		}},
		{"invitation token hash", "invitation", "tokenHash", func() error {
			_, err := s.CreateInvitation(ctx, repository.Invitation{AccountID: b.ID, TokenHash: "i1"})
			return err
		}},
		{"sso domain in other case, other account", "sso connection", "domain", func() error {
			_, err := s.CreateSSOConnection(ctx, repository.SSOConnection{AccountID: b.ID, Kind: repository.SSOOIDC, Domains: []string{"new.test", "example.com"}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			var ce *repository.ConflictError
			if !errors.As(err, &ce) || !errors.Is(err, repository.ErrConflict) {
				t.Fatalf("got %v, want a conflict on %s", err, tt.attr)
			}
			if ce.Kind != tt.kind || ce.Attribute != tt.attr {
				t.Errorf("conflict on %s %s, want %s %s", ce.Kind, ce.Attribute, tt.kind, tt.attr)
			}
		})
	}

	// The same values are free in another account.
	if _, err := s.CreateMember(ctx, repository.Member{AccountID: b.ID, UserName: "émile@example.com", ExternalID: "E1"}); err != nil {
		t.Errorf("same userName in another account: %v", err)
	}
	if _, err := s.CreateGroup(ctx, repository.Group{AccountID: b.ID, DisplayName: "tier 1", ExternalID: "G1"}); err != nil {
		t.Errorf("same group in another account: %v", err)
	}
	// Empty externalIds never collide.
	for _, un := range []string{"e1@example.com", "e2@example.com"} {
		if _, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: un}); err != nil {
			t.Errorf("member without externalId: %v", err)
		}
	}
	// A failed update left the group alone.
	got, err := s.GetGroup(ctx, a.ID, g.ID, false)
	if err != nil || got.DisplayName != "Tier 1" || got.Version != 1 {
		t.Errorf("group after conflicts: %+v, %v", got, err)
	}
}

func TestInTx(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "tx", Seats: repository.SeatSettings{Total: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Transactional() {
		t.Error("Transactional() is false")
	}
	boom := errors.New("boom")
	var created repository.Member
	err = s.InTx(ctx, func(ctx context.Context) error {
		created, err = s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "rolled@example.com", Emails: []repository.Email{{Value: "rolled@example.com"}}})
		if err != nil {
			return err
		}
		if err := s.ReserveSeat(ctx, a.ID, created.ID); err != nil {
			return err
		}
		// Reads inside see the transaction's writes, nested calls join it.
		return s.InTx(ctx, func(ctx context.Context) error {
			got, err := s.GetMemberByUserName(ctx, a.ID, "ROLLED@example.com")
			if err != nil {
				return err
			}
			if got.ID != created.ID || len(got.Emails) != 1 {
				t.Errorf("read inside the transaction: %+v", got)
			}
			p, err := s.ListMembers(ctx, a.ID, repository.Query{Filter: cmpf(repository.MemberEmailValue, repository.OpEq, "rolled@example.com"), Count: 10})
			if err != nil || p.Total != 1 {
				t.Errorf("list inside the transaction: %+v, %v", p, err)
			}
			return boom
		})
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	if _, err := s.GetMember(ctx, a.ID, created.ID); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("member after rollback: %v", err)
	}
	if n, _ := s.SeatsInUse(ctx, a.ID); n != 0 {
		t.Errorf("seats after rollback: %d", n)
	}

	// A committed transaction keeps everything; the writer is free after.
	err = s.InTx(ctx, func(ctx context.Context) error {
		m, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "kept@example.com"})
		if err != nil {
			return err
		}
		_, err = s.UpdateMember(ctx, a.ID, m.ID, func(m repository.Member) (repository.Member, error) {
			m.Title = "kept"
			return m, nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMemberByUserName(ctx, a.ID, "kept@example.com")
	if err != nil || got.Title != "kept" || got.Version != 2 {
		t.Errorf("member after commit: %+v, %v", got, err)
	}

	// A transaction of another Store in the context is not joined.
	other := newStore(t)
	err = other.InTx(ctx, func(octx context.Context) error {
		_, err := s.CreateAccount(octx, repository.Account{Name: "not joined"})
		return errors.Join(err, boom)
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
}

func TestTransactionsUsePreparedStatements(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, _ := s.CreateAccount(ctx, repository.Account{Name: "prep", Seats: repository.SeatSettings{Total: 3}})
	err := s.InTx(ctx, func(ctx context.Context) error {
		m, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "p@example.com", Roles: []string{"agent"},
			Emails: []repository.Email{{Value: "p@example.com"}}, PhoneNumbers: []repository.PhoneNumber{{Value: "1"}},
			Addresses: []repository.Address{{Country: "FR"}}, OptionalPermissions: []repository.RolePermission{{Role: "agent", Permission: "x"}},
			ManagedAttributes: []string{"userName"}, Profile: repository.SupportProfile{Expertise: []string{"a"}, Channels: []string{"chat"}}})
		if err != nil {
			return err
		}
		if _, err := s.UpdateMember(ctx, a.ID, m.ID, func(m repository.Member) (repository.Member, error) {
			m.Emails = nil
			return m, nil
		}); err != nil {
			return err
		}
		g, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "g", Members: []repository.GroupMember{{MemberID: m.ID}}})
		if err != nil {
			return err
		}
		if _, err := s.RemoveGroupMembers(ctx, a.ID, g.ID, []string{m.ID}); err != nil {
			return err
		}
		if err := s.ReserveSeat(ctx, a.ID, m.ID); err != nil {
			return err
		}
		if _, err := s.GroupsOfMembers(ctx, a.ID, []string{m.ID}); err != nil {
			return err
		}
		return s.DeleteMember(ctx, a.ID, m.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.wc.mu.Lock()
	defer s.wc.mu.Unlock()
	for q, n := range s.wc.misses {
		t.Errorf("statement prepared inside a transaction %d times (add it to readQueries or writeQueries): %s", n, q)
	}
}

func TestUpdateKeepsIdentity(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, _ := s.CreateAccount(ctx, repository.Account{Name: "id"})
	b, _ := s.CreateAccount(ctx, repository.Account{Name: "other"})
	m, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "m@example.com", Emails: []repository.Email{{Value: "m@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	got, err := s.UpdateMember(ctx, a.ID, m.ID, func(x repository.Member) (repository.Member, error) {
		x.AccountID, x.ID = b.ID, "hijacked"
		x.Version, x.CreatedAt = 99, time.Time{}
		x.Emails[0].Value = "changed@example.com" // in place: the store must still see a change
		return x, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.AccountID != a.ID || got.ID != m.ID || got.Version != 2 || !got.CreatedAt.Equal(m.CreatedAt) || !got.UpdatedAt.After(m.UpdatedAt) {
		t.Errorf("updated member identity/meta: %+v", got)
	}
	read, err := s.GetMember(ctx, a.ID, m.ID)
	if err != nil || read.Emails[0].Value != "changed@example.com" || read.Version != 2 {
		t.Errorf("read back: %+v, %v", read, err)
	}
	if _, err := s.GetMember(ctx, b.ID, "hijacked"); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("member moved to another account: %v", err)
	}
	// fn's own error comes back as is; ErrVersionMismatch enforces If-Match.
	_, err = s.UpdateMember(ctx, a.ID, m.ID, func(x repository.Member) (repository.Member, error) {
		return x, repository.ErrVersionMismatch
	})
	if err != repository.ErrVersionMismatch {
		t.Errorf("fn error: got %v", err)
	}
	// Another account cannot update it.
	_, err = s.UpdateMember(ctx, b.ID, m.ID, func(x repository.Member) (repository.Member, error) { return x, nil })
	if !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("update from another account: %v", err)
	}
}

func TestDeleteMemberCleansUp(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, _ := s.CreateAccount(ctx, repository.Account{Name: "del", Seats: repository.SeatSettings{Total: 1}})
	m, _ := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "gone@example.com", Roles: []string{"agent"}, Emails: []repository.Email{{Value: "gone@example.com"}}})
	keep, _ := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "keep@example.com"})
	g, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "g", Members: []repository.GroupMember{{MemberID: m.ID}, {MemberID: keep.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReserveSeat(ctx, a.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	sess, _ := s.CreateSession(ctx, repository.Session{AccountID: a.ID, MemberID: m.ID, Hash: "sess"})
	tok, _ := s.CreateToken(ctx, repository.Token{AccountID: a.ID, Kind: repository.TokenAPI, MemberID: m.ID, Hash: "tok"})

	if err := s.DeleteMember(ctx, a.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMember(ctx, a.ID, m.ID); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if n, _ := s.SeatsInUse(ctx, a.ID); n != 0 {
		t.Errorf("seat kept: %d in use", n)
	}
	if err := s.ReserveSeat(ctx, a.ID, keep.ID); err != nil {
		t.Errorf("freed seat not reusable: %v", err)
	}
	if _, err := s.GetSessionByHash(ctx, sess.Hash); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("session kept: %v", err)
	}
	if got, _ := s.GetTokenByHash(ctx, tok.Hash); got.RevokedAt.IsZero() {
		t.Errorf("API token not revoked")
	}
	got, err := s.GetGroup(ctx, a.ID, g.ID, true)
	if err != nil || len(got.Members) != 1 || got.Members[0].MemberID != keep.ID || got.Version != 2 {
		t.Errorf("group after delete: %+v, %v", got, err)
	}
	p, _ := s.ListMembers(ctx, a.ID, repository.Query{Filter: cmpf(repository.MemberEmailValue, repository.OpEq, "gone@example.com")})
	if p.Total != 0 {
		t.Errorf("side rows kept: %d members with the email", p.Total)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT count(*) FROM member_emails WHERE account_id = ?", []any{a.ID}},
		{"SELECT count(*) FROM member_roles WHERE account_id = ?", []any{a.ID}},
		{"SELECT count(*) FROM group_members WHERE account_id = ? AND member_id = ?", []any{a.ID, m.ID}},
		{"SELECT count(*) FROM seats WHERE account_id = ? AND member_id = ?", []any{a.ID, m.ID}},
		{"SELECT count(*) FROM sessions WHERE account_id = ? AND member_id = ?", []any{a.ID, m.ID}},
	} {
		var n int
		if err := s.r.QueryRow(q.sql, q.args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rows of the deleted member remain: %s", n, q.sql)
		}
	}
}

func TestMemberRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, _ := s.CreateAccount(ctx, repository.Account{Name: "rt"})
	queued := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	in := repository.Member{
		AccountID: a.ID, UserName: "Full@Example.com", ExternalID: "ext",
		Name:        repository.Name{Formatted: "Dr Full Q Name Jr", FamilyName: "Name", GivenName: "Full", MiddleName: "Q", HonorificPrefix: "Dr", HonorificSuffix: "Jr"},
		DisplayName: "Full", NickName: "F", ProfileURL: "https://x", Title: "T", UserType: "U", PreferredLanguage: "fr", Locale: "fr-FR", Timezone: "Europe/Paris",
		Active: true, Status: repository.StatusActive, Source: repository.SourceSCIM,
		Emails:         []repository.Email{{Value: "a@x", Type: "work", Display: "A", Primary: true}, {Value: "b@x", Type: "home"}},
		PhoneNumbers:   []repository.PhoneNumber{{Value: "+33", Type: "mobile", Display: "m", Primary: true}},
		Addresses:      []repository.Address{{Formatted: "f", StreetAddress: "s", Locality: "l", Region: "r", PostalCode: "p", Country: "FR", Type: "work", Primary: true}},
		EmployeeNumber: "1", CostCenter: "cc", Organization: "o", Division: "d", Department: "dep", ManagerID: "mgr", PendingManagerRef: "pend",
		Roles:               []string{"agent", "admin"},
		OptionalPermissions: []repository.RolePermission{{Role: "agent", Permission: "export"}},
		Profile: repository.SupportProfile{Expertise: []string{"billing"}, OnlyAssignFromExpertise: true, OnlyAssignedConversations: true,
			CanViewGroupCompanies: true, ExternalSSO: true, CanManageTeams: true, Channels: []string{"chat", "voice"},
			EmploymentStatus: "full_time", StartDate: "2024-01-02", Bio: "bio", ImageURL: "img", Hometown: "h", StateOrCountry: "s", ApprovalStatus: "ok"},
		SeatStatus: repository.SeatQueued, SeatQueuedAt: queued,
		ManagedAttributes: []string{"userName", "emails"}, PasswordHash: "hash", MustChangePassword: true,
	}
	created, got := createAndGet(t, s, in)
	if !memberEqual(got, created) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, created)
	}
	if !got.SeatQueuedAt.Equal(queued) {
		t.Errorf("seatQueuedAt %v, want %v", got.SeatQueuedAt, queued)
	}
	p, err := s.ListMembers(ctx, a.ID, repository.Query{Count: 10})
	if err != nil || len(p.Items) != 1 || !memberEqual(p.Items[0], created) {
		t.Errorf("listed: %+v, %v", p.Items, err)
	}
}

// memberEqual compares members field by field, times as instants.
func memberEqual(a, b repository.Member) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) || !a.UpdatedAt.Equal(b.UpdatedAt) || !a.SeatQueuedAt.Equal(b.SeatQueuedAt) {
		return false
	}
	a.CreatedAt, a.UpdatedAt, a.SeatQueuedAt = b.CreatedAt, b.UpdatedAt, b.SeatQueuedAt
	return reflect.DeepEqual(a, b)
}

// TestMemberFlagsRoundTrip sets each flag alone: a flag read into
// another's field would pass a round trip with every flag on.
func TestMemberFlagsRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, _ := s.CreateAccount(ctx, repository.Account{Name: "flags"})
	flags := []func(m *repository.Member){
		func(m *repository.Member) { m.Active = true },
		func(m *repository.Member) { m.Profile.OnlyAssignFromExpertise = true },
		func(m *repository.Member) { m.Profile.OnlyAssignedConversations = true },
		func(m *repository.Member) { m.Profile.CanViewGroupCompanies = true },
		func(m *repository.Member) { m.Profile.ExternalSSO = true },
		func(m *repository.Member) { m.Profile.CanManageTeams = true },
		func(m *repository.Member) { m.MustChangePassword = true },
	}
	for i, set := range flags {
		in := repository.Member{AccountID: a.ID, UserName: fmt.Sprintf("flag%d@example.com", i)}
		set(&in)
		if created, got := createAndGet(t, s, in); !memberEqual(got, created) {
			t.Errorf("flag %d alone:\n got %+v\nwant %+v", i, got, created)
		}
	}
}

// createAndGet creates in and reads it back.
func createAndGet(t *testing.T, s *Store, in repository.Member) (created, got repository.Member) {
	t.Helper()
	ctx := context.Background()
	created, err := s.CreateMember(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetMember(ctx, in.AccountID, created.ID); err != nil {
		t.Fatal(err)
	}
	return created, got
}
