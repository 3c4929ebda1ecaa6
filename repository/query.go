package repository

import (
	"fmt"
	"time"
)

// This file is the store-neutral query model. The SCIM filter compiles to
// it and each backend translates it natively (SQL, Mongo query documents),
// always through indexes that start with the account id.

// Field names a queryable attribute. Names follow SCIM attribute paths so a
// SCIM filter maps onto them directly.
type Field string

// Member fields.
const (
	MemberID                Field = "id"
	MemberExternalID        Field = "externalId"
	MemberUserName          Field = "userName"
	MemberDisplayName       Field = "displayName"
	MemberNickName          Field = "nickName"
	MemberTitle             Field = "title"
	MemberUserType          Field = "userType"
	MemberLocale            Field = "locale"
	MemberPreferredLanguage Field = "preferredLanguage"
	MemberTimezone          Field = "timezone"
	MemberGivenName         Field = "name.givenName"
	MemberFamilyName        Field = "name.familyName"
	MemberFormattedName     Field = "name.formatted"
	MemberActive            Field = "active"
	MemberStatus            Field = "status"
	MemberSource            Field = "source"
	MemberEmployeeNumber    Field = "employeeNumber"
	MemberDepartment        Field = "department"
	MemberOrganization      Field = "organization"
	MemberCostCenter        Field = "costCenter"
	MemberDivision          Field = "division"
	MemberManagerID         Field = "manager.value"
	// MemberPendingManagerRef is the unresolved manager reference
	// (Member.PendingManagerRef): provisioning finds the members waiting
	// for a manager that just arrived through it.
	MemberPendingManagerRef Field = "pendingManagerRef"
	MemberEmploymentStatus  Field = "employmentStatus"
	MemberCanManageTeams    Field = "canManageTeams"
	MemberExternalSSO       Field = "externalSso"
	MemberSeatStatus        Field = "seatStatus"
	MemberSeatQueuedAt      Field = "seatQueuedAt" // orders the seat queue, first come first served
	MemberCreated           Field = "meta.created"
	MemberLastModified      Field = "meta.lastModified"

	// Multi-valued member fields: a comparison matches when any element
	// matches.
	MemberEmailValue   Field = "emails.value"
	MemberEmailType    Field = "emails.type"
	MemberEmailPrimary Field = "emails.primary"
	MemberPhoneValue   Field = "phoneNumbers.value"
	MemberPhoneType    Field = "phoneNumbers.type"
	MemberRole         Field = "roles.value"
	MemberExpertise    Field = "expertise"
	MemberChannel      Field = "channels"
	MemberGroupID      Field = "groups.value"
)

// Group fields.
const (
	GroupID           Field = "id"
	GroupExternalID   Field = "externalId"
	GroupDisplayName  Field = "displayName"
	GroupRoleKey      Field = "roleKey"
	GroupCreated      Field = "meta.created"
	GroupLastModified Field = "meta.lastModified"
	GroupMemberID     Field = "members.value" // multi-valued, through edges
)

// Kind is the type of a field's values.
type Kind int

// Field kinds.
const (
	KindString Kind = iota
	KindBool
	KindTime
)

// FieldInfo describes how a field is compared.
type FieldInfo struct {
	Kind Kind
	// CaseExact is false for attributes SCIM defines as caseExact=false:
	// their comparisons ignore case.
	CaseExact bool
	// Multi names the multi-valued attribute the field belongs to
	// ("emails"), or is empty for a single-valued field. Fields with the
	// same Multi inside one Any filter must match on the same element.
	Multi string
	// Sortable fields may be used as SortBy.
	Sortable bool
}

