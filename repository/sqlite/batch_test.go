package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

// waitForQueue waits until n callers queue for the writer.
func waitForQueue(t *testing.T, s *Store, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.batch.waiting.Load() < n {
		if time.Now().After(deadline) {
			t.Errorf("only %d callers queued, want %d", s.batch.waiting.Load(), n)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func memberExists(t *testing.T, s *Store, accountID, userName string) bool {
	t.Helper()
	_, err := s.GetMemberByUserName(context.Background(), accountID, userName)
	if err != nil && !errors.Is(err, repository.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestGroupCommitKeepsEachCallerAtomic: concurrent write transactions are
// committed together, yet each one's writes are all kept or all rolled
// back on its own.
func TestGroupCommitKeepsEachCallerAtomic(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "batch"})
	if err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused")
	const callers = 40
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.InTx(ctx, func(ctx context.Context) error {
				for j := range 2 {
					if _, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: fmt.Sprintf("c%d-%d@batch.example", i, j)}); err != nil {
						return err
					}
				}
				time.Sleep(time.Millisecond) // let others queue
				if i%3 == 0 {
					return errRefused
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range callers {
		want := i%3 != 0
		if got := errs[i] == nil; got != want {
			t.Errorf("caller %d: error %v", i, errs[i])
		}
		for j := range 2 {
			if got := memberExists(t, s, a.ID, fmt.Sprintf("c%d-%d@batch.example", i, j)); got != want {
				t.Errorf("caller %d member %d exists %v, want %v", i, j, got, want)
			}
		}
	}
	page, err := s.ListMembers(ctx, a.ID, repository.Query{Count: 0})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * (callers - (callers+2)/3); page.Total != want {
		t.Errorf("member count %d, want %d", page.Total, want)
	}
	commits, members := s.batch.commits.Load(), s.batch.members.Load()
	if commits >= members {
		t.Errorf("%d commits for %d callers: nothing was committed together", commits, members)
	}
	t.Logf("%d callers in %d commits", members, commits)
}

// TestGroupCommitCancelledCallerDoesNotRun: a caller whose context ends
// while it queues runs nothing, and the batch it queued for commits.
func TestGroupCommitCancelledCallerDoesNotRun(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "cancel"})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	var firstErr, cancelledErr error
	ran := false
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		firstErr = s.InTx(ctx, func(ctx context.Context) error {
			if _, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "first@cancel.example"}); err != nil {
				return err
			}
			waitForQueue(t, s, 1)
			cancel()
			return nil
		})
	}()
	go func() {
		defer wg.Done()
		for s.batch.cur.Load() == nil {
			time.Sleep(time.Millisecond) // queue behind the first caller
		}
		cancelledErr = s.InTx(cctx, func(ctx context.Context) error {
			ran = true
			return nil
		})
	}()
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	if !errors.Is(cancelledErr, context.Canceled) || ran {
		t.Errorf("cancelled caller: ran %v, error %v", ran, cancelledErr)
	}
	if !memberExists(t, s, a.ID, "first@cancel.example") {
		t.Error("the first caller's write is lost")
	}
}

