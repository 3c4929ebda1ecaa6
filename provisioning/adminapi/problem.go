package adminapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/scim/filter"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// problemTypePrefix starts the type URI of every problem: the code makes
// it a stable identifier a client may switch on. A URN, because Roster is
// self-hosted and has no fixed documentation host to point at.
const problemTypePrefix = "urn:roster:problem:"

// Codes of the admin API's own problems, beside the provisioning codes
// (provisioning.Code) it passes through unchanged.
const (
	CodeInvalidJSON          = "invalid_json"           // the body is not one JSON object
	CodeUnknownField         = "unknown_field"          // the body names a field the endpoint does not take
	CodeInvalidType          = "invalid_type"           // a field or parameter has the wrong JSON type
	CodeReadOnly             = "read_only"              // the body sets a field that cannot be changed here
	CodePayloadTooLarge      = "payload_too_large"      // the body exceeds MaxBodyBytes
	CodeUnsupportedMediaType = "unsupported_media_type" // the body is not JSON
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeInternal             = "internal_error"
	CodeUnavailable          = "unavailable"
)

// Problem is an RFC 9457 problem details body: the shape of every error of
// the admin API.
type Problem struct {
	Type     string `json:"type" doc:"URI identifying the problem type: urn:roster:problem:<code>"`
	Title    string `json:"title" doc:"short summary of the problem type; the same for every occurrence of a code"`
	Status   int    `json:"status" doc:"the HTTP status code"`
	Detail   string `json:"detail,omitempty" doc:"what went wrong this time, for people"`
	Instance string `json:"instance,omitempty" doc:"the request path the problem occurred at"`
	// Code is the stable machine-readable code; clients switch on it.
	Code string `json:"code" doc:"stable machine-readable code; switch on this" enum:"problemCodes"`
	// Attribute names the field or parameter at fault, when one is.
	Attribute string `json:"attribute,omitempty" doc:"the request field or parameter at fault, when one is"`
	// RequestID links the response to the server's logs and audit events.
	RequestID string `json:"requestId,omitempty" doc:"the request id (also in X-Request-Id); quote it when reporting a problem"`
}

// problemInfo is the fixed status and title of a code.
type problemInfo struct {
	status int
	title  string
}

// problemCodes maps every code the API answers with to its status. It is
// the one place the HTTP meaning of a provisioning rule is decided.
//
// Decisions: a rule that refuses the change because of the state of
// other resources (seats all taken, an attribute owned by the identity
// provider) is 409 Conflict: the same request can succeed once that state
// changes. Owner protection and missing permissions are 403 Forbidden:
// no state of other resources makes them succeed for this caller. (The
// SCIM door answers 403 for all of them, as RFC 7644 has no better
// status for a refused provisioning operation.)
var problemCodes = map[string]problemInfo{
	string(provisioning.CodeNotFound):         {http.StatusNotFound, "Resource not found"},
	string(provisioning.CodeConflict):         {http.StatusConflict, "Value already in use"},
	string(provisioning.CodeInvalidValue):     {http.StatusBadRequest, "Invalid value"},
	string(provisioning.CodeInvalidQuery):     {http.StatusBadRequest, "Invalid query"},
	string(provisioning.CodeVersionMismatch):  {http.StatusPreconditionFailed, "Version mismatch"},
	string(provisioning.CodeSeatLimitReached): {http.StatusConflict, "Agent seat limit reached"},
	string(provisioning.CodeSeatsInUse):       {http.StatusConflict, "Agent seats in use"},
	string(provisioning.CodeOwnerProtected):   {http.StatusForbidden, "The account owner is protected"},
	string(provisioning.CodeOwnerOnly):        {http.StatusForbidden, "Only the account owner may do this"},
	string(provisioning.CodeManagedByIdP):     {http.StatusConflict, "Managed by the identity provider"},
	string(provisioning.CodeForbidden):        {http.StatusForbidden, "Permission required"},
	string(provisioning.CodeUnauthenticated):  {http.StatusUnauthorized, "Authentication required"},
	string(provisioning.CodeInvitationGone):   {http.StatusGone, "Invitation no longer valid"},
	string(provisioning.CodeRateLimited):      {http.StatusTooManyRequests, "Too many requests"},
	string(provisioning.CodeSSORequired):      {http.StatusForbidden, "Single sign-on required"},
	string(provisioning.CodeInvalidCode):      {http.StatusBadRequest, "Invalid confirmation code"},
	string(provisioning.CodeTooManyAttempts):  {http.StatusTooManyRequests, "Too many attempts"},
	CodeInvalidJSON:                           {http.StatusBadRequest, "Malformed request body"},
	CodeUnknownField:                          {http.StatusBadRequest, "Unknown field"},
	CodeInvalidType:                           {http.StatusBadRequest, "Wrong type"},
	CodeReadOnly:                              {http.StatusBadRequest, "Read-only field"},
	CodePayloadTooLarge:                       {http.StatusRequestEntityTooLarge, "Request body too large"},
	CodeUnsupportedMediaType:                  {http.StatusUnsupportedMediaType, "Unsupported media type"},
	CodeMethodNotAllowed:                      {http.StatusMethodNotAllowed, "Method not allowed"},
	CodeInternal:                              {http.StatusInternalServerError, "Internal server error"},
	CodeUnavailable:                           {http.StatusServiceUnavailable, "Service unavailable"},
	CodeMemberInactive:                        {http.StatusConflict, "Member not active"},
}

