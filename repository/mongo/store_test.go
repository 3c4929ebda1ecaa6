package mongo

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/rosterhq/roster/repository"
)

// Focused tests of this backend's own mechanisms, on the test server. The
// shared behaviour is the contract suite's business (TestContract).

func mustNil(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testAccount(t testing.TB, s *Store, seats int) repository.Account {
	t.Helper()
	a, err := s.CreateAccount(t.Context(), repository.Account{
		Name:  "acct-" + repository.NewID(),
		Seats: repository.SeatSettings{Policy: repository.SeatPolicyNamed, Total: seats},
	})
	mustNil(t, err, "create account")
	return a
}

func testMember(t testing.TB, s *Store, accountID, userName string, mods ...func(*repository.Member)) repository.Member {
	t.Helper()
	m := repository.Member{AccountID: accountID, UserName: userName, DisplayName: userName, Active: true,
		Emails: []repository.Email{{Value: userName, Type: "work", Primary: true}}}
	for _, mod := range mods {
		mod(&m)
	}
	got, err := s.CreateMember(t.Context(), m)
	mustNil(t, err, "create member "+userName)
	return got
}

func wantConflict(t *testing.T, err error, attribute string) {
	t.Helper()
	var ce *repository.ConflictError
	if !errors.As(err, &ce) || ce.Attribute != attribute {
		t.Errorf("got %v, want a conflict on %q", err, attribute)
	}
}

// TestConflictsNameAttribute checks every unique index maps back to its
// attribute, for inserts (where FerretDB names no index) and updates
// (where it names it SQLite's way).
func TestConflictsNameAttribute(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a := testAccount(t, s, 10)
	alice := testMember(t, s, a.ID, "alice@example.com", func(m *repository.Member) { m.ExternalID = "ext-a" })
	bob := testMember(t, s, a.ID, "bob@example.com")
	g1, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Tier 1", ExternalID: "g-1"})
	mustNil(t, err, "create group")
	g2, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Tier 2"})
	mustNil(t, err, "create group")
	_, err = s.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "agent"})
	mustNil(t, err, "create role")
	_, err = s.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "admin"})
	mustNil(t, err, "create role")
	_, err = s.CreateToken(ctx, repository.Token{AccountID: a.ID, Kind: repository.TokenSCIM, Hash: "h1"})
	mustNil(t, err, "create token")
	_, err = s.CreateSession(ctx, repository.Session{AccountID: a.ID, MemberID: alice.ID, Hash: "s1"})
	mustNil(t, err, "create session")
	_, err = s.CreateInvitation(ctx, repository.Invitation{AccountID: a.ID, MemberID: bob.ID, TokenHash: "i1"})
	mustNil(t, err, "create invitation")
	sso, err := s.CreateSSOConnection(ctx, repository.SSOConnection{AccountID: a.ID, Kind: repository.SSOOIDC, Domains: []string{"example.com"}})
	mustNil(t, err, "create SSO connection")
	other, err := s.CreateSSOConnection(ctx, repository.SSOConnection{AccountID: a.ID, Kind: repository.SSOSAML, Domains: []string{"other.test"}})
	mustNil(t, err, "create SSO connection")

	setMember := func(f func(*repository.Member)) error {
		_, err := s.UpdateMember(ctx, a.ID, bob.ID, func(m repository.Member) (repository.Member, error) { f(&m); return m, nil })
		return err
	}
	setGroup := func(f func(*repository.Group)) error {
		_, err := s.UpdateGroup(ctx, a.ID, g2.ID, func(g repository.Group) (repository.Group, error) { f(&g); return g, nil })
		return err
	}
	tests := []struct {
		name string
		err  func() error
		attr string
	}{
		{"member userName in another case", func() error {
			_, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "ALICE@example.com"})
			return err
		}, "userName"},
		{"member externalId", func() error {
			_, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "new@example.com", ExternalID: "ext-a"})
			return err
		}, "externalId"},
		{"member id", func() error {
			_, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, ID: alice.ID, UserName: "other@example.com"})
			return err
		}, "id"},
		{"member userName on update", func() error { return setMember(func(m *repository.Member) { m.UserName = "Alice@Example.com" }) }, "userName"},
		{"member externalId on update", func() error { return setMember(func(m *repository.Member) { m.ExternalID = "ext-a" }) }, "externalId"},
		{"group displayName", func() error {
			_, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "TIER 1"})
			return err
		}, "displayName"},
		{"group externalId", func() error {
			_, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Tier 3", ExternalID: "g-1"})
			return err
		}, "externalId"},
		{"group displayName on update", func() error { return setGroup(func(g *repository.Group) { g.DisplayName = "tier 1" }) }, "displayName"},
		{"group externalId on update", func() error { return setGroup(func(g *repository.Group) { g.ExternalID = "g-1" }) }, "externalId"},
		{"role key", func() error {
			_, err := s.CreateRole(ctx, repository.Role{AccountID: a.ID, Key: "AGENT"})
			return err
		}, "key"},
		{"role key on update", func() error {
			_, err := s.UpdateRole(ctx, a.ID, "admin", func(r repository.Role) (repository.Role, error) { r.Key = "Agent"; return r, nil })
			return err
		}, "key"},
		{"account name", func() error {
			_, err := s.CreateAccount(ctx, repository.Account{Name: fold(a.Name)})
			return err
		}, "name"},
		{"token hash", func() error {
			_, err := s.CreateToken(ctx, repository.Token{AccountID: a.ID, Hash: "h1"})
			return err
		}, "hash"},
		{"session hash", func() error {
			_, err := s.CreateSession(ctx, repository.Session{AccountID: a.ID, Hash: "s1"})
			return err
		}, "hash"},
		{"invitation token hash", func() error {
			_, err := s.CreateInvitation(ctx, repository.Invitation{AccountID: a.ID, TokenHash: "i1"})
			return err
		}, "tokenHash"},
		{"SSO domain in another case", func() error {
			_, err := s.CreateSSOConnection(ctx, repository.SSOConnection{AccountID: a.ID, Domains: []string{"new.test", "Example.COM"}})
			return err
		}, "domain"},
		{"SSO domain on update", func() error {
			_, err := s.UpdateSSOConnection(ctx, a.ID, other.ID, func(c repository.SSOConnection) (repository.SSOConnection, error) {
				c.Domains = append(c.Domains, "example.com")
				return c, nil
			})
			return err
		}, "domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantConflict(t, tt.err(), tt.attr) })
	}

	// A refused SSO connection leaves no domain claimed behind it.
	_, err = s.GetSSOConnectionByDomain(ctx, "new.test")
	if !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("domain of a refused connection: %v, want ErrNotFound", err)
	}
	got, err := s.GetSSOConnectionByDomain(ctx, "EXAMPLE.com")
	mustNil(t, err, "get SSO connection by domain")
	if got.ID != sso.ID {
		t.Errorf("example.com routes to %s, want %s", got.ID, sso.ID)
	}
	// The losers were left unchanged.
	b, err := s.GetMember(ctx, a.ID, bob.ID)
	mustNil(t, err, "get member")
	if b.UserName != "bob@example.com" || b.ExternalID != "" || b.Version != 1 {
		t.Errorf("member after refused updates: %q %q v%d", b.UserName, b.ExternalID, b.Version)
	}
	if _, err := s.GetGroup(ctx, a.ID, g1.ID, false); err != nil {
		t.Errorf("get group: %v", err)
	}
}

