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
		testCase{"AccountCRUD", testAccountCRUD},
		testCase{"AccountDelete", testAccountDelete},
	)
}

func testAccountCRUD(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()

	want := repository.Account{
		ID:     repository.NewID(),
		Name:   unique("Acme Support"),
		Status: repository.AccountActive,
		Seats: repository.SeatSettings{
			Policy:     repository.SeatPolicyConcurrent,
			Total:      25,
			Exhaustion: repository.SeatExhaustionReject,
		},
		Settings: repository.AccountSettings{
			InvitationTTL:     72 * time.Hour,
			DefaultRoleKey:    "agent",
			ProfileGuidelines: "Use your real first name.",
			AllowEmailLinking: true,
		},
	}
	created, err := s.CreateAccount(ctx, want)
	must(t, err, "create account")
	expect(t, created.Version, int64(1), "version of a new account")
	expectRecent(t, created.CreatedAt, "created account CreatedAt")
	expectRecent(t, created.UpdatedAt, "created account UpdatedAt")
	want.ID = created.ID
	want.Meta = created.Meta
	expectSame(t, created, want, "CreateAccount result")

	got, err := s.GetAccount(ctx, created.ID)
	must(t, err, "get account")
	expectSame(t, got, want, "GetAccount after create")

	t.Run("GetUnknown", func(t *testing.T) {
		_, err := s.GetAccount(ctx, repository.NewID())
		mustIs(t, err, repository.ErrNotFound, "get unknown account")
	})

	t.Run("ByNameAnyCase", func(t *testing.T) {
		for _, name := range []string{want.Name, strings.ToUpper(want.Name)} {
			got, err := s.GetAccountByName(ctx, name)
			must(t, err, "get account by name %q", name)
			expectSame(t, got, want, "GetAccountByName")
		}
		_, err := s.GetAccountByName(ctx, "no such account")
		mustIs(t, err, repository.ErrNotFound, "get unknown account by name")
	})

	t.Run("DuplicateNameAnyCase", func(t *testing.T) {
		for _, name := range []string{want.Name, strings.ToUpper(want.Name), strings.ToLower(want.Name)} {
			_, err := s.CreateAccount(ctx, repository.Account{ID: repository.NewID(), Name: name, Status: repository.AccountActive})
			mustConflict(t, err, "name", "create account named %q next to %q", name, want.Name)
		}
	})

	t.Run("Update", func(t *testing.T) {
		calls := 0
		updated, err := s.UpdateAccount(ctx, created.ID, func(a repository.Account) (repository.Account, error) {
			calls++
			expect(t, a.Version, int64(1), "version passed to the update function")
			a.Settings.ProfileGuidelines = "Photos must show your face."
			a.Seats.Total = 30
			return a, nil
		})
		must(t, err, "update account")
		expect(t, calls, 1, "update function calls without contention")
		expect(t, updated.Version, int64(2), "version after one update")
		expectTime(t, updated.CreatedAt, created.CreatedAt, "CreatedAt after update")
		if updated.UpdatedAt.Before(created.UpdatedAt.Truncate(time.Millisecond)) {
			t.Errorf("UpdatedAt went back: %s before %s", fmtTime(updated.UpdatedAt), fmtTime(created.UpdatedAt))
		}
		got, err := s.GetAccount(ctx, created.ID)
		must(t, err, "get account after update")
		expect(t, got.Settings.ProfileGuidelines, "Photos must show your face.", "ProfileGuidelines after update")
		expect(t, got.Seats.Total, 30, "Seats.Total after update")
		expect(t, got.Version, int64(2), "stored version after update")
	})

	t.Run("UpdateAbortedByFn", func(t *testing.T) {
		before, err := s.GetAccount(ctx, created.ID)
		must(t, err, "get account")
		stop := errors.New("stop here")
		_, err = s.UpdateAccount(ctx, created.ID, func(a repository.Account) (repository.Account, error) {
			a.Name = "never stored"
			return a, stop
		})
		mustIs(t, err, stop, "update account whose function fails")
		after, err := s.GetAccount(ctx, created.ID)
		must(t, err, "get account")
		expectSame(t, after, before, "account after an aborted update")
	})

	t.Run("UpdateToExistingName", func(t *testing.T) {
		other := newAccount(t, s)
		_, err := s.UpdateAccount(ctx, other.ID, func(a repository.Account) (repository.Account, error) {
			a.Name = strings.ToUpper(want.Name)
			return a, nil
		})
		mustConflict(t, err, "name", "rename an account to another's name in upper case")
		got, err := s.GetAccount(ctx, other.ID)
		must(t, err, "get account")
		expect(t, got.Name, other.Name, "name after a refused rename")
		expect(t, got.Version, other.Version, "version after a refused rename")
	})

	t.Run("UpdateUnknown", func(t *testing.T) {
		_, err := s.UpdateAccount(ctx, repository.NewID(), func(a repository.Account) (repository.Account, error) {
			t.Error("update function called for an unknown account")
			return a, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update unknown account")
	})
}

// testAccountDelete fills two accounts with one record of every kind,
// deletes one, and checks that all of it is gone and the other untouched.
func testAccountDelete(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	now := time.Now()

	type seeded struct {
		account    repository.Account
		member     repository.Member
		group      repository.Group
		invitation repository.Invitation
		token      repository.Token
		session    repository.Session
		conn       repository.SSOConnection
		audit      repository.AuditEvent
		outboxID   string
	}
	seed := func(domain string) seeded {
		var x seeded
		x.account = newAccount(t, s)
		a := x.account.ID
		x.member = newMember(t, s, a, "owner@"+domain)
		_, err := s.CreateRole(ctx, repository.Role{AccountID: a, Key: "agent", DisplayName: "Agent", ConsumesSeat: true})
		must(t, err, "create role")
		x.group = newGroup(t, s, a, "Team", x.member.ID)
		must(t, s.ReserveSeat(ctx, a, x.member.ID), "reserve seat")
		x.invitation, err = s.CreateInvitation(ctx, repository.Invitation{
			AccountID: a, ID: repository.NewID(), MemberID: x.member.ID, TokenHash: unique("inv-hash"),
			ExpiresAt: now.Add(time.Hour),
		})
		must(t, err, "create invitation")
		x.token, err = s.CreateToken(ctx, repository.Token{
			AccountID: a, ID: repository.NewID(), Kind: repository.TokenSCIM, Name: "Okta", Hash: unique("tok-hash"), CreatedAt: now,
		})
		must(t, err, "create token")
		x.session, err = s.CreateSession(ctx, repository.Session{
			AccountID: a, ID: repository.NewID(), MemberID: x.member.ID, Hash: unique("sess-hash"),
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now,
		})
		must(t, err, "create session")
		x.conn, err = s.CreateSSOConnection(ctx, repository.SSOConnection{
			AccountID: a, ID: repository.NewID(), Kind: repository.SSOSAML, Name: "Okta", Domains: []string{domain}, Enabled: true,
		})
		must(t, err, "create SSO connection")
		x.audit, err = s.AppendAudit(ctx, repository.AuditEvent{
			AccountID: a, ID: repository.NewID(), Time: now, ActorKind: repository.ActorSystem, Action: "account.create",
			TargetKind: "account", TargetID: a,
		})
		must(t, err, "append audit")
		x.outboxID = repository.NewID()
		must(t, s.EnqueueEmail(ctx, repository.OutboxMessage{
			AccountID: a, ID: x.outboxID, To: "owner@" + domain, Subject: "Welcome", Text: "hi",
			CreatedAt: now, NextAttemptAt: now,
		}), "enqueue email")
		return x
	}
	doomed := seed(unique("doomed") + ".test")
	kept := seed(unique("kept") + ".test")

	must(t, s.DeleteAccount(ctx, doomed.account.ID, "moving to another vendor"), "delete account")

	t.Run("Deletion", func(t *testing.T) {
		d, err := s.GetAccountDeletion(ctx, doomed.account.ID)
		must(t, err, "get account deletion")
		expect(t, d.AccountID, doomed.account.ID, "deletion AccountID")
		expect(t, d.Name, doomed.account.Name, "deletion Name")
		expect(t, d.Reason, "moving to another vendor", "deletion Reason")
		expectRecent(t, d.DeletedAt, "deletion DeletedAt")
		_, err = s.GetAccountDeletion(ctx, kept.account.ID)
		mustIs(t, err, repository.ErrNotFound, "deletion record of an account not deleted")
	})

	t.Run("EverythingGone", func(t *testing.T) {
		a := doomed.account.ID
		_, err := s.GetAccount(ctx, a)
		mustIs(t, err, repository.ErrNotFound, "get deleted account")
		_, err = s.GetMember(ctx, a, doomed.member.ID)
		mustIs(t, err, repository.ErrNotFound, "get member of deleted account")
		_, err = s.GetMemberByUserName(ctx, a, doomed.member.UserName)
		mustIs(t, err, repository.ErrNotFound, "get member by userName of deleted account")
		p, err := s.ListMembers(ctx, a, repository.Query{Count: 10})
		if err == nil && (p.Total != 0 || len(p.Items) != 0) {
			t.Errorf("list members of deleted account: %d items, total %d", len(p.Items), p.Total)
		}
		_, err = s.GetRole(ctx, a, "agent")
		mustIs(t, err, repository.ErrNotFound, "get role of deleted account")
		_, err = s.GetGroup(ctx, a, doomed.group.ID, true)
		mustIs(t, err, repository.ErrNotFound, "get group of deleted account")
		if refs, err := s.GroupsOfMembers(ctx, a, []string{doomed.member.ID}); err == nil && len(refs[doomed.member.ID]) != 0 {
			t.Errorf("groups of a member of a deleted account: %v", refs)
		}
		if n, err := s.SeatsInUse(ctx, a); err == nil && n != 0 {
			t.Errorf("seats in use in a deleted account: %d", n)
		}
		_, err = s.GetInvitation(ctx, a, doomed.invitation.ID)
		mustIs(t, err, repository.ErrNotFound, "get invitation of deleted account")
		_, err = s.GetInvitationByTokenHash(ctx, doomed.invitation.TokenHash)
		mustIs(t, err, repository.ErrNotFound, "invitation by token hash of deleted account")
		_, err = s.GetTokenByHash(ctx, doomed.token.Hash)
		mustIs(t, err, repository.ErrNotFound, "token by hash of deleted account")
		_, err = s.GetSessionByHash(ctx, doomed.session.Hash)
		mustIs(t, err, repository.ErrNotFound, "session by hash of deleted account")
		_, err = s.GetSSOConnection(ctx, a, doomed.conn.ID)
		mustIs(t, err, repository.ErrNotFound, "get SSO connection of deleted account")
		_, err = s.GetSSOConnectionByDomain(ctx, doomed.conn.Domains[0])
		mustIs(t, err, repository.ErrNotFound, "SSO connection by domain of deleted account")
		if ev, err := s.ListAudit(ctx, a, repository.AuditQuery{Limit: 10}); err == nil && len(ev.Items) != 0 {
			t.Errorf("audit of deleted account: %d events", len(ev.Items))
		}
		pending, _, err := s.OutboxStats(ctx)
		must(t, err, "outbox stats")
		expect(t, pending, 1, "pending emails after deleting one of two accounts (only the kept account's)")
	})

	t.Run("OtherAccountUntouched", func(t *testing.T) {
		a := kept.account.ID
		_, err := s.GetAccount(ctx, a)
		must(t, err, "get kept account")
		_, err = s.GetMember(ctx, a, kept.member.ID)
		must(t, err, "get member of kept account")
		_, err = s.GetRole(ctx, a, "agent")
		must(t, err, "get role of kept account")
		expectSeq(t, groupsOf(t, s, a, kept.member.ID), []string{kept.group.ID}, "groups of kept member")
		held, err := s.HoldsSeat(ctx, a, kept.member.ID)
		must(t, err, "holds seat")
		expect(t, held, true, "kept member holds its seat")
		_, err = s.GetInvitationByTokenHash(ctx, kept.invitation.TokenHash)
		must(t, err, "invitation of kept account")
		tok, err := s.GetTokenByHash(ctx, kept.token.Hash)
		must(t, err, "token of kept account")
		expect(t, tok.RevokedAt.IsZero(), true, "kept token not revoked")
		_, err = s.GetSessionByHash(ctx, kept.session.Hash)
		must(t, err, "session of kept account")
		_, err = s.GetSSOConnectionByDomain(ctx, kept.conn.Domains[0])
		must(t, err, "SSO connection of kept account")
		ev, err := s.ListAudit(ctx, a, repository.AuditQuery{Limit: 10})
		must(t, err, "audit of kept account")
		expect(t, len(ev.Items), 1, "audit events of kept account")
	})

	t.Run("NameReusable", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, repository.Account{ID: repository.NewID(), Name: doomed.account.Name, Status: repository.AccountActive})
		must(t, err, "create an account with a deleted account's name")
	})

	t.Run("DeleteAgain", func(t *testing.T) {
		err := s.DeleteAccount(ctx, doomed.account.ID, "again")
		mustIs(t, err, repository.ErrNotFound, "delete an account already deleted")
		err = s.DeleteAccount(ctx, repository.NewID(), "never existed")
		mustIs(t, err, repository.ErrNotFound, "delete unknown account")
	})
}
