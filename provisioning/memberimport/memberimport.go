// Package memberimport reads the files of a bulk member import — CSV with
// a header row, or a JSON array of objects — into provisioning.ImportRow
// values. The admin API (POST /api/v1/members/import) and the CLI
// ("roster members import") both use it, so a file means the same at both.
//
// Columns (CSV header names and JSON field names; CSV headers in any case):
//
//	email             the person's address, also the user name (required)
//	firstName         first name (required)
//	lastName          last name (required)
//	displayName       the visible name of the agent; default "first last"
//	roles             role keys or display names, separated by ";" in CSV
//	                  (a JSON array); empty: the account's default role
//	employeeNumber    employee id
//	teamLeaderEmail   the team leader's address: a member of the account
//	                  or another row of the file
//	expertise         ";"-separated in CSV, an array in JSON
//	channels          ";"-separated in CSV (chat;email;voice), an array in JSON
//	employmentStatus  full_time, part_time or temp
//	startDate         YYYY-MM-DD
//	externalSso       true/false: signs in through SSO only
//	canManageTeams    true/false: may be a team leader
//	invite            true/false: invite by email (the member is created
//	                  invited); false creates the member active, no email
//
// Booleans accept true/false, yes/no, 1/0 and empty (false). A row that
// cannot be read (a bad boolean, a wrong number of fields, an object of
// the wrong shape) is returned with its Problem set, so it is reported as
// that row's error while the other rows go on; a file that cannot be read
// at all (no header, an unknown column, not a JSON array) is an error.
package memberimport

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rosterhq/roster/provisioning"
)

// Columns lists the columns of an import, in documentation order.
func Columns() []string {
	return []string{"email", "firstName", "lastName", "displayName", "roles", "employeeNumber",
		"teamLeaderEmail", "expertise", "channels", "employmentStatus", "startDate",
		"externalSso", "canManageTeams", "invite"}
}

// ErrFormat marks errors of a file that cannot be read at all.
var ErrFormat = errors.New("import file")

// formatErrorf returns an error wrapping ErrFormat.
func formatErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// Parse reads an import from r: JSON when the first non-space byte is
// "[", CSV otherwise.
func Parse(r io.Reader) ([]provisioning.ImportRow, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read import file: %w", err)
	}
	if t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\ufeff")), " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return ParseJSON(bytes.NewReader(b))
	}
	return ParseCSV(bytes.NewReader(b))
}