// TestSeatsTwoClients races 64 reservations through two separate stores
// (two connection pools, as two instances would) against a limit of 10.
func TestSeatsTwoClients(t *testing.T) {
	uri := newTestDB(t)
	stores := []*Store{openStore(t, uri), openStore(t, uri)}
	ctx := t.Context()
	const limit, callers = 10, 64
	a := testAccount(t, stores[0], limit)
	ids := make([]string, callers)
	for i := range ids {
		ids[i] = testMember(t, stores[0], a.ID, fmt.Sprintf("racer%02d@example.com", i)).ID
	}

	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { errs[i] = stores[i%2].ReserveSeat(ctx, a.ID, ids[i]) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, repository.ErrNoSeat):
			t.Errorf("reserve %d: %v, want nil or ErrNoSeat", i, err)
		}
	}
	if won != limit {
		t.Errorf("%d reservations succeeded, want %d", won, limit)
	}
	for _, s := range stores {
		n, err := s.SeatsInUse(ctx, a.ID)
		mustNil(t, err, "seats in use")
		if n != limit {
			t.Errorf("seats in use: %d, want %d", n, limit)
		}
	}
	checkSlots(t, stores[1], a.ID, limit)
}

// checkSlots checks the seat documents occupy distinct slots within limit.
func checkSlots(t *testing.T, s *Store, accountID string, limit int) {
	t.Helper()
	cur, err := s.seats.Find(t.Context(), bson.D{{Key: "accountId", Value: accountID}})
	mustNil(t, err, "read seats")
	var seats []seatDoc
	mustNil(t, cur.All(t.Context(), &seats), "read seats")
	seen := map[int]bool{}
	for _, st := range seats {
		if st.Slot < 1 || st.Slot > limit || seen[st.Slot] {
			t.Errorf("seat of %s in slot %d (limit %d, taken before: %v)", st.MemberID, st.Slot, limit, seen[st.Slot])
		}
		seen[st.Slot] = true
	}
}

