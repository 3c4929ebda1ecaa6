package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"TenantIsolation", testTenantIsolation})
}

// tenant is one account of the isolation case with one record of every
// kind; both tenants use identical names, emails and external ids.
type tenant struct {
	account repository.Account
	member  repository.Member
	peer    repository.Member // a second member, never in a group at first
	group   repository.Group
	inv     repository.Invitation
	token   repository.Token
	apiTok  repository.Token
	session repository.Session
	conn    repository.SSOConnection
	emailID string
}

func newTenant(t *testing.T, s repository.Store, domain string) tenant {
	t.Helper()
	ctx := t.Context()
	now := ms(time.Now())
	var x tenant
	var err error
	x.account = newAccount(t, s)
	a := x.account.ID
	x.member = newMember(t, s, a, "same@example.com", func(m *repository.Member) {
		m.ExternalID = "same-ext"
		m.Emails = append(m.Emails, repository.Email{Value: "shared@example.com", Type: "home"})
		m.Roles = []string{"agent"}
	})
	x.peer = newMember(t, s, a, "peer@example.com", func(m *repository.Member) { m.ManagerID = x.member.ID })
	_, err = s.CreateRole(ctx, repository.Role{AccountID: a, Key: "agent", DisplayName: "Agent"})
	must(t, err, "create role")
	g := repository.Group{AccountID: a, ID: repository.NewID(), DisplayName: "Same Group", ExternalID: "same-group-ext",
		Members: []repository.GroupMember{{MemberID: x.member.ID}}}
	x.group, err = s.CreateGroup(ctx, g)
	must(t, err, "create group")
	must(t, s.ReserveSeat(ctx, a, x.member.ID), "reserve seat")
	x.inv, err = s.CreateInvitation(ctx, repository.Invitation{AccountID: a, ID: repository.NewID(), MemberID: x.peer.ID,
		TokenHash: unique("inv"), ExpiresAt: now.Add(time.Hour)})
	must(t, err, "create invitation")
	x.token, err = s.CreateToken(ctx, repository.Token{AccountID: a, ID: repository.NewID(), Kind: repository.TokenSCIM,
		Name: "Okta", Hash: unique("tok"), CreatedAt: now})
	must(t, err, "create token")
	x.apiTok, err = s.CreateToken(ctx, repository.Token{AccountID: a, ID: repository.NewID(), Kind: repository.TokenAPI,
		Name: "script", MemberID: x.member.ID, Hash: unique("tok"), CreatedAt: now})
	must(t, err, "create API token")
	x.session, err = s.CreateSession(ctx, repository.Session{AccountID: a, ID: repository.NewID(), MemberID: x.member.ID,
		Hash: unique("sess"), CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now})
	must(t, err, "create session")
	x.conn, err = s.CreateSSOConnection(ctx, repository.SSOConnection{AccountID: a, ID: repository.NewID(),
		Kind: repository.SSOOIDC, Name: "Same IdP", Domains: []string{domain}})
	must(t, err, "create SSO connection")
	_, err = s.AppendAudit(ctx, repository.AuditEvent{AccountID: a, ID: repository.NewID(), Time: now,
		ActorKind: repository.ActorMember, ActorID: x.member.ID, Action: "member.create", TargetKind: "member", TargetID: x.member.ID})
	must(t, err, "append audit")
	x.emailID = repository.NewID()
	must(t, s.EnqueueEmail(ctx, repository.OutboxMessage{AccountID: a, ID: x.emailID, To: "same@example.com",
		Subject: "Welcome", CreatedAt: now, NextAttemptAt: now.Add(time.Hour)}), "enqueue email")
	return x
}

