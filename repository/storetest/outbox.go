package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"Outbox", testOutbox},
		testCase{"OutboxConcurrentClaim", testOutboxConcurrentClaim},
	)
}

func claimIDs(t *testing.T, s repository.Store, now, until time.Time, limit int) ([]string, map[string]repository.OutboxMessage) {
	t.Helper()
	msgs, err := s.ClaimEmails(t.Context(), now, until, limit)
	must(t, err, "claim emails")
	if len(msgs) > limit {
		t.Fatalf("claim emails: %d messages for limit %d", len(msgs), limit)
	}
	var ids []string
	byID := map[string]repository.OutboxMessage{}
	for _, m := range msgs {
		ids = append(ids, m.ID)
		byID[m.ID] = m
	}
	return ids, byID
}

func testOutbox(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	a := newAccount(t, s)
	b := newAccount(t, s)
	now := ms(time.Now())

	mk := func(accountID string, age time.Duration, subject string) repository.OutboxMessage {
		return repository.OutboxMessage{
			AccountID:     accountID,
			ID:            repository.NewID(),
			To:            "someone@example.com",
			Subject:       subject,
			Text:          "Accept: https://roster.example/accept?t=abc",
			HTML:          `<a href="https://roster.example/accept?t=abc">Accept</a>`,
			CreatedAt:     now.Add(-age),
			NextAttemptAt: now.Add(-age),
		}
	}
	m1 := mk(a.ID, 3*time.Minute, "You are invited")
	m2 := mk(a.ID, 2*time.Minute, "Your role changed")
	m3 := mk(b.ID, time.Minute, "Confirm account deletion")
	for _, m := range []repository.OutboxMessage{m1, m2, m3} {
		must(t, s.EnqueueEmail(ctx, m), "enqueue %q", m.Subject)
	}

	t.Run("DuplicateIDIgnored", func(t *testing.T) {
		dup := m1
		dup.Subject = "retried change, must not be sent twice"
		must(t, s.EnqueueEmail(ctx, dup), "enqueue a message id again")
		pending, oldest, err := s.OutboxStats(ctx)
		must(t, err, "outbox stats")
		expect(t, pending, 3, "pending messages after a duplicate enqueue")
		expectTime(t, oldest, m1.CreatedAt, "oldest pending message")
	})

	t.Run("ClaimLeases", func(t *testing.T) {
		ids, byID := claimIDs(t, s, now, now.Add(time.Minute), 10)
		expectSet(t, ids, []string{m1.ID, m2.ID, m3.ID}, "first claim")
		if got, ok := byID[m1.ID]; ok {
			want := m1
			want.Attempts, want.NextAttemptAt, want.LastError, want.SentAt = got.Attempts, got.NextAttemptAt, got.LastError, got.SentAt
			expectSame(t, got, want, "claimed message (the first enqueue wins)")
		}
		ids, _ = claimIDs(t, s, now, now.Add(time.Minute), 10)
		expectSet(t, ids, nil, "claim while every message is leased")
		ids, _ = claimIDs(t, s, now.Add(30*time.Second), now.Add(time.Minute), 10)
		expectSet(t, ids, nil, "claim before the leases end")
	})

	t.Run("SentAndFailed", func(t *testing.T) {
		must(t, s.MarkEmailSent(ctx, a.ID, m1.ID, now.Add(time.Second)), "mark sent")
		must(t, s.MarkEmailFailed(ctx, a.ID, m2.ID, "451 try again later", now.Add(5*time.Minute)), "mark failed")
		pending, oldest, err := s.OutboxStats(ctx)
		must(t, err, "outbox stats")
		expect(t, pending, 2, "pending messages after one was sent")
		expectTime(t, oldest, m2.CreatedAt, "oldest pending message after the oldest was sent")

		// After the first lease: m3's lease is over, m2 waits for its
		// retry time, m1 is sent.
		ids, _ := claimIDs(t, s, now.Add(2*time.Minute), now.Add(10*time.Minute), 10)
		expectSet(t, ids, []string{m3.ID}, "claim after the first lease ended")
		// After m2's retry time (m3 is leased again until +10m).
		ids, byID := claimIDs(t, s, now.Add(6*time.Minute), now.Add(7*time.Minute), 10)
		expectSet(t, ids, []string{m2.ID}, "claim after the retry time")
		if got, ok := byID[m2.ID]; ok {
			expect(t, got.LastError, "451 try again later", "LastError of a failed message")
			if got.Attempts < 1 {
				t.Errorf("Attempts of a failed message: %d, want at least 1", got.Attempts)
			}
		}
		// Long after: only unsent messages come back; m1 never does.
		ids, _ = claimIDs(t, s, now.Add(time.Hour), now.Add(61*time.Minute), 10)
		expectSet(t, ids, []string{m2.ID, m3.ID}, "claim long after every lease")
	})

	t.Run("Limit", func(t *testing.T) {
		for i := range 5 {
			must(t, s.EnqueueEmail(ctx, mk(b.ID, time.Duration(i)*time.Second, "bulk")), "enqueue bulk message")
		}
		later := now.Add(2 * time.Hour)
		ids, _ := claimIDs(t, s, later, later.Add(time.Minute), 3)
		expect(t, len(ids), 3, "messages claimed with limit 3")
		rest, _ := claimIDs(t, s, later, later.Add(time.Minute), 10)
		expect(t, len(rest), 4, "messages left for the next claim (7 pending, 3 leased)")
		expectSet(t, append(ids, rest...), uniqueStrings(append(ids, rest...)), "two claims never hand out one message twice")
	})
}

func uniqueStrings(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// testOutboxConcurrentClaim has several workers drain the outbox at once:
// every message goes to exactly one of them.
func testOutboxConcurrentClaim(t *testing.T, c Config) {
	c.needs(t, AtomicUpdates)
	s := c.New(t)
	ctx := t.Context()
	a := newAccount(t, s)
	now := ms(time.Now())
	const messages, workers = 40, 8
	var want []string
	for i := range messages {
		m := repository.OutboxMessage{
			AccountID: a.ID, ID: repository.NewID(), To: "x@example.com", Subject: "n",
			CreatedAt: now.Add(-time.Duration(i) * time.Second), NextAttemptAt: now.Add(-time.Duration(i) * time.Second),
		}
		must(t, s.EnqueueEmail(ctx, m), "enqueue message %d", i)
		want = append(want, m.ID)
	}
	var (
		mu  sync.Mutex
		got []string
		wg  sync.WaitGroup
	)
	fails := newFailures(workers)
	for range workers {
		wg.Go(func() {
			for range messages {
				msgs, err := s.ClaimEmails(ctx, now, now.Add(time.Hour), 3)
				if err != nil {
					fails.add("concurrent claim: %v", err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					got = append(got, m.ID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	fails.report(t)
	expectSet(t, got, want, "messages claimed by %d concurrent workers", workers)
}