// TestSeatLimitLoweredDuringReservations lowers the limit while others
// reserve: whatever wins, the seats held never exceed the limit stored.
func TestSeatLimitLoweredDuringReservations(t *testing.T) {
	uri := newTestDB(t)
	stores := []*Store{openStore(t, uri), openStore(t, uri)}
	ctx := t.Context()
	for round := range 3 {
		a := testAccount(t, stores[0], 30)
		var ids []string
		for i := range 40 {
			ids = append(ids, testMember(t, stores[0], a.ID, fmt.Sprintf("r%d-%02d@example.com", round, i)).ID)
		}
		for _, id := range ids[:10] {
			mustNil(t, stores[0].ReserveSeat(ctx, a.ID, id), "reserve")
		}
		var wg sync.WaitGroup
		var lowerErr error
		for i, id := range ids[10:] {
			wg.Go(func() {
				if err := stores[i%2].ReserveSeat(ctx, a.ID, id); err != nil && !errors.Is(err, repository.ErrNoSeat) {
					t.Errorf("reserve: %v", err)
				}
			})
		}
		wg.Go(func() { _, lowerErr = stores[1].SetSeatLimit(ctx, a.ID, 15) })
		wg.Wait()
		if lowerErr != nil && !errors.Is(lowerErr, repository.ErrSeatsInUse) {
			t.Errorf("lower the limit: %v", lowerErr)
		}
		got, err := stores[0].GetAccount(ctx, a.ID)
		mustNil(t, err, "get account")
		held, err := stores[0].SeatsInUse(ctx, a.ID)
		mustNil(t, err, "seats in use")
		if held > got.Seats.Total {
			t.Errorf("round %d: %d seats held over a limit of %d (lowering: %v)", round, held, got.Seats.Total, lowerErr)
		}
		if want := map[bool]int{true: 15, false: 30}[lowerErr == nil]; got.Seats.Total != want {
			t.Errorf("round %d: limit %d after lowering returned %v", round, got.Seats.Total, lowerErr)
		}
		checkSlots(t, stores[0], a.ID, got.Seats.Total)
	}
}

// TestSeatLimitCompactsSlots lowers a limit below the highest slot held:
// the holders above move down instead of the change being refused.
func TestSeatLimitCompactsSlots(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a := testAccount(t, s, 10)
	var ids []string
	for i := range 10 {
		id := testMember(t, s, a.ID, fmt.Sprintf("m%02d@example.com", i)).ID
		mustNil(t, s.ReserveSeat(ctx, a.ID, id), "reserve")
		ids = append(ids, id)
	}
	for _, id := range ids[:5] { // frees slots 1..5
		mustNil(t, s.ReleaseSeat(ctx, a.ID, id), "release")
	}
	got, err := s.SetSeatLimit(ctx, a.ID, 5)
	mustNil(t, err, "lower the limit to the seats held")
	if got.Seats.Total != 5 {
		t.Errorf("limit %d, want 5", got.Seats.Total)
	}
	checkSlots(t, s, a.ID, 5)
	for _, id := range ids[5:] {
		held, err := s.HoldsSeat(ctx, a.ID, id)
		mustNil(t, err, "holds seat")
		if !held {
			t.Errorf("member %s lost its seat when the limit was lowered", id)
		}
	}
	_, err = s.SetSeatLimit(ctx, a.ID, 4)
	var inUse *repository.SeatsInUseError
	if !errors.As(err, &inUse) || inUse.InUse != 5 || inUse.Requested != 4 {
		t.Errorf("lowering below the seats held: %v, want SeatsInUseError{5, 4}", err)
	}
}

