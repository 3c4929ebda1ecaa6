package provisioning

import (
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/repository"
)

// Code is a stable machine-readable error code. Front doors map codes to
// their protocol (SCIM status and scimType, problem+json, a login page).
type Code string

// Error codes.
const (
	CodeNotFound         Code = "not_found"
	CodeConflict         Code = "conflict"         // a unique attribute is taken
	CodeInvalidValue     Code = "invalid_value"    // a value breaks a rule
	CodeInvalidQuery     Code = "invalid_query"    // unsupported filter or sort
	CodeVersionMismatch  Code = "version_mismatch" // If-Match failed
	CodeSeatLimitReached Code = "seat_limit_reached"
	CodeSeatsInUse       Code = "seats_in_use"
	CodeOwnerProtected   Code = "owner_protected"
	CodeOwnerOnly        Code = "owner_only"
	CodeManagedByIdP     Code = "managed_by_idp"
	CodeForbidden        Code = "forbidden"
	// CodeNotProvisioned means an SSO login proved who the person is, but
	// the account has no member for them and may not create one.
	CodeNotProvisioned Code = "not_provisioned"
	// CodeMemberInactive means the member exists but is deactivated: it
	// gets no session, whatever credential it brings.
	CodeMemberInactive Code = "member_inactive"
)

// Error is a rule violation with a public message safe to show to the
// caller, and an optional private cause for logs.
type Error struct {
	Code      Code
	Message   string // public, human readable
	Attribute string // the attribute at fault, when one is
	Err       error  // private cause
	// RetryAfter, when not zero, is how long the caller must wait before
	// the same request can succeed (a locked-out login, CodeRateLimited).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted public message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError converts any error into an *Error: rule errors pass through,
// repository sentinels map to their codes, and anything else is nil (an
// internal failure the front door reports without details).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var c *repository.ConflictError
	switch {
	case errors.As(err, &c):
		return &Error{Code: CodeConflict, Attribute: c.Attribute,
			Message: fmt.Sprintf("%s is already in use", c.Attribute), Err: err}
	case errors.Is(err, repository.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: "resource not found", Err: err}
	case errors.Is(err, repository.ErrVersionMismatch):
		return &Error{Code: CodeVersionMismatch, Message: "the resource was changed by someone else; fetch it again", Err: err}
	case errors.Is(err, repository.ErrInvalidQuery):
		return &Error{Code: CodeInvalidQuery, Message: err.Error(), Err: err}
	case errors.Is(err, repository.ErrSeatsInUse):
		return &Error{Code: CodeSeatsInUse, Message: err.Error(), Err: err}
	}
	return nil
}
