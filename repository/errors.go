package repository

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by every Store implementation. Callers test them
// with errors.Is; backends wrap them with the operation that failed.
var (
	// ErrNotFound means the record does not exist in the caller's account.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule was violated. The concrete error is
	// a *ConflictError naming the attribute.
	ErrConflict = errors.New("conflict")
	// ErrVersionMismatch means an optimistic update lost a race or the
	// caller's expected version (an If-Match) is stale.
	ErrVersionMismatch = errors.New("version mismatch")
	// ErrNoSeat means every agent seat of the account is held.
	ErrNoSeat = errors.New("no agent seat free")
	// ErrSeatsInUse means a seat limit cannot be lowered below the seats held.
	// The concrete error is a *SeatsInUseError.
	ErrSeatsInUse = errors.New("seats in use")
	// ErrInvalidQuery means a query names a field or operator the field does
	// not support, or a value of the wrong type.
	ErrInvalidQuery = errors.New("invalid query")
	// ErrReplayed means a one-time key (an assertion id, a state) was
	// already used.
	ErrReplayed = errors.New("already used")
)

// ConflictError reports which unique attribute a write collided on, for
// example "userName", "externalId" or "displayName".
type ConflictError struct {
	Kind      string // record kind, e.g. "member"
	Attribute string // attribute that must be unique
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %s already exists", e.Kind, e.Attribute)
}

// Is makes errors.Is(err, ErrConflict) true for a *ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// NewConflict returns a *ConflictError for kind and attribute.
func NewConflict(kind, attribute string) error {
	return &ConflictError{Kind: kind, Attribute: attribute}
}

// SeatsInUseError reports how many seats are held when a lower limit was
// requested.
type SeatsInUseError struct {
	InUse     int
	Requested int
}

func (e *SeatsInUseError) Error() string {
	return fmt.Sprintf("%d agent seats in use, cannot lower the limit to %d: free %d first",
		e.InUse, e.Requested, e.InUse-e.Requested)
}

// Is makes errors.Is(err, ErrSeatsInUse) true for a *SeatsInUseError.
func (e *SeatsInUseError) Is(target error) bool { return target == ErrSeatsInUse }

// InvalidQueryf returns an error wrapping ErrInvalidQuery.
func InvalidQueryf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidQuery, fmt.Sprintf(format, args...))
}