// TestSortWithAbsentValues pages by keyset cursor through a sort on a field
// some members leave empty: empty values are not stored, so they sort
// first ascending, last descending, and every member comes exactly once.
func TestSortWithAbsentValues(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a := testAccount(t, s, 10)
	names := []string{"", "b", "A", "", "c", "B", "", "a"}
	for i, n := range names {
		testMember(t, s, a.ID, fmt.Sprintf("u%d@example.com", i), func(m *repository.Member) { m.Name.GivenName = n })
	}
	for _, desc := range []bool{false, true} {
		t.Run(fmt.Sprintf("desc=%v", desc), func(t *testing.T) {
			full, err := s.ListMembers(ctx, a.ID, repository.Query{SortBy: repository.MemberGivenName, SortDesc: desc, Count: 100})
			mustNil(t, err, "list all")
			var keys []string
			for _, m := range full.Items {
				keys = append(keys, fold(m.Name.GivenName))
			}
			want := []string{"", "", "", "a", "a", "b", "b", "c"}
			if desc {
				slices.Reverse(want)
			}
			if !slices.Equal(keys, want) {
				t.Errorf("order %q, want %q", keys, want)
			}
			var paged []string
			cursor := ""
			for range 10 {
				p, err := s.ListMembers(ctx, a.ID, repository.Query{SortBy: repository.MemberGivenName, SortDesc: desc, Count: 3, Cursor: cursor})
				mustNil(t, err, "list a page")
				for _, m := range p.Items {
					paged = append(paged, m.ID)
				}
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			var all []string
			for _, m := range full.Items {
				all = append(all, m.ID)
			}
			if !slices.Equal(paged, all) {
				t.Errorf("pages by cursor:\n got  %v\n want %v", paged, all)
			}
		})
	}
}

// TestDocumentShape pins how a member is stored: the tenancy key, the
// lowered shadows, the always-present externalId key, and empty values
// left out of what queries compare.
func TestDocumentShape(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a := testAccount(t, s, 10)
	m := testMember(t, s, a.ID, "Mixed.Case@Example.com", func(m *repository.Member) {
		m.Roles = []string{"Agent", ""}
		m.Emails = append(m.Emails, repository.Email{Value: "Home@Example.com", Type: "Home"})
	})
	var doc bson.M
	mustNil(t, s.members.FindOne(ctx, bson.D{{Key: "_id", Value: m.ID}}).Decode(&doc), "read the document")
	for field, want := range map[string]any{
		"accountId":     a.ID,
		"userName":      "Mixed.Case@Example.com",
		"userNameLower": "mixed.case@example.com",
		"externalIdKey": "\x00" + m.ID,
		"rolesLower":    bson.A{"agent"},
	} {
		if got := doc[field]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %#v, want %#v", field, got, want)
		}
	}
	for _, absent := range []string{"externalId", "titleLower", "managerId"} {
		if _, ok := doc[absent]; ok {
			t.Errorf("empty %s is stored", absent)
		}
	}
	var d memberDoc
	mustNil(t, s.members.FindOne(ctx, bson.D{{Key: "_id", Value: m.ID}}).Decode(&d), "read the document")
	if len(d.Emails) != 2 || d.Emails[1].ValueLower != "home@example.com" || d.Emails[1].TypeLower != "home" {
		t.Errorf("emails stored as %+v", d.Emails)
	}
	if _, ok := doc["createdAt"].(bson.DateTime); !ok {
		t.Errorf("createdAt stored as %T, want a BSON date", doc["createdAt"])
	}
}

