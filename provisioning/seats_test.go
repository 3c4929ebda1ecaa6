package provisioning

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// nonTxStore is the SQLite store seen as a store without transactions (a
// standalone MongoDB): InTx runs fn directly, so every store call commits
// on its own and only the rules' own guards and compensations keep the
// invariants. Single-record updates stay compare-and-swap, as on MongoDB.
type nonTxStore struct{ repository.Store }

func (nonTxStore) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
func (nonTxStore) Transactional() bool                                            { return false }

// ruleEnv is one account on a real SQLite store, with an administrator
// other than the owner.
type ruleEnv struct {
	t     *testing.T
	ctx   context.Context
	s     *Service
	store repository.Store
	clock *testClock
	acct  CreatedAccount
	id    string
	// owner and admin act through the admin API.
	owner, admin Actor
	adminID      string
}

// newRuleEnv opens a store and creates an account with seats named seats
// and the given exhaustion behaviour. transactional false wraps the store
// in nonTxStore.
func newRuleEnv(t *testing.T, seats int, exhaustion string, transactional bool) *ruleEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	var store repository.Store = st
	if !transactional {
		store = nonTxStore{st}
	}
	clock := &testClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	s := New(store, WithClock(clock.Now))
	e := &ruleEnv{t: t, ctx: ctx, s: s, store: store, clock: clock}
	e.acct = newTestAccount(t, s, "Rules "+strings.ReplaceAll(t.Name(), "/", " "))
	e.id = e.acct.Account.ID
	e.owner = Actor{Kind: repository.ActorMember, ID: e.acct.Owner.ID, RequestID: "req-owner"}
	if _, err := s.ChangeSeats(ctx, e.owner, e.id, SeatChange{Total: &seats, Exhaustion: &exhaustion}); err != nil {
		t.Fatalf("set seats: %v", err)
	}
	adm := e.create("admin@rules.example", RoleAdministrator)
	e.adminID = adm.ID
	e.admin = Actor{Kind: repository.ActorMember, ID: adm.ID, RequestID: "req-admin"}
	return e
}

// systemActor stands for Roster itself (an operator command, SSO JIT).
var systemActor = Actor{Kind: repository.ActorSystem, RequestID: "req-system"}

// create makes an active member through SCIM with the given roles (none:
// the account's default, agent).
func (e *ruleEnv) create(userName string, roles ...string) repository.Member {
	e.t.Helper()
	m, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id, UserName: userName, Active: true, Roles: roles})
	if err != nil {
		e.t.Fatalf("create %s: %v", userName, err)
	}
	return m
}

// get reads a member from the store.
func (e *ruleEnv) get(id string) repository.Member {
	e.t.Helper()
	m, err := e.store.GetMember(e.ctx, e.id, id)
	if err != nil {
		e.t.Fatalf("get member %s: %v", id, err)
	}
	return m
}

// update changes a member as actor.
func (e *ruleEnv) update(actor Actor, id string, fn func(*repository.Member)) (repository.Member, error) {
	return e.s.UpdateMember(e.ctx, actor, e.id, id, nil, func(m repository.Member) (repository.Member, error) {
		fn(&m)
		return m, nil
	})
}

// setActive deactivates or reactivates a member as actor.
func (e *ruleEnv) setActive(actor Actor, id string, active bool) error {
	_, err := e.update(actor, id, func(m *repository.Member) { m.Active = active })
	return err
}

