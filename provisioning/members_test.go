package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

// scimActor is a SCIM client acting for the account.
var scimActor = Actor{Kind: repository.ActorSCIMToken, ID: "tok-1", RequestID: "req-1"}

// wantCode fails unless err is a rule error with code.
func wantCode(t *testing.T, err error, code Code) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	return e
}

func TestCreateMemberRules(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSQLiteService(t)
	acct := newTestAccount(t, s, "Rules")
	base := func(userName string) repository.Member {
		return repository.Member{AccountID: acct.Account.ID, UserName: userName, Active: true}
	}

	t.Run("defaults and normalisation", func(t *testing.T) {
		m := base("  ada@rules.example ")
		m.ID = "chosen-by-caller"
		m.SeatStatus, m.SeatQueuedAt = repository.SeatQueued, time.Unix(1, 0)
		m.Emails = []repository.Email{{Value: " a@x.example ", Primary: true}, {Value: ""}, {Value: "b@x.example", Primary: true}}
		m.Profile = repository.SupportProfile{EmploymentStatus: "Full Time", StartDate: "2024-03-01T09:00:00Z",
			Channels: []string{" Chat", "chat", "EMAIL"}, Expertise: []string{"Billing", "billing ", ""}}
		got, err := s.CreateMember(ctx, scimActor, m)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == "chosen-by-caller" || got.ID == "" {
			t.Errorf("id %q", got.ID)
		}
		if got.UserName != "ada@rules.example" || got.Status != repository.StatusActive || got.Source != repository.SourceSCIM {
			t.Errorf("identity %+v", got)
		}
		// Computed, not taken from the caller: the default role (agent)
		// takes one of the account's free seats.
		if got.SeatStatus != repository.SeatAssigned || !got.SeatQueuedAt.IsZero() {
			t.Errorf("seat status %q queued at %v, want assigned", got.SeatStatus, got.SeatQueuedAt)
		}
		if !slices.Equal(got.Roles, []string{RoleAgent}) {
			t.Errorf("default role: %v", got.Roles)
		}
		if len(got.Emails) != 2 || got.Emails[0].Value != "a@x.example" || !got.Emails[0].Primary || got.Emails[1].Primary {
			t.Errorf("emails %+v", got.Emails)
		}
		p := got.Profile
		if p.EmploymentStatus != EmploymentFullTime || p.StartDate != "2024-03-01" ||
			!slices.Equal(p.Channels, []string{"chat", "email"}) || !slices.Equal(p.Expertise, []string{"Billing"}) {
			t.Errorf("profile %+v", p)
		}
	})

	t.Run("roles by key or display name", func(t *testing.T) {
		m := base("roles@rules.example")
		m.Roles = []string{"Administrator", "AGENT", "bot_trainer", "administrator"}
		got, err := s.CreateMember(ctx, scimActor, m)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Roles, []string{RoleAdministrator, RoleAgent, RoleBotTrainer}) {
			t.Errorf("roles %v", got.Roles)
		}
	})

	t.Run("inactive at creation", func(t *testing.T) {
		m := base("off@rules.example")
		m.Active = false
		got, err := s.CreateMember(ctx, scimActor, m)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != repository.StatusDeactivated {
			t.Errorf("status %q", got.Status)
		}
	})

	bad := []struct {
		name   string
		change func(*repository.Member)
		attr   string
		text   string
	}{
		{"empty userName", func(m *repository.Member) { m.UserName = "  " }, "userName", "required"},
		{"control character", func(m *repository.Member) { m.UserName = "a\nb" }, "userName", "control"},
		{"long userName", func(m *repository.Member) { m.UserName = strings.Repeat("x", 300) }, "userName", "256"},
		{"unknown role", func(m *repository.Member) { m.Roles = []string{"pilot"} }, "roles", "supervisor"},
		{"employment status", func(m *repository.Member) { m.Profile.EmploymentStatus = "sometimes" }, "employmentStatus", "full_time"},
		{"start date", func(m *repository.Member) { m.Profile.StartDate = "01/02/2024" }, "startDate", "2024-03-01"},
		{"own manager by externalId", func(m *repository.Member) { m.ExternalID = "me"; m.ManagerID = "me" }, "manager", "own manager"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			m := base("bad@rules.example")
			tc.change(&m)
			_, err := s.CreateMember(ctx, scimActor, m)
			e := wantCode(t, err, CodeInvalidValue)
			if e.Attribute != tc.attr || !strings.Contains(e.Message, tc.text) {
				t.Errorf("attribute %q message %q", e.Attribute, e.Message)
			}
		})
	}

	t.Run("uniqueness", func(t *testing.T) {
		m := base("UNIQUE@rules.example")
		m.ExternalID = "U-1"
		if _, err := s.CreateMember(ctx, scimActor, m); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateMember(ctx, scimActor, base("unique@RULES.example"))
		if e := AsError(err); e == nil || e.Code != CodeConflict || e.Attribute != "userName" {
			t.Errorf("userName: %v", err)
		}
		m2 := base("other@rules.example")
		m2.ExternalID = "U-1"
		_, err = s.CreateMember(ctx, scimActor, m2)
		if e := AsError(err); e == nil || e.Code != CodeConflict || e.Attribute != "externalId" {
			t.Errorf("externalId: %v", err)
		}
	})
}

