package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/rosterhq/roster/repository"
)

//go:generate go run ./internal/genstore -repo ../repository -out store_gen.go

// instrumentedStore times the calls of the store it wraps. Its methods
// are generated (store_gen.go) from repository.Store; the embedded Store
// passes through any method added to the interface since the last
// generation, untimed, until `go generate ./metrics` is run (the genstore
// test fails meanwhile, so it is not forgotten).
type instrumentedStore struct {
	repository.Store
	next repository.Store
	r    *Registry
}

// InstrumentStore returns s with every call that returns an error timed
// in roster_store_call_duration_seconds (label operation: the method
// name) and its errors counted in roster_store_errors_total. Behaviour is
// unchanged: arguments, results and the context (and so InTx's
// transaction) pass through as they are.
func InstrumentStore(s repository.Store, r *Registry) repository.Store {
	return &instrumentedStore{Store: s, next: s, r: r}
}

// Unwrap returns the store InstrumentStore wrapped, for callers that look
// for a backend's optional methods (beyond repository.Store) by type
// assertion: the decorator has only the interface's methods.
func (s *instrumentedStore) Unwrap() repository.Store { return s.next }

// observeStore records one store call.
func (r *Registry) observeStore(op string, start time.Time, err error) {
	r.storeCalls.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		r.storeErrors.WithLabelValues(op, errorKind(err)).Inc()
	}
}

// errorKind sorts store errors into a few kinds: most not-found and
// conflict errors are answers, not failures.
func errorKind(err error) string {
	var ce *repository.ConflictError
	switch {
	case errors.Is(err, repository.ErrNotFound):
		return "not_found"
	case errors.As(err, &ce), errors.Is(err, repository.ErrConflict):
		return "conflict"
	case errors.Is(err, repository.ErrVersionMismatch):
		return "version_mismatch"
	case errors.Is(err, repository.ErrNoSeat):
		return "no_seat"
	case errors.Is(err, repository.ErrReplayed):
		return "replayed"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "other"
}