// seat returns a member's seat status and whether it holds a seat.
func (e *ruleEnv) seat(id string) (string, bool) {
	e.t.Helper()
	held, err := e.store.HoldsSeat(e.ctx, e.id, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.get(id).SeatStatus, held
}

// wantSeat fails unless member id has the seat status (and holds a seat
// exactly when assigned).
func (e *ruleEnv) wantSeat(id, status string) {
	e.t.Helper()
	got, held := e.seat(id)
	if got != status || held != (status == repository.SeatAssigned) {
		e.t.Errorf("member %s: seat status %q holding a seat %v, want %q", e.get(id).UserName, got, held, status)
	}
}

// summary reads the account's seats.
func (e *ruleEnv) summary() SeatSummary {
	e.t.Helper()
	sum, err := e.s.Seats(e.ctx, e.id)
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// events returns the account's audit events of action, oldest first.
func (e *ruleEnv) events(action string) []repository.AuditEvent {
	e.t.Helper()
	page, err := e.store.ListAudit(e.ctx, e.id, repository.AuditQuery{Action: action, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(page.Items)
	return page.Items
}

// checkSeatInvariant fails unless the seats held match the members marked
// assigned, never exceed the limit, and every queued member needs a seat.
func (e *ruleEnv) checkSeatInvariant() {
	e.t.Helper()
	acct, err := e.store.GetAccount(e.ctx, e.id)
	if err != nil {
		e.t.Fatal(err)
	}
	used, err := e.store.SeatsInUse(e.ctx, e.id)
	if err != nil {
		e.t.Fatal(err)
	}
	page, err := e.store.ListMembers(e.ctx, e.id, repository.Query{Count: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	assigned := 0
	for _, m := range page.Items {
		held, err := e.store.HoldsSeat(e.ctx, e.id, m.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		if held != (m.SeatStatus == repository.SeatAssigned) {
			e.t.Errorf("member %s: seat status %q but holding a seat %v", m.UserName, m.SeatStatus, held)
		}
		if m.SeatStatus == repository.SeatAssigned {
			assigned++
		}
		if m.SeatStatus == repository.SeatQueued && !m.Active {
			e.t.Errorf("deactivated member %s is queued", m.UserName)
		}
	}
	if used > acct.Seats.Total || used != assigned {
		e.t.Errorf("%d seats held, %d members assigned, limit %d", used, assigned, acct.Seats.Total)
	}
}

func TestNamedSeatsQueue(t *testing.T) {
	e := newRuleEnv(t, 2, repository.SeatExhaustionQueue, true)
	a := e.create("a@seats.example")
	e.clock.Advance(time.Second)
	b := e.create("b@seats.example", RoleAgent, RoleAdministrator)
	e.clock.Advance(time.Second)
	c := e.create("c@seats.example") // queued first
	e.clock.Advance(time.Second)
	d := e.create("d@seats.example") // queued second
	rep := e.create("r@seats.example", RoleReporter)

	e.wantSeat(a.ID, repository.SeatAssigned)
	e.wantSeat(b.ID, repository.SeatAssigned)
	e.wantSeat(c.ID, repository.SeatQueued)
	e.wantSeat(d.ID, repository.SeatQueued)
	e.wantSeat(rep.ID, repository.SeatNone)
	e.wantSeat(e.acct.Owner.ID, repository.SeatNone) // an administrator needs no seat
	if got := e.get(c.ID).SeatQueuedAt; !got.Equal(e.clock.Now().Add(-time.Second)) {
		t.Errorf("c queued at %v", got)
	}
	want := SeatSummary{Policy: repository.SeatPolicyNamed, Exhaustion: repository.SeatExhaustionQueue, Total: 2, Used: 2, Queued: 2}
	if got := e.summary(); got != want {
		t.Errorf("summary %+v, want %+v", got, want)
	}
	// A queued agent holds the role but not the capability.
	eff, err := e.s.EffectivePermissions(e.ctx, e.id, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if eff.Agent || slices.Contains(eff.Permissions, PermConversationsAnswer) || eff.SeatStatus != repository.SeatQueued {
		t.Errorf("queued agent: %+v", eff)
	}
	wantCode(t, e.s.Authorize(e.ctx, e.id, c.ID, PermConversationsAnswer), CodeForbidden)
	if err := e.s.Authorize(e.ctx, e.id, a.ID, PermConversationsAnswer); err != nil {
		t.Errorf("seated agent: %v", err)
	}

	steps := []struct {
		name string
		do   func() error
		want map[string]string // userName -> seat status
	}{
		{"deactivation frees the seat; the oldest queued gets it", func() error { return e.setActive(scimActor, a.ID, false) },
			map[string]string{"a": "none", "c": "assigned", "d": "queued"}},
		{"a profile change keeps the place in the queue", func() error {
			_, err := e.update(scimActor, d.ID, func(m *repository.Member) { m.Title = "Agent" })
			return err
		}, map[string]string{"c": "assigned", "d": "queued"}},
		{"reactivation queues when no seat is free", func() error { return e.setActive(scimActor, a.ID, true) },
			map[string]string{"a": "queued", "d": "queued"}},
		{"losing the seat role frees the seat", func() error {
			_, err := e.update(scimActor, b.ID, func(m *repository.Member) { m.Roles = []string{RoleAdministrator} })
			return err
		}, map[string]string{"b": "none", "d": "assigned", "a": "queued"}},
		{"deletion frees the seat", func() error { return e.s.DeleteMember(e.ctx, scimActor, e.id, c.ID, nil) },
			map[string]string{"a": "assigned", "d": "assigned"}},
		{"a queued member that loses the role leaves the queue", func() error {
			if err := e.setActive(scimActor, rep.ID, true); err != nil {
				return err
			}
			_, err := e.update(scimActor, rep.ID, func(m *repository.Member) { m.Roles = []string{RoleAgent} })
			if err != nil {
				return err
			}
			_, err = e.update(scimActor, rep.ID, func(m *repository.Member) { m.Roles = []string{RoleReporter} })
			return err
		}, map[string]string{"r": "none", "a": "assigned", "d": "assigned"}},
	}
	ids := map[string]string{"a": a.ID, "b": b.ID, "c": c.ID, "d": d.ID, "r": rep.ID}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			e.t = t
			e.clock.Advance(time.Second)
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			for who, status := range st.want {
				e.wantSeat(ids[who], status)
			}
			e.checkSeatInvariant()
		})
	}
	e.t = t

	// Lowering below the seats held is refused, naming how many to free;
	// raising promotes the queue first come first served.
	e.create("e@seats.example")
	e.clock.Advance(time.Second)
	f := e.create("f@seats.example")
	low := 0
	_, err = e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Total: &low})
	if pe := wantCode(t, err, CodeSeatsInUse); !strings.Contains(pe.Message, "free 2") {
		t.Errorf("message %q", pe.Message)
	}
	three := 3
	sum, err := e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Total: &three})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total != 3 || sum.Used != 3 || sum.Queued != 1 || sum.Available != 0 {
		t.Errorf("after buying a seat: %+v", sum)
	}
	e.wantSeat(f.ID, repository.SeatQueued)
	e.checkSeatInvariant()

	// Every seat move is recorded with its actor and request id.
	promos := e.events("member.seat.assign")
	if len(promos) != 4 {
		t.Fatalf("%d promotions recorded, want 4", len(promos))
	}
	if p := promos[0]; p.TargetID != c.ID || p.ActorKind != repository.ActorSCIMToken || p.RequestID != "req-1" ||
		!strings.Contains(string(p.Diff), `"SeatStatus":{"before":"queued","after":"assigned"}`) {
		t.Errorf("first promotion %+v %s", p, p.Diff)
	}
	if last := promos[3]; last.ActorKind != repository.ActorMember || last.RequestID != "req-owner" {
		t.Errorf("promotion by buying seats %+v", last)
	}
	changes := e.events("seats.change")
	if n := len(changes); n != 2 || !strings.Contains(string(changes[1].Diff), `"Total":{"before":2,"after":3}`) {
		t.Errorf("seat changes %d, last %s", n, changes[n-1].Diff)
	}
}

func TestNamedSeatsReject(t *testing.T) {
	for _, transactional := range []bool{true, false} {
		t.Run(fmt.Sprintf("transactional=%v", transactional), func(t *testing.T) {
			e := newRuleEnv(t, 1, repository.SeatExhaustionReject, transactional)
			a := e.create("a@reject.example")
			_, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id, UserName: "b@reject.example", Active: true})
			if pe := wantCode(t, err, CodeSeatLimitReached); pe.Message != "1 of 1 agent seats in use: buy more seats or free one, then try again" {
				t.Errorf("message %q", pe.Message)
			}
			if _, err := e.store.GetMemberByUserName(e.ctx, e.id, "b@reject.example"); !errors.Is(err, repository.ErrNotFound) {
				t.Errorf("a refused member exists: %v", err)
			}
			b := e.create("b@reject.example", RoleReporter)
			_, err = e.update(scimActor, b.ID, func(m *repository.Member) { m.Roles = append(m.Roles, RoleAgent) })
			wantCode(t, err, CodeSeatLimitReached)
			if got := e.get(b.ID); slices.Contains(got.Roles, RoleAgent) {
				t.Errorf("a refused role was written: %v", got.Roles)
			}
			// A member created inactive needs no seat; reactivating it does.
			off, err := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id, UserName: "off@reject.example", Roles: []string{RoleAgent}})
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, e.setActive(scimActor, off.ID, true), CodeSeatLimitReached)
			if err := e.setActive(scimActor, a.ID, false); err != nil {
				t.Fatal(err)
			}
			if err := e.setActive(scimActor, off.ID, true); err != nil {
				t.Fatal(err)
			}
			e.wantSeat(off.ID, repository.SeatAssigned)
			// Reactivation restores the roles; the seat is gone meanwhile.
			err = e.setActive(scimActor, a.ID, true)
			wantCode(t, err, CodeSeatLimitReached)
			if got := e.get(a.ID); got.Active || !slices.Equal(got.Roles, []string{RoleAgent}) {
				t.Errorf("a after a refused reactivation: active %v roles %v", got.Active, got.Roles)
			}
			e.checkSeatInvariant()
		})
	}
}