func TestMemberLifecycleAndAudit(t *testing.T) {
	ctx := context.Background()
	s, store, clock := openSQLiteService(t)
	acct := newTestAccount(t, s, "Life")
	accountID := acct.Account.ID
	m, err := s.CreateMember(ctx, scimActor, repository.Member{AccountID: accountID, UserName: "life@x.example", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := store.CreateSession(ctx, repository.Session{AccountID: accountID, ID: repository.NewID(), MemberID: m.ID,
		Hash: "h-" + m.ID, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	set := func(active bool, title string) func(repository.Member) (repository.Member, error) {
		return func(m repository.Member) (repository.Member, error) {
			m.Active, m.Title = active, title
			return m, nil
		}
	}
	off, err := s.UpdateMember(ctx, scimActor, accountID, m.ID, nil, set(false, "Gone"))
	if err != nil {
		t.Fatal(err)
	}
	if off.Status != repository.StatusDeactivated || off.Version != m.Version+1 {
		t.Errorf("deactivated: status %q version %d", off.Status, off.Version)
	}
	got, err := store.GetSessionByHash(ctx, sess.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt.IsZero() {
		t.Errorf("the session survived the deactivation")
	}
	on, err := s.UpdateMember(ctx, scimActor, accountID, m.ID, IfVersion{off.Version}, set(true, "Back"))
	if err != nil {
		t.Fatal(err)
	}
	if on.Status != repository.StatusActive {
		t.Errorf("reactivated: status %q", on.Status)
	}
	// A change to nothing writes nothing.
	same, err := s.UpdateMember(ctx, scimActor, accountID, m.ID, nil, set(true, "Back"))
	if err != nil {
		t.Fatal(err)
	}
	if same.Version != on.Version {
		t.Errorf("no-op update bumped the version %d -> %d", on.Version, same.Version)
	}
	// A stale If-Match fails and changes nothing.
	_, err = s.UpdateMember(ctx, scimActor, accountID, m.ID, IfVersion{off.Version}, set(true, "Stale"))
	wantCode(t, err, CodeVersionMismatch)
	// A password change is audited without the hash.
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateMember(ctx, scimActor, accountID, m.ID, nil, func(m repository.Member) (repository.Member, error) {
		m.PasswordHash = hash
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMember(ctx, scimActor, accountID, m.ID, IfVersion{1}); err == nil {
		t.Fatal("delete with a stale If-Match succeeded")
	}
	if err := s.DeleteMember(ctx, scimActor, accountID, m.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetMember(ctx, accountID, m.ID); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}

	events, err := store.ListAudit(ctx, accountID, repository.AuditQuery{TargetID: m.ID, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events.Items {
		actions = append(actions, e.Action)
		if e.ActorKind != repository.ActorSCIMToken || e.ActorID != "tok-1" || e.RequestID != "req-1" || e.TargetKind != "member" {
			t.Errorf("event %+v", e)
		}
		if strings.Contains(string(e.Diff), hash) || strings.Contains(string(e.Diff), "correct horse") {
			t.Errorf("the audit log holds the password: %s", e.Diff)
		}
	}
	slices.Reverse(actions) // newest first
	want := []string{"member.create", "member.deactivate", "member.reactivate", "member.update", "member.delete"}
	if !slices.Equal(actions, want) {
		t.Fatalf("actions %v, want %v", actions, want)
	}
	var diff map[string]struct{ Before, After any }
	if err := json.Unmarshal(events.Items[3].Diff, &diff); err != nil { // the deactivation
		t.Fatal(err)
	}
	if diff["Active"].Before != true || diff["Active"].After != nil || diff["Title"].After != "Gone" || diff["Status"].After != "deactivated" {
		t.Errorf("deactivation diff %s", events.Items[3].Diff)
	}
	if _, ok := diff["UserName"]; ok {
		t.Errorf("an unchanged field is in the diff: %s", events.Items[3].Diff)
	}
	diff = nil
	if err := json.Unmarshal(events.Items[1].Diff, &diff); err != nil { // the password change
		t.Fatal(err)
	}
	if _, ok := diff["Password"]; !ok || len(diff) != 1 {
		t.Errorf("password diff %s", events.Items[1].Diff)
	}
}

func TestTeamHierarchy(t *testing.T) {
	ctx := context.Background()
	s, store, _ := openSQLiteService(t)
	acct := newTestAccount(t, s, "Tree")
	other := newTestAccount(t, s, "Elsewhere")
	accountID := acct.Account.ID
	create := func(userName, externalID, manager string) repository.Member {
		t.Helper()
		m, err := s.CreateMember(ctx, scimActor, repository.Member{AccountID: accountID, UserName: userName,
			ExternalID: externalID, ManagerID: manager, Active: true})
		if err != nil {
			t.Fatalf("create %s: %v", userName, err)
		}
		return m
	}
	get := func(id string) repository.Member {
		t.Helper()
		m, err := store.GetMember(ctx, accountID, id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	setManager := func(id, ref string) error {
		_, err := s.UpdateMember(ctx, scimActor, accountID, id, nil, func(m repository.Member) (repository.Member, error) {
			m.ManagerID = ref
			return m, nil
		})
		return err
	}

	// c waits for "AD-B", b waits for "AD-A"; a arrives, then b gets its
	// externalId: both links resolve.
	b := create("b@tree.example", "", "AD-A")
	c := create("c@tree.example", "", "AD-B")
	if got := get(b.ID); got.PendingManagerRef != "AD-A" || got.ManagerID != "" {
		t.Fatalf("pending: %+v", got)
	}
	a := create("a@tree.example", "AD-A", "")
	if got := get(b.ID); got.ManagerID != a.ID || got.PendingManagerRef != "" {
		t.Errorf("b's manager %q pending %q", got.ManagerID, got.PendingManagerRef)
	}
	if _, err := s.UpdateMember(ctx, scimActor, accountID, b.ID, nil, func(m repository.Member) (repository.Member, error) {
		m.ExternalID = "AD-B"
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := get(c.ID); got.ManagerID != b.ID {
		t.Errorf("c's manager %q, want b", got.ManagerID)
	}
	// By id works as well; unchanged references stay resolved.
	d := create("d@tree.example", "", c.ID)
	if d.ManagerID != c.ID {
		t.Errorf("d's manager %q", d.ManagerID)
	}
	// a -> (nothing); b -> a; c -> b; d -> c. Making a report to d closes a loop.
	wantCode(t, setManager(a.ID, d.ID), CodeInvalidValue)
	wantCode(t, setManager(a.ID, "AD-A"), CodeInvalidValue) // itself, by externalId
	// A member of another account never becomes a manager.
	if err := setManager(d.ID, other.Owner.ID); err != nil {
		t.Fatal(err)
	}
	if got := get(d.ID); got.ManagerID != "" || got.PendingManagerRef != other.Owner.ID {
		t.Errorf("cross-account manager: %+v", got)
	}
	// A pending link that would close a loop stays pending: e waits for
	// "AD-F", f arrives reporting to e.
	e := create("e@tree.example", "", "AD-F")
	f := create("f@tree.example", "AD-F", e.ID)
	if got := get(e.ID); got.ManagerID != "" || got.PendingManagerRef != "AD-F" {
		t.Errorf("e: manager %q pending %q", got.ManagerID, got.PendingManagerRef)
	}
	if f.ManagerID != e.ID {
		t.Errorf("f's manager %q", f.ManagerID)
	}
	// Deleting b clears it from c.
	if err := s.DeleteMember(ctx, scimActor, accountID, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := get(c.ID); got.ManagerID != "" {
		t.Errorf("c still reports to a deleted member")
	}
}

func TestPasswords(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2") || strings.Contains(h, "horse") {
		t.Errorf("hash %q", h)
	}
	h2, _ := HashPassword("correct horse battery staple")
	if h == h2 {
		t.Errorf("two hashes of one password are equal: no salt")
	}
	if !CheckPassword(h, "correct horse battery staple") || CheckPassword(h, "wrong") || CheckPassword("", "") {
		t.Errorf("CheckPassword")
	}
	for _, bad := range []string{"", strings.Repeat("p", 73)} {
		_, err := HashPassword(bad)
		wantCode(t, err, CodeInvalidValue)
	}
}

func TestIdPLocks(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	managed := []string{"active", "department", "displayName", "roles", "userName"}
	m, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id, UserName: "idp@locks.example",
		DisplayName: "From the IdP", Department: "Support", Active: true, ManagedAttributes: managed})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.ManagedAttributes, managed) {
		t.Fatalf("managed attributes %v", m.ManagedAttributes)
	}
	locked := []struct {
		attr string
		fn   func(*repository.Member)
	}{
		{"displayName", func(m *repository.Member) { m.DisplayName = "Edited" }},
		{"department", func(m *repository.Member) { m.Department = "Sales" }},
		{"active", func(m *repository.Member) { m.Active = false }},
		{"roles", func(m *repository.Member) { m.Roles = []string{RoleSupervisor} }},
		{"userName", func(m *repository.Member) { m.UserName = "other@locks.example" }},
	}
	for _, tc := range locked {
		t.Run(tc.attr, func(t *testing.T) {
			_, err := e.update(e.admin, m.ID, tc.fn)
			pe := wantCode(t, err, CodeManagedByIdP)
			if pe.Attribute != tc.attr || !strings.Contains(pe.Message, "identity provider") {
				t.Errorf("attribute %q message %q", pe.Attribute, pe.Message)
			}
		})
	}
	// The rest stays editable in the app, and the admin API cannot lift
	// the locks.
	got, err := e.update(e.admin, m.ID, func(m *repository.Member) {
		m.Profile.Hometown = "Arlington"
		m.Title = "Lead"
		m.ManagedAttributes = nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Profile.Hometown != "Arlington" || got.Title != "Lead" || !slices.Equal(got.ManagedAttributes, managed) {
		t.Errorf("after an admin edit: %+v", got)
	}
	// The identity provider itself, and the system, change what it manages.
	if _, err := e.update(scimActor, m.ID, func(m *repository.Member) { m.DisplayName = "Renamed in Okta" }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.update(systemActor, m.ID, func(m *repository.Member) { m.Department = "Success" }); err != nil {
		t.Fatal(err)
	}
	// A member the admin API creates has no locks, whatever it sends.
	own, err := e.s.CreateMember(e.ctx, e.admin, repository.Member{AccountID: e.id, UserName: "app@locks.example",
		Active: true, ManagedAttributes: []string{"displayName"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(own.ManagedAttributes) != 0 || own.Source != repository.SourceAdmin {
		t.Errorf("admin-created member: managed %v source %q", own.ManagedAttributes, own.Source)
	}
	if _, err := e.update(e.admin, own.ID, func(m *repository.Member) { m.DisplayName = "Mine"; m.Active = false }); err != nil {
		t.Errorf("edit an admin-created member: %v", err)
	}
}

func TestDeactivateVersusDelete(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	m := e.create("life@del.example", RoleAgent, RoleReporter)
	g, err := e.s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Team"}, []string{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	newSession := func() repository.Session {
		t.Helper()
		sess, err := e.store.CreateSession(e.ctx, repository.Session{AccountID: e.id, ID: repository.NewID(), MemberID: m.ID,
			Hash: repository.NewID(), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return sess
	}
	sess := newSession()
	token, _, err := e.s.MintToken(e.ctx, e.id, repository.TokenAPI, "script", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	listed := func() bool {
		page, err := e.store.ListMembers(e.ctx, e.id, repository.Query{
			Filter: repository.Compare{Field: repository.MemberUserName, Op: repository.OpEq, Value: "life@del.example"}, Count: 5})
		if err != nil {
			t.Fatal(err)
		}
		return page.Total == 1
	}
	inGroup := func() bool {
		groups, err := e.store.GroupsOfMembers(e.ctx, e.id, []string{m.ID})
		if err != nil {
			t.Fatal(err)
		}
		return len(groups[m.ID]) == 1 && groups[m.ID][0].GroupID == g.ID
	}

	// Deactivation keeps the member, its roles and groups; its seat,
	// sessions and tokens go.
	if err := e.setActive(scimActor, m.ID, false); err != nil {
		t.Fatal(err)
	}
	off := e.get(m.ID)
	if off.Status != repository.StatusDeactivated || !slices.Equal(off.Roles, []string{RoleAgent, RoleReporter}) || !listed() || !inGroup() {
		t.Errorf("deactivated: %+v", off)
	}
	e.wantSeat(m.ID, repository.SeatNone)
	if got, _ := e.store.GetSessionByHash(e.ctx, sess.Hash); got.RevokedAt.IsZero() {
		t.Errorf("the session survived the deactivation")
	}
	_, err = e.s.Authenticate(e.ctx, token, repository.TokenAPI)
	wantCode(t, err, CodeUnauthenticated)

	// Reactivation restores it with its roles and takes a seat again.
	if err := e.setActive(scimActor, m.ID, true); err != nil {
		t.Fatal(err)
	}
	on := e.get(m.ID)
	if on.Status != repository.StatusActive || !slices.Equal(on.Roles, []string{RoleAgent, RoleReporter}) || !inGroup() {
		t.Errorf("reactivated: %+v", on)
	}
	e.wantSeat(m.ID, repository.SeatAssigned)

	// Deletion removes it from every listing and frees its identifiers,
	// seat and sessions.
	sess = newSession()
	if err := e.s.DeleteMember(e.ctx, scimActor, e.id, m.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.GetMember(e.ctx, e.id, m.ID); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if listed() || inGroup() {
		t.Errorf("a deleted member is still listed")
	}
	if held, _ := e.store.HoldsSeat(e.ctx, e.id, m.ID); held || e.summary().Used != 0 {
		t.Errorf("the seat survived the deletion")
	}
	if got, err := e.store.GetSessionByHash(e.ctx, sess.Hash); err == nil && got.RevokedAt.IsZero() {
		t.Errorf("the session survived the deletion")
	}
	again := e.create("life@del.example")
	if again.ID == m.ID {
		t.Errorf("the deleted member came back")
	}

	var actions []string
	page, err := e.store.ListAudit(e.ctx, e.id, repository.AuditQuery{TargetID: m.ID, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range page.Items {
		actions = append(actions, ev.Action)
	}
	slices.Reverse(actions)
	if want := []string{"member.create", "member.deactivate", "member.reactivate", "member.delete"}; !slices.Equal(actions, want) {
		t.Errorf("actions %v, want %v", actions, want)
	}
}
