package adminapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/memberimport"
)

// maxImportBytes caps an import body: 10,000 rows of a few hundred bytes,
// with room to spare. Imports are the one body larger than MaxBodyBytes.
const maxImportBytes = 16 << 20

// ImportRowInput is one row of a JSON import. A CSV import has the same
// columns (lists ";"-separated).
type ImportRowInput struct {
	Email            string   `json:"email" api:"required" doc:"the person's address; it becomes the userName"`
	FirstName        string   `json:"firstName" api:"required"`
	LastName         string   `json:"lastName" api:"required"`
	DisplayName      string   `json:"displayName,omitempty" doc:"defaults to first and last name"`
	Roles            []string `json:"roles,omitempty" doc:"role keys or display names (CSV: separated by ;); the default role when empty"`
	EmployeeNumber   string   `json:"employeeNumber,omitempty"`
	TeamLeaderEmail  string   `json:"teamLeaderEmail,omitempty" doc:"the team leader's address: a member of the account or another row of the import"`
	Expertise        []string `json:"expertise,omitempty" doc:"CSV: separated by ;"`
	Channels         []string `json:"channels,omitempty" doc:"chat, email, voice, ... (CSV: separated by ;)"`
	EmploymentStatus string   `json:"employmentStatus,omitempty" enum:"full_time,part_time,temp"`
	StartDate        string   `json:"startDate,omitempty" format:"date"`
	ExternalSSO      bool     `json:"externalSso,omitempty" doc:"signs in through SSO only"`
	CanManageTeams   bool     `json:"canManageTeams,omitempty" doc:"may be a team leader"`
	Invite           bool     `json:"invite,omitempty" doc:"true: create the member invited and email an invitation; false: create it active without an email"`
}

// ImportResult is the outcome of an import, row by row.
type ImportResult struct {
	DryRun bool `json:"dryRun" doc:"nothing was written; the rows say what would happen"`
	Atomic bool `json:"atomic" doc:"all-or-nothing import"`
	// Committed reports whether anything was written.
	Committed bool              `json:"committed" doc:"false for a dry run, and for an atomic import with a failed row (nothing was written)"`
	Summary   ImportSummary     `json:"summary"`
	Rows      []ImportRowResult `json:"rows" doc:"one result per row, in the order of the input"`
}

// ImportSummary counts the rows by outcome.
type ImportSummary struct {
	Rows    int `json:"rows"`
	Created int `json:"created"`
	Invited int `json:"invited"`
	Queued  int `json:"queued" doc:"created or invited, waiting for an agent seat"`
	Failed  int `json:"failed"`
}

// ImportRowResult is the outcome of one row.
type ImportRowResult struct {
	Row      int    `json:"row" doc:"CSV: the line number (the header is line 1); JSON: the 1-based position in the array"`
	Email    string `json:"email,omitempty"`
	Status   string `json:"status" enum:"created,invited,queued,error,not_imported"`
	Invited  bool   `json:"invited,omitempty" doc:"an invitation was (in a dry run: would be) emailed"`
	MemberID string `json:"memberId,omitempty"`
	Code     string `json:"code,omitempty" doc:"for status error: a problem code, e.g. conflict, invalid_value, seat_limit_reached, forbidden"`
	Field    string `json:"field,omitempty" doc:"the column at fault, when one is"`
	Message  string `json:"message,omitempty"`
}

func (a *API) importMembers(c *gin.Context, cl *call) (*reply, error) {
	dryRun, err := boolParam(c, "dryRun")
	if err != nil {
		return nil, err
	}
	atomic, err := boolParam(c, "atomic")
	if err != nil {
		return nil, err
	}
	rows, err := a.readImport(c)
	if err != nil {
		return nil, err
	}
	ctx := c.Request.Context()
	for _, r := range rows {
		if r.Invite {
			// Inviting is its own permission; one row that invites needs it.
			if err := a.authorize(ctx, cl.Principal, []string{provisioning.PermTeamInvite}, true); err != nil {
				return nil, err
			}
			break
		}
	}
	res, err := a.svc.ImportMembers(ctx, cl.actor(), cl.AccountID, rows,
		provisioning.ImportOptions{DryRun: dryRun, Atomic: atomic})
	if err != nil {
		return nil, err
	}
	out := ImportResult{DryRun: res.DryRun, Atomic: res.Atomic, Committed: res.Committed,
		Summary: ImportSummary{Rows: len(res.Rows), Created: res.Created, Invited: res.Invited, Queued: res.Queued, Failed: res.Failed},
		Rows:    make([]ImportRowResult, 0, len(res.Rows))}
	for _, r := range res.Rows {
		out.Rows = append(out.Rows, ImportRowResult{Row: r.Row, Email: r.Email, Status: r.Status, Invited: r.Invited,
			MemberID: r.MemberID, Code: string(r.Code), Field: apiImportField(r.Field), Message: r.Message})
	}
	return ok(out), nil
}

// apiImportField names a row's field as the import names it.
func apiImportField(f string) string {
	if strings.HasPrefix(f, "supportProfile.") {
		return strings.TrimPrefix(f, "supportProfile.")
	}
	return f
}

// readImport reads the body as CSV (text/csv) or JSON (application/json,
// an array of rows); without a Content-Type the first byte decides.
func (a *API) readImport(c *gin.Context) ([]provisioning.ImportRow, error) {
	parse := memberimport.Parse
	if ct := strings.TrimSpace(c.GetHeader("Content-Type")); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return nil, errorf(CodeUnsupportedMediaType, "", "Content-Type %q is not supported: send text/csv or application/json", ct)
		case mt == "text/csv" || mt == "application/csv" || mt == "text/plain":
			parse = memberimport.ParseCSV
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			parse = memberimport.ParseJSON
		default:
			return nil, errorf(CodeUnsupportedMediaType, "", "Content-Type %q is not supported: send text/csv or application/json", ct)
		}
	}
	limit := max(a.opts.MaxBodyBytes, maxImportBytes)
	if c.Request.Body == nil {
		return nil, errorf(string(provisioning.CodeInvalidValue), "", "the import body is empty: send CSV rows or a JSON array")
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errorf(CodeInvalidJSON, "", "the request body could not be read")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errorf(string(provisioning.CodeInvalidValue), "", "the import body is empty: send CSV rows or a JSON array")
	}
	rows, err := parse(bytes.NewReader(b))
	if err != nil {
		if errors.Is(err, memberimport.ErrFormat) {
			return nil, errorf(string(provisioning.CodeInvalidValue), "", "%s", strings.TrimPrefix(err.Error(), memberimport.ErrFormat.Error()+": "))
		}
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errorf(string(provisioning.CodeInvalidValue), "", "the import has no rows")
	}
	return rows, nil
}

// boolParam reads a boolean query parameter; absent is false.
func boolParam(c *gin.Context, name string) (bool, error) {
	v, sent := query(c, name)
	if !sent {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, errorf(CodeInvalidType, name, "%s must be true or false, not %q", name, v)
}

// importColumns lists the import's columns for the documentation.
var importColumns = strings.Join(memberimport.Columns(), ", ")