func TestConcurrentSeatPolicy(t *testing.T) {
	e := newRuleEnv(t, 2, repository.SeatExhaustionQueue, true)
	a := e.create("a@conc.example")
	b := e.create("b@conc.example")
	c := e.create("c@conc.example")
	e.wantSeat(c.ID, repository.SeatQueued)

	concurrent := repository.SeatPolicyConcurrent
	sum, err := e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Policy: &concurrent})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Used != 0 || sum.Queued != 0 || sum.Policy != concurrent {
		t.Errorf("after the switch: %+v", sum)
	}
	for _, id := range []string{a.ID, b.ID, c.ID} {
		e.wantSeat(id, repository.SeatNone)
	}
	// New agents get no seat at creation: leases come with logins.
	d := e.create("d@conc.example")
	e.wantSeat(d.ID, repository.SeatNone)
	// A lease (taken by a login, later) counts as used; deactivation
	// gives it back.
	if err := e.store.ReserveSeat(e.ctx, e.id, d.ID); err != nil {
		t.Fatal(err)
	}
	if sum := e.summary(); sum.Used != 1 || sum.Available != 1 {
		t.Errorf("with one lease: %+v", sum)
	}
	if eff, _ := e.s.EffectivePermissions(e.ctx, e.id, d.ID); !eff.Agent {
		t.Errorf("a member holding a lease is not an agent: %+v", eff)
	}
	if err := e.setActive(scimActor, d.ID, false); err != nil {
		t.Fatal(err)
	}
	if sum := e.summary(); sum.Used != 0 {
		t.Errorf("the lease survived the deactivation: %+v", sum)
	}

	// Back to named: seats in creation order, the rest queued (never
	// refused, even under reject).
	named, reject := repository.SeatPolicyNamed, repository.SeatExhaustionReject
	if _, err := e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Policy: &named, Exhaustion: &reject}); err != nil {
		t.Fatal(err)
	}
	e.wantSeat(a.ID, repository.SeatAssigned)
	e.wantSeat(b.ID, repository.SeatAssigned)
	e.wantSeat(c.ID, repository.SeatQueued)
	e.wantSeat(d.ID, repository.SeatNone) // deactivated
	e.checkSeatInvariant()

	bad := "sometimes"
	_, err = e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Policy: &bad})
	wantCode(t, err, CodeInvalidValue)
	_, err = e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Exhaustion: &bad})
	wantCode(t, err, CodeInvalidValue)
	neg := -1
	_, err = e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Total: &neg})
	wantCode(t, err, CodeInvalidValue)
}

