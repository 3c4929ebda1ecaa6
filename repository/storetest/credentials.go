package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"InvitationCRUD", testInvitationCRUD},
		testCase{"TokenCRUD", testTokenCRUD},
		testCase{"SessionCRUD", testSessionCRUD},
	)
}

func testInvitationCRUD(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	admin := newMember(t, s, acct.ID, "admin@example.com")
	now := time.Now()

	var invs []repository.Invitation
	for i, name := range []string{"first@example.com", "second@example.com", "third@example.com"} {
		m := newMember(t, s, acct.ID, name, func(m *repository.Member) {
			m.Status, m.Source, m.Active = repository.StatusInvited, repository.SourceInvitation, false
		})
		want := repository.Invitation{
			AccountID: acct.ID,
			ID:        repository.NewID(),
			MemberID:  m.ID,
			TokenHash: unique("sha256"),
			InvitedBy: admin.ID,
			ExpiresAt: ms(now.Add(7 * 24 * time.Hour)),
			SentAt:    ms(now),
		}
		inv, err := s.CreateInvitation(ctx, want)
		must(t, err, "create invitation %d", i)
		expect(t, inv.Version, int64(1), "version of a new invitation")
		expectRecent(t, inv.CreatedAt, "new invitation CreatedAt")
		want.Meta = inv.Meta
		expectSame(t, inv, want, "CreateInvitation result")
		invs = append(invs, inv)
		// "Newest first" needs distinct creation times at millisecond
		// precision.
		time.Sleep(3 * time.Millisecond)
	}

	t.Run("Get", func(t *testing.T) {
		got, err := s.GetInvitation(ctx, acct.ID, invs[1].ID)
		must(t, err, "get invitation")
		expectSame(t, got, invs[1], "GetInvitation")
		got, err = s.GetInvitationByTokenHash(ctx, invs[2].TokenHash)
		must(t, err, "get invitation by token hash")
		expectSame(t, got, invs[2], "GetInvitationByTokenHash")
		_, err = s.GetInvitation(ctx, acct.ID, repository.NewID())
		mustIs(t, err, repository.ErrNotFound, "get unknown invitation")
		_, err = s.GetInvitationByTokenHash(ctx, "no-such-hash")
		mustIs(t, err, repository.ErrNotFound, "get invitation by unknown hash")
	})

	t.Run("ListPendingNewestFirst", func(t *testing.T) {
		list, err := s.ListInvitations(ctx, acct.ID)
		must(t, err, "list invitations")
		var ids []string
		for _, inv := range list {
			ids = append(ids, inv.ID)
		}
		expectSeq(t, ids, []string{invs[2].ID, invs[1].ID, invs[0].ID}, "pending invitations, newest first")
	})

	t.Run("Resend", func(t *testing.T) {
		// A resend replaces the token: the old link dies, the new one works.
		newHash := unique("sha256")
		updated, err := s.UpdateInvitation(ctx, acct.ID, invs[0].ID, func(inv repository.Invitation) (repository.Invitation, error) {
			inv.TokenHash = newHash
			inv.SentAt = ms(now.Add(time.Minute))
			inv.ExpiresAt = ms(now.Add(8 * 24 * time.Hour))
			return inv, nil
		})
		must(t, err, "update invitation")
		expect(t, updated.Version, int64(2), "invitation version after one update")
		_, err = s.GetInvitationByTokenHash(ctx, invs[0].TokenHash)
		mustIs(t, err, repository.ErrNotFound, "get invitation by its replaced token hash")
		got, err := s.GetInvitationByTokenHash(ctx, newHash)
		must(t, err, "get invitation by its new token hash")
		expect(t, got.ID, invs[0].ID, "invitation found by the new hash")
		expectTime(t, got.ExpiresAt, ms(now.Add(8*24*time.Hour)), "ExpiresAt after resend")
	})

	t.Run("AcceptedAndRevokedLeaveTheList", func(t *testing.T) {
		_, err := s.UpdateInvitation(ctx, acct.ID, invs[1].ID, func(inv repository.Invitation) (repository.Invitation, error) {
			inv.AcceptedAt = ms(now)
			return inv, nil
		})
		must(t, err, "accept invitation")
		_, err = s.UpdateInvitation(ctx, acct.ID, invs[2].ID, func(inv repository.Invitation) (repository.Invitation, error) {
			inv.RevokedAt = ms(now)
			return inv, nil
		})
		must(t, err, "revoke invitation")
		list, err := s.ListInvitations(ctx, acct.ID)
		must(t, err, "list invitations")
		var ids []string
		for _, inv := range list {
			ids = append(ids, inv.ID)
		}
		expectSeq(t, ids, []string{invs[0].ID}, "pending invitations after one accepted and one revoked")
		got, err := s.GetInvitation(ctx, acct.ID, invs[1].ID)
		must(t, err, "get accepted invitation")
		expectTime(t, got.AcceptedAt, ms(now), "AcceptedAt")
	})

	t.Run("UpdateAbortedByFn", func(t *testing.T) {
		before, err := s.GetInvitation(ctx, acct.ID, invs[0].ID)
		must(t, err, "get invitation")
		stop := errors.New("expired")
		_, err = s.UpdateInvitation(ctx, acct.ID, invs[0].ID, func(inv repository.Invitation) (repository.Invitation, error) {
			inv.AcceptedAt = time.Now()
			return inv, stop
		})
		mustIs(t, err, stop, "update invitation whose function fails")
		after, err := s.GetInvitation(ctx, acct.ID, invs[0].ID)
		must(t, err, "get invitation")
		expectSame(t, after, before, "invitation after an aborted update")
		_, err = s.UpdateInvitation(ctx, acct.ID, repository.NewID(), func(inv repository.Invitation) (repository.Invitation, error) {
			t.Error("update function called for an unknown invitation")
			return inv, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update unknown invitation")
	})
}

func testTokenCRUD(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	alice := newMember(t, s, acct.ID, "alice@example.com")
	bob := newMember(t, s, acct.ID, "bob@example.com")
	now := ms(time.Now())

	mk := func(kind, name, memberID string) repository.Token {
		t.Helper()
		want := repository.Token{
			AccountID: acct.ID,
			ID:        repository.NewID(),
			Kind:      kind,
			Name:      name,
			MemberID:  memberID,
			Hash:      unique("tokhash"),
			CreatedAt: now,
			ExpiresAt: now.Add(90 * 24 * time.Hour),
		}
		got, err := s.CreateToken(ctx, want)
		must(t, err, "create token %s", name)
		expectSame(t, got, want, "CreateToken result")
		return got
	}
	scim := mk(repository.TokenSCIM, "Okta", "")
	scimNever := mk(repository.TokenSCIM, "Entra", "")
	aliceAPI := mk(repository.TokenAPI, "alice script", alice.ID)
	aliceAPI2 := mk(repository.TokenAPI, "alice laptop", alice.ID)
	bobAPI := mk(repository.TokenAPI, "bob script", bob.ID)

	t.Run("ByHash", func(t *testing.T) {
		got, err := s.GetTokenByHash(ctx, aliceAPI.Hash)
		must(t, err, "get token by hash")
		expectSame(t, got, aliceAPI, "GetTokenByHash")
		_, err = s.GetTokenByHash(ctx, "no-such-hash")
		mustIs(t, err, repository.ErrNotFound, "get token by unknown hash")
	})

	t.Run("NeverExpires", func(t *testing.T) {
		noExpiry := repository.Token{AccountID: acct.ID, ID: repository.NewID(), Kind: repository.TokenSCIM, Name: "no expiry", Hash: unique("tokhash"), CreatedAt: now}
		_, err := s.CreateToken(ctx, noExpiry)
		must(t, err, "create token without expiry")
		got, err := s.GetTokenByHash(ctx, noExpiry.Hash)
		must(t, err, "get token without expiry")
		expect(t, got.ExpiresAt.IsZero(), true, "zero ExpiresAt (never) round-trips as zero")
		expect(t, got.LastUsedAt.IsZero(), true, "zero LastUsedAt round-trips as zero")
		expect(t, got.RevokedAt.IsZero(), true, "zero RevokedAt round-trips as zero")
		must(t, s.RevokeToken(ctx, acct.ID, noExpiry.ID, now), "revoke token without expiry")
	})

	t.Run("DuplicateHash", func(t *testing.T) {
		_, err := s.CreateToken(ctx, repository.Token{AccountID: acct.ID, ID: repository.NewID(), Kind: repository.TokenSCIM, Name: "copy", Hash: scim.Hash, CreatedAt: now})
		mustIs(t, err, repository.ErrConflict, "create token with an existing hash")
	})

	t.Run("List", func(t *testing.T) {
		list, err := s.ListTokens(ctx, acct.ID, repository.TokenAPI)
		must(t, err, "list API tokens")
		var ids []string
		for _, tok := range list {
			ids = append(ids, tok.ID)
			expect(t, tok.Kind, repository.TokenAPI, "kind of listed token %s", tok.Name)
		}
		expectSet(t, ids, []string{aliceAPI.ID, aliceAPI2.ID, bobAPI.ID}, "API tokens")
	})

	t.Run("Touch", func(t *testing.T) {
		at := now.Add(time.Minute)
		must(t, s.TouchToken(ctx, acct.ID, scim.ID, at), "touch token")
		got, err := s.GetTokenByHash(ctx, scim.Hash)
		must(t, err, "get token")
		expectTime(t, got.LastUsedAt, at, "LastUsedAt after touch")
		other, err := s.GetTokenByHash(ctx, scimNever.Hash)
		must(t, err, "get other token")
		expect(t, other.LastUsedAt.IsZero(), true, "LastUsedAt of a token never touched")
	})

	t.Run("Revoke", func(t *testing.T) {
		at := now.Add(2 * time.Minute)
		must(t, s.RevokeToken(ctx, acct.ID, scim.ID, at), "revoke token")
		got, err := s.GetTokenByHash(ctx, scim.Hash)
		must(t, err, "get revoked token")
		expectTime(t, got.RevokedAt, at, "RevokedAt")
		list, err := s.ListTokens(ctx, acct.ID, repository.TokenSCIM)
		must(t, err, "list SCIM tokens")
		found := false
		for _, tok := range list {
			found = found || tok.ID == scim.ID
		}
		expect(t, found, true, "revoked token still listed")
		mustIs(t, s.RevokeToken(ctx, acct.ID, repository.NewID(), at), repository.ErrNotFound, "revoke unknown token")
	})

	t.Run("RevokeMemberTokens", func(t *testing.T) {
		at := now.Add(3 * time.Minute)
		must(t, s.RevokeMemberTokens(ctx, acct.ID, alice.ID, at), "revoke alice's tokens")
		for _, tok := range []repository.Token{aliceAPI, aliceAPI2} {
			got, err := s.GetTokenByHash(ctx, tok.Hash)
			must(t, err, "get token %s", tok.Name)
			expectTime(t, got.RevokedAt, at, "RevokedAt of %s", tok.Name)
		}
		for _, tok := range []repository.Token{bobAPI, scimNever} {
			got, err := s.GetTokenByHash(ctx, tok.Hash)
			must(t, err, "get token %s", tok.Name)
			expect(t, got.RevokedAt.IsZero(), true, "token %q of someone else stays live", tok.Name)
		}
	})
}

func testSessionCRUD(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	alice := newMember(t, s, acct.ID, "alice@example.com")
	bob := newMember(t, s, acct.ID, "bob@example.com")
	now := ms(time.Now())

	mk := func(memberID string, expires time.Time) repository.Session {
		t.Helper()
		want := repository.Session{
			AccountID:    acct.ID,
			ID:           repository.NewID(),
			MemberID:     memberID,
			Hash:         unique("sesshash"),
			ConnectionID: repository.NewID(),
			AgentSeat:    true,
			CreatedAt:    now.Add(-time.Hour),
			ExpiresAt:    expires,
			LastSeenAt:   now.Add(-time.Hour),
		}
		got, err := s.CreateSession(ctx, want)
		must(t, err, "create session")
		expectSame(t, got, want, "CreateSession result")
		return got
	}
	a1 := mk(alice.ID, now.Add(8*time.Hour))
	a2 := mk(alice.ID, now.Add(8*time.Hour))
	b1 := mk(bob.ID, now.Add(8*time.Hour))
	expired1 := mk(bob.ID, now.Add(-time.Minute))
	expired2 := mk(alice.ID, now.Add(-2*time.Minute))

	t.Run("ByHash", func(t *testing.T) {
		got, err := s.GetSessionByHash(ctx, a1.Hash)
		must(t, err, "get session by hash")
		expectSame(t, got, a1, "GetSessionByHash")
		_, err = s.GetSessionByHash(ctx, "no-such-hash")
		mustIs(t, err, repository.ErrNotFound, "get session by unknown hash")
	})

	t.Run("Touch", func(t *testing.T) {
		at := now.Add(time.Minute)
		must(t, s.TouchSession(ctx, acct.ID, a1.ID, at), "touch session")
		got, err := s.GetSessionByHash(ctx, a1.Hash)
		must(t, err, "get session")
		expectTime(t, got.LastSeenAt, at, "LastSeenAt after touch")
		other, err := s.GetSessionByHash(ctx, a2.Hash)
		must(t, err, "get other session")
		expectTime(t, other.LastSeenAt, a2.LastSeenAt, "LastSeenAt of a session not touched")
	})

	t.Run("Revoke", func(t *testing.T) {
		at := now.Add(2 * time.Minute)
		must(t, s.RevokeSession(ctx, acct.ID, a2.ID, at), "revoke session")
		got, err := s.GetSessionByHash(ctx, a2.Hash)
		must(t, err, "get revoked session")
		expectTime(t, got.RevokedAt, at, "RevokedAt")
		got, err = s.GetSessionByHash(ctx, a1.Hash)
		must(t, err, "get other session")
		expect(t, got.RevokedAt.IsZero(), true, "other session of the member stays live")
		mustIs(t, s.RevokeSession(ctx, acct.ID, repository.NewID(), at), repository.ErrNotFound, "revoke unknown session")
	})

	t.Run("RevokeMemberSessions", func(t *testing.T) {
		at := now.Add(3 * time.Minute)
		must(t, s.RevokeMemberSessions(ctx, acct.ID, alice.ID, at), "revoke alice's sessions")
		got, err := s.GetSessionByHash(ctx, a1.Hash)
		must(t, err, "get session")
		if got.RevokedAt.IsZero() {
			t.Errorf("alice's session not revoked by RevokeMemberSessions")
		}
		got, err = s.GetSessionByHash(ctx, b1.Hash)
		must(t, err, "get bob's session")
		expect(t, got.RevokedAt.IsZero(), true, "bob's session stays live")
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		deleted, err := s.DeleteExpiredSessions(ctx, now)
		must(t, err, "delete expired sessions")
		var ids []string
		for _, sess := range deleted {
			ids = append(ids, sess.ID)
			want := expired1
			if sess.ID == expired2.ID {
				want = expired2
				// Alice's, revoked by RevokeMemberSessions above.
				want.RevokedAt = now.Add(3 * time.Minute)
			}
			// The caller releases what a deleted session held, so it gets
			// the whole record back.
			expectSame(t, sess, want, "session returned by DeleteExpiredSessions")
		}
		expectSet(t, ids, []string{expired1.ID, expired2.ID}, "expired sessions deleted")
		for _, sess := range []repository.Session{expired1, expired2} {
			_, err := s.GetSessionByHash(ctx, sess.Hash)
			mustIs(t, err, repository.ErrNotFound, "get an expired, deleted session")
		}
		for _, sess := range []repository.Session{a1, a2, b1} {
			_, err := s.GetSessionByHash(ctx, sess.Hash)
			must(t, err, "a session not expired (revoked or not) survives DeleteExpiredSessions")
		}
		deleted, err = s.DeleteExpiredSessions(ctx, now)
		must(t, err, "delete expired sessions again")
		expect(t, len(deleted), 0, "expired sessions deleted the second time")
	})
}
