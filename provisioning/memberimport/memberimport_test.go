package memberimport

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/provisioning"
)

func TestParseCSV(t *testing.T) {
	in := "\ufeffEmail, First Name ,last_name,ROLES,expertise,channels,externalSso,canManageTeams,invite,startDate,teamLeaderEmail\n" +
		"ada@acme.example,Ada,Lovelace,agent;supervisor,billing; returns,chat;email,yes,1,true,2024-01-02,lead@acme.example\n" +
		"\n" +
		"\"bob@acme.example\",\"Bob, Jr.\",Builder,,,,,,,,\n" +
		"carl@acme.example,Carl,C,,,,perhaps,,,,\n" +
		"dan@acme.example,Dan\n"
	rows, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	ada := rows[0]
	if ada.Row != 2 || ada.Email != "ada@acme.example" || ada.FirstName != "Ada" || !slices.Equal(ada.Roles, []string{"agent", "supervisor"}) ||
		!slices.Equal(ada.Expertise, []string{"billing", "returns"}) || !slices.Equal(ada.Channels, []string{"chat", "email"}) ||
		!ada.ExternalSSO || !ada.CanManageTeams || !ada.Invite || ada.StartDate != "2024-01-02" || ada.TeamLeaderEmail != "lead@acme.example" ||
		ada.Problem != "" {
		t.Errorf("ada = %+v", ada)
	}
	if bob := rows[1]; bob.Row != 4 || bob.FirstName != "Bob, Jr." || bob.Roles != nil || bob.Invite || bob.Problem != "" {
		t.Errorf("bob = %+v", bob)
	}
	if carl := rows[2]; carl.Row != 5 || carl.ProblemField != "externalSso" || !strings.Contains(carl.Problem, `"perhaps"`) {
		t.Errorf("carl = %+v", carl)
	}
	if dan := rows[3]; dan.Row != 6 || dan.Email != "dan@acme.example" || !strings.Contains(dan.Problem, "2 fields") {
		t.Errorf("dan = %+v", dan)
	}
}

func TestParseCSVFileErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"email,shoeSize\n", `unknown column "shoeSize"`},
		{"firstName,lastName\nA,B\n", "no email column"},
		{"email,Email\n", "twice"},
		{"email,firstName\n\"a@x.example,A\n", "line 2"},
	} {
		_, err := ParseCSV(strings.NewReader(tc.in))
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want a format error with %q", tc.in, err, tc.want)
		}
	}
}

func TestParseJSON(t *testing.T) {
	rows, err := Parse(strings.NewReader(` [
		{"email":"ada@acme.example","firstName":"Ada","lastName":"L","roles":["agent"],"invite":true,"externalSso":true},
		{"email":"bob@acme.example","roles":"agent"},
		{"email":"cy@acme.example","FirstName":"Cy"},
		42
	]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("rows = %+v", rows)
	}
	if r := rows[0]; r.Row != 1 || !r.Invite || !r.ExternalSSO || r.Roles[0] != "agent" || r.Problem != "" {
		t.Errorf("row 1 = %+v", r)
	}
	if r := rows[1]; r.Row != 2 || r.Email != "bob@acme.example" || r.ProblemField != "roles" || !strings.Contains(r.Problem, "array of strings") {
		t.Errorf("row 2 = %+v", r)
	}
	if r := rows[2]; r.ProblemField != "FirstName" || !strings.Contains(r.Problem, `did you mean "firstName"`) {
		t.Errorf("row 3 = %+v", r)
	}
	if r := rows[3]; r.Problem == "" {
		t.Errorf("row 4 = %+v", r)
	}
	for _, in := range []string{`{"email":"x"}`, `[1,2`, `[] []`} {
		if _, err := ParseJSON(strings.NewReader(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want a format error", in, err)
		}
	}
}

// TestColumnsCoverImportRow keeps the column list and the row type in
// step: every column sets a field of provisioning.ImportRow.
func TestColumnsCoverImportRow(t *testing.T) {
	for _, c := range Columns() {
		var row provisioning.ImportRow
		v := "true"
		if err := set(&row, c, v, []string{v}); err != nil {
			t.Errorf("column %s: %v", c, err)
		}
		if row.Email == "" && row.FirstName == "" && row.LastName == "" && row.DisplayName == "" && row.Roles == nil &&
			row.EmployeeNumber == "" && row.TeamLeaderEmail == "" && row.Expertise == nil && row.Channels == nil &&
			row.EmploymentStatus == "" && row.StartDate == "" && !row.ExternalSSO && !row.CanManageTeams && !row.Invite {
			t.Errorf("column %s sets nothing", c)
		}
		if canonical(strings.ToUpper(c)) != c {
			t.Errorf("column %s is not found in upper case", c)
		}
	}
}
