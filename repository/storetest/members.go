package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"MemberCRUD", testMemberCRUD},
		testCase{"MemberDelete", testMemberDelete},
	)
}

// fullMember sets every field of a member to a distinct, non-zero value, so
// a field a backend forgets to store shows up in the round trip.
func fullMember(accountID, managerID string) repository.Member {
	queued := ms(time.Now().Add(-90 * time.Minute))
	return repository.Member{
		AccountID:  accountID,
		UserName:   "Ada.Lovelace@Example.com",
		ExternalID: "00u1abcdEFGH",
		Name: repository.Name{
			Formatted:       "Ms. Ada K. Lovelace III",
			FamilyName:      "Lovelace",
			GivenName:       "Ada",
			MiddleName:      "King",
			HonorificPrefix: "Ms.",
			HonorificSuffix: "III",
		},
		DisplayName:       "Ada L.",
		NickName:          "ada",
		ProfileURL:        "https://example.com/ada",
		Title:             "Tier 2 agent",
		UserType:          "Employee",
		PreferredLanguage: "en-GB",
		Locale:            "en-GB",
		Timezone:          "Europe/London",
		Active:            true,
		Status:            repository.StatusActive,
		Source:            repository.SourceSCIM,
		Emails: []repository.Email{
			{Value: "Ada.Lovelace@Example.com", Type: "work", Display: "Work", Primary: true},
			{Value: "ada@home.test", Type: "home", Display: "Home"},
		},
		PhoneNumbers: []repository.PhoneNumber{
			{Value: "+44 20 7946 0000", Type: "work", Display: "Office", Primary: true},
			{Value: "+44 7700 900000", Type: "mobile"},
		},
		Addresses: []repository.Address{{
			Formatted:     "1 Analytical St\nLondon W1 1AA\nUK",
			StreetAddress: "1 Analytical St",
			Locality:      "London",
			Region:        "Greater London",
			PostalCode:    "W1 1AA",
			Country:       "GB",
			Type:          "work",
			Primary:       true,
		}},
		EmployeeNumber:    "E-1815",
		CostCenter:        "CC-42",
		Organization:      "Engines Ltd",
		Division:          "EMEA",
		Department:        "Support",
		ManagerID:         managerID,
		PendingManagerRef: "ext-babbage",
		Roles:             []string{"administrator", "agent"},
		OptionalPermissions: []repository.RolePermission{
			{Role: "agent", Permission: "export_conversations"},
			{Role: "administrator", Permission: "manage_billing"},
		},
		Profile: repository.SupportProfile{
			Expertise:                 []string{"billing", "refunds", "émigrés"},
			OnlyAssignFromExpertise:   true,
			OnlyAssignedConversations: true,
			CanViewGroupCompanies:     true,
			ExternalSSO:               true,
			CanManageTeams:            true,
			Channels:                  []string{"chat", "email", "voice"},
			EmploymentStatus:          "part_time",
			StartDate:                 "2024-02-29",
			Bio:                       "Writes the first programs.\n\"Quotes\" and 'apostrophes' kept.",
			ImageURL:                  "https://cdn.example.com/ada.png",
			Hometown:                  "London",
			StateOrCountry:            "GB",
			ApprovalStatus:            "approved",
		},
		SeatStatus:         repository.SeatQueued,
		SeatQueuedAt:       queued,
		ManagedAttributes:  []string{"userName", "emails", "name.givenName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},
		PasswordHash:       "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		MustChangePassword: true,
	}
}

func testMemberCRUD(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	manager := newMember(t, s, acct.ID, "grace@example.com")

	want := fullMember(acct.ID, manager.ID)
	created, err := s.CreateMember(ctx, want)
	must(t, err, "create member")
	if created.ID == "" {
		t.Fatal("CreateMember did not fill an empty ID")
	}
	if created.ID == manager.ID {
		t.Fatalf("CreateMember gave two members the id %s", created.ID)
	}
	expect(t, created.Version, int64(1), "version of a new member")
	expectRecent(t, created.CreatedAt, "new member CreatedAt")
	expectRecent(t, created.UpdatedAt, "new member UpdatedAt")
	want.ID = created.ID
	want.Meta = created.Meta
	expectSame(t, created, want, "CreateMember result")

	t.Run("RoundTrip", func(t *testing.T) {
		got, err := s.GetMember(ctx, acct.ID, created.ID)
		must(t, err, "get member")
		expectSame(t, got, want, "GetMember after create")
		expect(t, got.SeatQueuedAt.UTC().Format(time.RFC3339Nano), want.SeatQueuedAt.UTC().Format(time.RFC3339Nano),
			"SeatQueuedAt at millisecond precision")

		for _, name := range []string{want.UserName, strings.ToLower(want.UserName), strings.ToUpper(want.UserName)} {
			got, err := s.GetMemberByUserName(ctx, acct.ID, name)
			must(t, err, "get member by userName %q", name)
			expectSame(t, got, want, "GetMemberByUserName(%q)", name)
		}
	})

	t.Run("KeepsGivenID", func(t *testing.T) {
		id := repository.NewID()
		m := memberFixture(acct.ID, "given-id@example.com")
		m.ID = id
		got, err := s.CreateMember(ctx, m)
		must(t, err, "create member with an id")
		expect(t, got.ID, id, "id of a member created with one")
		_, err = s.GetMember(ctx, acct.ID, id)
		must(t, err, "get member by the given id")
	})

	t.Run("ZeroValuesRoundTrip", func(t *testing.T) {
		// The zero values matter: an empty SeatQueuedAt means "not queued"
		// and Active false means deactivated.
		m := repository.Member{AccountID: acct.ID, UserName: "minimal@example.com"}
		got, err := s.CreateMember(ctx, m)
		must(t, err, "create minimal member")
		m.ID, m.Meta = got.ID, got.Meta
		back, err := s.GetMember(ctx, acct.ID, got.ID)
		must(t, err, "get minimal member")
		expectSame(t, back, m, "minimal member round trip")
	})

	t.Run("NotFound", func(t *testing.T) {
		_, err := s.GetMember(ctx, acct.ID, repository.NewID())
		mustIs(t, err, repository.ErrNotFound, "get unknown member")
		_, err = s.GetMemberByUserName(ctx, acct.ID, "nobody@example.com")
		mustIs(t, err, repository.ErrNotFound, "get unknown userName")
		_, err = s.UpdateMember(ctx, acct.ID, repository.NewID(), func(m repository.Member) (repository.Member, error) {
			t.Error("update function called for an unknown member")
			return m, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update unknown member")
		mustIs(t, s.DeleteMember(ctx, acct.ID, repository.NewID()), repository.ErrNotFound, "delete unknown member")
	})

	t.Run("Update", func(t *testing.T) {
		before, err := s.GetMember(ctx, acct.ID, created.ID)
		must(t, err, "get member")
		calls := 0
		updated, err := s.UpdateMember(ctx, acct.ID, created.ID, func(m repository.Member) (repository.Member, error) {
			calls++
			expectSame(t, m, before, "record passed to the update function")
			m.Title = "Team lead"
			m.Emails = append(m.Emails, repository.Email{Value: "ada@new.test", Type: "other"})
			m.Roles = []string{"agent"}
			m.Profile.Channels = nil
			m.SeatStatus = repository.SeatAssigned
			m.SeatQueuedAt = time.Time{}
			m.ManagedAttributes = nil
			return m, nil
		})
		must(t, err, "update member")
		expect(t, calls, 1, "update function calls without contention")
		expect(t, updated.Version, before.Version+1, "version after one update")
		expectTime(t, updated.CreatedAt, before.CreatedAt, "CreatedAt after update")
		if updated.UpdatedAt.Before(before.UpdatedAt.Truncate(time.Millisecond)) {
			t.Errorf("UpdatedAt went back: %s before %s", fmtTime(updated.UpdatedAt), fmtTime(before.UpdatedAt))
		}

		after := before
		after.Title = "Team lead"
		after.Emails = append(append([]repository.Email(nil), before.Emails...), repository.Email{Value: "ada@new.test", Type: "other"})
		after.Roles = []string{"agent"}
		after.Profile.Channels = nil
		after.SeatStatus = repository.SeatAssigned
		after.SeatQueuedAt = time.Time{}
		after.ManagedAttributes = nil
		after.Meta = updated.Meta
		expectSame(t, updated, after, "UpdateMember result")
		got, err := s.GetMember(ctx, acct.ID, created.ID)
		must(t, err, "get member after update")
		expectSame(t, got, after, "GetMember after update")

		// The new email is queryable at once: the update rewrote the
		// multi-valued index too.
		p := listMembers(t, s, acct.ID, repository.Query{
			Filter: repository.Compare{Field: repository.MemberEmailValue, Op: repository.OpEq, Value: "ADA@new.test"},
			Count:  10,
		})
		expectSeq(t, memberIDs(p.Items), []string{created.ID}, "members with the email added by an update")
		p = listMembers(t, s, acct.ID, repository.Query{
			Filter: repository.Compare{Field: repository.MemberRole, Op: repository.OpEq, Value: "administrator"},
			Count:  10,
		})
		expectSeq(t, memberIDs(p.Items), nil, "members with the role removed by an update")
	})

	t.Run("UpdateAbortedByFn", func(t *testing.T) {
		before, err := s.GetMember(ctx, acct.ID, created.ID)
		must(t, err, "get member")
		stop := errors.New("managed by the IdP")
		_, err = s.UpdateMember(ctx, acct.ID, created.ID, func(m repository.Member) (repository.Member, error) {
			m.Title = "never stored"
			return m, stop
		})
		mustIs(t, err, stop, "update whose function fails")
		_, err = s.UpdateMember(ctx, acct.ID, created.ID, func(m repository.Member) (repository.Member, error) {
			return m, repository.ErrVersionMismatch // a stale If-Match
		})
		mustIs(t, err, repository.ErrVersionMismatch, "update whose function reports a stale If-Match")
		after, err := s.GetMember(ctx, acct.ID, created.ID)
		must(t, err, "get member")
		expectSame(t, after, before, "member after aborted updates")
	})

	t.Run("UpdateChangesUserNameCase", func(t *testing.T) {
		m := newMember(t, s, acct.ID, "case@example.com")
		_, err := s.UpdateMember(ctx, acct.ID, m.ID, func(m repository.Member) (repository.Member, error) {
			m.UserName = "CASE@example.com"
			return m, nil
		})
		must(t, err, "change only the case of a userName")
		got, err := s.GetMemberByUserName(ctx, acct.ID, "case@EXAMPLE.com")
		must(t, err, "get by userName after a case change")
		expect(t, got.UserName, "CASE@example.com", "userName keeps the case it was given")
	})
}

// testMemberDelete checks DeleteMember removes the member with its edges,
// seat and sessions, and nothing of other members.
func testMemberDelete(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	now := time.Now()

	gone := newMember(t, s, acct.ID, "leaver@example.com", func(m *repository.Member) { m.ExternalID = "ext-leaver" })
	stays := newMember(t, s, acct.ID, "stayer@example.com")
	g1 := newGroup(t, s, acct.ID, "Billing", gone.ID, stays.ID)
	g2 := newGroup(t, s, acct.ID, "Refunds", gone.ID)
	must(t, s.ReserveSeat(ctx, acct.ID, gone.ID), "reserve seat")
	must(t, s.ReserveSeat(ctx, acct.ID, stays.ID), "reserve seat")
	var sessions []repository.Session
	for _, m := range []repository.Member{gone, gone, stays} {
		sess, err := s.CreateSession(ctx, repository.Session{
			AccountID: acct.ID, ID: repository.NewID(), MemberID: m.ID, Hash: unique("sess"),
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now,
		})
		must(t, err, "create session")
		sessions = append(sessions, sess)
	}

	must(t, s.DeleteMember(ctx, acct.ID, gone.ID), "delete member")

	_, err := s.GetMember(ctx, acct.ID, gone.ID)
	mustIs(t, err, repository.ErrNotFound, "get deleted member")
	_, err = s.GetMemberByUserName(ctx, acct.ID, gone.UserName)
	mustIs(t, err, repository.ErrNotFound, "get deleted member by userName")
	mustIs(t, s.DeleteMember(ctx, acct.ID, gone.ID), repository.ErrNotFound, "delete a member twice")

	expectSeq(t, allGroupMembers(t, s, acct.ID, g1.ID, 10), []string{stays.ID}, "members of a group after deleting one")
	expectSeq(t, allGroupMembers(t, s, acct.ID, g2.ID, 10), nil, "members of a group whose only member was deleted")
	expectSeq(t, groupsOf(t, s, acct.ID, gone.ID), nil, "groups of a deleted member")
	expectSeq(t, groupsOf(t, s, acct.ID, stays.ID), []string{g1.ID}, "groups of the remaining member")
	p := listMembers(t, s, acct.ID, repository.Query{
		Filter: repository.Compare{Field: repository.MemberGroupID, Op: repository.OpEq, Value: g1.ID}, Count: 10,
	})
	expectSeq(t, memberIDs(p.Items), []string{stays.ID}, "members filtered by group after a delete")
	expect(t, p.Total, 1, "total members of the group after a delete")

	held, err := s.HoldsSeat(ctx, acct.ID, gone.ID)
	must(t, err, "holds seat")
	expect(t, held, false, "deleted member holds a seat")
	n, err := s.SeatsInUse(ctx, acct.ID)
	must(t, err, "seats in use")
	expect(t, n, 1, "seats in use after deleting one of two holders")

	for i, sess := range sessions[:2] {
		got, err := s.GetSessionByHash(ctx, sess.Hash)
		if err == nil && got.RevokedAt.IsZero() {
			t.Errorf("session %d of the deleted member is still live", i)
		} else if err != nil && !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("session %d of the deleted member: unexpected error %v", i, err)
		}
	}
	got, err := s.GetSessionByHash(ctx, sessions[2].Hash)
	must(t, err, "session of the remaining member")
	expect(t, got.RevokedAt.IsZero(), true, "session of the remaining member is live")

	// Its userName and externalId are free again.
	_, err = s.CreateMember(ctx, repository.Member{AccountID: acct.ID, UserName: "LEAVER@example.com", ExternalID: "ext-leaver"})
	must(t, err, "create a member with a deleted member's userName and externalId")
}