// MemberFields lists every member field a query may use.
var MemberFields = map[Field]FieldInfo{
	MemberID:                {Kind: KindString, CaseExact: true, Sortable: true},
	MemberExternalID:        {Kind: KindString, CaseExact: true, Sortable: true},
	MemberUserName:          {Kind: KindString, Sortable: true},
	MemberDisplayName:       {Kind: KindString, Sortable: true},
	MemberNickName:          {Kind: KindString},
	MemberTitle:             {Kind: KindString},
	MemberUserType:          {Kind: KindString},
	MemberLocale:            {Kind: KindString},
	MemberPreferredLanguage: {Kind: KindString},
	MemberTimezone:          {Kind: KindString},
	MemberGivenName:         {Kind: KindString, Sortable: true},
	MemberFamilyName:        {Kind: KindString, Sortable: true},
	MemberFormattedName:     {Kind: KindString},
	MemberActive:            {Kind: KindBool},
	MemberStatus:            {Kind: KindString},
	MemberSource:            {Kind: KindString},
	MemberEmployeeNumber:    {Kind: KindString, Sortable: true},
	MemberDepartment:        {Kind: KindString},
	MemberOrganization:      {Kind: KindString},
	MemberCostCenter:        {Kind: KindString},
	MemberDivision:          {Kind: KindString},
	MemberManagerID:         {Kind: KindString, CaseExact: true},
	MemberPendingManagerRef: {Kind: KindString, CaseExact: true},
	MemberEmploymentStatus:  {Kind: KindString},
	MemberCanManageTeams:    {Kind: KindBool},
	MemberExternalSSO:       {Kind: KindBool},
	MemberSeatStatus:        {Kind: KindString},
	MemberSeatQueuedAt:      {Kind: KindTime, Sortable: true},
	MemberCreated:           {Kind: KindTime, Sortable: true},
	MemberLastModified:      {Kind: KindTime, Sortable: true},
	MemberEmailValue:        {Kind: KindString, Multi: "emails"},
	MemberEmailType:         {Kind: KindString, Multi: "emails"},
	MemberEmailPrimary:      {Kind: KindBool, Multi: "emails"},
	MemberPhoneValue:        {Kind: KindString, Multi: "phoneNumbers"},
	MemberPhoneType:         {Kind: KindString, Multi: "phoneNumbers"},
	MemberRole:              {Kind: KindString, Multi: "roles"},
	MemberExpertise:         {Kind: KindString, Multi: "expertise"},
	MemberChannel:           {Kind: KindString, Multi: "channels"},
	MemberGroupID:           {Kind: KindString, CaseExact: true, Multi: "groups"},
}

// GroupFields lists every group field a query may use.
var GroupFields = map[Field]FieldInfo{
	GroupID:           {Kind: KindString, CaseExact: true, Sortable: true},
	GroupExternalID:   {Kind: KindString, CaseExact: true, Sortable: true},
	GroupDisplayName:  {Kind: KindString, Sortable: true},
	GroupRoleKey:      {Kind: KindString},
	GroupCreated:      {Kind: KindTime, Sortable: true},
	GroupLastModified: {Kind: KindTime, Sortable: true},
	GroupMemberID:     {Kind: KindString, CaseExact: true, Multi: "members"},
}

// Op is a comparison operator (RFC 7644 section 3.4.2.2).
type Op string

// Comparison operators.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
	OpPr Op = "pr" // present: has a non-empty value
)

// Filter is a node of a query: Compare, And, Or, Not or Any.
type Filter interface{ isFilter() }

// Compare tests one field. Value is a string, bool or time.Time matching the
// field's Kind, and nil for OpPr. On a multi-valued field it matches when
// any element matches, except OpNe, which matches when no element equals
// Value.
type Compare struct {
	Field Field
	Op    Op
	Value any
}

// And matches when every filter matches.
type And []Filter

// Or matches when at least one filter matches.
type Or []Filter

// Not matches when its filter does not.
type Not struct{ Filter Filter }

// Any matches when one element of the multi-valued attribute Attr matches
// Filter as a whole, e.g. emails[type eq "work" and value co "@example"].
// Filter may contain Compare, And, Or and Not over fields of Attr only.
type Any struct {
	Attr   string
	Filter Filter
}

func (Compare) isFilter() {}
func (And) isFilter()     {}
func (Or) isFilter()      {}
func (Not) isFilter()     {}
func (Any) isFilter()     {}