// TestGroupCommitSurvivesAPanic: a caller that panics takes its batch
// down (every caller in it gets an error, nothing of it is kept), and the
// store goes on working.
func TestGroupCommitSurvivesAPanic(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	acct, err := s.CreateAccount(ctx, repository.Account{Name: "panic"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(ctx context.Context, name string) error {
		_, err := s.CreateMember(ctx, repository.Member{AccountID: acct.ID, UserName: name + "@panic.example"})
		return err
	}
	var aErr, cErr error
	var panicked any
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		aErr = s.InTx(ctx, func(ctx context.Context) error {
			if err := create(ctx, "a"); err != nil {
				return err
			}
			waitForQueue(t, s, 2)
			return nil
		})
	}()
	for s.batch.cur.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	go func() {
		defer wg.Done()
		defer func() { panicked = recover() }()
		_ = s.InTx(ctx, func(ctx context.Context) error {
			if err := create(ctx, "b"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	go func() {
		defer wg.Done()
		cErr = s.InTx(ctx, func(ctx context.Context) error { return create(ctx, "c") })
	}()
	wg.Wait()
	if panicked != "boom" {
		t.Errorf("panic %v, want boom", panicked)
	}
	if !errors.Is(aErr, errBatchFailed) {
		t.Errorf("caller in the panicked batch: error %v, want errBatchFailed", aErr)
	}
	for name, want := range map[string]bool{"a": false, "b": false, "c": cErr == nil} {
		if got := memberExists(t, s, acct.ID, name+"@panic.example"); got != want {
			t.Errorf("member %s exists %v, want %v (c's error: %v)", name, got, want, cErr)
		}
	}
	if cErr != nil && !errors.Is(cErr, errBatchFailed) {
		t.Errorf("c: %v", cErr)
	}
	if err := create(ctx, "after"); err != nil {
		t.Fatalf("store unusable after a panic: %v", err)
	}
}

// gatedCaller is one write transaction of queueBehindGate: fn runs in
// it, and after (optional) runs in the caller's goroutine as soon as InTx
// has returned, with its error.
type gatedCaller struct {
	fn    func(ctx context.Context) error
	after func(err error)
}

// queueBehindGate queues callers, in order, behind a gate caller that
// holds the writer, then lets the gate go: the first caller then starts a
// batch and the others join it one after the other (writers waiting for
// the writer get it in the order they queued). The batch is kept open
// however slowly the callers run. It returns once all have returned, with
// their errors and what each one's panic was (nil when none).
func queueBehindGate(t *testing.T, s *Store, callers ...gatedCaller) ([]error, []any) {
	t.Helper()
	s.batch.maxAge = time.Hour
	ctx := context.Background()
	errs := make([]error, len(callers))
	panics := make([]any, len(callers))
	inGate, open := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		// The gate writes nothing and fails, so its transaction is
		// rolled back and the next caller starts a new batch.
		_ = s.InTx(ctx, func(context.Context) error {
			close(inGate)
			<-open
			return errors.New("gate")
		})
	})
	<-inGate
	for i, c := range callers {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = s.InTx(ctx, c.fn)
			if c.after != nil {
				c.after(errs[i])
			}
		})
		waitForQueue(t, s, int32(i+1))
	}
	close(open)
	wg.Wait()
	return errs, panics
}

// TestGroupCommitRefusalWaitsForTheWritesItSaw is the store-level
// regression test of TestParallelCreatesNeverOverAllocate failing under
// group commit. A caller refused because of what an earlier caller of
// its batch wrote (here: the last seat) used to return as soon as it was
// rolled back to its savepoint, before the batch committed. What it then
// read outside the transaction did not show the write that refused it:
// the seats in use for its "n of m seats in use" message were fewer than
// the limit (an IdP would likewise get a 409 for a userName its next GET
// does not find). Now a refused caller returns only once the batch whose
// writes it saw is committed.
func TestGroupCommitRefusalWaitsForTheWritesItSaw(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	acct, err := s.CreateAccount(ctx, repository.Account{Name: "seats"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSeatLimit(ctx, acct.ID, 1); err != nil {
		t.Fatal(err)
	}
	reserve := func(memberID string) func(ctx context.Context) error {
		return func(ctx context.Context) error { return s.ReserveSeat(ctx, acct.ID, memberID) }
	}
	refusedReturned := make(chan struct{})
	inUseSeenByRefused := -1
	commitsBefore := s.batch.commits.Load()
	errs, _ := queueBehindGate(t, s,
		gatedCaller{fn: reserve("m1")},
		gatedCaller{fn: reserve("m2"), after: func(error) {
			// What provisioning does next on a store without
			// transactions: count the seats for the refusal message.
			n, err := s.SeatsInUse(ctx, acct.ID)
			if err != nil {
				t.Error(err)
			}
			inUseSeenByRefused = n
			close(refusedReturned)
		}},
		gatedCaller{fn: func(ctx context.Context) error {
			// Runs inside the open batch after the refused caller, and
			// gives it time to return early (as it used to) before
			// the batch can commit.
			select {
			case <-refusedReturned:
			case <-time.After(300 * time.Millisecond):
			}
			return s.ReserveSeat(ctx, acct.ID, "m3")
		}},
	)
	if errs[0] != nil || !errors.Is(errs[1], repository.ErrNoSeat) || !errors.Is(errs[2], repository.ErrNoSeat) {
		t.Fatalf("errors %v, want nil, ErrNoSeat, ErrNoSeat", errs)
	}
	if inUseSeenByRefused != 1 {
		t.Errorf("the refused caller then read %d seats in use, want 1: it returned before the seat that refused it was committed", inUseSeenByRefused)
	}
	if got := s.batch.commits.Load() - commitsBefore; got != 1 {
		t.Errorf("%d commits, want the three callers in 1", got)
	}
}

// TestGroupCommitRefusalFailsWithItsBatch: when the batch a refused
// caller ran in is rolled back after it (here a later caller panics), the
// write that refused it never happened; the caller then fails with the
// batch's error, which a client retries, not with the refusal.
func TestGroupCommitRefusalFailsWithItsBatch(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	acct, err := s.CreateAccount(ctx, repository.Account{Name: "rolled back"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSeatLimit(ctx, acct.ID, 1); err != nil {
		t.Fatal(err)
	}
	errs, panics := queueBehindGate(t, s,
		gatedCaller{fn: func(ctx context.Context) error { return s.ReserveSeat(ctx, acct.ID, "m1") }},
		gatedCaller{fn: func(ctx context.Context) error { return s.ReserveSeat(ctx, acct.ID, "m2") }},
		gatedCaller{fn: func(ctx context.Context) error { panic("boom") }},
	)
	if panics[2] != "boom" {
		t.Fatalf("panic %v", panics[2])
	}
	for i, err := range errs[:2] {
		if !errors.Is(err, errBatchFailed) || errors.Is(err, repository.ErrNoSeat) {
			t.Errorf("caller %d: error %v, want errBatchFailed only", i, err)
		}
	}
	if n, err := s.SeatsInUse(ctx, acct.ID); err != nil || n != 0 {
		t.Errorf("seats in use %d (%v), want 0", n, err)
	}
	// The store goes on: the seat is free.
	if err := s.ReserveSeat(ctx, acct.ID, "m2"); err != nil {
		t.Fatal(err)
	}
}
