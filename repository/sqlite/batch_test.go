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
