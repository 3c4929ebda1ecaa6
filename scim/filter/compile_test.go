package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

const (
	ent    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	roster = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
	core   = "urn:ietf:params:scim:schemas:core:2.0:User"
)

type compileCase struct {
	r    Resource
	expr string
	want string // render() of the result
}

// compileCases are valid filters and what they compile to. They also seed
// the fuzz targets.
var compileCases = []compileCase{
	// Every operator on a string attribute.
	{Users, `userName eq "bjensen"`, `userName eq "bjensen"`},
	{Users, `userName ne "bjensen"`, `userName ne "bjensen"`},
	{Users, `userName co "jens"`, `userName co "jens"`},
	{Users, `userName sw "J"`, `userName sw "J"`},
	{Users, `userName ew "@example.com"`, `userName ew "@example.com"`},
	{Users, `userName gt "a"`, `userName gt "a"`},
	{Users, `userName ge "a"`, `userName ge "a"`},
	{Users, `userName lt "z"`, `userName lt "z"`},
	{Users, `userName le "z"`, `userName le "z"`},
	{Users, `title pr`, `title pr`},

	// Case-insensitive names, operators and keywords (what Entra and Okta
	// send varies).
	{Users, `UserName EQ "x"`, `userName eq "x"`},
	{Users, `USERNAME Eq "x"`, `userName eq "x"`},
	{Users, `userName eq "x" AND title PR OR active EQ TRUE`, `or(and(userName eq "x", title pr), active eq true)`},
	{Users, `Meta.LastModified GT "2011-05-13T04:42:34Z"`, `meta.lastModified gt 2011-05-13T04:42:34Z`},
	{Users, `NOT (title pr)`, `not(title pr)`},
	{Users, `EMAILS[TYPE eq "work"].VALUE eq "x"`, `any emails(and(emails.type eq "work", emails.value eq "x"))`},
	{Users, `URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq "1"`, `employeeNumber eq "1"`},

	// Precedence: not > and > or; parentheses group.
	{Users, `userName eq "a" or userName eq "b" and title pr`, `or(userName eq "a", and(userName eq "b", title pr))`},
	{Users, `userName eq "a" and userName eq "b" or title pr`, `or(and(userName eq "a", userName eq "b"), title pr)`},
	{Users, `(userName eq "a" or userName eq "b") and title pr`, `and(or(userName eq "a", userName eq "b"), title pr)`},
	{Users, `title pr and not (userType eq "x") or nickName pr`, `or(and(title pr, not(userType eq "x")), nickName pr)`},
	{Users, `not (title pr or userType eq "x")`, `not(or(title pr, userType eq "x"))`},
	{Users, `not(title pr)`, `not(title pr)`},
	{Users, `not (not (title pr))`, `not(not(title pr))`},
	{Users, `((title pr))`, `title pr`},
	{Users, `(title pr and nickName pr) and (locale pr and timezone pr)`, `and(title pr, nickName pr, locale pr, timezone pr)`},
	{Users, `title pr or (nickName pr or (locale pr or timezone pr))`, `or(title pr, nickName pr, locale pr, timezone pr)`},
	{Users, `(userName eq "x")and(title pr)`, `and(userName eq "x", title pr)`},
	{Users, "  userName \t eq\n\"x\"  ", `userName eq "x"`},

	// RFC 7644 section 3.4.2.2 examples (ims is not filterable here, so
	// phoneNumbers stands in for it).
	{Users, `name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
	{Users, `urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
	{Users, `title pr and userType eq "Employee"`, `and(title pr, userType eq "Employee")`},
	{Users, `title pr or userType eq "Intern"`, `or(title pr, userType eq "Intern")`},
	{Users, `userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`and(userType eq "Employee", or(emails.value co "example.com", emails.value co "example.org"))`},
	{Users, `userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`and(userType ne "Employee", not(or(emails.value co "example.com", emails.value co "example.org")))`},
	{Users, `userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		`and(userType eq "Employee", any emails(and(emails.type eq "work", emails.value co "@example.com")))`},
	{Users, `emails[type eq "work" and value co "@example.com"] or phoneNumbers[type eq "mobile" and value sw "+1"]`,
		`or(any emails(and(emails.type eq "work", emails.value co "@example.com")), any phoneNumbers(and(phoneNumbers.type eq "mobile", phoneNumbers.value sw "+1")))`},

	// Value paths.
	{Users, `emails[type eq "work"]`, `emails.type eq "work"`},
	{Users, `emails[type pr]`, `emails.type pr`},
	{Users, `emails[type eq "work" or type eq "home"]`, `or(emails.type eq "work", emails.type eq "home")`},
	{Users, `emails[type eq "work" or (type eq "home" and value ew "@x.com")]`,
		`or(emails.type eq "work", any emails(and(emails.type eq "home", emails.value ew "@x.com")))`},
	{Users, `emails[not (type eq "work")]`, `any emails(not(emails.type eq "work"))`},
	{Users, `emails[type ne "work"]`, `any emails(not(emails.type eq "work"))`},
	{Users, `emails[type eq null]`, `any emails(not(emails.type pr))`},
	{Users, `emails[type ne null]`, `emails.type pr`},
	{Users, `emails[primary eq "True"]`, `emails.primary eq true`},
	{Users, `emails[type eq "work"].value eq "a@b.c"`, `any emails(and(emails.type eq "work", emails.value eq "a@b.c"))`},
	{Users, `emails[type eq "work"].value pr`, `any emails(and(emails.type eq "work", emails.value pr))`},
	{Users, `emails[type eq "work"].value ne "a@b.c"`, `any emails(and(emails.type eq "work", not(emails.value eq "a@b.c")))`},
	{Users, `emails[type eq "work" and primary eq true].value co "@x"`,
		`any emails(and(emails.type eq "work", emails.primary eq true, emails.value co "@x"))`},
	{Users, `phoneNumbers[type eq "mobile"].value sw "+44"`, `any phoneNumbers(and(phoneNumbers.type eq "mobile", phoneNumbers.value sw "+44"))`},
	{Users, `roles[value eq "agent"]`, `roles.value eq "agent"`},
	{Users, `groups[value eq "g1"]`, `groups.value eq "g1"`},
	{Users, `expertise[value eq "billing"]`, `expertise eq "billing"`},
	{Users, `channels[value eq "chat" or value eq "email"]`, `or(channels eq "chat", channels eq "email")`},
	{Users, `expertise[value sw "bill" and value ew "ing"]`, `any expertise(and(expertise sw "bill", expertise ew "ing"))`},

	// A complex attribute alone means its value.
	{Users, `emails co "@example.com"`, `emails.value co "@example.com"`},
	{Users, `emails pr`, `emails.value pr`},
	{Users, `phoneNumbers eq "+1 555"`, `phoneNumbers.value eq "+1 555"`},
	{Users, `roles eq "agent"`, `roles.value eq "agent"`},
	{Users, `groups eq "g1"`, `groups.value eq "g1"`},
	{Users, `manager eq "m1"`, `manager.value eq "m1"`},
	{Users, `manager.value eq "m1"`, `manager.value eq "m1"`},
	{Users, `name pr`, `or(name.formatted pr, name.familyName pr, name.givenName pr)`},
	{Users, `meta pr`, `or(meta.created pr, meta.lastModified pr)`},

	// Every filterable User attribute.
	{Users, `id eq "2819c223-7f76-453a-919d-413861904646"`, `id eq "2819c223-7f76-453a-919d-413861904646"`},
	{Users, `externalId eq "701984"`, `externalId eq "701984"`},
	{Users, `displayName co "Babs"`, `displayName co "Babs"`},
	{Users, `nickName eq "Babs"`, `nickName eq "Babs"`},
	{Users, `title eq "Tour Guide"`, `title eq "Tour Guide"`},
	{Users, `userType eq "Employee"`, `userType eq "Employee"`},
	{Users, `locale eq "en-US"`, `locale eq "en-US"`},
	{Users, `preferredLanguage eq "en-US"`, `preferredLanguage eq "en-US"`},
	{Users, `timezone eq "America/Los_Angeles"`, `timezone eq "America/Los_Angeles"`},
	{Users, `name.givenName eq "Barbara"`, `name.givenName eq "Barbara"`},
	{Users, `name.formatted sw "Ms."`, `name.formatted sw "Ms."`},
	{Users, `emails.type eq "work"`, `emails.type eq "work"`},
	{Users, `emails.primary eq true`, `emails.primary eq true`},
	{Users, `phoneNumbers.type eq "mobile"`, `phoneNumbers.type eq "mobile"`},
	{Users, `roles.value eq "admin"`, `roles.value eq "admin"`},
	{Users, `groups.value eq "g1"`, `groups.value eq "g1"`},
	{Users, `meta.created ge "2024-01-31T09:00:00Z"`, `meta.created ge 2024-01-31T09:00:00Z`},
	{Users, `employeeNumber eq "701984"`, `employeeNumber eq "701984"`},
	{Users, `department eq "Tour Operations"`, `department eq "Tour Operations"`},
	{Users, `organization eq "Universal Studios"`, `organization eq "Universal Studios"`},
	{Users, `costCenter eq "4130"`, `costCenter eq "4130"`},
	{Users, `division eq "Theme Park"`, `division eq "Theme Park"`},
	{Users, ent + `:employeeNumber eq "701984"`, `employeeNumber eq "701984"`},
	{Users, ent + `:manager eq "m1"`, `manager.value eq "m1"`},
	{Users, ent + `:manager.value eq "m1"`, `manager.value eq "m1"`},
	{Users, `expertise eq "billing"`, `expertise eq "billing"`},
	{Users, roster + `:expertise eq "billing"`, `expertise eq "billing"`},
	{Users, `channels co "chat"`, `channels co "chat"`},
	{Users, `employmentStatus eq "full_time"`, `employmentStatus eq "full_time"`},
	{Users, `seatStatus eq "queued"`, `seatStatus eq "queued"`},
	{Users, core + `:userName eq "x"`, `userName eq "x"`},
	{Users, core + `:meta.created lt "2030-01-01T00:00:00Z"`, `meta.created lt 2030-01-01T00:00:00Z`},

	// Booleans, also as strings in any case.
	{Users, `active eq true`, `active eq true`},
	{Users, `active eq false`, `active eq false`},
	{Users, `active ne true`, `active ne true`},
	{Users, `active eq "True"`, `active eq true`},
	{Users, `active eq "true"`, `active eq true`},
	{Users, `active eq "False"`, `active eq false`},
	{Users, `active ne "FALSE"`, `active ne false`},
	{Users, `active eq FALSE`, `active eq false`},
	{Users, `active pr`, `active pr`},
	{Users, `canManageTeams eq true`, `canManageTeams eq true`},
	{Users, `externalSso ne false`, `externalSso ne false`},
	{Users, roster + `:canManageTeams eq "TRUE"`, `canManageTeams eq true`},

	// dateTimes: RFC 3339, fractions, offsets (stored as UTC), lowercase
	// t/z, no zone (UTC).
	{Users, `meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt 2011-05-13T04:42:34Z`},
	{Users, `meta.lastModified ge "2011-05-13T04:42:34.5+02:00"`, `meta.lastModified ge 2011-05-13T02:42:34.5Z`},
	{Users, `meta.lastModified lt "2011-05-13t04:42:34z"`, `meta.lastModified lt 2011-05-13T04:42:34Z`},
	{Users, `meta.lastModified le "2011-05-13T04:42:34"`, `meta.lastModified le 2011-05-13T04:42:34Z`},
	{Users, `meta.created eq "2011-05-13T04:42:34.123456789Z"`, `meta.created eq 2011-05-13T04:42:34.123456789Z`},
	{Users, `meta.created ne "2011-05-13T04:42:34-05:00"`, `meta.created ne 2011-05-13T09:42:34Z`},

	// null: eq means absent, ne present.
	{Users, `title eq null`, `not(title pr)`},
	{Users, `title ne null`, `title pr`},
	{Users, `active eq null`, `not(active pr)`},
	{Users, `meta.created ne NULL`, `meta.created pr`},
	{Users, `emails eq null`, `not(emails.value pr)`},

	// String escapes (JSON), raw Unicode, single quotes.
	{Users, `userName eq "a\"b"`, `userName eq "a\"b"`},
	{Users, `userName eq "a\\b"`, `userName eq "a\\b"`},
	{Users, `userName eq "a\/b"`, `userName eq "a/b"`},
	{Users, `userName eq "line\nbreak\ttab\r\b\f"`, `userName eq "line\nbreak\ttab\r\b\f"`},
	{Users, `displayName eq "\u00e9t\u00C9"`, `displayName eq "étÉ"`},
	{Users, `displayName eq "\ud83d\ude00"`, `displayName eq "😀"`},
	{Users, `displayName eq "\ud83d"`, "displayName eq \"\ufffd\""},
	{Users, `displayName eq "Ünïcödé 名前"`, `displayName eq "Ünïcödé 名前"`},
	{Users, `displayName eq ""`, `displayName eq ""`},
	{Users, `displayName eq 'single'`, `displayName eq "single"`},
	{Users, `displayName eq 'it\'s'`, `displayName eq "it's"`},
	{Users, `displayName eq "a)b]c(d[e and f or g"`, `displayName eq "a)b]c(d[e and f or g"`},

	// Blank filters select everything.
	{Users, ``, `<nil>`},
	{Users, "  \t ", `<nil>`},

	// Groups.
	{Groups, `displayName eq "Sales"`, `displayName eq "Sales"`},
	{Groups, `DisplayName EQ "Sales"`, `displayName eq "Sales"`},
	{Groups, `externalId eq "e1"`, `externalId eq "e1"`},
	{Groups, `id eq "g1" and members eq "u1"`, `and(id eq "g1", members.value eq "u1")`},
	{Groups, `members[value eq "u1"]`, `members.value eq "u1"`},
	{Groups, `members.value eq "u1"`, `members.value eq "u1"`},
	{Groups, `members pr`, `members.value pr`},
	{Groups, `meta.lastModified gt "2024-01-01T00:00:00Z"`, `meta.lastModified gt 2024-01-01T00:00:00Z`},
	{Groups, `urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"`, `displayName eq "x"`},
}

func TestCompile(t *testing.T) {
	for _, tc := range compileCases {
		f, err := tc.r.Compile(tc.expr)
		if err != nil {
			t.Errorf("%s.Compile(%q): %v", tc.r, tc.expr, err)
			continue
		}
		if got := render(f); got != tc.want {
			t.Errorf("%s.Compile(%q)\n got %s\nwant %s", tc.r, tc.expr, got, tc.want)
		}
		fields := repository.MemberFields
		if tc.r == Groups {
			fields = repository.GroupFields
		}
		if err := repository.Validate(f, fields); err != nil {
			t.Errorf("%s.Compile(%q) does not validate: %v", tc.r, tc.expr, err)
		}
	}
}

type compileErrorCase struct {
	r    Resource
	expr string
	want string // the whole error message
}

// compileErrorCases are malformed or unsupported filters and their exact
// messages, which an IdP administrator reads.
var compileErrorCases = []compileErrorCase{
	// Syntax.
	{Users, `userName eq "x" )`, `filter: unexpected token ")" at offset 16, expected "and", "or" or the end of the filter`},
	{Users, `(userName eq "x"`, `filter: unexpected end of input at offset 16, expected "and", "or" or ")"`},
	{Users, `userName eq "x" and (title pr))`, `filter: unexpected token ")" at offset 30, expected "and", "or" or the end of the filter`},
	{Users, `userName eq`, `filter: unexpected end of input at offset 11, expected a comparison value (a string in double quotes, a number, true, false or null)`},
	{Users, `userName`, `filter: unexpected end of input at offset 8, expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)`},
	{Users, `userName eq "x" and`, `filter: unexpected end of input at offset 19, expected an attribute name, "(" or "not"`},
	{Users, `userName eq "x" or or title pr`, `filter: unexpected token "or" at offset 19, expected an attribute name, "(" or "not"`},
	{Users, `and title pr`, `filter: unexpected token "and" at offset 0, expected an attribute name, "(" or "not"`},
	{Users, `title pr and OR nickName pr`, `filter: unexpected token "OR" at offset 13, expected an attribute name, "(" or "not"`},
	{Users, `()`, `filter: unexpected token ")" at offset 1, expected an attribute name, "(" or "not"`},
	{Users, `[type eq "work"]`, `filter: unexpected token "[" at offset 0, expected an attribute name, "(" or "not"`},
	{Users, `"userName" eq "x"`, `filter: unexpected string "userName" at offset 0, expected an attribute name, "(" or "not"`},
	{Users, `userName eq john`, `filter: unexpected token "john" at offset 12, expected a comparison value (a string in double quotes, a number, true, false or null)`},
	{Users, `userName equals "x"`, `filter: unexpected token "equals" at offset 9, expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)`},
	{Users, `userName == "x"`, `filter: unexpected character '=' at offset 9`},
	{Users, `userName eq "x" "y"`, `filter: unexpected string "y" at offset 16, expected "and", "or" or the end of the filter`},
	{Users, `userName pr "x"`, `filter: unexpected string "x" at offset 12, expected "and", "or" or the end of the filter`},
	{Users, `userName eq "x" @`, `filter: unexpected character '@' at offset 16`},
	{Users, `userName eq "x" && title pr`, `filter: unexpected character '&' at offset 16`},
	{Users, `userName eq "x" ; title pr`, `filter: unexpected character ';' at offset 16`},
	{Users, `not title pr`, `filter: expected "(" after "not" at offset 4`},
	{Users, `not (title pr`, `filter: unexpected end of input at offset 13, expected "and", "or" or ")"`},
	{Users, `emails[type eq "work"`, `filter: unexpected end of input at offset 21, expected "and", "or" or "]"`},
	{Users, `emails[type eq "work")`, `filter: unexpected token ")" at offset 21, expected "and", "or" or "]"`},
	{Users, `emails[type eq "work"]]`, `filter: unexpected token "]" at offset 22, expected "and", "or" or the end of the filter`},
	{Users, `emails[]`, `filter: unexpected token "]" at offset 7, expected an attribute name, "(" or "not"`},
	{Users, `emails[emails[type eq "work"]]`, `filter: value filter inside a value filter at offset 13`},
	{Users, `emails[type eq "work"].`, `filter: unexpected end of input at offset 23, expected a sub-attribute name`},
	{Users, `emails[type eq "work"].value`, `filter: unexpected end of input at offset 28, expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)`},
	{Users, `emails[type eq "work"].value.x eq "y"`, `filter: invalid sub-attribute name "value.x" at offset 23`},
	{Users, `emails[type eq "work"] eq "x"`, `filter: unexpected token "eq" at offset 23, expected "and", "or" or the end of the filter`},
	{Users, `name..givenName eq "x"`, `filter: invalid attribute path "name..givenName" at offset 0`},
	{Users, `name.givenName.x eq "x"`, `filter: attribute path "name.givenName.x" at offset 0 has more than one sub-attribute level`},
	{Users, `name. eq "x"`, `filter: invalid attribute path "name." at offset 0`},
	{Users, `user-name: eq "x"`, `filter: invalid attribute path "user-name:" at offset 0`},

	// Values and strings.
	{Users, `userName eq "unterminated`, `filter: unterminated string starting at offset 12`},
	{Users, `userName eq "ends in backslash\`, `filter: unterminated string starting at offset 12`},
	{Users, `userName eq "bad \x escape"`, `filter: invalid escape "\\x" in string at offset 17`},
	{Users, `userName eq "\u12"`, `filter: invalid escape "\\u12\"" in string at offset 13`},
	{Users, `userName eq "\uZZZZ"`, `filter: invalid escape "\\uZZZZ" in string at offset 13`},
	{Users, `userName eq "a\'b"`, `filter: invalid escape "\\'" in string at offset 14`},
	{Users, `userName eq "a\u0000b"`, `filter: NUL character in string at offset 14`},
	{Users, "userName eq \"a\tb\"", `filter: control character '\t' in string at offset 14: escape it`},
	{Users, "userName eq \"a\xffb\"", `filter: invalid UTF-8 at offset 14`},
	{Users, `userName eq 12abc`, `filter: invalid number "12abc" at offset 12 (string values need double quotes)`},
	{Users, `userName eq 2819c223-7f76`, `filter: invalid number "2819c223-7f76" at offset 12 (string values need double quotes)`},
	{Users, `userName eq 01`, `filter: invalid number "01" at offset 12 (string values need double quotes)`},
	{Users, `userName eq -`, `filter: invalid number "-" at offset 12 (string values need double quotes)`},
	{Users, `userName eq 1.`, `filter: invalid number "1." at offset 12 (string values need double quotes)`},
	{Users, `userName eq 1e`, `filter: invalid number "1e" at offset 12 (string values need double quotes)`},
	{Users, `1userName eq "x"`, `filter: invalid number "1userName" at offset 0 (string values need double quotes)`},

	// Attributes.
	{Users, `foo eq "x"`, `filter: unknown attribute "foo"`},
	{Users, `name.foo eq "x"`, `filter: unknown attribute "name.foo"`},
	{Users, `userName.x eq "y"`, `filter: attribute "userName" has no sub-attributes`},
	{Users, `members eq "u1"`, `filter: unknown attribute "members"`},
	{Users, `urn:ietf:params:scim:schemas:extension:foo:2.0:User:bar eq "x"`, `filter: unknown schema "urn:ietf:params:scim:schemas:extension:foo:2.0:User" for Users`},
	{Users, ent + ` eq "x"`, `filter: "` + ent + `" names a schema, not an attribute`},
	{Users, ent + `[value eq "x"]`, `filter: "` + ent + `" names a schema, not an attribute`},
	{Users, ent + `:userName eq "x"`, `filter: unknown attribute "` + ent + `:userName"`},
	{Users, `urn:x eq "y"`, `filter: unknown schema "urn" for Users`},
	{Users, `addresses[type eq "work"]`, `filter: filtering on "addresses.type" is not supported`},
	{Users, `addresses.locality eq "x"`, `filter: filtering on "addresses.locality" is not supported`},
	{Users, `addresses pr`, `filter: filtering on "addresses" is not supported`},
	{Users, `ims[type eq "xmpp"]`, `filter: filtering on "ims.type" is not supported`},
	{Users, `x509Certificates pr`, `filter: filtering on "x509Certificates" is not supported`},
	{Users, `profileUrl eq "x"`, `filter: filtering on "profileUrl" is not supported`},
	{Users, `emails.display eq "x"`, `filter: filtering on "emails.display" is not supported`},
	{Users, `emails[type eq "work"].display eq "x"`, `filter: filtering on "emails.display" is not supported`},
	{Users, `onlyAssignFromExpertise eq true`, `filter: filtering on "onlyAssignFromExpertise" is not supported`},
	{Users, `name eq "x"`, `filter: "name" is a complex attribute: compare one of its sub-attributes, such as "name.formatted"`},
	{Users, `meta gt "2011-05-13T04:42:34Z"`, `filter: "meta" is a complex attribute: compare one of its sub-attributes, such as "meta.created"`},
	{Users, `name[givenName eq "x"]`, `filter: "name" is not multi-valued: [...] filters apply to multi-valued attributes such as emails`},
	{Users, `userName[value eq "x"]`, `filter: "userName" is not multi-valued: [...] filters apply to multi-valued attributes such as emails`},
	{Users, `emails.value[value eq "x"]`, `filter: "emails.value" is not multi-valued: [...] filters apply to multi-valued attributes such as emails`},
	{Users, `emails[foo eq "x"]`, `filter: unknown attribute "foo" inside emails[...]`},
	{Users, `emails[emails.type eq "x"]`, `filter: "emails.type" inside emails[...] must be a plain sub-attribute name`},
	{Users, `expertise[foo eq "x"]`, `filter: unknown attribute "foo" inside expertise[...]: elements of expertise are compared as "value"`},
	{Users, `expertise.value eq "x"`, `filter: attribute "expertise" has no sub-attributes`},
	{Groups, `userName eq "x"`, `filter: unknown attribute "userName"`},
	{Groups, ent + `:employeeNumber eq "1"`, `filter: unknown schema "` + ent + `" for Groups`},
	{Groups, `roleKey eq "agent"`, `filter: unknown attribute "roleKey"`},
	{Users, `status eq "active"`, `filter: unknown attribute "status"`},

	// Operators and value types.
	{Users, `active co true`, `filter: operator "co" is not supported on boolean attribute "active"`},
	{Users, `active gt true`, `filter: operator "gt" is not supported on boolean attribute "active"`},
	{Users, `active eq "maybe"`, `filter: "active" needs true or false, got "maybe"`},
	{Users, `active eq 1`, `filter: "active" needs true or false, got number 1`},
	{Users, `emails[primary eq "yes"]`, `filter: "primary" needs true or false, got "yes"`},
	{Users, `meta.created gt "yesterday"`, `filter: "meta.created" needs a dateTime such as "2024-01-31T09:00:00Z", got "yesterday"`},
	{Users, `meta.created gt "2024-01-31"`, `filter: "meta.created" needs a dateTime such as "2024-01-31T09:00:00Z", got "2024-01-31"`},
	{Users, `meta.created eq true`, `filter: "meta.created" needs a dateTime such as "2024-01-31T09:00:00Z", got true`},
	{Users, `meta.created co "2011"`, `filter: operator "co" is not supported on dateTime attribute "meta.created"`},
	{Users, `userName eq 5`, `filter: "userName" needs a string in double quotes, got number 5`},
	{Users, `userName eq -1.5e3`, `filter: "userName" needs a string in double quotes, got number -1.5e3`},
	{Users, `userName eq true`, `filter: "userName" needs a string in double quotes, got true`},
	{Users, `emails[type eq "work"].value eq false`, `filter: "emails[...].value" needs a string in double quotes, got false`},
	{Users, `userName gt null`, `filter: operator "gt" cannot compare "userName" with null`},
	{Users, `userName co null`, `filter: operator "co" cannot compare "userName" with null`},
	{Users, `active co null`, `filter: operator "co" is not supported on boolean attribute "active"`},

	// Limits.
	{Users, strings.Repeat("(", 33) + `title pr` + strings.Repeat(")", 33), `filter: nested more than 32 levels deep at offset 33`},
	{Users, strings.Repeat("not (", 33) + `title pr` + strings.Repeat(")", 33), `filter: nested more than 32 levels deep at offset 165`},
	{Users, `title pr` + strings.Repeat(` or title pr`, 256), `filter: more than 256 comparisons`},
	{Users, `userName eq "` + strings.Repeat("x", 16<<10) + `"`, `filter: longer than 16384 bytes`},

	// Not a resource.
	{Resource(0), `userName eq "x"`, `filter: unknown resource type 0`},
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range compileErrorCases {
		f, err := tc.r.Compile(tc.expr)
		if err == nil {
			t.Errorf("%s.Compile(%q) = %s, want error %s", tc.r, clip(tc.expr), render(f), tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s.Compile(%q)\n got error %s\nwant error %s", tc.r, clip(tc.expr), err, tc.want)
		}
		if f != nil {
			t.Errorf("%s.Compile(%q) returned a filter with its error", tc.r, clip(tc.expr))
		}
		if !errors.Is(err, ErrInvalidFilter) || !errors.Is(err, repository.ErrInvalidQuery) || errors.Is(err, ErrInvalidPath) {
			t.Errorf("%s.Compile(%q): error %v matches the wrong sentinels", tc.r, clip(tc.expr), err)
		}
		var e *Error
		if !errors.As(err, &e) || e.ScimType != ScimTypeInvalidFilter {
			t.Errorf("%s.Compile(%q): error %#v is not an invalidFilter *Error", tc.r, clip(tc.expr), err)
		}
	}
}

// TestCompileLimitsAllowed checks that inputs just inside the limits work.
func TestCompileLimitsAllowed(t *testing.T) {
	for _, expr := range []string{
		strings.Repeat("(", 32) + `title pr` + strings.Repeat(")", 32),
		strings.Repeat("emails[", 1) + strings.Repeat("(", 31) + `type pr` + strings.Repeat(")", 31) + "]",
		`title pr` + strings.Repeat(` or title pr`, 255),
		`userName eq "` + strings.Repeat("x", 16<<10-15) + `"`,
	} {
		if _, err := Users.Compile(expr); err != nil {
			t.Errorf("Compile(%q): %v", clip(expr), err)
		}
	}
}
