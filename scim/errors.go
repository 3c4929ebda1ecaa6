package scim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim/filter"
)

// SCIM error types (RFC 7644 section 3.12).
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
)

// Error is a failure the SCIM layer itself detects (bad JSON, a bad path,
// a missing token). Status is the HTTP status; ScimType may be empty.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	// RetryAfter, in seconds, is sent as Retry-After when positive.
	RetryAfter int
}

func (e *Error) Error() string {
	if e.ScimType != "" {
		return fmt.Sprintf("scim %d %s: %s", e.Status, e.ScimType, e.Detail)
	}
	return fmt.Sprintf("scim %d: %s", e.Status, e.Detail)
}

// errorf returns an *Error with a formatted detail.
func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// badRequest is a 400 of the given type.
func badRequest(scimType, format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, scimType, format, args...)
}

// errorBody is the JSON of a SCIM error response (RFC 7644 section 3.12).
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// toSCIMError maps any error of a handler to a SCIM error: the SCIM
// layer's own errors as they are, filter errors to their scimType,
// provisioning rule errors and repository sentinels by code. Anything
// else is an internal failure: a 500 whose detail says nothing of the
// cause (the caller logs it). internal reports that case.
func toSCIMError(err error) (e *Error, internal bool) {
	var se *Error
	if errors.As(err, &se) {
		return se, false
	}
	var fe *filter.Error
	if errors.As(err, &fe) {
		return badRequest(fe.ScimType, "%s", fe.Detail), false
	}
	if pe := provisioning.AsError(err); pe != nil {
		return fromRule(pe), false
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "",
			"the request body is larger than the limit of %d bytes (see maxPayloadSize in /ServiceProviderConfig)", mbe.Limit), false
	}
	return errorf(http.StatusInternalServerError, "", "internal server error"), true
}

// fromRule maps a provisioning rule error to a SCIM status and type.
func fromRule(pe *provisioning.Error) *Error {
	detail := pe.Message
	switch pe.Code {
	case provisioning.CodeNotFound:
		return errorf(http.StatusNotFound, "", "%s", detail)
	case provisioning.CodeConflict:
		return errorf(http.StatusConflict, typeUniqueness, "%s", detail)
	case provisioning.CodeInvalidValue:
		return badRequest(typeInvalidValue, "%s", detail)
	case provisioning.CodeInvalidQuery:
		return badRequest(typeInvalidFilter, "%s", detail)
	case provisioning.CodeVersionMismatch:
		return errorf(http.StatusPreconditionFailed, "", "%s", detail)
	case provisioning.CodeUnauthenticated:
		return errorf(http.StatusUnauthorized, "", "%s", detail)
	case provisioning.CodeSeatLimitReached, provisioning.CodeOwnerProtected, provisioning.CodeOwnerOnly,
		provisioning.CodeManagedByIdP, provisioning.CodeForbidden:
		return errorf(http.StatusForbidden, "", "%s", detail)
	case provisioning.CodeSeatsInUse:
		return errorf(http.StatusConflict, "", "%s", detail)
	}
	return badRequest("", "%s", detail)
}

// body returns the JSON body of e.
func (e *Error) body() errorBody {
	return errorBody{
		Schemas:  []string{URNError},
		Status:   strconv.Itoa(e.Status),
		ScimType: e.ScimType,
		Detail:   e.Detail,
	}
}

// notFound is the 404 of a resource that does not exist in the account.
func notFound(kind, id string) *Error {
	return errorf(http.StatusNotFound, "", "%s %q not found", kind, id)
}

// isNotFound reports whether err means "no such record".
func isNotFound(err error) bool {
	return errors.Is(err, repository.ErrNotFound)
}