// TestParallelCreatesNeverOverAllocate creates 64 agents at once against
// 10 seats: exactly 10 get one, the others queue or are refused. It runs
// with and without store transactions (go test -race).
func TestParallelCreatesNeverOverAllocate(t *testing.T) {
	for _, exhaustion := range []string{repository.SeatExhaustionQueue, repository.SeatExhaustionReject} {
		for _, transactional := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/transactional=%v", exhaustion, transactional), func(t *testing.T) {
				e := newRuleEnv(t, 10, exhaustion, transactional)
				const n = 64
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						_, errs[i] = e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id,
							UserName: fmt.Sprintf("agent%02d@par.example", i), Active: true, Roles: []string{RoleAgent}})
					})
				}
				wg.Wait()
				refused := 0
				for _, err := range errs {
					if err == nil {
						continue
					}
					if pe := AsError(err); pe == nil || pe.Code != CodeSeatLimitReached || pe.Message != "10 of 10 agent seats in use: buy more seats or free one, then try again" {
						t.Fatalf("create: %v", err)
					}
					refused++
				}
				sum := e.summary()
				if sum.Used != 10 {
					t.Errorf("%d seats held, want 10", sum.Used)
				}
				if exhaustion == repository.SeatExhaustionQueue && (refused != 0 || sum.Queued != n-10) {
					t.Errorf("queue: %d refused, %d queued", refused, sum.Queued)
				}
				if exhaustion == repository.SeatExhaustionReject && (refused != n-10 || sum.Queued != 0) {
					t.Errorf("reject: %d refused, %d queued", refused, sum.Queued)
				}
				e.checkSeatInvariant()
			})
		}
	}
}