// TestIndexesStartWithAccount checks every index on account data starts
// with accountId, apart from the deployment-wide lookups and sweepers.
func TestIndexesStartWithAccount(t *testing.T) {
	s := newStore(t)
	deploymentWide := map[string]bool{
		"_id_": true, "account_name": true, "token_hash": true, "session_hash": true, "invitation_token": true,
		"session_expiry": true, "replay_expiry": true, "outbox_due": true, "outbox_oldest": true,
		"one_time_expiry": true, "signing_key_expiry": true, "throttle_expiry": true,
	}
	seen := map[string]bool{}
	for coll := range indexes() {
		specs, err := s.db.Collection(coll).Indexes().ListSpecifications(t.Context())
		mustNil(t, err, "list indexes of "+coll)
		for _, sp := range specs {
			seen[sp.Name] = true
			if deploymentWide[sp.Name] {
				continue
			}
			var keys bson.D
			mustNil(t, bson.Unmarshal(sp.KeysDocument, &keys), "decode keys")
			if len(keys) == 0 || keys[0].Key != "accountId" {
				t.Errorf("%s index %s starts with %v, not accountId", coll, sp.Name, keys)
			}
		}
	}
	for coll, specs := range indexes() {
		for _, sp := range specs {
			if !seen[sp.name] && !(sp.ttl && s.IsFerretDB()) {
				t.Errorf("%s index %s was not created", coll, sp.name)
			}
		}
	}
}

// TestMembershipFilters checks filters through the edge collection agree
// with the edges, including value filters the edge documents answer
// without $elemMatch on every server.
func TestMembershipFilters(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a := testAccount(t, s, 10)
	var ids []string
	for i := range 4 {
		ids = append(ids, testMember(t, s, a.ID, fmt.Sprintf("m%d@example.com", i)).ID)
	}
	g1, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "One",
		Members: []repository.GroupMember{{MemberID: ids[0]}, {MemberID: ids[1]}}})
	mustNil(t, err, "create group")
	g2, err := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "Two",
		Members: []repository.GroupMember{{MemberID: ids[1]}, {MemberID: ids[2]}}})
	mustNil(t, err, "create group")
	grp := func(op repository.Op, v any) repository.Compare {
		return repository.Compare{Field: repository.MemberGroupID, Op: op, Value: v}
	}
	tests := []struct {
		name   string
		filter repository.Filter
		want   []string
	}{
		{"value filter with or", repository.Any{Attr: "groups", Filter: repository.Or{grp(repository.OpEq, g1.ID), grp(repository.OpEq, g2.ID)}}, ids[:3]},
		{"value filter with and of ne", repository.Any{Attr: "groups", Filter: repository.And{grp(repository.OpNe, g1.ID), grp(repository.OpPr, nil)}}, ids[1:3]},
		{"ne", grp(repository.OpNe, g2.ID), []string{ids[0], ids[3]}},
		{"not eq within or", repository.Or{repository.Not{Filter: grp(repository.OpEq, g1.ID)}, grp(repository.OpEq, g1.ID)}, ids},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.ListMembers(ctx, a.ID, repository.Query{Filter: tt.filter, Count: 10})
			mustNil(t, err, "list members")
			var got []string
			for _, m := range p.Items {
				got = append(got, m.ID)
			}
			if !slices.Equal(got, tt.want) || p.Total != len(tt.want) {
				t.Errorf("got %v (total %d), want %v", got, p.Total, tt.want)
			}
		})
	}
}

// TestUseOnceReplacesExpired checks an expired key can be used again and
// a live one cannot.
func TestUseOnceReplacesExpired(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	mustNil(t, s.UseOnce(ctx, "k", time.Now().Add(-time.Second)), "use a key that is already expired")
	mustNil(t, s.UseOnce(ctx, "k", time.Now().Add(time.Minute)), "reuse the expired key")
	if err := s.UseOnce(ctx, "k", time.Now().Add(time.Minute)); !errors.Is(err, repository.ErrReplayed) {
		t.Errorf("reuse of a live key: %v, want ErrReplayed", err)
	}
}
