package provisioning

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/rosterhq/roster/repository"
)

// concurrent switches the env's account to the concurrent seat policy.
func (e *ruleEnv) concurrent() {
	e.t.Helper()
	p := repository.SeatPolicyConcurrent
	if _, err := e.s.ChangeSeats(e.ctx, e.owner, e.id, SeatChange{Policy: &p}); err != nil {
		e.t.Fatalf("concurrent policy: %v", err)
	}
}

// start opens a session for member id.
func (e *ruleEnv) start(id string) (string, repository.Session) {
	e.t.Helper()
	secret, sess, err := e.s.StartSession(e.ctx, e.get(id), "", time.Time{})
	if err != nil {
		e.t.Fatalf("start session: %v", err)
	}
	return secret, sess
}

// leases counts the seats held.
func (e *ruleEnv) leases() int {
	e.t.Helper()
	n, err := e.store.SeatsInUse(e.ctx, e.id)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestSessionLifecycle(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	m := e.create("rita@corp.example", RoleReporter)
	secret, sess, err := e.s.StartSession(e.ctx, m, "conn-1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 43 || sess.Hash != HashToken(secret) || strings.Contains(sess.Hash, secret) {
		t.Errorf("secret %q hash %q", secret, sess.Hash)
	}
	if got := sess.ExpiresAt.Sub(e.clock.Now()); got != DefaultSessionTTL {
		t.Errorf("ttl %s", got)
	}
	got, gm, err := e.s.AuthenticateSession(e.ctx, secret)
	if err != nil || got.ID != sess.ID || gm.ID != m.ID {
		t.Fatalf("authenticate: %v %v %v", got.ID, gm.ID, err)
	}
	// LastSeenAt moves at most once a minute.
	e.clock.Advance(30 * time.Second)
	got, _, _ = e.s.AuthenticateSession(e.ctx, secret)
	if !got.LastSeenAt.Equal(sess.LastSeenAt) {
		t.Errorf("touched after 30 s")
	}
	e.clock.Advance(31 * time.Second)
	got, _, _ = e.s.AuthenticateSession(e.ctx, secret)
	if !got.LastSeenAt.Equal(e.clock.Now()) {
		t.Errorf("not touched after a minute: %s", got.LastSeenAt)
	}
	for _, bad := range []string{"", "x", secret + "x", strings.Repeat("a", 200), "abc def"} {
		_, _, err := e.s.AuthenticateSession(e.ctx, bad)
		wantCode(t, err, CodeUnauthenticated)
	}
	if err := e.s.EndSession(e.ctx, secret); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.s.AuthenticateSession(e.ctx, secret)
	wantCode(t, err, CodeUnauthenticated)
	if err := e.s.EndSession(e.ctx, secret); err != nil {
		t.Errorf("second logout: %v", err)
	}
	if n := len(e.events("member.login")); n != 1 {
		t.Errorf("%d login events", n)
	}
	if n := len(e.events("member.logout")); n != 1 {
		t.Errorf("%d logout events", n)
	}
}

func TestSessionExpiryAndCap(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	e.s = New(e.store, WithClock(e.clock.Now), WithSessionTTL(time.Hour))
	m := e.create("ed@corp.example", RoleReporter)
	secret, sess, err := e.s.StartSession(e.ctx, m, "", e.clock.Now().Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := sess.ExpiresAt.Sub(e.clock.Now()); got != 10*time.Minute {
		t.Errorf("capped ttl %s, want 10m", got)
	}
	e.clock.Advance(10 * time.Minute)
	_, _, err = e.s.AuthenticateSession(e.ctx, secret)
	wantCode(t, err, CodeUnauthenticated)
	_, sess, _ = e.s.StartSession(e.ctx, m, "", time.Time{})
	if got := sess.ExpiresAt.Sub(e.clock.Now()); got != time.Hour {
		t.Errorf("configured ttl %s, want 1h", got)
	}
	_, _, err = e.s.StartSession(e.ctx, m, "", e.clock.Now().Add(-time.Second))
	wantCode(t, err, CodeUnauthenticated)
}

func TestSessionEndsWithMember(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove func(e *ruleEnv, id string) error
	}{
		{"deactivated", func(e *ruleEnv, id string) error { return e.setActive(scimActor, id, false) }},
		{"deleted", func(e *ruleEnv, id string) error { return e.s.DeleteMember(e.ctx, scimActor, e.id, id, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
			e.concurrent()
			m := e.create("gone@corp.example", RoleAgent)
			secret, sess := e.start(m.ID)
			if !sess.AgentSeat || e.leases() != 1 {
				t.Fatalf("agent seat %v leases %d", sess.AgentSeat, e.leases())
			}
			if err := tc.remove(e, m.ID); err != nil {
				t.Fatal(err)
			}
			_, _, err := e.s.AuthenticateSession(e.ctx, secret)
			wantCode(t, err, CodeUnauthenticated)
			if n := e.leases(); n != 0 {
				t.Errorf("%d leases left", n)
			}
			_, _, err = e.s.StartSession(e.ctx, m, "", time.Time{})
			if err == nil {
				t.Error("a new session was issued")
			}
		})
	}
}

func TestConcurrentSeatsParallelLogins(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	e.concurrent()
	var agents []repository.Member
	for i := range 20 {
		agents = append(agents, e.create(fmt.Sprintf("agent%02d@corp.example", i), RoleAgent))
	}
	sessions := make([]repository.Session, len(agents))
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i, m := range agents {
		wg.Go(func() { _, sessions[i], errs[i] = e.s.StartSession(e.ctx, m, "", time.Time{}) })
	}
	wg.Wait()
	leased := 0
	for i, s := range sessions {
		if errs[i] != nil {
			t.Fatalf("login %d: %v", i, errs[i])
		}
		switch {
		case s.AgentSeat && s.NoSeatReason == "":
			leased++
		case !s.AgentSeat && strings.HasPrefix(s.NoSeatReason, "all 5 agent seats are in use"):
		default:
			t.Errorf("session %d: agent %v reason %q", i, s.AgentSeat, s.NoSeatReason)
		}
	}
	if leased != 5 || e.leases() != 5 {
		t.Errorf("%d sessions with a seat, %d leases; want 5", leased, e.leases())
	}
	// Non-agents never take a lease.
	rep := e.create("reporter@corp.example", RoleReporter)
	if _, s := e.start(rep.ID); s.AgentSeat || s.NoSeatReason != "" {
		t.Errorf("reporter session %+v", s)
	}
}

func TestConcurrentLeaseRelease(t *testing.T) {
	e := newRuleEnv(t, 1, repository.SeatExhaustionQueue, true)
	e.concurrent()
	a := e.create("a@corp.example", RoleAgent)
	b := e.create("b@corp.example", RoleAgent)

	// Two sessions of a share one lease, kept until the last ends.
	s1, sess1 := e.start(a.ID)
	s2, sess2 := e.start(a.ID)
	if !sess1.AgentSeat || !sess2.AgentSeat || e.leases() != 1 {
		t.Fatalf("a's sessions %v %v, leases %d", sess1.AgentSeat, sess2.AgentSeat, e.leases())
	}
	if _, sb := e.start(b.ID); sb.AgentSeat || sb.NoSeatReason == "" {
		t.Fatalf("b got a seat while a holds the only one")
	}
	if err := e.s.EndSession(e.ctx, s1); err != nil {
		t.Fatal(err)
	}
	if held, _ := e.store.HoldsSeat(e.ctx, e.id, a.ID); !held {
		t.Fatal("lease released while a second session lives")
	}
	if err := e.s.EndSession(e.ctx, s2); err != nil {
		t.Fatal(err)
	}
	if e.leases() != 0 {
		t.Fatalf("leases after the last logout: %d", e.leases())
	}
	// Now b gets the seat; its expiry, swept, frees it.
	_, sb := e.start(b.ID)
	if !sb.AgentSeat {
		t.Fatal("b got no seat after a logged out")
	}
	e.clock.Advance(DefaultSessionTTL + time.Second)
	rep, err := e.s.SweepSessions(e.ctx, e.clock.Now())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if rep.Leases != 1 || rep.Sessions < 1 || e.leases() != 0 {
		t.Errorf("sweep report %+v, leases %d", rep, e.leases())
	}
}

func TestSweepKeepsLeaseOfLiveSession(t *testing.T) {
	e := newRuleEnv(t, 2, repository.SeatExhaustionQueue, true)
	e.concurrent()
	a := e.create("a@corp.example", RoleAgent)
	e.start(a.ID)
	e.clock.Advance(6 * time.Hour)
	_, live := e.start(a.ID)
	e.clock.Advance(6*time.Hour + time.Second) // the first expired, the second lives
	rep, err := e.s.SweepSessions(e.ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sessions != 1 || rep.Leases != 0 {
		t.Errorf("report %+v", rep)
	}
	if held, _ := e.store.HoldsSeat(e.ctx, e.id, a.ID); !held || !live.AgentSeat {
		t.Error("lease of the live session released")
	}
}

func TestNamedSeatNotReleasedByLogout(t *testing.T) {
	e := newRuleEnv(t, 2, repository.SeatExhaustionQueue, true)
	a := e.create("a@corp.example", RoleAgent)
	secret, sess := e.start(a.ID)
	if sess.AgentSeat {
		t.Error("a named seat is not a lease")
	}
	if err := e.s.EndSession(e.ctx, secret); err != nil {
		t.Fatal(err)
	}
	e.wantSeat(a.ID, repository.SeatAssigned)
}

func TestPasswordLogin(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	hash, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	pw := e.create("pat@corp.example", RoleAgent)
	if _, err := e.store.UpdateMember(e.ctx, e.id, pw.ID, func(m repository.Member) (repository.Member, error) {
		m.PasswordHash = hash
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	sso, _ := e.s.CreateMember(e.ctx, scimActor, repository.Member{AccountID: e.id, UserName: "sso@corp.example", Active: true,
		Profile: repository.SupportProfile{ExternalSSO: true}})
	if _, err := e.store.UpdateMember(e.ctx, e.id, sso.ID, func(m repository.Member) (repository.Member, error) {
		m.PasswordHash = hash // left from before the flag: still refused
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.create("nopw@corp.example", RoleAgent)

	m, err := e.s.PasswordLogin(e.ctx, e.id, " PAT@corp.example ", "correct horse battery", "10.0.0.1")
	if err != nil || m.ID != pw.ID {
		t.Fatalf("login: %v %v", m.ID, err)
	}
	var generic string
	for _, tc := range []struct{ name, account, email, password string }{
		{"wrong password", e.id, "pat@corp.example", "wrong"},
		{"unknown email", e.id, "nobody@corp.example", "correct horse battery"},
		{"external SSO", e.id, "sso@corp.example", "correct horse battery"},
		{"no password", e.id, "nopw@corp.example", "correct horse battery"},
		{"unknown account", "no-such-account", "pat@corp.example", "correct horse battery"},
	} {
		_, err := e.s.PasswordLogin(e.ctx, tc.account, tc.email, tc.password, "10.0.0.2")
		pe := wantCode(t, err, CodeUnauthenticated)
		if generic == "" {
			generic = pe.Message
		}
		if pe.Message != generic {
			t.Errorf("%s: message %q differs from %q", tc.name, pe.Message, generic)
		}
	}
	if err := e.setActive(scimActor, pw.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.PasswordLogin(e.ctx, e.id, "pat@corp.example", "correct horse battery", "")
	wantCode(t, err, CodeMemberInactive)
}

func TestPasswordLoginBackoff(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	// Cheap hashes on both sides: the test makes ~70 comparisons, which at
	// the default cost take minutes under the race detector.
	cheap := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	e.s.dummyPasswordHash = cheap("nobody knows this")
	hash := cheap("correct horse battery")
	pw := e.create("pat@corp.example", RoleAgent)
	if _, err := e.store.UpdateMember(e.ctx, e.id, pw.ID, func(m repository.Member) (repository.Member, error) {
		m.PasswordHash = hash
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	login := func(email, password, ip string) error {
		_, err := e.s.PasswordLogin(e.ctx, e.id, email, password, ip)
		return err
	}
	for i := range emailFreeFailures {
		wantCode(t, login("pat@corp.example", "wrong", fmt.Sprintf("10.1.0.%d", i)), CodeUnauthenticated)
	}
	// Locked per email, whatever the IP, even with the right password.
	pe := wantCode(t, login("pat@corp.example", "correct horse battery", "10.9.9.9"), CodeRateLimited)
	if pe.RetryAfter != time.Second {
		t.Errorf("retry after %s, want 1s", pe.RetryAfter)
	}
	e.clock.Advance(time.Second) // the lock expires
	wantCode(t, login("pat@corp.example", "wrong", "10.9.9.9"), CodeUnauthenticated)
	pe = wantCode(t, login("pat@corp.example", "correct horse battery", "10.9.9.9"), CodeRateLimited)
	if pe.RetryAfter != 2*time.Second {
		t.Errorf("second lock %s, want 2s (doubling)", pe.RetryAfter)
	}
	e.clock.Advance(2 * time.Second)
	if err := login("pat@corp.example", "correct horse battery", "10.9.9.9"); err != nil {
		t.Fatalf("login after the lock: %v", err)
	}
	// Success cleared the email's failures.
	wantCode(t, login("pat@corp.example", "wrong", "10.9.9.9"), CodeUnauthenticated)
	if err := login("pat@corp.example", "correct horse battery", "10.9.9.9"); err != nil {
		t.Fatalf("one failure locked: %v", err)
	}

	// Per IP: many addresses from one IP lock the IP, not the addresses.
	for i := range ipFreeFailures {
		wantCode(t, login(fmt.Sprintf("spray%d@corp.example", i), "wrong", "203.0.113.7"), CodeUnauthenticated)
	}
	pe = wantCode(t, login("pat@corp.example", "correct horse battery", "203.0.113.7"), CodeRateLimited)
	if pe.RetryAfter <= 0 {
		t.Errorf("no retry after")
	}
	if err := login("pat@corp.example", "correct horse battery", "198.51.100.1"); err != nil {
		t.Errorf("another IP locked too: %v", err)
	}
	e.clock.Advance(throttleWindow + time.Second)
	if err := login("pat@corp.example", "correct horse battery", "203.0.113.7"); err != nil {
		t.Errorf("IP still locked after the window: %v", err)
	}
	var rule *Error
	if err := login("pat@corp.example", "wrong", ""); !errors.As(err, &rule) {
		t.Errorf("no IP: %v", err)
	}

	// The sweeper forgets failures no backoff can count any more: the
	// spray's per-email keys and the IP's, and then a fresh failure of
	// the same address starts from one.
	e.clock.Advance(throttleWindow + maxLockout + time.Minute)
	rep, err := e.s.SweepSessions(e.ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failures < ipFreeFailures {
		t.Errorf("swept %d failure keys or rows, want at least the %d sprayed addresses'", rep.Failures, ipFreeFailures)
	}
	if n, _, err := e.store.Failures(e.ctx, "pwlogin:ip:203.0.113.7", e.clock.Now(), 24*time.Hour); err != nil || n != 0 {
		t.Errorf("the IP's failures after the sweep: %d, %v", n, err)
	}
}

func TestLockout(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{4, 0}, {5, time.Second}, {6, 2 * time.Second}, {10, 32 * time.Second}, {15, maxLockout}, {100, maxLockout}} {
		e := &Service{store: fakeFailures{n: tc.n}}
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		got, err := e.lockedFor(t.Context(), throttleKey{key: "k", free: emailFreeFailures}, now)
		if err != nil || got != tc.want {
			t.Errorf("%d failures: %s, %v; want %s", tc.n, got, err, tc.want)
		}
	}
}

// fakeFailures reports n failures, the latest just now.
type fakeFailures struct {
	repository.Store
	n int
}

func (f fakeFailures) Failures(_ context.Context, _ string, now time.Time, _ time.Duration) (int, time.Time, error) {
	return f.n, now, nil
}
