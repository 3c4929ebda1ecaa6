package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Group commit. A commit is the most expensive part of a small write: it
// appends every page the transaction changed to the WAL (two writes per
// page), and the readers' page caches are reset after it. Writers of one
// Store queue for its only connection anyway, so the transactions of
// callers that arrive while another one runs are run one after the other
// inside one SQLite transaction, each in its own SAVEPOINT, and committed
// together: pages several of them change are written once, and the queue
// moves faster the longer it is.
//
// Each caller's writes stay atomic: a caller whose function fails is rolled
// back to its savepoint, and the others' writes are kept. Every caller
// that ran returns only once its batch is committed (or rolled back), a
// failed one too: its failure may rest on what earlier callers of the
// batch wrote (a seat they took, a userName they created), so it must not
// answer before those writes are durable and visible to readers, and a
// batch that is then rolled back fails it with the batch's error instead
// of a refusal whose cause never existed. A commit that fails fails every
// caller in it. Callers see each other's
// writes in the order they ran, exactly as if they had committed one by
// one, and nothing of a batch is visible to readers (or other processes)
// before its commit. The write lock is held from the first caller's
// BEGIN IMMEDIATE to the commit, so what is atomic across processes stays
// atomic.
//
// Statements of a write transaction are not interrupted when a caller's
// context is cancelled: SQLite rolls back the whole transaction when a
// write statement inside it is interrupted, which would take the other
// callers' writes with it. A caller whose context is done before its turn
// does not run; one that has started runs to the end of its function.

// maxBatchMembers and maxBatchAge bound how long the first caller of a
// batch waits for the commit while later ones keep joining.
const (
	maxBatchMembers = 16
	maxBatchAge     = 10 * time.Millisecond
)

// The savepoint of a caller that joins a batch. Callers run one at a
// time, so one name serves them all.
const (
	qSavepoint           = "SAVEPOINT batch_member"
	qRollbackToSavepoint = "ROLLBACK TO batch_member"
	qReleaseSavepoint    = "RELEASE batch_member"
)

// errBatchFailed reports that a caller's writes were lost with the rest
// of its batch.
var errBatchFailed = errors.New("the shared write transaction was rolled back")

// batcher queues writers for the writer connection and groups them.
type batcher struct {
	s *Store
	// turn holds one token: the right to use the writer connection.
	turn    chan struct{}
	waiting atomic.Int32 // callers waiting for the turn

	// cur is the open batch; only the holder of the turn changes it.
	cur atomic.Pointer[batch]
	// maxAge is maxBatchAge; tests that must keep a batch open longer
	// than a slow (race-detector) run takes raise it.
	maxAge time.Duration

	// Counters for tests and diagnostics.
	commits atomic.Int64
	members atomic.Int64
}

// batch is one SQLite transaction shared by several callers.
type batch struct {
	st      *txState
	started time.Time
	members int           // callers whose writes the batch keeps
	ran     int           // callers that ran, failed ones included
	done    chan struct{} // closed once the batch is committed or rolled back
	err     error         // why it failed, set before done is closed
}

func newBatcher(s *Store) *batcher {
	return &batcher{s: s, turn: make(chan struct{}, 1), maxAge: maxBatchAge}
}

