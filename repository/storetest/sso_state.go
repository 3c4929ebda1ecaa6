package storetest

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"OneTimeValues", testOneTimeValues},
		testCase{"OneTimeConcurrentTake", testOneTimeConcurrentTake},
		testCase{"IdentityLinks", testIdentityLinks},
		testCase{"IdentityLinkCascade", testIdentityLinkCascade},
		testCase{"SigningKeys", testSigningKeys},
		testCase{"Throttle", testThrottle},
		testCase{"ThrottleConcurrent", testThrottleConcurrent},
		testCase{"MemberSessions", testMemberSessions},
		testCase{"ConcurrentExpiredSessionSweep", testConcurrentExpiredSessionSweep},
	)
}

// concurrentCallers is how many goroutines race for one key.
const concurrentCallers = 32

func testOneTimeValues(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	now := ms(time.Now())

	t.Run("PutTake", func(t *testing.T) {
		key := unique("saml-request")
		// Binary, with NUL and bytes that are not UTF-8: the bridge
		// stores sealed or JSON values.
		value := []byte("{\"returnTo\":\"/app\"}\x00\xff\xfe")
		must(t, s.PutOneTime(ctx, key, value, now.Add(5*time.Minute)), "put one-time value")
		got, err := s.TakeOneTime(ctx, key, now)
		must(t, err, "take one-time value")
		expect(t, string(got), string(value), "value taken")
		_, err = s.TakeOneTime(ctx, key, now)
		mustIs(t, err, repository.ErrNotFound, "take a value already taken")
		_, err = s.TakeOneTime(ctx, unique("never-stored"), now)
		mustIs(t, err, repository.ErrNotFound, "take a key never stored")
	})

	t.Run("EmptyValue", func(t *testing.T) {
		key := unique("oidc-state")
		must(t, s.PutOneTime(ctx, key, nil, now.Add(time.Minute)), "put an empty value")
		got, err := s.TakeOneTime(ctx, key, now)
		must(t, err, "take an empty value")
		expect(t, len(got), 0, "length of the empty value taken")
	})

	t.Run("DuplicatePut", func(t *testing.T) {
		key := unique("oidc-state")
		must(t, s.PutOneTime(ctx, key, []byte("first"), now.Add(time.Minute)), "put one-time value")
		mustConflict(t, s.PutOneTime(ctx, key, []byte("second"), now.Add(time.Hour)), "key", "put a key already stored")
		got, err := s.TakeOneTime(ctx, key, now)
		must(t, err, "take after a refused put")
		expect(t, string(got), "first", "value after a refused put")
	})

	t.Run("Expired", func(t *testing.T) {
		expires := now.Add(time.Minute)
		for _, at := range []time.Time{expires, expires.Add(time.Millisecond), expires.Add(time.Hour)} {
			key := unique("saml-request")
			must(t, s.PutOneTime(ctx, key, []byte("v"), expires), "put one-time value")
			_, err := s.TakeOneTime(ctx, key, at)
			mustIs(t, err, repository.ErrNotFound, "take at %s a value expiring at %s", fmtTime(at), fmtTime(expires))
		}
		key := unique("saml-request")
		must(t, s.PutOneTime(ctx, key, []byte("v"), expires), "put one-time value")
		got, err := s.TakeOneTime(ctx, key, expires.Add(-time.Millisecond))
		must(t, err, "take a value one millisecond before it expires")
		expect(t, string(got), "v", "value taken just in time")
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		// A fresh store, so the sweep's count is exact.
		s := c.New(t)
		live := unique("live")
		must(t, s.PutOneTime(ctx, live, []byte("live"), now.Add(time.Hour)), "put a live value")
		for i := range 3 {
			must(t, s.PutOneTime(ctx, unique("old"), []byte("old"), now.Add(-time.Duration(i+1)*time.Minute)), "put an expired value")
		}
		n, err := s.DeleteExpiredOneTime(ctx, now)
		must(t, err, "delete expired one-time values")
		expect(t, n, 3, "expired one-time values deleted")
		n, err = s.DeleteExpiredOneTime(ctx, now)
		must(t, err, "delete expired one-time values again")
		expect(t, n, 0, "expired one-time values deleted the second time")
		got, err := s.TakeOneTime(ctx, live, now)
		must(t, err, "take the live value after the sweep")
		expect(t, string(got), "live", "live value after the sweep")
	})
}