// Query selects, orders and pages a list.
type Query struct {
	// Filter is nil to select everything in the account.
	Filter Filter
	// SortBy orders the results; empty means creation order. Ties are
	// broken by id so the order is stable across pages.
	SortBy   Field
	SortDesc bool
	// StartIndex is 1-based (SCIM); values below 1 mean 1. Ignored when
	// Cursor is set.
	StartIndex int
	// Count is the page size; 0 returns only the total.
	Count int
	// Cursor continues after the last item of a previous page.
	Cursor string
	// WithGroups asks ListMembers to fill each member's Groups (as
	// GroupsOfMembers would), in the same read where the store can.
	// Other lists ignore it.
	WithGroups bool
}

// Page is one page of results with the exact number of matches.
type Page[T any] struct {
	Items []T
	Total int
	// NextCursor continues after the last item; empty on the last page.
	NextCursor string
}

// Validate checks a filter against a field catalogue: known fields,
// operators allowed for the field's kind, value types, and Any filters
// that stay inside their attribute. Backends call it before translating.
func Validate(f Filter, fields map[Field]FieldInfo) error {
	return validate(f, fields, "")
}

func validate(f Filter, fields map[Field]FieldInfo, inAny string) error {
	switch f := f.(type) {
	case nil:
		if inAny != "" {
			return InvalidQueryf("empty filter inside %s[...]", inAny)
		}
		return nil
	case Compare:
		info, ok := fields[f.Field]
		if !ok {
			return InvalidQueryf("unsupported attribute %q", f.Field)
		}
		if inAny != "" && info.Multi != inAny {
			return InvalidQueryf("attribute %q is not a sub-attribute of %q", f.Field, inAny)
		}
		return validateCompare(f, info)
	case And:
		return validateAll(f, fields, inAny)
	case Or:
		return validateAll(f, fields, inAny)
	case Not:
		if f.Filter == nil {
			return InvalidQueryf("not() needs a filter")
		}
		return validate(f.Filter, fields, inAny)
	case Any:
		if inAny != "" {
			return InvalidQueryf("nested value filter inside %s[...]", inAny)
		}
		if f.Attr == "" {
			return InvalidQueryf("value filter without attribute")
		}
		return validate(f.Filter, fields, f.Attr)
	default:
		return InvalidQueryf("unknown filter node %T", f)
	}
}

func validateAll(fs []Filter, fields map[Field]FieldInfo, inAny string) error {
	if len(fs) == 0 {
		return InvalidQueryf("empty and/or")
	}
	for _, f := range fs {
		if f == nil {
			return InvalidQueryf("empty operand of and/or")
		}
		if err := validate(f, fields, inAny); err != nil {
			return err
		}
	}
	return nil
}

func validateCompare(c Compare, info FieldInfo) error {
	if c.Op == OpPr {
		if c.Value != nil {
			return InvalidQueryf("pr takes no value")
		}
		return nil
	}
	switch info.Kind {
	case KindString:
		if _, ok := c.Value.(string); !ok {
			return InvalidQueryf("%s needs a string value, got %s", c.Field, typeName(c.Value))
		}
		switch c.Op {
		case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
			return nil
		}
	case KindBool:
		if _, ok := c.Value.(bool); !ok {
			return InvalidQueryf("%s needs a boolean value, got %s", c.Field, typeName(c.Value))
		}
		switch c.Op {
		case OpEq, OpNe:
			return nil
		}
	case KindTime:
		if _, ok := c.Value.(time.Time); !ok {
			return InvalidQueryf("%s needs a dateTime value, got %s", c.Field, typeName(c.Value))
		}
		switch c.Op {
		case OpEq, OpNe, OpGt, OpGe, OpLt, OpLe:
			return nil
		}
	}
	return InvalidQueryf("operator %q is not supported on %s", c.Op, c.Field)
}

func typeName(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// ValidateQuery checks the whole query: filter, sort field and paging.
func ValidateQuery(q Query, fields map[Field]FieldInfo) error {
	if err := Validate(q.Filter, fields); err != nil {
		return err
	}
	if q.SortBy != "" {
		info, ok := fields[q.SortBy]
		if !ok || !info.Sortable {
			return InvalidQueryf("cannot sort by %q", q.SortBy)
		}
	}
	if q.Count < 0 {
		return InvalidQueryf("count must not be negative")
	}
	return nil
}