func TestGroupRoleSeats(t *testing.T) {
	for _, transactional := range []bool{true, false} {
		t.Run(fmt.Sprintf("transactional=%v", transactional), func(t *testing.T) {
			e := newRuleEnv(t, 2, repository.SeatExhaustionQueue, transactional)
			var reps []repository.Member
			for i := range 3 {
				reps = append(reps, e.create(fmt.Sprintf("rep%d@groups.example", i), RoleReporter))
			}
			ids := []string{reps[0].ID, reps[1].ID, reps[2].ID}
			g, err := e.s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Tier 1"}, ids)
			if err != nil {
				t.Fatal(err)
			}
			// Mapping by display name; members are seated in edge (id) order.
			g, err = e.s.SetGroupRole(e.ctx, e.owner, e.id, g.ID, "Agent")
			if err != nil {
				t.Fatal(err)
			}
			if g.RoleKey != RoleAgent {
				t.Errorf("role key %q", g.RoleKey)
			}
			e.wantSeat(reps[0].ID, repository.SeatAssigned)
			e.wantSeat(reps[1].ID, repository.SeatAssigned)
			e.wantSeat(reps[2].ID, repository.SeatQueued)
			eff, err := e.s.EffectivePermissions(e.ctx, e.id, reps[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(eff.Roles, []string{RoleAgent, RoleReporter}) || !eff.Agent || !slices.Contains(eff.Permissions, PermConversationsAnswer) {
				t.Errorf("effective permissions through the group: %+v", eff)
			}
			if got := e.get(reps[0].ID).Roles; !slices.Equal(got, []string{RoleReporter}) {
				t.Errorf("the mapping changed the member's own roles: %v", got)
			}

			// Leaving the group frees the seat; the queue moves up.
			if _, err := e.s.ChangeGroup(e.ctx, scimActor, e.id, g.ID, GroupChange{Members: []MembershipChange{{MembersRemove, []string{reps[0].ID}}}}); err != nil {
				t.Fatal(err)
			}
			e.wantSeat(reps[0].ID, repository.SeatNone)
			e.wantSeat(reps[2].ID, repository.SeatAssigned)
			// Joining queues when full; replace moves both ways.
			if _, err := e.s.ChangeGroup(e.ctx, scimActor, e.id, g.ID, GroupChange{Members: []MembershipChange{{MembersAdd, []string{reps[0].ID}}}}); err != nil {
				t.Fatal(err)
			}
			e.wantSeat(reps[0].ID, repository.SeatQueued)
			if _, err := e.s.ChangeGroup(e.ctx, scimActor, e.id, g.ID, GroupChange{Members: []MembershipChange{{MembersReplace, []string{reps[0].ID, reps[1].ID}}}}); err != nil {
				t.Fatal(err)
			}
			e.wantSeat(reps[2].ID, repository.SeatNone)
			e.wantSeat(reps[0].ID, repository.SeatAssigned)
			e.checkSeatInvariant()

			// Under reject, a join without a free seat is refused and nothing
			// changes; so is a mapping that needs more seats than are free.
			reject := repository.SeatExhaustionReject
			if _, err := e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Exhaustion: &reject}); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.ChangeGroup(e.ctx, scimActor, e.id, g.ID, GroupChange{Members: []MembershipChange{{MembersAdd, []string{reps[2].ID}}}})
			wantCode(t, err, CodeSeatLimitReached)
			if groups, _ := e.store.GroupsOfMembers(e.ctx, e.id, []string{reps[2].ID}); len(groups[reps[2].ID]) != 0 {
				t.Errorf("a refused join was written")
			}
			g2, err := e.s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Tier 2"}, []string{reps[2].ID})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.s.SetGroupRole(e.ctx, e.owner, e.id, g2.ID, RoleStakeholder)
			if pe := wantCode(t, err, CodeSeatLimitReached); !strings.Contains(pe.Message, "2 of 2 agent seats in use") || !strings.Contains(pe.Message, "needs 1 more") {
				t.Errorf("message %q", pe.Message)
			}
			if got, _ := e.store.GetGroup(e.ctx, e.id, g2.ID, false); got.RoleKey != "" {
				t.Errorf("a refused mapping was written: %q", got.RoleKey)
			}
			_, err = e.s.SetGroupRole(e.ctx, e.owner, e.id, g2.ID, "pilot")
			if pe := wantCode(t, err, CodeInvalidValue); pe.Attribute != "roleKey" {
				t.Errorf("attribute %q", pe.Attribute)
			}

			// Clearing the mapping gives every seat back; deleting a mapped group
			// does too.
			if _, err := e.s.SetGroupRole(e.ctx, e.owner, e.id, g.ID, ""); err != nil {
				t.Fatal(err)
			}
			e.wantSeat(reps[0].ID, repository.SeatNone)
			e.wantSeat(reps[1].ID, repository.SeatNone)
			if _, err := e.s.SetGroupRole(e.ctx, e.owner, e.id, g.ID, RoleAgent); err != nil {
				t.Fatal(err)
			}
			e.wantSeat(reps[1].ID, repository.SeatAssigned)
			if err := e.s.DeleteGroup(e.ctx, scimActor, e.id, g.ID, nil); err != nil {
				t.Fatal(err)
			}
			e.wantSeat(reps[0].ID, repository.SeatNone)
			e.wantSeat(reps[1].ID, repository.SeatNone)
			e.checkSeatInvariant()

			roleEvents := e.events("group.role")
			if len(roleEvents) != 4 || roleEvents[0].RequestID != "req-owner" ||
				string(roleEvents[0].Diff) != `{"RoleKey":{"after":"agent"}}` {
				t.Errorf("group.role events %d, first %+v", len(roleEvents), roleEvents)
			}
		})
	}
}

