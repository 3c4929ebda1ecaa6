package provisioning

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// linkEnv is one account on a real SQLite store, with a service that has
// a base URL and an outbox the test reads.
type linkEnv struct {
	t     *testing.T
	ctx   context.Context
	s     *Service
	store repository.Store
	clock *testClock
	acct  CreatedAccount
	id    string
	owner Actor
	// outboxAt is the clock of outbox reads, ahead of every message.
	outboxAt time.Time
}

// plainStore is a store seen as one without transactions.
type plainStore struct{ repository.Store }

func (plainStore) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
func (plainStore) Transactional() bool                                            { return false }

func newLinkEnv(t *testing.T, seats int, exhaustion string) *linkEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &testClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	s := New(st, WithClock(clock.Now), WithBaseURL("https://roster.example.com/"))
	e := &linkEnv{t: t, ctx: ctx, s: s, store: st, clock: clock, outboxAt: time.Now().Add(time.Hour)}
	e.acct, err = s.CreateAccount(ctx, CreateAccountInput{Name: "Acme", OwnerEmail: "olive@acme.example",
		OwnerGivenName: "Olive", OwnerFamilyName: "Owner", Seats: seats, BaseURL: "https://roster.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.id = e.acct.Account.ID
	e.owner = Actor{Kind: repository.ActorMember, ID: e.acct.Owner.ID, RequestID: "req-owner"}
	if _, err := s.ChangeSeats(ctx, e.owner, e.id, SeatChange{Exhaustion: &exhaustion}); err != nil {
		t.Fatal(err)
	}
	return e
}

// person is an invitee with both names.
func (e *linkEnv) person(email string, roles ...string) repository.Member {
	local, _, _ := strings.Cut(email, "@")
	return repository.Member{AccountID: e.id, UserName: email, Name: repository.Name{GivenName: local, FamilyName: "Tester"},
		DisplayName: local + " Tester", Roles: roles}
}

func (e *linkEnv) invite(email string, roles ...string) Invited {
	e.t.Helper()
	inv, err := e.s.Invite(e.ctx, e.owner, e.person(email, roles...))
	if err != nil {
		e.t.Fatalf("invite %s: %v", email, err)
	}
	return inv
}

// emails returns the emails enqueued since the last call, marking them
// sent.
func (e *linkEnv) emails() []repository.OutboxMessage {
	e.t.Helper()
	e.outboxAt = e.outboxAt.Add(time.Hour)
	msgs, err := e.store.ClaimEmails(e.ctx, e.outboxAt, e.outboxAt.Add(time.Minute), 10_000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range msgs {
		if err := e.store.MarkEmailSent(e.ctx, m.AccountID, m.ID, e.outboxAt); err != nil {
			e.t.Fatal(err)
		}
	}
	return msgs
}

var linkRE = regexp.MustCompile(`https://roster\.example\.com/invite/([A-Za-z0-9_-]+)`)

// onlyLink returns the token of the one email enqueued since the last
// read, checking its recipient.
func (e *linkEnv) onlyLink(to string) string {
	e.t.Helper()
	msgs := e.emails()
	if len(msgs) != 1 || msgs[0].To != to {
		e.t.Fatalf("emails %+v, want one to %s", msgs, to)
	}
	m := linkRE.FindStringSubmatch(msgs[0].Text)
	if m == nil || !strings.Contains(msgs[0].HTML, m[0]) {
		e.t.Fatalf("email without the link in both parts: %s", msgs[0].Text)
	}
	return m[1]
}

func (e *linkEnv) member(id string) repository.Member {
	e.t.Helper()
	m, err := e.store.GetMember(e.ctx, e.id, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

const goodPassword = "correct horse battery"

func TestInviteAndAccept(t *testing.T) {
	e := newLinkEnv(t, 3, repository.SeatExhaustionQueue)
	e.emails() // none yet: the owner's link is printed, not emailed
	inv := e.invite("Jane@Acme.example", RoleAgent)

	m := e.member(inv.Member.ID)
	if m.Status != repository.StatusInvited || !m.Active || m.Source != repository.SourceInvitation ||
		m.UserName != "jane@acme.example" || m.SeatStatus != repository.SeatAssigned || m.PasswordHash != "" {
		t.Errorf("invited member = %+v", m)
	}
	if inv.Invitation.InvitedBy != e.owner.ID || !inv.Invitation.ExpiresAt.Equal(e.clock.Now().Add(7*24*time.Hour)) {
		t.Errorf("invitation = %+v", inv.Invitation)
	}
	msgs := e.emails()
	if len(msgs) != 1 || msgs[0].To != "Jane@Acme.example" || !strings.Contains(msgs[0].Subject, "Olive Owner invited you to Acme") {
		t.Fatalf("emails = %+v", msgs)
	}
	token := linkRE.FindStringSubmatch(msgs[0].Text)[1]
	if inv.Invitation.TokenHash != HashToken(token) || strings.Contains(inv.Invitation.TokenHash, token) {
		t.Errorf("stored hash %s is not the token's hash", inv.Invitation.TokenHash)
	}

	d, err := e.s.LookupInvitation(e.ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if d.AccountName != "Acme" || d.InviterName != "Olive Owner" || d.Email != "Jane@Acme.example" || d.Name != "Jane Tester" ||
		d.Kind != repository.InvitationInvite || d.ExternalSSO {
		t.Errorf("details = %+v", d)
	}

	pending, err := e.s.PendingInvitations(e.ctx, e.id)
	if err != nil || len(pending) != 2 { // the owner's and Jane's
		t.Fatalf("pending = %+v, %v", pending, err)
	}

	wantCode(t, ignore(e.s.AcceptInvitation(e.ctx, token, "short", "r1")), CodeInvalidValue)
	wantCode(t, ignore(e.s.AcceptInvitation(e.ctx, token, "jane@acme.example", "r1")), CodeInvalidValue)
	got, err := e.s.AcceptInvitation(e.ctx, token, goodPassword, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != repository.StatusActive || !CheckPassword(got.PasswordHash, goodPassword) || got.MustChangePassword {
		t.Errorf("accepted member = %+v", got)
	}
	gone := wantCode(t, ignore(e.s.AcceptInvitation(e.ctx, token, goodPassword, "r2")), CodeInvitationGone)
	if !strings.Contains(gone.Message, "already accepted") {
		t.Errorf("second accept: %s", gone.Message)
	}
	if pending, _ := e.s.PendingInvitations(e.ctx, e.id); len(pending) != 1 {
		t.Errorf("pending after accept = %d, want the owner's only", len(pending))
	}
	page, err := e.store.ListAudit(e.ctx, e.id, repository.AuditQuery{Action: "invitation.accept"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ActorID != m.ID || page.Items[0].RequestID != "r1" {
		t.Errorf("accept audit = %+v, %v", page.Items, err)
	}
}

// ignore keeps the error of a two-value call.
func ignore[T any](_ T, err error) error { return err }

func TestInviteRefusals(t *testing.T) {
	e := newLinkEnv(t, 1, repository.SeatExhaustionReject)
	// A recruiter may invite, and holds the reporter's permissions only.
	if _, err := e.s.CreateRole(e.ctx, e.owner, e.id, repository.Role{AccountID: e.id, Key: "recruiter", DisplayName: "Recruiter",
		Permissions: []string{PermTeamInvite, PermReportsView, PermReportsExport}}); err != nil {
		t.Fatal(err)
	}
	// A role the recruiter may give, with an optional permission it may not.
	if _, err := e.s.CreateRole(e.ctx, e.owner, e.id, repository.Role{AccountID: e.id, Key: "report_reader", DisplayName: "Report reader",
		Permissions: []string{PermReportsView}, OptionalPermissions: []string{PermReportsPayments}}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.s.CreateMember(e.ctx, e.owner, repository.Member{AccountID: e.id, UserName: "rec@acme.example", Active: true, Roles: []string{"recruiter"}})
	if err != nil {
		t.Fatal(err)
	}
	recruiter := Actor{Kind: repository.ActorMember, ID: rec.ID}
	e.invite("agent1@acme.example", RoleAgent) // takes the only seat
	e.emails()
	before, _ := e.store.ListMembers(e.ctx, e.id, repository.Query{})

	cases := []struct {
		name  string
		actor Actor
		m     repository.Member
		code  Code
		attr  string
		want  string
	}{
		{"existing member's email", e.owner, e.person("OLIVE@acme.example"), CodeConflict, "email", "OLIVE@acme.example already exists"},
		{"invalid email", e.owner, e.person("not-an-email"), CodeInvalidValue, "email", "not a valid email"},
		{"display-name address", e.owner, e.person("Jane <jane@acme.example>"), CodeInvalidValue, "email", ""},
		{"no first name", e.owner, repository.Member{AccountID: e.id, UserName: "x@acme.example", Name: repository.Name{FamilyName: "X"}}, CodeInvalidValue, "name.givenName", "firstName"},
		{"unknown role", e.owner, e.person("y@acme.example", "wizard"), CodeInvalidValue, "roles", "unknown role"},
		{"role beyond the inviter", recruiter, e.person("z@acme.example", RoleAdministrator), CodeForbidden, "roles", "administrator"},
		{"default role beyond the inviter", recruiter, e.person("z@acme.example"), CodeForbidden, "roles", `"agent"`},
		{"seats exhausted under reject", e.owner, e.person("agent2@acme.example", RoleAgent), CodeSeatLimitReached, "roles", "1 of 1 agent seats in use"},
		{"optional permission beyond the inviter", recruiter, func() repository.Member {
			m := e.person("w@acme.example", "report_reader")
			m.OptionalPermissions = []repository.RolePermission{{Role: "report_reader", Permission: PermReportsPayments}}
			return m
		}(), CodeForbidden, "optionalPermissions", PermReportsPayments},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.Invite(e.ctx, tc.actor, tc.m)
			pe := wantCode(t, err, tc.code)
			if pe.Attribute != tc.attr || !strings.Contains(pe.Message, tc.want) {
				t.Errorf("error %+v, want attribute %q and %q", pe, tc.attr, tc.want)
			}
		})
	}
	after, _ := e.store.ListMembers(e.ctx, e.id, repository.Query{})
	if after.Total != before.Total {
		t.Errorf("members %d -> %d after refusals", before.Total, after.Total)
	}
	if msgs := e.emails(); len(msgs) != 0 {
		t.Errorf("refusals sent %d emails", len(msgs))
	}
	// What the recruiter holds, it may grant.
	if _, err := e.s.Invite(e.ctx, recruiter, e.person("r2@acme.example", RoleReporter)); err != nil {
		t.Errorf("recruiter inviting a reporter: %v", err)
	}
	// An address an identity provider gave a member under another userName.
	if _, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id, UserName: "jdoe", Active: true,
		Roles: []string{RoleReporter}, Emails: []repository.Email{{Value: "jdoe@acme.example", Primary: true}}}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ignore(e.s.Invite(e.ctx, e.owner, e.person("JDoe@acme.example"))), CodeConflict)
}

func TestResendFreshLinkRevoke(t *testing.T) {
	e := newLinkEnv(t, 1, repository.SeatExhaustionQueue)
	a := e.invite("a@acme.example", RoleAgent)
	b := e.invite("b@acme.example", RoleAgent)
	if e.member(a.Member.ID).SeatStatus != repository.SeatAssigned || e.member(b.Member.ID).SeatStatus != repository.SeatQueued {
		t.Fatalf("seats: a %s, b %s", e.member(a.Member.ID).SeatStatus, e.member(b.Member.ID).SeatStatus)
	}
	e.emails()

	t.Run("resend is rate limited", func(t *testing.T) {
		wantCode(t, ignore(e.s.ResendInvitation(e.ctx, e.owner, e.id, a.Invitation.ID)), CodeRateLimited)
	})

	var oldToken string
	t.Run("resend kills the old link", func(t *testing.T) {
		e.clock.Advance(2 * time.Minute)
		// The token of the first email is needed: get one by a fresh link.
		link, _, err := e.s.FreshInvitationLink(e.ctx, e.owner, e.id, a.Invitation.ID)
		if err != nil {
			t.Fatal(err)
		}
		if msgs := e.emails(); len(msgs) != 0 {
			t.Errorf("a fresh link sent %d emails", len(msgs))
		}
		oldToken = InvitationLinkToken(link)
		if _, err := e.s.LookupInvitation(e.ctx, oldToken); err != nil {
			t.Fatalf("fresh link does not work: %v", err)
		}
		info, err := e.s.ResendInvitation(e.ctx, e.owner, e.id, a.Invitation.ID)
		if err != nil {
			t.Fatal(err)
		}
		if info.Invitation.SendCount != 2 || !info.Invitation.SentAt.Equal(e.clock.Now()) {
			t.Errorf("after resend: %+v", info.Invitation)
		}
		newToken := e.onlyLink("a@acme.example")
		pe := wantCode(t, ignore(e.s.LookupInvitation(e.ctx, oldToken)), CodeInvitationGone)
		if !strings.Contains(pe.Message, "Ask an administrator") {
			t.Errorf("dead link message: %s", pe.Message)
		}
		if _, err := e.s.LookupInvitation(e.ctx, newToken); err != nil {
			t.Errorf("new link: %v", err)
		}
	})

	t.Run("five emails a day", func(t *testing.T) {
		for i := 3; i <= 5; i++ {
			e.clock.Advance(2 * time.Minute)
			if _, err := e.s.ResendInvitation(e.ctx, e.owner, e.id, a.Invitation.ID); err != nil {
				t.Fatalf("resend %d: %v", i, err)
			}
		}
		e.clock.Advance(2 * time.Minute)
		pe := wantCode(t, ignore(e.s.ResendInvitation(e.ctx, e.owner, e.id, a.Invitation.ID)), CodeRateLimited)
		if !strings.Contains(pe.Message, "5 times") {
			t.Errorf("daily limit message: %s", pe.Message)
		}
		e.clock.Advance(24 * time.Hour)
		if _, err := e.s.ResendInvitation(e.ctx, e.owner, e.id, a.Invitation.ID); err != nil {
			t.Errorf("resend the next day: %v", err)
		}
		if got := len(e.emails()); got != 4 {
			t.Errorf("%d emails, want 4", got)
		}
	})

	t.Run("expired links say so and a resend revives them", func(t *testing.T) {
		e.clock.Advance(8 * 24 * time.Hour)
		link, _, err := e.s.FreshInvitationLink(e.ctx, e.owner, e.id, b.Invitation.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(7*24*time.Hour + time.Second)
		pe := wantCode(t, ignore(e.s.LookupInvitation(e.ctx, InvitationLinkToken(link))), CodeInvitationGone)
		if !strings.Contains(pe.Message, "expired") || !strings.Contains(pe.Message, "new invitation") {
			t.Errorf("expired message: %s", pe.Message)
		}
		pending, _ := e.s.PendingInvitations(e.ctx, e.id)
		i := slices.IndexFunc(pending, func(p InvitationInfo) bool { return p.Invitation.ID == b.Invitation.ID })
		if i < 0 || !pending[i].Expired {
			t.Errorf("pending = %+v", pending)
		}
		if _, err := e.s.ResendInvitation(e.ctx, e.owner, e.id, b.Invitation.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.LookupInvitation(e.ctx, e.onlyLink("b@acme.example")); err != nil {
			t.Errorf("revived link: %v", err)
		}
	})

	t.Run("revoke deletes the member and frees its seat", func(t *testing.T) {
		if err := e.s.RevokeInvitation(e.ctx, e.owner, e.id, a.Invitation.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.GetMember(e.ctx, e.id, a.Member.ID); err == nil {
			t.Error("revoked member still exists")
		}
		if got := e.member(b.Member.ID).SeatStatus; got != repository.SeatAssigned {
			t.Errorf("queued member's seat after revoke = %s, want assigned", got)
		}
		wantCode(t, e.s.RevokeInvitation(e.ctx, e.owner, e.id, a.Invitation.ID), CodeInvitationGone)
		wantCode(t, ignore(e.s.ResendInvitation(e.ctx, e.owner, e.id, a.Invitation.ID)), CodeInvitationGone)
		wantCode(t, ignore(e.s.LookupInvitation(e.ctx, oldToken)), CodeInvitationGone)
		wantCode(t, ignore(e.s.ResendInvitation(e.ctx, e.owner, e.id, "nope")), CodeNotFound)
	})

	t.Run("the owner's invitation cannot be revoked", func(t *testing.T) {
		pending, _ := e.s.PendingInvitations(e.ctx, e.id)
		i := slices.IndexFunc(pending, func(p InvitationInfo) bool { return p.Member.ID == e.acct.Owner.ID })
		if i < 0 {
			t.Fatal("owner invitation not pending")
		}
		wantCode(t, e.s.RevokeInvitation(e.ctx, e.owner, e.id, pending[i].Invitation.ID), CodeOwnerProtected)
		if inv, _ := e.store.GetInvitation(e.ctx, e.id, pending[i].Invitation.ID); !inv.RevokedAt.IsZero() {
			t.Error("the owner's invitation was revoked")
		}
	})
}

func TestOwnerInvitationAndActivation(t *testing.T) {
	e := newLinkEnv(t, 2, repository.SeatExhaustionQueue)
	token := InvitationLinkToken(e.acct.OwnerInvitationURL)
	d, err := e.s.LookupInvitation(e.ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if d.InviterName != "" || d.MemberID != e.acct.Owner.ID || d.AccountName != "Acme" {
		t.Errorf("owner invitation = %+v", d)
	}
	owner, err := e.s.AcceptInvitation(e.ctx, token, goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if owner.Status != repository.StatusActive {
		t.Errorf("owner status %s", owner.Status)
	}

	// A member created directly with an activation email.
	created, err := e.s.CreateMemberWithActivation(e.ctx, e.owner, repository.Member{AccountID: e.id, UserName: "sam",
		Name: repository.Name{GivenName: "Sam"}, Roles: []string{RoleReporter},
		Emails: []repository.Email{{Value: "sam@acme.example", Type: "work", Primary: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Member.Status != repository.StatusActive || created.Invitation.Kind != repository.InvitationActivation {
		t.Errorf("activation: member %s, kind %s", created.Member.Status, created.Invitation.Kind)
	}
	msgs := e.emails()
	if len(msgs) != 1 || msgs[0].To != "sam@acme.example" || !strings.Contains(msgs[0].Text, "sam") {
		t.Fatalf("activation emails = %+v", msgs)
	}
	tok := linkRE.FindStringSubmatch(msgs[0].Text)[1]
	if d, err := e.s.LookupInvitation(e.ctx, tok); err != nil || d.Kind != repository.InvitationActivation {
		t.Fatalf("activation link: %+v, %v", d, err)
	}
	sam, err := e.s.AcceptInvitation(e.ctx, tok, goodPassword, "")
	if err != nil || !CheckPassword(sam.PasswordHash, goodPassword) {
		t.Fatalf("activate: %+v, %v", sam, err)
	}
	// Revoking an activation link keeps the member.
	again, err := e.s.CreateMemberWithActivation(e.ctx, e.owner, repository.Member{AccountID: e.id, UserName: "kim@acme.example",
		Roles: []string{RoleReporter}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.RevokeInvitation(e.ctx, e.owner, e.id, again.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	if m := e.member(again.Member.ID); m.Status != repository.StatusActive {
		t.Errorf("member after its activation link was revoked: %s", m.Status)
	}
}

func TestExternalSSOInvitation(t *testing.T) {
	e := newLinkEnv(t, 2, repository.SeatExhaustionQueue)
	p := e.person("sso@acme.example", RoleReporter)
	p.Profile.ExternalSSO = true
	inv, err := e.s.Invite(e.ctx, e.owner, p)
	if err != nil {
		t.Fatal(err)
	}
	token := e.onlyLink("sso@acme.example")
	d, err := e.s.LookupInvitation(e.ctx, token)
	if err != nil || !d.ExternalSSO {
		t.Fatalf("details %+v, %v", d, err)
	}
	pe := wantCode(t, ignore(e.s.AcceptInvitation(e.ctx, token, goodPassword, "")), CodeSSORequired)
	if !strings.Contains(pe.Message, "SSO") {
		t.Errorf("message %s", pe.Message)
	}
	m, err := e.s.AcceptInvitationBySSO(e.ctx, e.id, inv.Member.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != repository.StatusActive || m.PasswordHash != "" {
		t.Errorf("after SSO accept: %+v", m)
	}
	wantCode(t, ignore(e.s.LookupInvitation(e.ctx, token)), CodeInvitationGone)
	// Calling it again (every first login) changes nothing.
	if again, err := e.s.AcceptInvitationBySSO(e.ctx, e.id, inv.Member.ID); err != nil || again.Version != m.Version {
		t.Errorf("second SSO accept: %+v, %v", again, err)
	}
}

func TestCheckNewPassword(t *testing.T) {
	m := repository.Member{UserName: "jane.doe@acme.example", DisplayName: "Jane Doe",
		Name:   repository.Name{GivenName: "Jane", FamilyName: "Doe", Formatted: "Jane Doe"},
		Emails: []repository.Email{{Value: "jane.doe@acme.example"}}}
	cases := []struct {
		password string
		ok       bool
		want     string
	}{
		{goodPassword, true, ""},
		{"Tr0ub4dor&3-extended", true, ""},
		{"short", false, "at least 12"},
		{"elevenchars", false, "at least 12"},
		{strings.Repeat("a", 12), false, "one character repeated"},
		{strings.Repeat("é", 12), false, "one character repeated"},
		{strings.Repeat("ab", 65), false, "at most 128"},
		{strings.Repeat("é", 40), false, "72 bytes"},
		{"jane.doe@acme.example", false, "email"},
		{"JANE.DOE@ACME.EXAMPLE", false, "email"},
		{"jane doe jane", true, ""},
		{"Jane Doe ", false, "at least 12"},
		{"qwertyuiop123", false, "common"},
		{"Password1234", false, "common"},
		{"passwordpassword", false, "common"},
		{"123456123456", false, "common"},
		{"            ", false, "only spaces"},
	}
	for _, tc := range cases {
		err := CheckNewPassword(tc.password, m)
		if tc.ok {
			if err != nil {
				t.Errorf("%q refused: %v", tc.password, err)
			}
			continue
		}
		pe := AsError(err)
		if pe == nil || pe.Code != CodeInvalidValue || pe.Attribute != "password" || !strings.Contains(pe.Message, tc.want) {
			t.Errorf("%q: %v, want invalid_value mentioning %q", tc.password, err, tc.want)
		}
		if pe != nil && strings.Contains(pe.Message, tc.password) {
			t.Errorf("message echoes the password: %s", pe.Message)
		}
	}
	m.DisplayName, m.Name = "Correct Horse", repository.Name{GivenName: "Correct", FamilyName: "Horse Battery"}
	if err := CheckNewPassword("correcthorsebattery", m); err == nil {
		t.Error("the member's name was accepted as password")
	}
	if n := len(commonPasswords()); n < 300 {
		t.Errorf("only %d common passwords", n)
	}
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

func TestAccountDeletion(t *testing.T) {
	e := newLinkEnv(t, 2, repository.SeatExhaustionQueue)
	adm, err := e.s.CreateMember(e.ctx, e.owner, repository.Member{AccountID: e.id, UserName: "adm@acme.example", Active: true, Roles: []string{RoleAdministrator}})
	if err != nil {
		t.Fatal(err)
	}
	admin := Actor{Kind: repository.ActorMember, ID: adm.ID}
	wantCode(t, ignore(e.s.RequestAccountDeletion(e.ctx, admin, e.id)), CodeOwnerOnly)
	wantCode(t, ignore(e.s.RequestAccountDeletion(e.ctx, systemActorForTest, e.id)), CodeOwnerOnly)

	req, err := e.s.RequestAccountDeletion(e.ctx, e.owner, e.id)
	if err != nil {
		t.Fatal(err)
	}
	if req.SentTo != "olive@acme.example" || !req.ExpiresAt.Equal(e.clock.Now().Add(15*time.Minute)) {
		t.Errorf("request = %+v", req)
	}
	wantCode(t, ignore(e.s.RequestAccountDeletion(e.ctx, e.owner, e.id)), CodeRateLimited)
	msgs := e.emails()
	if len(msgs) != 1 || msgs[0].To != "olive@acme.example" {
		t.Fatalf("emails = %+v", msgs)
	}
	code := codeRE.FindStringSubmatch(msgs[0].Text)[1]
	acct, _ := e.store.GetAccount(e.ctx, e.id)
	if acct.Deletion.CodeHash == "" || strings.Contains(acct.Deletion.CodeHash, code) {
		t.Errorf("stored code %q", acct.Deletion.CodeHash)
	}

	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	wantCode(t, ignore(e.s.ConfirmAccountDeletion(e.ctx, admin, e.id, code, "")), CodeOwnerOnly)
	pe := wantCode(t, ignore(e.s.ConfirmAccountDeletion(e.ctx, e.owner, e.id, wrong, "")), CodeInvalidCode)
	if !strings.Contains(pe.Message, "4 attempts left") {
		t.Errorf("wrong code message: %s", pe.Message)
	}
	if a, _ := e.store.GetAccount(e.ctx, e.id); a.Deletion.Attempts != 1 {
		t.Errorf("attempts stored = %d", a.Deletion.Attempts)
	}
	del, err := e.s.ConfirmAccountDeletion(e.ctx, e.owner, e.id, code, "moving to another tool")
	if err != nil {
		t.Fatal(err)
	}
	if del.Name != "Acme" || del.Reason != "moving to another tool" {
		t.Errorf("deletion record = %+v", del)
	}
	if _, err := e.store.GetAccount(e.ctx, e.id); err == nil {
		t.Error("account still exists")
	}
	if _, err := e.s.Authenticate(e.ctx, e.acct.APIToken, repository.TokenAPI); AsError(err) == nil || AsError(err).Code != CodeUnauthenticated {
		t.Errorf("owner token after deletion: %v", err)
	}
	if _, err := e.s.LookupInvitation(e.ctx, InvitationLinkToken(e.acct.OwnerInvitationURL)); AsError(err) == nil {
		t.Errorf("owner invitation after deletion: %v", err)
	}

	t.Run("five wrong codes kill it", func(t *testing.T) {
		e := newLinkEnv(t, 2, repository.SeatExhaustionQueue)
		if _, err := e.s.RequestAccountDeletion(e.ctx, e.owner, e.id); err != nil {
			t.Fatal(err)
		}
		code := codeRE.FindStringSubmatch(e.emails()[0].Text)[1]
		wrong := "123456"
		if wrong == code {
			wrong = "654321"
		}
		for i := 1; i <= 4; i++ {
			wantCode(t, ignore(e.s.ConfirmAccountDeletion(e.ctx, e.owner, e.id, wrong, "")), CodeInvalidCode)
		}
		wantCode(t, ignore(e.s.ConfirmAccountDeletion(e.ctx, e.owner, e.id, wrong, "")), CodeTooManyAttempts)
		pe := wantCode(t, ignore(e.s.ConfirmAccountDeletion(e.ctx, e.owner, e.id, code, "")), CodeInvalidCode)
		if !strings.Contains(pe.Message, "no deletion code") {
			t.Errorf("after the code died: %s", pe.Message)
		}
		if _, err := e.store.GetAccount(e.ctx, e.id); err != nil {
			t.Errorf("account gone: %v", err)
		}
		// Expiry.
		e.clock.Advance(2 * time.Minute)
		if _, err := e.s.RequestAccountDeletion(e.ctx, e.owner, e.id); err != nil {
			t.Fatal(err)
		}
		code = codeRE.FindStringSubmatch(e.emails()[0].Text)[1]
		e.clock.Advance(16 * time.Minute)
		pe = wantCode(t, ignore(e.s.ConfirmAccountDeletion(e.ctx, e.owner, e.id, code, "")), CodeInvalidCode)
		if !strings.Contains(pe.Message, "expired") {
			t.Errorf("expired code: %s", pe.Message)
		}
	})
}

// systemActorForTest stands for Roster itself.
var systemActorForTest = Actor{Kind: repository.ActorSystem}

func TestImportMembers(t *testing.T) {
	e := newLinkEnv(t, 2, repository.SeatExhaustionReject)
	rows := []ImportRow{
		{Row: 2, Email: "lead@acme.example", FirstName: "Lee", LastName: "Lead", Roles: []string{RoleSupervisor}, CanManageTeams: true},
		{Row: 3, Email: "a1@acme.example", FirstName: "A", LastName: "One", Roles: []string{RoleAgent}, TeamLeaderEmail: "late@acme.example"},
		{Row: 4, Email: "a2@acme.example", FirstName: "A", LastName: "Two", Roles: []string{"Agent"}, Invite: true, TeamLeaderEmail: "lead@acme.example"},
		{Row: 5, Email: "a3@acme.example", FirstName: "A", LastName: "Three", Roles: []string{RoleAgent}},
		{Row: 6, Email: "A1@acme.example", FirstName: "Dup", LastName: "Row"},
		{Row: 7, Email: "bad-email", FirstName: "B", LastName: "E"},
		{Row: 8, Email: "olive@acme.example", FirstName: "O", LastName: "O"},
		{Row: 9, Email: "late@acme.example", FirstName: "Late", LastName: "Leader", Roles: []string{RoleReporter}, CanManageTeams: true},
		{Row: 10, Email: "p@acme.example", Problem: "invite must be true or false, not \"maybe\"", ProblemField: "invite"},
		{Row: 11, Email: "nolead@acme.example", FirstName: "N", LastName: "L", Roles: []string{RoleReporter}, TeamLeaderEmail: "ghost@acme.example"},
		{Row: 12, Email: "role@acme.example", FirstName: "R", LastName: "R", Roles: []string{"wizard"}},
		{Row: 13, Email: "date@acme.example", FirstName: "D", LastName: "D", StartDate: "yesterday"},
	}
	want := map[int]struct {
		status string
		field  string
	}{
		2: {ImportCreated, ""}, 3: {ImportCreated, ""}, 4: {ImportInvited, ""}, 5: {ImportFailed, "roles"},
		6: {ImportFailed, "email"}, 7: {ImportFailed, "email"}, 8: {ImportFailed, "email"}, 9: {ImportCreated, ""},
		10: {ImportFailed, "invite"}, 11: {ImportFailed, "teamLeaderEmail"}, 12: {ImportFailed, "roles"}, 13: {ImportFailed, "startDate"},
	}
	check := func(t *testing.T, res ImportResult) {
		t.Helper()
		for _, r := range res.Rows {
			w := want[r.Row]
			if r.Status != w.status || r.Field != w.field || (r.Status == ImportFailed) == (r.Message == "") {
				t.Errorf("row %d: %+v, want %s on %q", r.Row, r, w.status, w.field)
			}
		}
		if res.Created != 3 || res.Invited != 1 || res.Failed != 8 {
			t.Errorf("counts %d created, %d invited, %d failed", res.Created, res.Invited, res.Failed)
		}
	}
	count := func() int {
		page, _ := e.store.ListMembers(e.ctx, e.id, repository.Query{})
		return page.Total
	}
	before := count()

	dry, err := e.s.ImportMembers(e.ctx, e.owner, e.id, rows, ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	check(t, dry)
	if dry.Committed || count() != before || len(e.emails()) != 0 {
		t.Errorf("dry run wrote: committed %v, members %d -> %d", dry.Committed, before, count())
	}

	atomic, err := e.s.ImportMembers(e.ctx, e.owner, e.id, rows, ImportOptions{Atomic: true})
	if err != nil {
		t.Fatal(err)
	}
	if atomic.Committed || count() != before || len(e.emails()) != 0 {
		t.Errorf("failed atomic import wrote: %d -> %d", before, count())
	}
	for _, r := range atomic.Rows {
		if w := want[r.Row]; w.status != ImportFailed && (r.Status != ImportNotImported || !strings.Contains(r.Message, "all-or-nothing")) {
			t.Errorf("atomic row %d: %+v", r.Row, r)
		}
	}
	if _, err := New(plainStore{e.store}).ImportMembers(e.ctx, e.owner, e.id, rows, ImportOptions{Atomic: true}); AsError(err) == nil ||
		AsError(err).Attribute != "atomic" {
		t.Errorf("atomic on a store without transactions: %v", err)
	}

	var progress []int
	res, err := e.s.ImportMembers(e.ctx, e.owner, e.id, rows, ImportOptions{Progress: func(done, total int) {
		if total != len(rows) {
			t.Errorf("progress total %d", total)
		}
		progress = append(progress, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	check(t, res)
	if !res.Committed || count() != before+4 || len(progress) != len(rows) || progress[len(progress)-1] != len(rows) {
		t.Errorf("import: committed %v, members %d -> %d, progress %v", res.Committed, before, count(), progress)
	}
	byRow := map[int]ImportRowResult{}
	for _, r := range res.Rows {
		byRow[r.Row] = r
	}
	a1 := e.member(byRow[3].MemberID)
	late := e.member(byRow[9].MemberID)
	if a1.ManagerID != late.ID || a1.Status != repository.StatusActive || a1.SeatStatus != repository.SeatAssigned {
		t.Errorf("a1 = manager %q status %s seat %s, want leader %s", a1.ManagerID, a1.Status, a1.SeatStatus, late.ID)
	}
	a2 := e.member(byRow[4].MemberID)
	if a2.Status != repository.StatusInvited || a2.Roles[0] != RoleAgent {
		t.Errorf("a2 = %+v", a2)
	}
	if r5 := byRow[5]; r5.Code != CodeSeatLimitReached {
		t.Errorf("row 5 = %+v, want the seat limit", r5)
	}
	if msgs := e.emails(); len(msgs) != 1 || msgs[0].To != "a2@acme.example" {
		t.Errorf("import emails = %+v", msgs)
	}
	// The rows are in: importing them again reports each as taken.
	again, err := e.s.ImportMembers(e.ctx, e.owner, e.id, rows[:1], ImportOptions{})
	if err != nil || again.Rows[0].Code != CodeConflict || !strings.Contains(again.Rows[0].Message, "lead@acme.example") {
		t.Errorf("re-import: %+v, %v", again.Rows, err)
	}
}

// TestInvitationsWithoutTransactions runs the invitation life cycle on a
// store without transactions (a standalone MongoDB): each step commits
// on its own, and the compare-and-swap on the invitation keeps a link
// single use.
func TestInvitationsWithoutTransactions(t *testing.T) {
	e := newLinkEnv(t, 1, repository.SeatExhaustionQueue)
	e.s = New(plainStore{e.store}, WithClock(e.clock.Now), WithBaseURL("https://roster.example.com"))
	a := e.invite("a@acme.example", RoleAgent)
	b := e.invite("b@acme.example", RoleAgent)
	tokA := linkRE.FindStringSubmatch(e.emails()[0].Text)[1]
	if _, err := e.s.AcceptInvitation(e.ctx, tokA, goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ignore(e.s.AcceptInvitation(e.ctx, tokA, goodPassword, "")), CodeInvitationGone)
	if err := e.s.DeleteMember(e.ctx, e.owner, e.id, a.Member.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.member(b.Member.ID).SeatStatus; got != repository.SeatAssigned {
		t.Errorf("b after a left = %s", got)
	}
	if err := e.s.RevokeInvitation(e.ctx, e.owner, e.id, b.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.store.SeatsInUse(e.ctx, e.id); n != 0 {
		t.Errorf("%d seats held after revoke", n)
	}
	// A refused invitation leaves nothing behind.
	wantCode(t, ignore(e.s.Invite(e.ctx, e.owner, e.person("olive@acme.example"))), CodeConflict)
}
