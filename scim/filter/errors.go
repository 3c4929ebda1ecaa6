package filter

import (
	"errors"
	"fmt"

	"github.com/rosterhq/roster/repository"
)

// SCIM error types (RFC 7644 section 3.12) carried by *Error.
const (
	ScimTypeInvalidFilter = "invalidFilter"
	ScimTypeInvalidPath   = "invalidPath"
	ScimTypeInvalidValue  = "invalidValue"
)

// Sentinels for errors.Is. Every error this package returns is an *Error
// matching exactly one of them, chosen by what was being parsed.
var (
	// ErrInvalidFilter matches errors of Resource.Compile: a filter that
	// does not parse, names an unknown attribute, or compares a value of
	// the wrong type or with an operator the attribute does not support.
	ErrInvalidFilter = errors.New("invalid filter")
	// ErrInvalidPath matches errors of Resource.ParsePath.
	ErrInvalidPath = errors.New("invalid path")
	// ErrInvalidSort matches errors of Resource.SortField.
	ErrInvalidSort = errors.New("invalid sortBy")
)

// Error is a filter, path or sortBy the server cannot use. The HTTP layer
// answers it with status 400, ScimType as "scimType" and Error() as
// "detail"; the message is written for the IdP administrator who reads it.
type Error struct {
	// ScimType is ScimTypeInvalidFilter, ScimTypeInvalidPath or
	// ScimTypeInvalidValue (a bad sortBy).
	ScimType string
	// Detail is the message, e.g. `filter: unexpected token ")" at offset
	// 17, expected a comparison value`.
	Detail string
}

// Error returns Detail.
func (e *Error) Error() string { return e.Detail }

// Is makes errors.Is match the sentinel of the error's kind. Filter and
// sortBy errors also match repository.ErrInvalidQuery: they are invalid
// queries in the repository's sense.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalidFilter:
		return e.ScimType == ScimTypeInvalidFilter
	case ErrInvalidPath:
		return e.ScimType == ScimTypeInvalidPath
	case ErrInvalidSort:
		return e.ScimType == ScimTypeInvalidValue
	case repository.ErrInvalidQuery:
		return e.ScimType != ScimTypeInvalidPath
	}
	return false
}

// what names the kind of input being parsed; it prefixes every message and
// picks the SCIM error type.
type what string

const (
	whatFilter what = "filter"
	whatPath   what = "path"
	whatSort   what = "sortBy"
)

func (w what) errorf(format string, args ...any) error {
	t := ScimTypeInvalidFilter
	switch w {
	case whatPath:
		t = ScimTypeInvalidPath
	case whatSort:
		t = ScimTypeInvalidValue
	}
	return &Error{ScimType: t, Detail: string(w) + ": " + fmt.Sprintf(format, args...)}
}