// ParseCSV reads a CSV import: a header row naming columns (any case, in
// any order; unknown names are refused), then one member per line. Row
// numbers are line numbers, the header being line 1.
func ParseCSV(r io.Reader) ([]provisioning.ImportRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short row is that row's problem, not the file's
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, formatErrorf("the CSV file is empty: it needs a header row naming the columns (%s)", strings.Join(Columns(), ", "))
	}
	if err != nil {
		return nil, formatErrorf("the CSV header cannot be read: %v", err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		name := canonical(h)
		switch {
		case name == "":
			return nil, formatErrorf("unknown column %q in the CSV header; the columns are: %s", h, strings.Join(Columns(), ", "))
		case seen[name]:
			return nil, formatErrorf("the column %q appears twice in the CSV header", name)
		}
		seen[name] = true
		cols[i] = name
	}
	if !seen["email"] {
		return nil, formatErrorf("the CSV header has no email column; the columns are: %s", strings.Join(Columns(), ", "))
	}
	var rows []provisioning.ImportRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// A broken quote can swallow the rest of the file; stop there
			// with the line it started on.
			return nil, formatErrorf("line %d of the CSV file cannot be read: %v", pe.StartLine, pe.Err)
		}
		if err != nil {
			return nil, fmt.Errorf("read import file: %w", err)
		}
		// FieldPos is only valid for the record just read without error.
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line with spaces
		}
		row := provisioning.ImportRow{Row: line}
		if len(rec) != len(cols) {
			row.Problem = fmt.Sprintf("the row has %d fields but the header names %d columns", len(rec), len(cols))
			if i := slices.Index(cols, "email"); i >= 0 && i < len(rec) {
				row.Email = strings.TrimSpace(rec[i])
			}
			rows = append(rows, row)
			continue
		}
		for i, v := range rec {
			if err := set(&row, cols[i], strings.TrimSpace(v), splitList(v)); err != nil && row.Problem == "" {
				row.Problem, row.ProblemField = err.Error(), cols[i]
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// headerSeparators removes the separators a column header may carry
// ("Employee Number", "employee_number", "employee-number").
var headerSeparators = strings.NewReplacer(" ", "", "_", "", "-", "")

// canonical returns the column name h stands for, or "".
func canonical(h string) string {
	norm := headerSeparators.Replace(strings.ToLower(h))
	for _, c := range Columns() {
		if strings.ToLower(c) == norm {
			return c
		}
	}
	return ""
}

// splitList splits a ";"-separated CSV cell.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// set stores one cell into row.
func set(row *provisioning.ImportRow, col, v string, list []string) error {
	var err error
	switch col {
	case "email":
		row.Email = v
	case "firstName":
		row.FirstName = v
	case "lastName":
		row.LastName = v
	case "displayName":
		row.DisplayName = v
	case "roles":
		row.Roles = list
	case "employeeNumber":
		row.EmployeeNumber = v
	case "teamLeaderEmail":
		row.TeamLeaderEmail = v
	case "expertise":
		row.Expertise = list
	case "channels":
		row.Channels = list
	case "employmentStatus":
		row.EmploymentStatus = v
	case "startDate":
		row.StartDate = v
	case "externalSso":
		row.ExternalSSO, err = parseBool(col, v)
	case "canManageTeams":
		row.CanManageTeams, err = parseBool(col, v)
	case "invite":
		row.Invite, err = parseBool(col, v)
	}
	return err
}

// parseBool reads a boolean cell.
func parseBool(col, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "y", "1":
		return true, nil
	case "false", "no", "n", "0", "":
		return false, nil
	}
	return false, fmt.Errorf("%s must be true or false, not %q", col, v)
}

// jsonRow is one object of a JSON import.
type jsonRow struct {
	Email            string   `json:"email"`
	FirstName        string   `json:"firstName"`
	LastName         string   `json:"lastName"`
	DisplayName      string   `json:"displayName"`
	Roles            []string `json:"roles"`
	EmployeeNumber   string   `json:"employeeNumber"`
	TeamLeaderEmail  string   `json:"teamLeaderEmail"`
	Expertise        []string `json:"expertise"`
	Channels         []string `json:"channels"`
	EmploymentStatus string   `json:"employmentStatus"`
	StartDate        string   `json:"startDate"`
	ExternalSSO      bool     `json:"externalSso"`
	CanManageTeams   bool     `json:"canManageTeams"`
	Invite           bool     `json:"invite"`
}

// ParseJSON reads a JSON import: an array of objects with the column
// names as fields. Row numbers are 1-based positions in the array. An
// element that is not an object of that shape is returned with its
// Problem set.
func ParseJSON(r io.Reader) ([]provisioning.ImportRow, error) {
	var elems []json.RawMessage
	dec := json.NewDecoder(r)
	if err := dec.Decode(&elems); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, formatErrorf("the JSON is not valid: %v (at byte %d)", se, se.Offset)
		}
		return nil, formatErrorf("the JSON body must be an array of row objects")
	}
	if dec.More() {
		return nil, formatErrorf("the JSON body must be one array of row objects")
	}
	rows := make([]provisioning.ImportRow, 0, len(elems))
	for i, e := range elems {
		row := provisioning.ImportRow{Row: i + 1}
		var jr jsonRow
		d := json.NewDecoder(bytes.NewReader(e))
		d.DisallowUnknownFields()
		err := exactFields(e)
		if err == nil {
			err = d.Decode(&jr)
		}
		if err != nil {
			row.Problem, row.ProblemField = jsonProblem(err)
			// The address, when readable, names the row in the report.
			var loose struct {
				Email string `json:"email"`
			}
			if json.Unmarshal(e, &loose) == nil {
				row.Email = loose.Email
			}
			rows = append(rows, row)
			continue
		}
		row.Email, row.FirstName, row.LastName, row.DisplayName = jr.Email, jr.FirstName, jr.LastName, jr.DisplayName
		row.Roles, row.EmployeeNumber, row.TeamLeaderEmail = jr.Roles, jr.EmployeeNumber, jr.TeamLeaderEmail
		row.Expertise, row.Channels = jr.Expertise, jr.Channels
		row.EmploymentStatus, row.StartDate = jr.EmploymentStatus, jr.StartDate
		row.ExternalSSO, row.CanManageTeams, row.Invite = jr.ExternalSSO, jr.CanManageTeams, jr.Invite
		rows = append(rows, row)
	}
	return rows, nil
}

// unknownFieldError is a field a row object has and the import does not
// take, by its exact name.
type unknownFieldError struct{ name string }

func (e *unknownFieldError) Error() string { return "json: unknown field \"" + e.name + "\"" }

// exactFields refuses fields whose names are not exactly column names:
// encoding/json matches names ignoring case, and a row with "FirstName"
// should be told, as the admin API tells every body.
func exactFields(raw json.RawMessage) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil // not an object: the decoder says so
	}
	names := Columns()
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(names, k) {
			return &unknownFieldError{k}
		}
	}
	return nil
}

// jsonProblem describes why a row object could not be decoded, and the
// field at fault.
func jsonProblem(err error) (string, string) {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		if ute.Field == "" {
			return "the row must be an object with the import's fields", ""
		}
		return fmt.Sprintf("%s must be %s, not a JSON %s", ute.Field, jsonKind(ute.Type.Kind().String()), ute.Value), ute.Field
	}
	msg := err.Error()
	if name, found := strings.CutPrefix(msg, "json: unknown field "); found {
		name = strings.Trim(name, `"`)
		hint := ""
		if c := canonical(name); c != "" {
			hint = fmt.Sprintf("; did you mean %q?", c)
		}
		return fmt.Sprintf("unknown field %q%s; the fields are: %s", name, hint, strings.Join(Columns(), ", ")), name
	}
	return "the row cannot be read: " + msg, ""
}

// jsonKind names a Go kind as the JSON type expected.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array of strings"
	}
	return k
}