// run runs fn in a write transaction shared with the callers queued at
// the same time (see the comment above), and returns once its writes are
// committed.
func (b *batcher) run(ctx context.Context, fn func(h handle) error) (err error) {
	b.waiting.Add(1)
	b.turn <- struct{}{} // not cancellable: an open batch may depend on this caller to commit it
	b.waiting.Add(-1)
	locked := true
	release := func() {
		if locked {
			locked = false
			<-b.turn
		}
	}
	defer release()

	bt := b.cur.Load()
	first := bt == nil
	if first {
		if err := ctx.Err(); err != nil {
			return err
		}
		tx, err := b.s.w.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		bt = &batch{st: &txState{s: b.s, tx: tx, cache: b.s.wc, detached: true}, started: time.Now(), done: make(chan struct{})}
		b.cur.Store(bt)
	}

	panicked := true
	defer func() {
		if panicked {
			// A bug in fn: nothing of the batch can be trusted to be
			// whole. Roll it all back, fail the others, and go on.
			b.finish(bt, errBatchFailed, true)
		}
	}()
	fnErr := ctx.Err()
	ran := fnErr == nil // a caller whose context ended before its turn runs nothing
	if ran {
		fnErr = b.member(ctx, bt, first, fn)
	}
	panicked = false

	switch {
	case bt.err != nil:
		// The transaction itself failed (a savepoint could not be
		// rolled back or released): nothing of it is kept.
		err := bt.err
		b.finish(bt, err, true)
		if fnErr != nil {
			return fnErr
		}
		return bt.err
	case first && fnErr != nil && bt.members == 0:
		// Alone in the batch: roll the whole transaction back.
		b.finish(bt, nil, true)
		return fnErr
	}
	if fnErr == nil {
		bt.members++
	}
	if ran {
		bt.ran++
	}
	if b.waiting.Load() > 0 && bt.ran < maxBatchMembers && time.Since(bt.started) < b.maxAge {
		// Someone is queued: they join and commit. A caller that failed
		// waits too (see the comment above), unless it never ran.
		release()
		if !ran {
			return fnErr
		}
		<-bt.done
		return outcome(bt, fnErr)
	}
	if bt.members == 0 {
		b.finish(bt, nil, true)
		return fnErr
	}
	b.finish(bt, nil, false)
	return outcome(bt, fnErr)
}

// outcome is what a caller that ran in the finished batch bt returns: the
// batch's error when it was not committed (a refusal decided on its
// writes no longer holds), else the caller's own.
func outcome(bt *batch, fnErr error) error {
	if bt.err != nil {
		return bt.err
	}
	return fnErr
}

// member runs fn as one caller of the batch: in a savepoint, unless it is
// the batch's first caller (a failure then rolls back the transaction).
func (b *batcher) member(ctx context.Context, bt *batch, first bool, fn func(h handle) error) error {
	h := handle{tx: bt.st}
	if first {
		return fn(h)
	}
	if _, err := h.exec(ctx, qSavepoint); err != nil {
		bt.err = fmt.Errorf("savepoint: %w", err)
		return bt.err
	}
	if err := fn(h); err != nil {
		if _, rerr := h.exec(ctx, qRollbackToSavepoint); rerr != nil {
			bt.err = fmt.Errorf("roll back to savepoint: %w", rerr)
			return err
		}
		if _, rerr := h.exec(ctx, qReleaseSavepoint); rerr != nil {
			bt.err = fmt.Errorf("release savepoint: %w", rerr)
		}
		return err
	}
	if _, err := h.exec(ctx, qReleaseSavepoint); err != nil {
		bt.err = fmt.Errorf("release savepoint: %w", err)
		return bt.err
	}
	return nil
}

// finish ends the batch (the caller holds the turn): commits it, or rolls
// it back when rollback is set, and tells its waiting callers. A rolled
// back batch with members fails them with errBatchFailed (or cause).
func (b *batcher) finish(bt *batch, cause error, rollback bool) {
	if b.cur.Load() != bt {
		return // already finished
	}
	b.cur.Store(nil)
	if rollback {
		_ = bt.st.tx.Rollback()
		if bt.members > 0 {
			bt.err = errors.Join(errBatchFailed, cause)
		}
	} else if err := bt.st.tx.Commit(); err != nil {
		bt.err = fmt.Errorf("commit: %w", err)
	} else {
		b.commits.Add(1)
		b.members.Add(int64(bt.members))
	}
	b.s.ended(bt.st) // before the callers answer: they must see the roles they wrote
	close(bt.done)
}