// testTenantIsolation uses account B's id with every id of account A and
// checks that nothing of A is returned or changed.
func testTenantIsolation(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	A := newTenant(t, s, unique("a")+".test")
	B := newTenant(t, s, unique("b")+".test")
	aID, bID := A.account.ID, B.account.ID
	noCall := func(what string) {
		t.Errorf("%s: the update function was called with a record of another account", what)
	}

	// snapshot reads A's state through A, to compare after each attempt.
	// Its fields are exported for expectSame, which reads them by
	// reflection.
	type state struct {
		Member   repository.Member
		Peer     repository.Member
		Group    repository.Group
		Edges    []string
		Role     repository.Role
		Holds    bool
		InUse    int
		Inv      repository.Invitation
		Token    repository.Token
		APIToken repository.Token
		Session  repository.Session
		Conn     repository.SSOConnection
	}
	snapshot := func() state {
		t.Helper()
		var st state
		var err error
		st.Member, err = s.GetMember(ctx, aID, A.member.ID)
		must(t, err, "get A's member")
		st.Peer, err = s.GetMember(ctx, aID, A.peer.ID)
		must(t, err, "get A's peer")
		st.Group, err = s.GetGroup(ctx, aID, A.group.ID, false)
		must(t, err, "get A's group")
		st.Edges = allGroupMembers(t, s, aID, A.group.ID, 100)
		st.Role, err = s.GetRole(ctx, aID, "agent")
		must(t, err, "get A's role")
		st.Holds, err = s.HoldsSeat(ctx, aID, A.member.ID)
		must(t, err, "A's seat")
		st.InUse, err = s.SeatsInUse(ctx, aID)
		must(t, err, "A's seats in use")
		st.Inv, err = s.GetInvitation(ctx, aID, A.inv.ID)
		must(t, err, "get A's invitation")
		st.Token, err = s.GetTokenByHash(ctx, A.token.Hash)
		must(t, err, "get A's token")
		st.APIToken, err = s.GetTokenByHash(ctx, A.apiTok.Hash)
		must(t, err, "get A's API token")
		st.Session, err = s.GetSessionByHash(ctx, A.session.Hash)
		must(t, err, "get A's session")
		st.Conn, err = s.GetSSOConnection(ctx, aID, A.conn.ID)
		must(t, err, "get A's SSO connection")
		return st
	}
	before := snapshot()
	defer func() {
		expectSame(t, snapshot(), before, "account A after every attempt through account B")
	}()

	t.Run("Members", func(t *testing.T) {
		_, err := s.GetMember(ctx, bID, A.member.ID)
		mustIs(t, err, repository.ErrNotFound, "get A's member through B")
		got, err := s.GetMemberByUserName(ctx, bID, "SAME@example.com")
		must(t, err, "get B's member by the shared userName")
		expect(t, got.ID, B.member.ID, "member found by the shared userName in B")
		_, err = s.UpdateMember(ctx, bID, A.member.ID, func(m repository.Member) (repository.Member, error) {
			noCall("update A's member through B")
			m.Title = "hijacked"
			return m, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update A's member through B")
		mustIs(t, s.DeleteMember(ctx, bID, A.member.ID), repository.ErrNotFound, "delete A's member through B")
		refs, err := s.GroupsOfMembers(ctx, bID, []string{A.member.ID, B.member.ID})
		must(t, err, "groups of members through B")
		expect(t, len(refs[A.member.ID]), 0, "groups of A's member through B")
		if r := refs[B.member.ID]; len(r) != 1 || r[0].GroupID != B.group.ID {
			t.Errorf("groups of B's member: %+v, want B's group only", r)
		}
	})

	t.Run("Queries", func(t *testing.T) {
		const (
			eq, ne, co, sw, ew = repository.OpEq, repository.OpNe, repository.OpCo, repository.OpSw, repository.OpEw
			gt, ge, lt, le, pr = repository.OpGt, repository.OpGe, repository.OpLt, repository.OpLe, repository.OpPr
		)
		filters := []repository.Filter{
			nil,
			cmp(repository.MemberUserName, eq, "same@example.com"),
			cmp(repository.MemberUserName, ne, "nobody@example.com"),
			cmp(repository.MemberUserName, co, "same"),
			cmp(repository.MemberUserName, sw, "same"),
			cmp(repository.MemberUserName, ew, "example.com"),
			cmp(repository.MemberUserName, gt, "a"),
			cmp(repository.MemberUserName, ge, "same@example.com"),
			cmp(repository.MemberUserName, lt, "z"),
			cmp(repository.MemberUserName, le, "same@example.com"),
			cmp(repository.MemberUserName, pr, nil),
			cmp(repository.MemberExternalID, eq, "same-ext"),
			cmp(repository.MemberEmailValue, eq, "shared@example.com"),
			cmp(repository.MemberEmailValue, ne, "nobody@example.com"),
			cmp(repository.MemberRole, eq, "agent"),
			cmp(repository.MemberID, eq, A.member.ID),
			cmp(repository.MemberManagerID, eq, A.member.ID),
			cmp(repository.MemberGroupID, eq, A.group.ID),
			cmp(repository.MemberGroupID, ne, A.group.ID),
			cmp(repository.MemberCreated, gt, time.Time{}),
			cmp(repository.MemberActive, eq, true),
			repository.Not{Filter: cmp(repository.MemberUserName, eq, "nobody@example.com")},
			repository.Or{cmp(repository.MemberID, eq, A.member.ID), cmp(repository.MemberID, eq, A.peer.ID)},
		}
		bMembers := []string{B.member.ID, B.peer.ID}
		for i, f := range filters {
			for _, q := range []repository.Query{
				{Filter: f, Count: 100},
				{Filter: f, Count: 1, SortBy: repository.MemberUserName},
				{Filter: f, Count: 1, StartIndex: 2},
			} {
				p, err := s.ListMembers(ctx, bID, q)
				must(t, err, "list members of B with filter %d %+v", i, f)
				for _, m := range p.Items {
					if m.AccountID != bID || !slices.Contains(bMembers, m.ID) {
						t.Errorf("filter %d %+v through B returned member %s (%s) of account %s", i, f, m.ID, m.UserName, m.AccountID)
					}
				}
				if p.Total > len(bMembers) {
					t.Errorf("filter %d %+v through B: Total %d counts another account's members", i, f, p.Total)
				}
			}
		}
		// Following a cursor of A with account B leads to B's data only.
		pa := listMembers(t, s, aID, repository.Query{Count: 1})
		if pa.NextCursor != "" {
			p, err := s.ListMembers(ctx, bID, repository.Query{Count: 10, Cursor: pa.NextCursor})
			if err == nil {
				for _, m := range p.Items {
					if m.AccountID != bID {
						t.Errorf("A's cursor used with B returned member %s of account %s", m.ID, m.AccountID)
					}
				}
			}
		}
		for _, f := range []repository.Filter{
			nil,
			cmp(repository.GroupDisplayName, eq, "same group"),
			cmp(repository.GroupExternalID, eq, "same-group-ext"),
			cmp(repository.GroupID, eq, A.group.ID),
			cmp(repository.GroupMemberID, eq, A.member.ID),
			cmp(repository.GroupMemberID, pr, nil),
		} {
			p, err := s.ListGroups(ctx, bID, repository.Query{Filter: f, Count: 100}, true)
			must(t, err, "list groups of B with %+v", f)
			for _, g := range p.Items {
				if g.AccountID != bID || g.ID != B.group.ID {
					t.Errorf("group filter %+v through B returned group %s of account %s", f, g.ID, g.AccountID)
				}
				for _, gm := range g.Members {
					if gm.MemberID != B.member.ID {
						t.Errorf("group listed through B has member %s", gm.MemberID)
					}
				}
			}
		}
	})

	t.Run("Groups", func(t *testing.T) {
		_, err := s.GetGroup(ctx, bID, A.group.ID, true)
		mustIs(t, err, repository.ErrNotFound, "get A's group through B")
		_, err = s.UpdateGroup(ctx, bID, A.group.ID, func(g repository.Group) (repository.Group, error) {
			noCall("update A's group through B")
			return g, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update A's group through B")
		mustIs(t, s.DeleteGroup(ctx, bID, A.group.ID), repository.ErrNotFound, "delete A's group through B")

		_, err = s.AddGroupMembers(ctx, bID, A.group.ID, []string{B.peer.ID})
		mustIs(t, err, repository.ErrNotFound, "add B's member to A's group through B")
		_, err = s.AddGroupMembers(ctx, bID, B.group.ID, []string{A.peer.ID})
		mustIs(t, err, repository.ErrNotFound, "add A's member to B's group")
		_, err = s.AddGroupMembers(ctx, bID, B.group.ID, []string{B.peer.ID, A.peer.ID})
		mustIs(t, err, repository.ErrNotFound, "add B's and A's members to B's group")
		expectSeq(t, allGroupMembers(t, s, bID, B.group.ID, 100), []string{B.member.ID}, "B's group after refused adds (nothing added)")
		expectSeq(t, groupsOf(t, s, aID, A.peer.ID), nil, "groups of A's peer after the attempts")

		if n, err := s.RemoveGroupMembers(ctx, bID, A.group.ID, []string{A.member.ID}); err == nil && n != 0 {
			t.Errorf("remove A's edge through B removed %d edges", n)
		} else if err != nil && !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("remove A's edge through B: %v, want ErrNotFound", err)
		}
		n, err := s.RemoveGroupMembers(ctx, bID, B.group.ID, []string{A.member.ID})
		must(t, err, "remove A's member from B's group (an absent edge)")
		expect(t, n, 0, "edges removed for another account's member")
		mustIs(t, s.ReplaceGroupMembers(ctx, bID, A.group.ID, nil), repository.ErrNotFound, "replace A's group's members through B")
		mustIs(t, s.ReplaceGroupMembers(ctx, bID, B.group.ID, []string{B.member.ID, A.peer.ID}), repository.ErrNotFound,
			"replace B's group's members with one of A's")
		expectSeq(t, allGroupMembers(t, s, bID, B.group.ID, 100), []string{B.member.ID}, "B's group after a refused replace")

		if page, err := s.ListGroupMembers(ctx, bID, A.group.ID, "", 100); err == nil && len(page) != 0 {
			t.Errorf("list A's group's members through B: %v", groupMemberIDs(page))
		} else if err != nil && !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("list A's group's members through B: %v, want ErrNotFound or nothing", err)
		}
	})

	t.Run("Roles", func(t *testing.T) {
		_, err := s.CreateRole(ctx, repository.Role{AccountID: aID, Key: "a_only", DisplayName: "A only"})
		must(t, err, "create role in A")
		_, err = s.GetRole(ctx, bID, "a_only")
		mustIs(t, err, repository.ErrNotFound, "get A's role through B")
		_, err = s.UpdateRole(ctx, bID, "a_only", func(r repository.Role) (repository.Role, error) {
			noCall("update A's role through B")
			return r, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update A's role through B")
		mustIs(t, s.DeleteRole(ctx, bID, "a_only"), repository.ErrNotFound, "delete A's role through B")
		roles, err := s.ListRoles(ctx, bID)
		must(t, err, "list B's roles")
		for _, r := range roles {
			expect(t, r.AccountID, bID, "account of B's listed role %s", r.Key)
		}
		expect(t, len(roles), 1, "roles of B")
		_, err = s.GetRole(ctx, aID, "a_only")
		must(t, err, "A's role survives")
		must(t, s.DeleteRole(ctx, aID, "a_only"), "delete A's extra role")
	})

	t.Run("Seats", func(t *testing.T) {
		// Releasing A's member through B must not free A's seat.
		if err := s.ReleaseSeat(ctx, bID, A.member.ID); err != nil && !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("release A's seat through B: %v", err)
		}
		held, err := s.HoldsSeat(ctx, bID, A.member.ID)
		if err == nil && held {
			t.Errorf("A's member holds a seat in B")
		}
		n, err := s.SeatsInUse(ctx, bID)
		must(t, err, "B's seats in use")
		expect(t, n, 1, "B's seats in use (its own member only)")
	})

	t.Run("Invitations", func(t *testing.T) {
		_, err := s.GetInvitation(ctx, bID, A.inv.ID)
		mustIs(t, err, repository.ErrNotFound, "get A's invitation through B")
		_, err = s.UpdateInvitation(ctx, bID, A.inv.ID, func(inv repository.Invitation) (repository.Invitation, error) {
			noCall("update A's invitation through B")
			return inv, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update A's invitation through B")
		list, err := s.ListInvitations(ctx, bID)
		must(t, err, "list B's invitations")
		for _, inv := range list {
			expect(t, inv.AccountID, bID, "account of B's listed invitation")
		}
		expect(t, len(list), 1, "invitations of B")
		got, err := s.GetInvitationByTokenHash(ctx, A.inv.TokenHash)
		must(t, err, "get A's invitation by hash")
		expect(t, got.AccountID, aID, "account of the invitation found by A's hash")
	})

	t.Run("TokensAndSessions", func(t *testing.T) {
		// Found by hash alone, they carry their own account.
		tok, err := s.GetTokenByHash(ctx, B.token.Hash)
		must(t, err, "get B's token by hash")
		expect(t, tok.AccountID, bID, "account of B's token")
		sess, err := s.GetSessionByHash(ctx, A.session.Hash)
		must(t, err, "get A's session by hash")
		expect(t, sess.AccountID, aID, "account of A's session")

		at := time.Now()
		if err := s.TouchToken(ctx, bID, A.token.ID, at); err != nil && !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("touch A's token through B: %v", err)
		}
		mustIs(t, s.RevokeToken(ctx, bID, A.token.ID, at), repository.ErrNotFound, "revoke A's token through B")
		must(t, s.RevokeMemberTokens(ctx, bID, A.member.ID, at), "revoke tokens of A's member through B")
		list, err := s.ListTokens(ctx, bID, repository.TokenSCIM)
		must(t, err, "list B's tokens")
		for _, tok := range list {
			expect(t, tok.AccountID, bID, "account of B's listed token")
		}
		expect(t, len(list), 1, "SCIM tokens of B")

		if err := s.TouchSession(ctx, bID, A.session.ID, at); err != nil && !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("touch A's session through B: %v", err)
		}
		mustIs(t, s.RevokeSession(ctx, bID, A.session.ID, at), repository.ErrNotFound, "revoke A's session through B")
		must(t, s.RevokeMemberSessions(ctx, bID, A.member.ID, at), "revoke sessions of A's member through B")
	})

	t.Run("SSOConnections", func(t *testing.T) {
		_, err := s.GetSSOConnection(ctx, bID, A.conn.ID)
		mustIs(t, err, repository.ErrNotFound, "get A's connection through B")
		_, err = s.UpdateSSOConnection(ctx, bID, A.conn.ID, func(c repository.SSOConnection) (repository.SSOConnection, error) {
			noCall("update A's connection through B")
			return c, nil
		})
		mustIs(t, err, repository.ErrNotFound, "update A's connection through B")
		mustIs(t, s.DeleteSSOConnection(ctx, bID, A.conn.ID), repository.ErrNotFound, "delete A's connection through B")
		list, err := s.ListSSOConnections(ctx, bID)
		must(t, err, "list B's connections")
		expect(t, len(list), 1, "connections of B")
		for _, c := range list {
			expect(t, c.ID, B.conn.ID, "B's listed connection")
		}
	})

	t.Run("Audit", func(t *testing.T) {
		for _, q := range []repository.AuditQuery{
			{Limit: 100},
			{Limit: 100, TargetID: A.member.ID},
			{Limit: 100, ActorID: A.member.ID},
			{Limit: 100, Action: "member.create"},
		} {
			p, err := s.ListAudit(ctx, bID, q)
			must(t, err, "list B's audit %+v", q)
			for _, e := range p.Items {
				if e.AccountID != bID || e.TargetID == A.member.ID {
					t.Errorf("audit of B with %+v lists event %s of account %s", q, e.ID, e.AccountID)
				}
			}
		}
	})

	t.Run("Outbox", func(t *testing.T) {
		if err := s.MarkEmailSent(ctx, bID, A.emailID, time.Now()); err != nil && !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("mark A's email sent through B: %v", err)
		}
		if err := s.MarkEmailFailed(ctx, bID, A.emailID, "hijacked", time.Now()); err != nil && !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("mark A's email failed through B: %v", err)
		}
		pending, _, err := s.OutboxStats(ctx)
		must(t, err, "outbox stats")
		expect(t, pending, 2, "pending emails (A's was not marked sent through B)")
		msgs, err := s.ClaimEmails(ctx, time.Now().Add(2*time.Hour), time.Now().Add(3*time.Hour), 10)
		must(t, err, "claim emails")
		for _, m := range msgs {
			if m.ID == A.emailID {
				expect(t, m.LastError, "", "LastError of A's email after B marked it failed")
				expect(t, m.AccountID, aID, "account of A's email")
			}
		}
		expect(t, len(msgs), 2, "claimable emails (A's and B's)")
	})
}
