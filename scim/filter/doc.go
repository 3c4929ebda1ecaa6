// Package filter reads the SCIM expressions an identity provider sends:
// filters (RFC 7644 section 3.4.2.2), PATCH paths (3.5.2), attribute
// lists and sortBy (3.4.2.3, 3.9), with attribute notation per 3.10.
//
// The API is three methods on a Resource, Users or Groups:
//
//	f, err := filter.Users.Compile(`emails[type eq "work"].value eq "a@b.c"`)
//	// f is a repository.Filter for Query.Filter; nil for a blank filter.
//
//	p, err := filter.Groups.ParsePath(`members[value eq "2819c223-7f76-453a"]`)
//	// p.Attr == "members"; p.Filter.Match(element) evaluates the brackets
//	// in memory; p.Filter.EqualValues("value") == ["2819c223-7f76-453a"].
//
//	field, err := filter.Users.SortField("name.familyName")
//
// Every error is an *Error carrying its SCIM error type and a message for
// the IdP administrator, e.g. `filter: unexpected token ")" at offset 17,
// expected a comparison value (...)` or `filter: unknown attribute "foo"`.
// errors.Is matches ErrInvalidFilter (Compile), ErrInvalidPath (ParsePath)
// or ErrInvalidSort (SortField); filter and sort errors also match
// repository.ErrInvalidQuery.
//
// # Syntax
//
// The grammar is RFC 7644 Figure 1 with the published errata: "not" binds
// tighter than "and", "and" tighter than "or", parentheses group, and a
// value filter may itself use and/or/not/parentheses but not another
// value filter (errata 4690, 7322). Keywords, operators and attribute
// names are case-insensitive ("UserName EQ \"x\"" works); schema URNs are
// matched ignoring case and reported in canonical form. Values are JSON:
// strings with escapes, numbers, true, false, null. Leniencies, for what
// clients really send: any amount of whitespace between tokens (also none
// around parentheses, "not(...)"), true/false/null in any case, and
// strings in single quotes.
//
// A value path followed by a sub-attribute and a comparison,
// emails[type eq "work"].value eq "a@b.c", is not in the RFC's filter
// grammar (only in PATCH paths), but is accepted in filters: it means one
// element satisfies both, as emails[type eq "work" and value eq "a@b.c"].
//
// Limits: 16 KiB of input, 32 levels of nesting, 256 comparisons.
//
// # Attributes and values
//
// Attribute paths may carry a schema URN prefix (core User or Group, the
// enterprise User extension SchemaEnterpriseUser, Roster's
// SchemaRosterUser); unqualified names are found in any of the resource's
// schemas. Filters may use the attributes the stores can filter on (see
// the repository field catalogues): a complex multi-valued attribute
// alone means its value ("emails" is "emails.value", likewise
// phoneNumbers, roles, groups, members and the enterprise manager). Other
// known attributes (addresses, name.middleName, ...) are rejected as not
// filterable, unknown ones as unknown.
//
// Values must match the attribute's type: strings for string attributes;
// for booleans true/false or the strings "true"/"false" in any case (IdPs
// send them); for dateTime an RFC 3339 string, read as UTC without a zone.
// Booleans allow eq and ne, dateTimes every operator but co/sw/ew, strings
// all. "eq null" means not present and "ne null" present. "name pr" (a
// complex attribute without value) is true when any filterable
// sub-attribute is present.
//
// # Compiled form
//
// A comparison on a multi-valued attribute, such as emails.type eq "work",
// is a repository.Compare on that field: it matches when any element
// matches, and with ne when no element equals the value (the repository
// model's reading, which is what "ne" is used for in practice).
//
// A value filter compiles to repository.Any over the attribute's elements,
// except where a plain Compare means the same: attr[x eq "v"] is the
// Compare itself, and each side of an "or" inside the brackets is taken
// apart. Inside an Any, "ne" becomes not(eq), because a plain Compare with
// OpNe on a multi-valued field means "no element equals" in the
// repository model. And/or are flattened. Every result passes
// repository.Validate.
//
// # Paths
//
// ParsePath accepts attrPath and valuePath [subAttr], with a URN prefix
// or as a bare schema URN (the whole extension, Attr empty), and returns
// canonical names. The value filter is typed like a filter and is
// evaluated by ElementFilter.Match against one element as decoded JSON,
// honouring each sub-attribute's caseExact (ids in members, groups and
// manager are case-exact, types and emails are not). Paths of the form
// attrExp (errata 7122) are not accepted.
package filter
