package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

type pathCase struct {
	r      Resource
	path   string
	schema string
	attr   string
	filter string // ElementFilter.String(), "" for none
	sub    string
	str    string // Path.String()
}

var pathCases = []pathCase{
	{Users, `userName`, core, "userName", "", "", "userName"},
	{Users, `USERNAME`, core, "userName", "", "", "userName"},
	{Users, `name.givenName`, core, "name", "", "givenName", "name.givenName"},
	{Users, `Name.GivenName`, core, "name", "", "givenName", "name.givenName"},
	{Users, core + `:name.familyName`, core, "name", "", "familyName", "name.familyName"},
	{Users, `active`, core, "active", "", "", "active"},
	{Users, `emails`, core, "emails", "", "", "emails"},
	{Users, `emails.value`, core, "emails", "", "value", "emails.value"},
	{Users, `emails[type eq "work"]`, core, "emails", `type eq "work"`, "", `emails[type eq "work"]`},
	{Users, `emails[type eq "work"].value`, core, "emails", `type eq "work"`, "value", `emails[type eq "work"].value`},
	{Users, `EMAILS[TYPE EQ "work"].VALUE`, core, "emails", `TYPE EQ "work"`, "value", `emails[TYPE EQ "work"].value`},
	{Users, `emails[ type eq "work" and primary eq true ]`, core, "emails", `type eq "work" and primary eq true`, "", `emails[type eq "work" and primary eq true]`},
	{Users, `emails[type eq 'work'].value`, core, "emails", `type eq 'work'`, "value", `emails[type eq 'work'].value`},
	{Users, `phoneNumbers[type eq "mobile"].value`, core, "phoneNumbers", `type eq "mobile"`, "value", `phoneNumbers[type eq "mobile"].value`},
	{Users, `addresses[type eq "work"].formatted`, core, "addresses", `type eq "work"`, "formatted", `addresses[type eq "work"].formatted`},
	{Users, `addresses[type eq "work"].streetAddress`, core, "addresses", `type eq "work"`, "streetAddress", `addresses[type eq "work"].streetAddress`},
	{Users, `addresses[type eq "work"].postalcode`, core, "addresses", `type eq "work"`, "postalCode", `addresses[type eq "work"].postalCode`},
	{Users, `roles[value eq "agent"]`, core, "roles", `value eq "agent"`, "", `roles[value eq "agent"]`},
	{Users, `groups`, core, "groups", "", "", "groups"},
	{Users, `x509Certificates`, core, "x509Certificates", "", "", "x509Certificates"},
	{Users, `meta.lastModified`, core, "meta", "", "lastModified", "meta.lastModified"},
	{Users, `manager`, ent, "manager", "", "", ent + ":manager"},
	{Users, ent + `:manager`, ent, "manager", "", "", ent + ":manager"},
	{Users, ent + `:manager.value`, ent, "manager", "", "value", ent + ":manager.value"},
	{Users, strings.ToLower(ent) + `:Manager.Value`, ent, "manager", "", "value", ent + ":manager.value"},
	{Users, ent + `:employeeNumber`, ent, "employeeNumber", "", "", ent + ":employeeNumber"},
	{Users, `employeeNumber`, ent, "employeeNumber", "", "", ent + ":employeeNumber"},
	{Users, ent, ent, "", "", "", ent},
	{Users, roster + `:expertise`, roster, "expertise", "", "", roster + ":expertise"},
	{Users, roster + `:canManageTeams`, roster, "canManageTeams", "", "", roster + ":canManageTeams"},
	{Users, `expertise[value eq "billing"]`, roster, "expertise", `value eq "billing"`, "", roster + `:expertise[value eq "billing"]`},
	{Users, core, core, "", "", "", core},
	{Groups, `members`, SchemaGroup, "members", "", "", "members"},
	{Groups, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`, SchemaGroup, "members", `value eq "2819c223-7f76-453a-919d-413861904646"`, "", `members[value eq "2819c223-7f76-453a-919d-413861904646"]`},
	{Groups, `members[value eq "2819c223"].display`, SchemaGroup, "members", `value eq "2819c223"`, "display", `members[value eq "2819c223"].display`},
	{Groups, `displayName`, SchemaGroup, "displayName", "", "", "displayName"},
	{Groups, SchemaGroup + `:displayName`, SchemaGroup, "displayName", "", "", "displayName"},
	{Groups, `externalId`, SchemaGroup, "externalId", "", "", "externalId"},
}

func TestParsePath(t *testing.T) {
	for _, tc := range pathCases {
		p, err := tc.r.ParsePath(tc.path)
		if err != nil {
			t.Errorf("%s.ParsePath(%q): %v", tc.r, tc.path, err)
			continue
		}
		if p.Schema != tc.schema || p.Attr != tc.attr || p.Sub != tc.sub || p.Filter.String() != tc.filter {
			t.Errorf("%s.ParsePath(%q) = {%s %s [%s] %s}, want {%s %s [%s] %s}", tc.r, tc.path,
				p.Schema, p.Attr, p.Filter, p.Sub, tc.schema, tc.attr, tc.filter, tc.sub)
		}
		if (p.Filter != nil) != (tc.filter != "") {
			t.Errorf("%s.ParsePath(%q): Filter = %v", tc.r, tc.path, p.Filter)
		}
		if got := p.String(); got != tc.str {
			t.Errorf("%s.ParsePath(%q).String() = %s, want %s", tc.r, tc.path, got, tc.str)
		}
	}
}

type pathErrorCase struct {
	r    Resource
	path string
	want string
}

var pathErrorCases = []pathErrorCase{
	{Users, ``, `path: empty path`},
	{Users, `   `, `path: empty path`},
	{Users, `foo`, `path: unknown attribute "foo"`},
	{Users, `name.foo`, `path: unknown attribute "name.foo"`},
	{Users, `userName.x`, `path: attribute "userName" has no sub-attributes`},
	{Users, `members`, `path: unknown attribute "members"`},
	{Groups, `emails`, `path: unknown attribute "emails"`},
	{Groups, ent + `:manager`, `path: unknown schema "` + ent + `" for Groups`},
	{Users, `urn:bogus:User:x`, `path: unknown schema "urn:bogus:User" for Users`},
	{Users, ent + `:userName`, `path: unknown attribute "` + ent + `:userName"`},
	{Users, `name[givenName eq "x"]`, `path: "name" is not multi-valued: [...] filters apply to multi-valued attributes such as emails`},
	{Users, `name.givenName[x eq "y"]`, `path: "name.givenName" is not multi-valued: [...] filters apply to multi-valued attributes such as emails`},
	{Users, `emails[type eq "work"].foo`, `path: unknown attribute "emails.foo" at offset 23`},
	{Users, `emails[type eq "work"].value.x`, `path: invalid sub-attribute name "value.x" at offset 23`},
	{Users, `emails[type eq "work"].`, `path: unexpected end of input at offset 23, expected a sub-attribute name`},
	{Users, `emails[foo eq "x"]`, `path: unknown attribute "foo" inside emails[...]`},
	{Users, `emails[primary eq "maybe"]`, `path: "primary" needs true or false, got "maybe"`},
	{Users, `emails[type co true]`, `path: "type" needs a string in double quotes, got true`},
	{Users, `emails[primary gt true]`, `path: operator "gt" is not supported on boolean attribute "primary"`},
	{Users, `emails[type eq "work"`, `path: unexpected end of input at offset 21, expected "and", "or" or "]"`},
	{Users, `emails[]`, `path: unexpected token "]" at offset 7, expected an attribute name, "(" or "not"`},
	{Users, `emails[type eq "work"]x`, `path: unexpected token "x" at offset 22, expected the end of the path`},
	{Users, `emails[type eq "work"] and title pr`, `path: unexpected token "and" at offset 23, expected the end of the path`},
	{Users, `emails[emails[type eq "x"]]`, `path: value filter inside a value filter at offset 13`},
	{Users, `emails[type eq "work"].value eq "x"`, `path: unexpected token "eq" at offset 29, expected the end of the path`},
	{Users, `expertise[value eq "x"].value`, `path: attribute "expertise" has no sub-attributes`},
	{Users, ent + `[value eq "x"]`, `path: value filter at offset 58 needs an attribute before it`},
	{Users, `userName eq "x"`, `path: unexpected token "eq" at offset 9, expected "[" or the end of the path`},
	{Users, `"userName"`, `path: unexpected string "userName" at offset 0, expected an attribute name`},
	{Users, `(userName)`, `path: unexpected token "(" at offset 0, expected an attribute name`},
	{Users, `name..givenName`, `path: invalid attribute path "name..givenName" at offset 0`},
	{Users, `emails[type eq "work"].value[type eq "x"]`, `path: unexpected token "[" at offset 28, expected the end of the path`},
	{Resource(7), `userName`, `path: unknown resource type 7`},
}

func TestParsePathErrors(t *testing.T) {
	for _, tc := range pathErrorCases {
		p, err := tc.r.ParsePath(tc.path)
		if err == nil {
			t.Errorf("%s.ParsePath(%q) = %v, want error %s", tc.r, tc.path, p, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s.ParsePath(%q)\n got error %s\nwant error %s", tc.r, tc.path, err, tc.want)
		}
		if !errors.Is(err, ErrInvalidPath) || errors.Is(err, ErrInvalidFilter) || errors.Is(err, repository.ErrInvalidQuery) {
			t.Errorf("%s.ParsePath(%q): error %v matches the wrong sentinels", tc.r, tc.path, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.ScimType != ScimTypeInvalidPath {
			t.Errorf("%s.ParsePath(%q): error %#v is not an invalidPath *Error", tc.r, tc.path, err)
		}
		if !reflect.DeepEqual(p, Path{}) {
			t.Errorf("%s.ParsePath(%q) returned %+v with its error", tc.r, tc.path, p)
		}
	}
}

func TestMatch(t *testing.T) {
	type el = map[string]any
	cases := []struct {
		r       Resource
		path    string
		element el
		want    bool
	}{
		// caseExact=false: type and value of emails ignore case, keys too.
		{Users, `emails[type eq "work"]`, el{"type": "work", "value": "a@b.c"}, true},
		{Users, `emails[type eq "work"]`, el{"type": "Work"}, true},
		{Users, `emails[type eq "work"]`, el{"TYPE": "WORK"}, true},
		{Users, `emails[type eq "work"]`, el{"type": "home"}, false},
		{Users, `emails[type eq "work"]`, el{}, false},
		{Users, `emails[type eq "work"]`, el{"type": 5}, false},
		{Users, `emails[type eq "work"]`, el{"type": nil}, false},
		{Users, `emails[value co "@EXAMPLE"]`, el{"value": "bjensen@example.com"}, true},
		{Users, `emails[value sw "BJ"]`, el{"value": "bjensen@example.com"}, true},
		{Users, `emails[value ew ".COM"]`, el{"value": "bjensen@example.com"}, true},
		{Users, `emails[value ew ".org"]`, el{"value": "bjensen@example.com"}, false},
		{Users, `emails[value gt "A"]`, el{"value": "b"}, true},
		{Users, `emails[value ge "B"]`, el{"value": "b"}, true},
		{Users, `emails[value lt "B"]`, el{"value": "a"}, true},
		{Users, `emails[value le "a"]`, el{"value": "b"}, false},
		// caseExact=true: member ids.
		{Groups, `members[value eq "ABC"]`, el{"value": "ABC"}, true},
		{Groups, `members[value eq "ABC"]`, el{"value": "abc"}, false},
		{Groups, `members[display eq "babs"]`, el{"display": "Babs", "value": "abc"}, true},
		// Booleans, also as strings.
		{Users, `emails[primary eq true]`, el{"primary": true}, true},
		{Users, `emails[primary eq true]`, el{"primary": "True"}, true},
		{Users, `emails[primary eq "true"]`, el{"primary": false}, false},
		{Users, `emails[primary eq false]`, el{}, false},
		{Users, `emails[primary eq true]`, el{"primary": "yes"}, false},
		{Users, `emails[primary ne true]`, el{}, true},
		// ne is not(eq): an absent value is not equal.
		{Users, `emails[type ne "work"]`, el{}, true},
		{Users, `emails[type ne "work"]`, el{"type": "WORK"}, false},
		{Users, `emails[type ne "work"]`, el{"type": "home"}, true},
		// pr and null.
		{Users, `emails[type pr]`, el{"type": "work"}, true},
		{Users, `emails[type pr]`, el{"type": ""}, false},
		{Users, `emails[type pr]`, el{"type": nil}, false},
		{Users, `emails[type pr]`, el{"type": []any{}}, false},
		{Users, `emails[type pr]`, el{"type": map[string]any{"a": 1}}, true},
		{Users, `emails[type eq null]`, el{}, true},
		{Users, `emails[type eq null]`, el{"type": ""}, true},
		{Users, `emails[type eq null]`, el{"type": "x"}, false},
		{Users, `emails[type ne null]`, el{"type": "x"}, true},
		// Logic.
		{Users, `emails[type eq "work" and value ew ".org"]`, el{"type": "work", "value": "a@b.org"}, true},
		{Users, `emails[type eq "work" and value ew ".org"]`, el{"type": "work", "value": "a@b.com"}, false},
		{Users, `emails[type eq "work" or value ew ".org"]`, el{"type": "home", "value": "a@b.org"}, true},
		{Users, `emails[type eq "work" or value ew ".org"]`, el{"type": "home", "value": "a@b.com"}, false},
		{Users, `emails[not (type eq "work")]`, el{"type": "home"}, true},
		{Users, `emails[type eq "a" or type eq "b" and value eq "x"]`, el{"type": "a"}, true},
		{Users, `emails[(type eq "a" or type eq "b") and value eq "x"]`, el{"type": "a"}, false},
		// A multi-valued attribute of simple values: {"value": v}.
		{Users, `expertise[value eq "Billing"]`, el{"value": "billing"}, true},
		{Users, `expertise[value co "ill"]`, el{"value": "returns"}, false},
		// Complex elements of other attributes.
		{Users, `addresses[type eq "work" and postalCode sw "91"]`, el{"type": "work", "postalCode": "91608"}, true},
		{Users, `addresses[primary eq true]`, el{"primary": true}, true},
	}
	for _, tc := range cases {
		p, err := tc.r.ParsePath(tc.path)
		if err != nil {
			t.Errorf("%s.ParsePath(%q): %v", tc.r, tc.path, err)
			continue
		}
		if got := p.Filter.Match(tc.element); got != tc.want {
			t.Errorf("%s.ParsePath(%q).Filter.Match(%v) = %v, want %v", tc.r, tc.path, tc.element, got, tc.want)
		}
	}
	var none *ElementFilter
	if !none.Match(map[string]any{"type": "x"}) {
		t.Error("a nil ElementFilter must match every element")
	}
}

// TestMatchDateTime covers dateTime comparison, which no multi-valued
// attribute of the core schemas has today.
func TestMatchDateTime(t *testing.T) {
	at := time.Date(2024, 1, 31, 9, 0, 0, 0, time.UTC)
	cmp := func(op repository.Op) elemCompare {
		return elemCompare{key: "when", typ: typeDateTime, op: op, val: at}
	}
	cases := []struct {
		c    elemCompare
		v    any
		want bool
	}{
		{cmp(repository.OpEq), at, true},
		{cmp(repository.OpEq), "2024-01-31T10:00:00+01:00", true},
		{cmp(repository.OpGt), "2024-01-31T09:00:01Z", true},
		{cmp(repository.OpGe), at, true},
		{cmp(repository.OpLt), "2024-01-31T08:59:59Z", true},
		{cmp(repository.OpLe), "2024-01-31T09:00:01Z", false},
		{cmp(repository.OpEq), "not a time", false},
		{cmp(repository.OpEq), 5, false},
	}
	for _, tc := range cases {
		if got := tc.c.match(map[string]any{"when": tc.v}); got != tc.want {
			t.Errorf("%s %v against %v = %v, want %v", tc.c.op, tc.c.val, tc.v, got, tc.want)
		}
	}
}

func TestEqualValues(t *testing.T) {
	cases := []struct {
		path   string
		sub    string
		values []string
		ok     bool
	}{
		{`members[value eq "a"]`, "value", []string{"a"}, true},
		{`members[VALUE EQ "a"]`, "value", []string{"a"}, true},
		{`members[value eq "a" or value eq "b"]`, "value", []string{"a", "b"}, true},
		{`members[value eq "a" or (value eq "b" or value eq "c")]`, "value", []string{"a", "b", "c"}, true},
		{`members[value eq "a" and display eq "x"]`, "value", nil, false},
		{`members[value eq "a" or display eq "x"]`, "value", nil, false},
		{`members[value ne "a"]`, "value", nil, false},
		{`members[not (value eq "a")]`, "value", nil, false},
		{`members[value co "a"]`, "value", nil, false},
		{`members[value pr]`, "value", nil, false},
		{`members[value eq null]`, "value", nil, false},
		{`members[display eq "a"]`, "value", nil, false},
		{`members[display eq "a"]`, "display", []string{"a"}, true},
	}
	for _, tc := range cases {
		p, err := Groups.ParsePath(tc.path)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tc.path, err)
		}
		values, ok := p.Filter.EqualValues(tc.sub)
		if ok != tc.ok || !reflect.DeepEqual(values, tc.values) {
			t.Errorf("ParsePath(%q).Filter.EqualValues(%q) = %q, %v; want %q, %v", tc.path, tc.sub, values, ok, tc.values, tc.ok)
		}
	}
	var none *ElementFilter
	if v, ok := none.EqualValues("value"); ok || v != nil {
		t.Errorf("nil ElementFilter: EqualValues = %q, %v", v, ok)
	}
}

func TestSortField(t *testing.T) {
	cases := []struct {
		r      Resource
		sortBy string
		want   repository.Field
		err    string
	}{
		{Users, "", "", ""},
		{Users, "userName", repository.MemberUserName, ""},
		{Users, "USERNAME", repository.MemberUserName, ""},
		{Users, "name.familyName", repository.MemberFamilyName, ""},
		{Users, core + ":name.givenName", repository.MemberGivenName, ""},
		{Users, "meta.created", repository.MemberCreated, ""},
		{Users, "meta.lastModified", repository.MemberLastModified, ""},
		{Users, "id", repository.MemberID, ""},
		{Users, "externalId", repository.MemberExternalID, ""},
		{Users, "displayName", repository.MemberDisplayName, ""},
		{Users, ent + ":employeeNumber", repository.MemberEmployeeNumber, ""},
		{Users, "emails", "", `sortBy: cannot sort by "emails"`},
		{Users, "emails.value", "", `sortBy: cannot sort by "emails.value"`},
		{Users, "title", "", `sortBy: cannot sort by "title"`},
		{Users, "name", "", `sortBy: cannot sort by "name"`},
		{Users, "manager", "", `sortBy: cannot sort by "manager"`},
		{Users, "addresses", "", `sortBy: cannot sort by "addresses"`},
		{Users, "foo", "", `sortBy: unknown attribute "foo"`},
		{Users, ent, "", `sortBy: cannot sort by a schema: "` + ent + `"`},
		{Users, `emails[type eq "work"].value`, "", `sortBy: unexpected token "[" at offset 6, expected the end of the sortBy`},
		{Users, "userName desc", "", `sortBy: unexpected token "desc" at offset 9, expected the end of the sortBy`},
		{Groups, "displayName", repository.GroupDisplayName, ""},
		{Groups, "meta.lastModified", repository.GroupLastModified, ""},
		{Groups, "members", "", `sortBy: cannot sort by "members"`},
		{Groups, "userName", "", `sortBy: unknown attribute "userName"`},
		{Resource(0), "userName", "", `sortBy: unknown resource type 0`},
	}
	for _, tc := range cases {
		got, err := tc.r.SortField(tc.sortBy)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s.SortField(%q) = %q, %v; want error %s", tc.r, tc.sortBy, got, err, tc.err)
			} else if !errors.Is(err, ErrInvalidSort) || !errors.Is(err, repository.ErrInvalidQuery) || errors.Is(err, ErrInvalidFilter) {
				t.Errorf("%s.SortField(%q): error %v matches the wrong sentinels", tc.r, tc.sortBy, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s.SortField(%q) = %q, %v; want %q", tc.r, tc.sortBy, got, err, tc.want)
		}
		if got != "" {
			fields := repository.MemberFields
			if tc.r == Groups {
				fields = repository.GroupFields
			}
			if err := repository.ValidateQuery(repository.Query{SortBy: got}, fields); err != nil {
				t.Errorf("%s.SortField(%q) = %q, which the repository refuses: %v", tc.r, tc.sortBy, got, err)
			}
		}
	}
}

func TestErrorType(t *testing.T) {
	var e *Error
	_, err := Users.Compile(`x eq`)
	if !errors.As(err, &e) || e.ScimType != "invalidFilter" {
		t.Errorf("Compile error %#v", err)
	}
	_, err = Users.ParsePath(`x`)
	if !errors.As(err, &e) || e.ScimType != "invalidPath" {
		t.Errorf("ParsePath error %#v", err)
	}
	_, err = Users.SortField(`x`)
	if !errors.As(err, &e) || e.ScimType != "invalidValue" {
		t.Errorf("SortField error %#v", err)
	}
	if errors.Is(err, errors.New("invalid sortBy")) {
		t.Error("Is must match the sentinel itself, not its text")
	}
}