// countingStore counts the transactions a service opens.
type countingStore struct {
	repository.Store
	mu  sync.Mutex
	txs int
}

func (c *countingStore) InTx(ctx context.Context, fn func(context.Context) error) error {
	c.mu.Lock()
	c.txs++
	c.mu.Unlock()
	return c.Store.InTx(ctx, fn)
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.txs
}

// TestGroupRoleMappingBatches maps a seat-consuming role to a group larger
// than one batch: the members' seats move in one transaction per batch,
// every member is reached, and seats never exceed the limit.
func TestGroupRoleMappingBatches(t *testing.T) {
	e := newRuleEnv(t, 7, repository.SeatExhaustionQueue, true)
	counter := &countingStore{Store: e.store}
	s := New(counter, WithClock(e.clock.Now))
	const size, batch = 10, 3
	ids := make([]string, size)
	for i := range ids {
		ids[i] = e.create(fmt.Sprintf("m%02d@batch.example", i), RoleReporter).ID
	}
	g, err := s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Everyone"}, ids)
	if err != nil {
		t.Fatal(err)
	}
	before := counter.count()
	if _, err := s.setGroupRole(e.ctx, e.owner, e.id, g.ID, RoleAgent, batch); err != nil {
		t.Fatal(err)
	}
	// The mapping, four batches (3+3+3+1) and the queue promotion.
	if n := counter.count() - before; n != 1+4+1 {
		t.Errorf("%d transactions, want 6", n)
	}
	if sum := e.summary(); sum.Used != 7 || sum.Queued != size-7 {
		t.Errorf("after mapping: %+v", sum)
	}
	sorted := slices.Sorted(slices.Values(ids))
	for i, id := range sorted {
		want := repository.SeatAssigned
		if i >= 7 {
			want = repository.SeatQueued
		}
		e.wantSeat(id, want)
	}
	if _, err := s.setGroupRole(e.ctx, e.owner, e.id, g.ID, "", batch); err != nil {
		t.Fatal(err)
	}
	if sum := e.summary(); sum.Used != 0 || sum.Queued != 0 {
		t.Errorf("after unmapping: %+v", sum)
	}
	e.checkSeatInvariant()
}

// TestReconcileSeats repairs what a crash between two steps can leave on a
// store without transactions: a seat held by a member whose record shows
// none, and a member marked assigned whose seat is gone.
func TestReconcileSeats(t *testing.T) {
	e := newRuleEnv(t, 2, repository.SeatExhaustionQueue, true)
	a := e.create("a@fix.example")
	b := e.create("b@fix.example")
	c := e.create("c@fix.example") // queued
	rep := e.create("rep@fix.example", RoleReporter)
	// a's seat vanishes; the reporter holds one it should not.
	if err := e.store.ReleaseSeat(e.ctx, e.id, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ReserveSeat(e.ctx, e.id, rep.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.ReconcileSeats(e.ctx, systemActor, e.id); err != nil {
		t.Fatal(err)
	}
	e.wantSeat(a.ID, repository.SeatAssigned)
	e.wantSeat(b.ID, repository.SeatAssigned)
	e.wantSeat(rep.ID, repository.SeatNone)
	e.wantSeat(c.ID, repository.SeatQueued)
	e.checkSeatInvariant()
}