// apiError is a failure the admin API detects itself (a malformed body, a
// bad parameter, a missing credential). Its code must be in problemCodes.
type apiError struct {
	code      string
	detail    string
	attribute string
	cause     error // private, for logs
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.code, e.detail, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.code, e.detail)
}

func (e *apiError) Unwrap() error { return e.cause }

// errorf returns an *apiError with a formatted detail.
func errorf(code, attribute, format string, args ...any) *apiError {
	return &apiError{code: code, attribute: attribute, detail: fmt.Sprintf(format, args...)}
}

// toProblem maps any error of a handler to a problem: the API's own
// errors as they are, filter errors as invalid queries, provisioning rule
// errors and repository sentinels by code. Anything else is an internal
// failure: a 500 that says nothing of the cause; internal reports it so
// the caller logs the cause.
func toProblem(err error) (p Problem, internal bool) {
	code, detail, attr := CodeInternal, "the server failed to answer; quote the request id when reporting it", ""
	var ae *apiError
	var fe *filter.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		code, detail, attr = ae.code, ae.detail, ae.attribute
	case errors.As(err, &fe):
		code, detail, attr = string(provisioning.CodeInvalidQuery), fe.Detail, "filter"
		if errors.Is(err, filter.ErrInvalidSort) {
			attr = "sortBy"
		}
	case errors.As(err, &mbe):
		code, detail = CodePayloadTooLarge, fmt.Sprintf("the request body is larger than the limit of %d bytes", mbe.Limit)
	default:
		if pe := provisioning.AsError(err); pe != nil {
			code, detail, attr = string(pe.Code), pe.Message, apiAttribute(pe.Attribute)
		} else {
			internal = true
		}
	}
	info, ok := problemCodes[code]
	if !ok {
		// A provisioning code this door does not know yet: the request
		// broke a rule, so it is the caller's to fix.
		info = problemInfo{http.StatusBadRequest, "Request refused"}
	}
	return Problem{
		Type:      problemTypePrefix + code,
		Title:     info.title,
		Status:    info.status,
		Detail:    detail,
		Code:      code,
		Attribute: attr,
	}, internal
}

// writeProblem writes p as the response and stops the handler chain. A
// 401 carries the Bearer challenge (RFC 6750).
func writeProblem(c *gin.Context, p Problem) {
	h := c.Writer.Header()
	h.Del("ETag")
	h.Del("Location")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="roster-admin-api"`)
	}
	p.Instance = c.Request.URL.Path
	p.RequestID = requestID(c)
	body, err := marshal(p, "")
	if err != nil { // cannot happen with these field types
		body = []byte(`{"type":"urn:roster:problem:internal_error","title":"Internal server error","status":500,"code":"internal_error"}`)
	}
	c.Abort()
	c.Data(p.Status, ProblemContentType, body)
}

// apiAttributes renames the attributes provisioning names (SCIM attribute
// paths, shared by every door) to this API's field names where they
// differ.
var apiAttributes = map[string]string{
	"name.givenName":            "firstName",
	"name.familyName":           "lastName",
	"manager":                   "managerId",
	"manager.value":             "managerId",
	"emails.value":              "emails",
	"phoneNumbers.value":        "phoneNumbers",
	"roles.value":               "roles",
	"expertise":                 "supportProfile.expertise",
	"onlyAssignFromExpertise":   "supportProfile.onlyAssignFromExpertise",
	"onlyAssignedConversations": "supportProfile.onlyAssignedConversations",
	"canViewGroupCompanies":     "supportProfile.canViewGroupCompanies",
	"externalSso":               "supportProfile.externalSso",
	"canManageTeams":            "supportProfile.canManageTeams",
	"channels":                  "supportProfile.channels",
	"employmentStatus":          "supportProfile.employmentStatus",
	"startDate":                 "supportProfile.startDate",
	"bio":                       "supportProfile.bio",
	"imageUrl":                  "supportProfile.imageUrl",
	"hometown":                  "supportProfile.hometown",
	"stateOrCountry":            "supportProfile.stateOrCountry",
	"approvalStatus":            "supportProfile.approvalStatus",
}

// apiAttribute returns this API's name for a provisioning attribute.
func apiAttribute(a string) string {
	if n, ok := apiAttributes[a]; ok {
		return n
	}
	return a
}
