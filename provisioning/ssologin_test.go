package provisioning

import (
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// loginEnv is a ruleEnv with an enabled SSO connection of its account.
type loginEnv struct {
	*ruleEnv
	conn repository.SSOConnection
}

func newLoginEnv(t *testing.T, seats int, exhaustion string) *loginEnv {
	t.Helper()
	e := newRuleEnv(t, seats, exhaustion, true)
	e.s = New(e.store, WithClock(e.clock.Now), WithBaseURL("https://roster.example.com"))
	conn, err := e.store.CreateSSOConnection(e.ctx, repository.SSOConnection{
		AccountID: e.id, ID: repository.NewID(), Kind: repository.SSOOIDC, Name: "Okta",
		Domains: []string{strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + ".example"}, Enabled: true,
		Config: []byte(`{}`),
	})
	if err != nil {
		t.Fatalf("create connection: %v", err)
	}
	return &loginEnv{ruleEnv: e, conn: conn}
}

// settings changes the account's settings.
func (e *loginEnv) settings(fn func(*repository.AccountSettings)) {
	e.t.Helper()
	if _, err := e.store.UpdateAccount(e.ctx, e.id, func(a repository.Account) (repository.Account, error) {
		fn(&a.Settings)
		return a, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// links returns the member's identity links.
func (e *loginEnv) links(memberID string) []repository.IdentityLink {
	e.t.Helper()
	l, err := e.store.ListMemberIdentityLinks(e.ctx, e.id, memberID)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func TestResolveLoginByLink(t *testing.T) {
	e := newLoginEnv(t, 5, repository.SeatExhaustionQueue)
	m := e.create("ana@corp.example", RoleAgent)
	if _, err := e.store.CreateIdentityLink(e.ctx, repository.IdentityLink{
		AccountID: e.id, ConnectionID: e.conn.ID, Subject: "okta|ana", MemberID: m.ID,
	}); err != nil {
		t.Fatal(err)
	}
	// The email the IdP sends now is irrelevant: the link decides.
	got, err := e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "okta|ana", Email: "other@corp.example"}, false)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if got.ID != m.ID {
		t.Errorf("resolved %s, want %s", got.ID, m.ID)
	}
}

func TestResolveLoginByVerifiedEmail(t *testing.T) {
	for _, tc := range []struct {
		name     string
		verified bool
		allow    bool
		wantLink bool
	}{
		{"verified and allowed links", true, true, true},
		{"allowed but unverified refused", false, true, false},
		{"verified but not allowed refused", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLoginEnv(t, 5, repository.SeatExhaustionQueue)
			e.settings(func(s *repository.AccountSettings) { s.AllowEmailLinking = tc.allow })
			m := e.create("bo@corp.example", RoleAgent)
			id := ExternalIdentity{Subject: "sub-bo", Email: "BO@corp.example", EmailVerified: tc.verified, RequestID: "req-sso"}
			// JIT is on: a member found by email must never be duplicated.
			got, err := e.s.ResolveLogin(e.ctx, e.conn, id, true)
			if !tc.wantLink {
				pe := wantCode(t, err, CodeNotProvisioned)
				if !strings.Contains(pe.Message, "Ask your administrator") {
					t.Errorf("message %q does not say what to do", pe.Message)
				}
				if n := len(e.links(m.ID)); n != 0 {
					t.Errorf("%d links made", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if got.ID != m.ID {
				t.Fatalf("resolved %s, want %s", got.ID, m.ID)
			}
			links := e.links(m.ID)
			if len(links) != 1 || links[0].Subject != "sub-bo" || links[0].ConnectionID != e.conn.ID {
				t.Fatalf("links %+v", links)
			}
			if ev := e.events("member.login_linked"); len(ev) != 1 || ev[0].RequestID != "req-sso" || ev[0].TargetID != m.ID {
				t.Errorf("audit %+v", ev)
			}
			// A second subject of the same IdP with the same address (a
			// recycled mailbox) does not take the member over.
			_, err = e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-new-hire", Email: "bo@corp.example", EmailVerified: true}, true)
			wantCode(t, err, CodeNotProvisioned)
		})
	}
}

func TestResolveLoginNeverCrossesAccounts(t *testing.T) {
	e := newLoginEnv(t, 5, repository.SeatExhaustionQueue)
	e.settings(func(s *repository.AccountSettings) { s.AllowEmailLinking = true })
	other := newTestAccount(t, e.s, "Other Corp")
	victim, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: other.Account.ID,
		UserName: "ceo@other.example", Active: true, Roles: []string{RoleAdministrator}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpdateAccount(e.ctx, other.Account.ID, func(a repository.Account) (repository.Account, error) {
		a.Settings.AllowEmailLinking = true
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	id := ExternalIdentity{Subject: "evil", Email: "ceo@other.example", EmailVerified: true}
	// Without JIT: not provisioned in the connection's account.
	_, err = e.s.ResolveLogin(e.ctx, e.conn, id, false)
	wantCode(t, err, CodeNotProvisioned)
	// With JIT: a new member of the connection's own account, never the
	// other account's.
	got, err := e.s.ResolveLogin(e.ctx, e.conn, id, true)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if got.AccountID != e.id || got.ID == victim.ID {
		t.Fatalf("resolved %s/%s, the other account's member is %s/%s", got.AccountID, got.ID, other.Account.ID, victim.ID)
	}
	links, err := e.store.ListMemberIdentityLinks(e.ctx, other.Account.ID, victim.ID)
	if err != nil || len(links) != 0 {
		t.Errorf("victim links %v, %v", links, err)
	}
}

func TestResolveLoginJIT(t *testing.T) {
	e := newLoginEnv(t, 5, repository.SeatExhaustionQueue)
	id := ExternalIdentity{Subject: "sub-cy", Email: "cy@corp.example", GivenName: "Cy", FamilyName: "Lee", DisplayName: "Cy L.", RequestID: "req-jit"}
	m, err := e.s.ResolveLogin(e.ctx, e.conn, id, true)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if m.Source != repository.SourceJIT || m.UserName != "cy@corp.example" || !m.Profile.ExternalSSO ||
		m.Name.GivenName != "Cy" || m.DisplayName != "Cy L." || !slices.Equal(m.Roles, []string{RoleAgent}) {
		t.Errorf("JIT member %+v", m)
	}
	// The default role consumes a seat: the seat rules applied.
	e.wantSeat(m.ID, repository.SeatAssigned)
	if l := e.links(m.ID); len(l) != 1 || l[0].Subject != "sub-cy" {
		t.Errorf("links %+v", l)
	}
	if ev := e.events("member.create"); len(ev) == 0 || ev[len(ev)-1].TargetID != m.ID {
		t.Errorf("no member.create audit for the JIT member")
	}
	// The next login follows the link.
	again, err := e.s.ResolveLogin(e.ctx, e.conn, id, true)
	if err != nil || again.ID != m.ID {
		t.Errorf("second login: %v, %v", again.ID, err)
	}
}

func TestResolveLoginJITSeatsFullRejected(t *testing.T) {
	e := newLoginEnv(t, 1, repository.SeatExhaustionReject)
	e.create("first@corp.example", RoleAgent) // takes the only seat
	_, err := e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-late", Email: "late@corp.example"}, true)
	pe := wantCode(t, err, CodeSeatLimitReached)
	if !strings.Contains(pe.Message, "1 of 1 agent seats in use") || !strings.Contains(pe.Message, "Ask your administrator") {
		t.Errorf("message %q", pe.Message)
	}
	if _, err := e.store.GetMemberByUserName(e.ctx, e.id, "late@corp.example"); err == nil {
		t.Error("a member was created")
	}
	if l, err := e.store.GetIdentityLink(e.ctx, e.id, e.conn.ID, "sub-late"); err == nil {
		t.Errorf("a link was created: %+v", l)
	}
}

func TestResolveLoginNotProvisioned(t *testing.T) {
	e := newLoginEnv(t, 5, repository.SeatExhaustionQueue)
	_, err := e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-x", Email: "x@corp.example", EmailVerified: true}, false)
	pe := wantCode(t, err, CodeNotProvisioned)
	if pe.Message != "not provisioned: ask your administrator to give you access" {
		t.Errorf("message %q", pe.Message)
	}
	_, err = e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: " "}, true)
	wantCode(t, err, CodeInvalidValue)
	off := e.conn
	off.Enabled = false
	_, err = e.s.ResolveLogin(e.ctx, off, ExternalIdentity{Subject: "sub-x"}, true)
	wantCode(t, err, CodeForbidden)
}

func TestResolveLoginDeactivated(t *testing.T) {
	e := newLoginEnv(t, 5, repository.SeatExhaustionQueue)
	m := e.create("dee@corp.example", RoleAgent)
	if _, err := e.store.CreateIdentityLink(e.ctx, repository.IdentityLink{
		AccountID: e.id, ConnectionID: e.conn.ID, Subject: "sub-dee", MemberID: m.ID,
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.setActive(scimActor, m.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-dee"}, true)
	wantCode(t, err, CodeMemberInactive)
}

func TestResolveLoginAcceptsInvitation(t *testing.T) {
	e := newLoginEnv(t, 5, repository.SeatExhaustionQueue)
	e.settings(func(s *repository.AccountSettings) { s.AllowEmailLinking = true })
	inv, err := e.s.Invite(e.ctx, e.admin, repository.Member{AccountID: e.id, UserName: "inv@corp.example",
		Name: repository.Name{GivenName: "In", FamilyName: "Vited"}, Active: true, Profile: repository.SupportProfile{ExternalSSO: true}})
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	if inv.Member.Status != repository.StatusInvited {
		t.Fatalf("status %s", inv.Member.Status)
	}
	m, err := e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-inv", Email: "inv@corp.example", EmailVerified: true}, false)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if m.ID != inv.Member.ID || m.Status != repository.StatusActive {
		t.Errorf("member %s status %s", m.ID, m.Status)
	}
	if ev := e.events("invitation.accept"); len(ev) != 1 {
		t.Errorf("%d invitation.accept events", len(ev))
	}
}

func TestResolveLoginGroupRoles(t *testing.T) {
	e := newLoginEnv(t, 5, repository.SeatExhaustionQueue)
	for _, g := range []repository.Group{
		{AccountID: e.id, DisplayName: "Support Supervisors", RoleKey: RoleSupervisor},
		{AccountID: e.id, DisplayName: "Reporting", ExternalID: "00g-reporters", RoleKey: RoleReporter},
		{AccountID: e.id, DisplayName: "Unmapped"},
	} {
		if _, err := e.s.CreateGroup(e.ctx, e.admin, g, nil); err != nil {
			t.Fatalf("group %s: %v", g.DisplayName, err)
		}
	}
	// JIT: the mapped role replaces the default one.
	m, err := e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-gus", Email: "gus@corp.example",
		Groups: []string{"support supervisors", "Unmapped", "Nobody"}}, true)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if !slices.Equal(m.Roles, []string{RoleSupervisor}) {
		t.Errorf("JIT roles %v, want [supervisor]", m.Roles)
	}
	// A later login with a new group (by externalId) adds its role and
	// keeps the others.
	m, err = e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-gus", Email: "gus@corp.example",
		Groups: []string{"00g-reporters"}, RequestID: "req-roles"}, true)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	got := slices.Clone(m.Roles)
	slices.Sort(got)
	if !slices.Equal(got, []string{RoleReporter, RoleSupervisor}) {
		t.Errorf("roles after second login %v", m.Roles)
	}
	if ev := e.events("member.login_roles_granted"); len(ev) != 1 || ev[0].RequestID != "req-roles" {
		t.Errorf("audit %+v", ev)
	}
	// Nothing new: no change, no event.
	if _, err := e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-gus", Groups: []string{"00g-reporters"}}, true); err != nil {
		t.Fatal(err)
	}
	if ev := e.events("member.login_roles_granted"); len(ev) != 1 {
		t.Errorf("%d grant events, want 1", len(ev))
	}
}

func TestResolveLoginGroupRoleRefusedKeepsLogin(t *testing.T) {
	e := newLoginEnv(t, 1, repository.SeatExhaustionReject)
	e.create("first@corp.example", RoleAgent) // the only seat
	if _, err := e.s.CreateGroup(e.ctx, e.admin, repository.Group{AccountID: e.id, DisplayName: "Agents", RoleKey: RoleAgent}, nil); err != nil {
		t.Fatal(err)
	}
	rep := e.create("rep@corp.example", RoleReporter)
	if _, err := e.store.CreateIdentityLink(e.ctx, repository.IdentityLink{
		AccountID: e.id, ConnectionID: e.conn.ID, Subject: "sub-rep", MemberID: rep.ID,
	}); err != nil {
		t.Fatal(err)
	}
	m, err := e.s.ResolveLogin(e.ctx, e.conn, ExternalIdentity{Subject: "sub-rep", Groups: []string{"Agents"}}, false)
	if err != nil {
		t.Fatalf("login refused: %v", err)
	}
	if !slices.Equal(m.Roles, []string{RoleReporter}) {
		t.Errorf("roles %v", m.Roles)
	}
	if ev := e.events("member.login_roles_refused"); len(ev) != 1 {
		t.Errorf("%d refusal events", len(ev))
	}
}