// testOneTimeConcurrentTake has 32 callers take one key at once, several
// times: exactly one gets the value, the others ErrNotFound. This is what
// stops a SAML response or an OIDC code from being redeemed twice.
func testOneTimeConcurrentTake(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	now := ms(time.Now())
	for round := range 5 {
		key := unique("state")
		value := "value-" + strconv.Itoa(round)
		must(t, s.PutOneTime(ctx, key, []byte(value), now.Add(time.Minute)), "put one-time value")
		fails := newFailures(concurrentCallers)
		var mu sync.Mutex
		winners := 0
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range concurrentCallers {
			wg.Go(func() {
				<-start
				got, err := s.TakeOneTime(ctx, key, now)
				switch {
				case err == nil:
					if string(got) != value {
						fails.add("round %d: taken value %q, want %q", round, got, value)
					}
					mu.Lock()
					winners++
					mu.Unlock()
				case !errors.Is(err, repository.ErrNotFound):
					fails.add("round %d: concurrent take: %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		fails.report(t)
		expect(t, winners, 1, "round %d: callers that took the value", round)
	}
}

func testIdentityLinks(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acme := newAccount(t, s)
	alice := newMember(t, s, acme.ID, "alice@example.com")
	bob := newMember(t, s, acme.ID, "bob@example.com")
	okta, entra := repository.NewID(), repository.NewID()
	created := ms(time.Now().Add(-time.Hour))

	mk := func(accountID, connectionID, subject, memberID string, at time.Time) repository.IdentityLink {
		t.Helper()
		want := repository.IdentityLink{AccountID: accountID, ConnectionID: connectionID, Subject: subject, MemberID: memberID, CreatedAt: at}
		got, err := s.CreateIdentityLink(ctx, want)
		must(t, err, "create identity link %s/%s", connectionID, subject)
		if at.IsZero() {
			expectRecent(t, got.CreatedAt, "CreatedAt filled by CreateIdentityLink")
			want.CreatedAt = got.CreatedAt
		}
		expectSame(t, got, want, "CreateIdentityLink result")
		return got
	}
	aliceOkta := mk(acme.ID, okta, "00u1alice", alice.ID, created)
	// Subjects are kept as the IdP sent them: characters a key encoding
	// could trip on, and case, matter.
	aliceEntra := mk(acme.ID, entra, "Alice/50%2F€", alice.ID, created.Add(time.Minute))
	bobOkta := mk(acme.ID, okta, "00U1ALICE", bob.ID, time.Time{})

	t.Run("Get", func(t *testing.T) {
		for _, want := range []repository.IdentityLink{aliceOkta, aliceEntra, bobOkta} {
			got, err := s.GetIdentityLink(ctx, acme.ID, want.ConnectionID, want.Subject)
			must(t, err, "get identity link %q", want.Subject)
			expectSame(t, got, want, "GetIdentityLink %q", want.Subject)
		}
		for _, miss := range []struct{ conn, subject string }{
			{entra, aliceOkta.Subject}, // right subject, other connection
			{okta, aliceEntra.Subject}, // right connection, other's subject
			{okta, "00u1alic"},         // a prefix
			{okta, "00u1alice "},       // trailing space
			{repository.NewID(), "00u1alice"},
		} {
			_, err := s.GetIdentityLink(ctx, acme.ID, miss.conn, miss.subject)
			mustIs(t, err, repository.ErrNotFound, "get identity link %q of the wrong connection", miss.subject)
		}
	})

	t.Run("Unique", func(t *testing.T) {
		for _, memberID := range []string{alice.ID, bob.ID} {
			_, err := s.CreateIdentityLink(ctx, repository.IdentityLink{
				AccountID: acme.ID, ConnectionID: okta, Subject: aliceOkta.Subject, MemberID: memberID,
			})
			mustConflict(t, err, "subject", "link a (connection, subject) already linked")
		}
		got, err := s.GetIdentityLink(ctx, acme.ID, okta, aliceOkta.Subject)
		must(t, err, "get the link after refused duplicates")
		expect(t, got.MemberID, alice.ID, "member of a link after refused duplicates")
	})

	t.Run("ListMember", func(t *testing.T) {
		list, err := s.ListMemberIdentityLinks(ctx, acme.ID, alice.ID)
		must(t, err, "list alice's links")
		expect(t, len(list), 2, "alice's links")
		for _, l := range list {
			want := aliceOkta
			if l.ConnectionID == entra {
				want = aliceEntra
			}
			expectSame(t, l, want, "listed link")
		}
		list, err = s.ListMemberIdentityLinks(ctx, acme.ID, repository.NewID())
		must(t, err, "list the links of an unknown member")
		expect(t, len(list), 0, "links of an unknown member")
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		other := newAccount(t, s)
		mallory := newMember(t, s, other.ID, "mallory@example.com")
		// Account B cannot see A's link, even naming the same connection
		// and subject.
		_, err := s.GetIdentityLink(ctx, other.ID, okta, aliceOkta.Subject)
		mustIs(t, err, repository.ErrNotFound, "get A's link through account B")
		list, err := s.ListMemberIdentityLinks(ctx, other.ID, alice.ID)
		must(t, err, "list A's member's links through B")
		expect(t, len(list), 0, "A's member's links listed through B")
		mustIs(t, s.DeleteIdentityLink(ctx, other.ID, okta, aliceOkta.Subject), repository.ErrNotFound, "delete A's link through B")

		// The same (connection, subject) is free in another account: the
		// uniqueness is per account, and B's link does not touch A's.
		bLink := mk(other.ID, okta, aliceOkta.Subject, mallory.ID, created)
		got, err := s.GetIdentityLink(ctx, acme.ID, okta, aliceOkta.Subject)
		must(t, err, "get A's link after B linked the same subject")
		expectSame(t, got, aliceOkta, "A's link after B linked the same subject")
		got, err = s.GetIdentityLink(ctx, other.ID, okta, aliceOkta.Subject)
		must(t, err, "get B's link")
		expectSame(t, got, bLink, "B's link")
		must(t, s.DeleteIdentityLink(ctx, other.ID, okta, aliceOkta.Subject), "delete B's link")
		got, err = s.GetIdentityLink(ctx, acme.ID, okta, aliceOkta.Subject)
		must(t, err, "get A's link after B deleted its own")
		expectSame(t, got, aliceOkta, "A's link after B deleted its own")
	})

	t.Run("Delete", func(t *testing.T) {
		must(t, s.DeleteIdentityLink(ctx, acme.ID, entra, aliceEntra.Subject), "delete identity link")
		_, err := s.GetIdentityLink(ctx, acme.ID, entra, aliceEntra.Subject)
		mustIs(t, err, repository.ErrNotFound, "get a deleted link")
		mustIs(t, s.DeleteIdentityLink(ctx, acme.ID, entra, aliceEntra.Subject), repository.ErrNotFound, "delete a deleted link")
		list, err := s.ListMemberIdentityLinks(ctx, acme.ID, alice.ID)
		must(t, err, "list alice's links")
		expect(t, len(list), 1, "alice's links after deleting one")
		// The subject can be linked again, to anyone.
		mk(acme.ID, entra, aliceEntra.Subject, bob.ID, created)
	})
}

// testIdentityLinkCascade: a member's links go with the member, a
// connection's with the connection, an account's with the account, and
// nothing else goes with them.
func testIdentityLinkCascade(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acme := newAccount(t, s)
	other := newAccount(t, s)
	conn := func(accountID string) repository.SSOConnection {
		t.Helper()
		got, err := s.CreateSSOConnection(ctx, repository.SSOConnection{
			AccountID: accountID, Kind: repository.SSOOIDC, Name: "IdP", Domains: []string{unique("d") + ".test"},
		})
		must(t, err, "create SSO connection")
		return got
	}
	c1, c2, oc := conn(acme.ID), conn(acme.ID), conn(other.ID)
	alice := newMember(t, s, acme.ID, "alice@example.com")
	bob := newMember(t, s, acme.ID, "bob@example.com")
	olga := newMember(t, s, other.ID, "olga@example.com")
	link := func(accountID, connectionID, subject, memberID string) {
		t.Helper()
		_, err := s.CreateIdentityLink(ctx, repository.IdentityLink{AccountID: accountID, ConnectionID: connectionID, Subject: subject, MemberID: memberID})
		must(t, err, "create identity link %s", subject)
	}
	link(acme.ID, c1.ID, "alice-1", alice.ID)
	link(acme.ID, c2.ID, "alice-2", alice.ID)
	link(acme.ID, c1.ID, "bob-1", bob.ID)
	link(acme.ID, c2.ID, "bob-2", bob.ID)
	// The other account reuses acme's ids as connection and subject: a
	// cascade must not reach across accounts by id.
	link(other.ID, oc.ID, "olga", olga.ID)
	link(other.ID, c1.ID, "alice-1", olga.ID)

	present := func(accountID, connectionID, subject string, want bool) {
		t.Helper()
		_, err := s.GetIdentityLink(ctx, accountID, connectionID, subject)
		if want {
			must(t, err, "link %s of %s still there", subject, connectionID)
		} else {
			mustIs(t, err, repository.ErrNotFound, "link %s of %s removed", subject, connectionID)
		}
	}

	must(t, s.DeleteMember(ctx, acme.ID, alice.ID), "delete alice")
	present(acme.ID, c1.ID, "alice-1", false)
	present(acme.ID, c2.ID, "alice-2", false)
	list, err := s.ListMemberIdentityLinks(ctx, acme.ID, alice.ID)
	must(t, err, "list a deleted member's links")
	expect(t, len(list), 0, "links of a deleted member")
	present(acme.ID, c1.ID, "bob-1", true)
	present(acme.ID, c2.ID, "bob-2", true)
	present(other.ID, c1.ID, "alice-1", true)

	must(t, s.DeleteSSOConnection(ctx, acme.ID, c1.ID), "delete connection c1")
	present(acme.ID, c1.ID, "bob-1", false)
	present(acme.ID, c2.ID, "bob-2", true)
	present(other.ID, c1.ID, "alice-1", true)

	must(t, s.DeleteAccount(ctx, acme.ID, "test"), "delete acme")
	present(acme.ID, c2.ID, "bob-2", false)
	list, err = s.ListMemberIdentityLinks(ctx, acme.ID, bob.ID)
	must(t, err, "list a deleted account's member's links")
	expect(t, len(list), 0, "links of a deleted account's member")
	present(other.ID, oc.ID, "olga", true)
	present(other.ID, c1.ID, "alice-1", true)
}

func testSigningKeys(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	now := ms(time.Now())
	key := func(id string, created, expires time.Time) repository.SigningKey {
		return repository.SigningKey{
			ID: id, Algorithm: "ES256",
			PrivateKey: []byte("sealed\x00private-" + id), PublicKey: []byte("\x30\x59public-" + id),
			CreatedAt: created, RetiresAt: expires.Add(-24 * time.Hour), ExpiresAt: expires,
		}
	}
	oldest := key(unique("kid"), now.Add(-72*time.Hour), now.Add(-time.Hour)) // expired
	older := key(unique("kid"), now.Add(-48*time.Hour), now.Add(time.Hour))
	endsNow := key(unique("kid"), now.Add(-36*time.Hour), now) // expired at now
	newest := key(unique("kid"), now.Add(-time.Hour), now.Add(48*time.Hour))
	forever := repository.SigningKey{ID: unique("kid"), Algorithm: "ES256", PrivateKey: []byte("p"), PublicKey: []byte("q"), CreatedAt: now.Add(-96 * time.Hour)}
	for _, k := range []repository.SigningKey{older, newest, oldest, forever, endsNow} {
		must(t, s.CreateSigningKey(ctx, k), "create signing key")
	}
	mustConflict(t, s.CreateSigningKey(ctx, key(older.ID, now, now.Add(time.Hour))), "id", "create a signing key with a stored id")

	list := func(at time.Time) []repository.SigningKey {
		t.Helper()
		keys, err := s.ListSigningKeys(ctx, at)
		must(t, err, "list signing keys")
		return keys
	}
	expectKeys := func(got, want []repository.SigningKey, what string) {
		t.Helper()
		var gotIDs, wantIDs []string
		for _, k := range got {
			gotIDs = append(gotIDs, k.ID)
		}
		for _, k := range want {
			wantIDs = append(wantIDs, k.ID)
		}
		expectSeq(t, gotIDs, wantIDs, "%s, newest first", what)
		if len(got) == len(want) {
			for i := range got {
				expectSame(t, got[i], want[i], "%s: key %d", what, i)
			}
		}
	}
	expectKeys(list(now), []repository.SigningKey{newest, older, forever}, "keys not expired now")
	expectKeys(list(now.Add(-2*time.Hour)), []repository.SigningKey{newest, endsNow, older, oldest, forever}, "keys not expired two hours ago")

	n, err := s.DeleteExpiredSigningKeys(ctx, now)
	must(t, err, "delete expired signing keys")
	expect(t, n, 1, "signing keys expired before now deleted")
	expectKeys(list(now.Add(-2*time.Hour)), []repository.SigningKey{newest, endsNow, older, forever}, "keys left after the sweep")
	n, err = s.DeleteExpiredSigningKeys(ctx, now.Add(72*time.Hour))
	must(t, err, "delete signing keys expired in three days")
	expect(t, n, 3, "signing keys expired in three days deleted")
	expectKeys(list(now.Add(-2*time.Hour)), []repository.SigningKey{forever}, "keys left: the one that never expires")
}

func testThrottle(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	t0 := ms(time.Now())
	const window = 10 * time.Minute
	key, other := unique("login:acme:alice@example.com"), unique("ip:192.0.2.1")

	record := func(key string, at time.Time, want int) {
		t.Helper()
		n, err := s.RecordFailure(ctx, key, at, window)
		must(t, err, "record failure at +%s", at.Sub(t0))
		expect(t, n, want, "failures counted by the failure at +%s", at.Sub(t0))
	}
	failures := func(key string, now time.Time, wantN int, wantLatest time.Time) {
		t.Helper()
		n, latest, err := s.Failures(ctx, key, now, window)
		must(t, err, "failures at +%s", now.Sub(t0))
		expect(t, n, wantN, "failures within the window at +%s", now.Sub(t0))
		expectTime(t, latest, wantLatest, "latest failure seen at +%s", now.Sub(t0))
	}

	failures(key, t0, 0, time.Time{})
	record(key, t0, 1)
	record(key, t0.Add(time.Minute), 2)
	record(key, t0.Add(2*time.Minute), 3)
	record(other, t0.Add(2*time.Minute), 1) // keys count apart
	failures(key, t0.Add(3*time.Minute), 3, t0.Add(2*time.Minute))
	// The window slides: at +11m30s the failures at +0 and +1m are out.
	failures(key, t0.Add(11*time.Minute+30*time.Second), 1, t0.Add(2*time.Minute))
	record(key, t0.Add(11*time.Minute+30*time.Second), 2)
	failures(key, t0.Add(30*time.Minute), 0, time.Time{})
	record(key, t0.Add(30*time.Minute), 1)

	must(t, s.ClearFailures(ctx, key), "clear failures")
	failures(key, t0.Add(30*time.Minute), 0, time.Time{})
	failures(other, t0.Add(3*time.Minute), 1, t0.Add(2*time.Minute))
	record(key, t0.Add(31*time.Minute), 1)
	must(t, s.ClearFailures(ctx, unique("never-failed")), "clear a key that never failed")

	// The sweeper forgets keys that stopped failing, and only them.
	stale, fresh := unique("ip:198.51.100.7"), unique("ip:198.51.100.8")
	record(stale, t0.Add(40*time.Minute), 1)
	record(fresh, t0.Add(70*time.Minute), 1)
	n, err := s.DeleteFailuresBefore(ctx, t0.Add(60*time.Minute))
	must(t, err, "delete failures before +60m")
	if n < 1 {
		t.Errorf("DeleteFailuresBefore removed %d, want at least the stale key", n)
	}
	for _, k := range []string{stale, key, other} {
		got, _, err := s.Failures(ctx, k, t0.Add(40*time.Minute), time.Hour)
		must(t, err, "failures of a swept key")
		expect(t, got, 0, "failures of a key whose latest failure is before the cut-off")
	}
	failures(fresh, t0.Add(71*time.Minute), 1, t0.Add(70*time.Minute))
}

// testThrottleConcurrent has 32 callers record a failure of one key at
// once: each counts its own failure once, so the counts returned are 1 to
// 32 and the key ends with 32.
func testThrottleConcurrent(t *testing.T, c Config) {
	c.needs(t, AtomicUpdates)
	s := c.New(t)
	ctx := t.Context()
	at := ms(time.Now())
	key := unique("ip:198.51.100.7")
	counts := make([]int, concurrentCallers)
	fails := newFailures(concurrentCallers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range concurrentCallers {
		wg.Go(func() {
			<-start
			n, err := s.RecordFailure(ctx, key, at, time.Hour)
			if err != nil {
				fails.add("concurrent record failure: %v", err)
			}
			counts[i] = n
		})
	}
	close(start)
	wg.Wait()
	fails.report(t)
	slices.Sort(counts)
	var got, want []string
	for i, n := range counts {
		got, want = append(got, strconv.Itoa(n)), append(want, strconv.Itoa(i+1))
	}
	expectSeq(t, got, want, "counts returned to concurrent callers, sorted")
	n, _, err := s.Failures(ctx, key, at, time.Hour)
	must(t, err, "failures after concurrent records")
	expect(t, n, concurrentCallers, "failures after concurrent records")
}

// testMemberSessions covers ListMemberSessions and NoSeatReason.
func testMemberSessions(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	other := newAccount(t, s)
	alice := newMember(t, s, acct.ID, "alice@example.com")
	bob := newMember(t, s, acct.ID, "bob@example.com")
	now := ms(time.Now())

	mk := func(accountID, memberID string, created, expires time.Time, reason string) repository.Session {
		t.Helper()
		want := repository.Session{
			AccountID: accountID, ID: repository.NewID(), MemberID: memberID, Hash: unique("sesshash"),
			ConnectionID: repository.NewID(), AgentSeat: reason == "", NoSeatReason: reason,
			CreatedAt: created, ExpiresAt: expires,
		}
		got, err := s.CreateSession(ctx, want)
		must(t, err, "create session")
		expectSame(t, got, want, "CreateSession result")
		return got
	}
	expired := mk(acct.ID, alice.ID, now.Add(-3*time.Hour), now.Add(-time.Hour), "")
	noSeat := mk(acct.ID, alice.ID, now.Add(-2*time.Hour), now.Add(time.Hour), "every concurrent seat of the account is taken")
	revoked := mk(acct.ID, alice.ID, now.Add(-time.Hour), now.Add(time.Hour), "")
	must(t, s.RevokeSession(ctx, acct.ID, revoked.ID, now), "revoke session")
	revoked.RevokedAt = now
	live := mk(acct.ID, alice.ID, now.Add(-time.Minute), now.Add(time.Hour), "")
	mk(acct.ID, bob.ID, now, now.Add(time.Hour), "")
	// Another account's member cannot share alice's id, but a store must
	// not match on the member id alone.
	mk(other.ID, alice.ID, now, now.Add(time.Hour), "")

	got, err := s.GetSessionByHash(ctx, noSeat.Hash)
	must(t, err, "get session by hash")
	expectSame(t, got, noSeat, "session with a NoSeatReason read back")

	list, err := s.ListMemberSessions(ctx, acct.ID, alice.ID)
	must(t, err, "list alice's sessions")
	want := []repository.Session{live, revoked, noSeat, expired}
	var gotIDs, wantIDs []string
	for _, sess := range list {
		gotIDs = append(gotIDs, sess.ID)
	}
	for _, sess := range want {
		wantIDs = append(wantIDs, sess.ID)
	}
	expectSeq(t, gotIDs, wantIDs, "alice's sessions, newest first, revoked and expired included")
	if len(list) == len(want) {
		for i := range list {
			expectSame(t, list[i], want[i], "listed session %d", i)
		}
	}

	list, err = s.ListMemberSessions(ctx, acct.ID, repository.NewID())
	must(t, err, "list an unknown member's sessions")
	expect(t, len(list), 0, "sessions of an unknown member")

	must(t, s.DeleteMember(ctx, acct.ID, alice.ID), "delete alice")
	list, err = s.ListMemberSessions(ctx, acct.ID, alice.ID)
	must(t, err, "list a deleted member's sessions")
	expect(t, len(list), 0, "sessions of a deleted member")
	list, err = s.ListMemberSessions(ctx, other.ID, alice.ID)
	must(t, err, "list the other account's session")
	expect(t, len(list), 1, "the other account's session with alice's member id survives")
}

// testConcurrentExpiredSessionSweep runs sweepers at once (two instances
// sharing a store): every expired session is reported by exactly one of
// them, so the seat lease it held is released once.
func testConcurrentExpiredSessionSweep(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	m := newMember(t, s, acct.ID, "agent@example.com")
	now := ms(time.Now())
	var want []string
	for i := range 20 {
		sess, err := s.CreateSession(ctx, repository.Session{
			AccountID: acct.ID, MemberID: m.ID, Hash: unique("sesshash"), AgentSeat: true,
			CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Duration(i+1) * time.Second),
		})
		must(t, err, "create expired session")
		want = append(want, sess.ID)
	}
	const sweepers = 4
	reported := make([][]repository.Session, sweepers)
	fails := newFailures(sweepers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range sweepers {
		wg.Go(func() {
			<-start
			var err error
			if reported[i], err = s.DeleteExpiredSessions(ctx, now); err != nil {
				fails.add("sweeper %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	fails.report(t)
	var got []string
	for _, r := range reported {
		for _, sess := range r {
			got = append(got, sess.ID)
		}
	}
	expectSet(t, got, want, "sessions reported by concurrent sweepers (each exactly once)")
	left, err := s.ListMemberSessions(ctx, acct.ID, m.ID)
	must(t, err, "list sessions after the sweep")
	expect(t, len(left), 0, "sessions left after the sweep (of %d)", len(want))
}
