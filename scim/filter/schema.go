package filter

import (
	"strings"

	"github.com/rosterhq/roster/repository"
)

// Schema URNs of the resources this package knows.
const (
	SchemaUser           = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaRosterUser     = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
)

// allSchemas lets the parser cut a known URN off an attribute path.
var allSchemas = [...]string{SchemaUser, SchemaGroup, SchemaEnterpriseUser, SchemaRosterUser}

// Resource is a SCIM resource type: Users or Groups. Its methods compile
// filters, parse PATCH paths and resolve sortBy against that resource's
// attributes.
type Resource int

// Resource types.
const (
	Users Resource = iota + 1
	Groups
)

// String returns the SCIM resource type name, "User" or "Group".
func (r Resource) String() string {
	switch r {
	case Users:
		return "User"
	case Groups:
		return "Group"
	}
	return "Resource(?)"
}

// def returns the attribute catalogue of r.
func (r Resource) def(w what) (*resourceDef, error) {
	switch r {
	case Users:
		return userDef, nil
	case Groups:
		return groupDef, nil
	}
	return nil, w.errorf("unknown resource type %d", int(r))
}

// attrType is a SCIM attribute data type (RFC 7643 section 2.3).
type attrType uint8

const (
	typeString attrType = iota
	typeBoolean
	typeDateTime
	typeReference
	typeBinary
	typeComplex
)

// attrDef describes one attribute or sub-attribute of a schema.
type attrDef struct {
	name      string // canonical spelling
	schema    string // URN of the schema it belongs to
	typ       attrType
	multi     bool
	caseExact bool
	subs      []*attrDef
	parent    *attrDef
	// field is the repository field filters on this attribute compile to,
	// "" when the stores cannot filter on it. For a complex attribute it
	// is the field of its "value" sub-attribute, so "emails" means
	// "emails.value" (RFC 7644 3.4.2.2).
	field repository.Field
}

// path returns "name" or "parent.name".
func (a *attrDef) path() string {
	if a.parent != nil {
		return a.parent.name + "." + a.name
	}
	return a.name
}

// sub finds a sub-attribute by name, ignoring case.
func (a *attrDef) sub(name string) *attrDef {
	for _, s := range a.subs {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// Constructors for the catalogue below. Attributes are caseExact=false
// unless exact() says otherwise; a repository field's own CaseExact wins
// (see build), so the stores and the in-memory matcher agree.

func attr(name string, typ attrType, subs ...*attrDef) *attrDef {
	return &attrDef{name: name, typ: typ, subs: subs}
}

func str(name string) *attrDef      { return attr(name, typeString) }
func boolean(name string) *attrDef  { return attr(name, typeBoolean) }
func dateTime(name string) *attrDef { return attr(name, typeDateTime) }
func ref(name string) *attrDef      { return attr(name, typeReference).exact() } // RFC 7643 2.3.7
func complexAttr(name string, subs ...*attrDef) *attrDef {
	return attr(name, typeComplex, subs...)
}

func (a *attrDef) exact() *attrDef                      { a.caseExact = true; return a }
func (a *attrDef) many() *attrDef                       { a.multi = true; return a }
func (a *attrDef) filterAs(f repository.Field) *attrDef { a.field = f; return a }

// multiValued returns the usual {value, display, type, primary} element
// of an attribute the stores do not filter on.
func multiValued(name string, value *attrDef) *attrDef {
	return complexAttr(name, value, str("display"), str("type"), boolean("primary")).many()
}

type schemaDef struct {
	urn   string
	attrs []*attrDef
}

func (s *schemaDef) attr(name string) *attrDef {
	for _, a := range s.attrs {
		if strings.EqualFold(a.name, name) {
			return a
		}
	}
	return nil
}

// resourceDef is the attribute catalogue of one resource type.
type resourceDef struct {
	name    string       // "Users" or "Groups", for messages
	schemas []*schemaDef // core schema first
	fields  map[repository.Field]repository.FieldInfo
}

func (r *resourceDef) schema(urn string) *schemaDef {
	for _, s := range r.schemas {
		if s.urn == urn {
			return s
		}
	}
	return nil
}

// build links the catalogue: parents, schemas, and case rules taken from
// the repository's field catalogue where a field exists.
func build(name string, fields map[repository.Field]repository.FieldInfo, schemas ...*schemaDef) *resourceDef {
	r := &resourceDef{name: name, schemas: schemas, fields: fields}
	var link func(a *attrDef, urn string, parent *attrDef)
	link = func(a *attrDef, urn string, parent *attrDef) {
		a.schema, a.parent = urn, parent
		if info, ok := fields[a.field]; ok {
			a.caseExact = info.CaseExact
		}
		for _, s := range a.subs {
			link(s, urn, a)
		}
		if v := a.sub("value"); a.typ == typeComplex && v != nil {
			a.field = v.field
		}
	}
	for _, s := range schemas {
		for _, a := range s.attrs {
			link(a, s.urn, nil)
		}
	}
	return r
}

// commonAttrs are the attributes every resource has (RFC 7643 section 3.1).
func commonAttrs(id, externalID, created, lastModified repository.Field) []*attrDef {
	return []*attrDef{
		str("id").exact().filterAs(id),
		str("externalId").exact().filterAs(externalID),
		complexAttr("meta",
			str("resourceType").exact(),
			dateTime("created").filterAs(created),
			dateTime("lastModified").filterAs(lastModified),
			ref("location"),
			str("version").exact(),
		),
	}
}

var userDef = build("Users", repository.MemberFields,
	&schemaDef{urn: SchemaUser, attrs: append(commonAttrs(repository.MemberID, repository.MemberExternalID,
		repository.MemberCreated, repository.MemberLastModified),
		str("userName").filterAs(repository.MemberUserName),
		complexAttr("name",
			str("formatted").filterAs(repository.MemberFormattedName),
			str("familyName").filterAs(repository.MemberFamilyName),
			str("givenName").filterAs(repository.MemberGivenName),
			str("middleName"),
			str("honorificPrefix"),
			str("honorificSuffix"),
		),
		str("displayName").filterAs(repository.MemberDisplayName),
		str("nickName").filterAs(repository.MemberNickName),
		ref("profileUrl"),
		str("title").filterAs(repository.MemberTitle),
		str("userType").filterAs(repository.MemberUserType),
		str("preferredLanguage").filterAs(repository.MemberPreferredLanguage),
		str("locale").filterAs(repository.MemberLocale),
		str("timezone").filterAs(repository.MemberTimezone),
		boolean("active").filterAs(repository.MemberActive),
		str("password"),
		complexAttr("emails",
			str("value").filterAs(repository.MemberEmailValue),
			str("display"),
			str("type").filterAs(repository.MemberEmailType),
			boolean("primary").filterAs(repository.MemberEmailPrimary),
		).many(),
		complexAttr("phoneNumbers",
			str("value").filterAs(repository.MemberPhoneValue),
			str("display"),
			str("type").filterAs(repository.MemberPhoneType),
			boolean("primary"),
		).many(),
		multiValued("ims", str("value")),
		multiValued("photos", ref("value")),
		complexAttr("addresses",
			str("formatted"),
			str("streetAddress"),
			str("locality"),
			str("region"),
			str("postalCode"),
			str("country"),
			str("type"),
			boolean("primary"),
		).many(),
		complexAttr("groups",
			str("value").filterAs(repository.MemberGroupID),
			ref("$ref"),
			str("display"),
			str("type"),
		).many(),
		multiValued("entitlements", str("value")),
		complexAttr("roles",
			str("value").filterAs(repository.MemberRole),
			str("display"),
			str("type"),
			boolean("primary"),
		).many(),
		multiValued("x509Certificates", attr("value", typeBinary).exact()),
	)},
	&schemaDef{urn: SchemaEnterpriseUser, attrs: []*attrDef{
		str("employeeNumber").filterAs(repository.MemberEmployeeNumber),
		str("costCenter").filterAs(repository.MemberCostCenter),
		str("organization").filterAs(repository.MemberOrganization),
		str("division").filterAs(repository.MemberDivision),
		str("department").filterAs(repository.MemberDepartment),
		complexAttr("manager",
			str("value").filterAs(repository.MemberManagerID),
			ref("$ref"),
			str("displayName"),
		),
	}},
	&schemaDef{urn: SchemaRosterUser, attrs: []*attrDef{
		str("expertise").many().filterAs(repository.MemberExpertise),
		boolean("onlyAssignFromExpertise"),
		boolean("onlyAssignedConversations"),
		boolean("canViewGroupCompanies"),
		boolean("externalSso").filterAs(repository.MemberExternalSSO),
		boolean("canManageTeams").filterAs(repository.MemberCanManageTeams),
		str("channels").many().filterAs(repository.MemberChannel),
		str("employmentStatus").filterAs(repository.MemberEmploymentStatus),
		str("startDate"),
		str("bio"),
		ref("imageUrl"),
		str("hometown"),
		str("stateOrCountry"),
		str("approvalStatus"),
		str("seatStatus").filterAs(repository.MemberSeatStatus),
	}},
)

var groupDef = build("Groups", repository.GroupFields,
	&schemaDef{urn: SchemaGroup, attrs: append(commonAttrs(repository.GroupID, repository.GroupExternalID,
		repository.GroupCreated, repository.GroupLastModified),
		str("displayName").filterAs(repository.GroupDisplayName),
		complexAttr("members",
			str("value").filterAs(repository.GroupMemberID),
			ref("$ref"),
			str("display"),
			str("type"),
		).many(),
	)},
)

// resolve finds the attribute (and sub-attribute) a path names. A bare
// schema URN resolves to (nil, nil, schema). Unqualified names are looked
// up in the core schema first, then in the extensions; names are unique
// across a resource's schemas, so the order only matters for speed.
func (r *resourceDef) resolve(w what, p attrPath) (a, sub *attrDef, schema string, err error) {
	schemas := r.schemas
	if p.urn != "" {
		s := r.schema(p.urn)
		if s == nil {
			return nil, nil, "", w.errorf("unknown schema %q for %s", clip(p.urn), r.name)
		}
		if p.name == "" {
			return nil, nil, s.urn, nil
		}
		schemas = []*schemaDef{s}
	}
	for _, s := range schemas {
		if a = s.attr(p.name); a != nil {
			break
		}
	}
	if a == nil {
		return nil, nil, "", w.errorf("unknown attribute %q", clip(p.raw))
	}
	if p.sub != "" {
		if a.typ != typeComplex {
			return nil, nil, "", w.errorf("attribute %q has no sub-attributes", a.name)
		}
		if sub = a.sub(p.sub); sub == nil {
			return nil, nil, "", w.errorf("unknown attribute %q", clip(p.raw))
		}
	}
	return a, sub, a.schema, nil
}

// element resolves a name inside attr[...]: a sub-attribute of a complex
// attribute, or "value" for the element itself of a multi-valued simple
// attribute such as expertise.
func (a *attrDef) element(w what, p attrPath) (*attrDef, error) {
	if p.urn != "" || p.sub != "" {
		return nil, w.errorf("%q inside %s[...] must be a plain sub-attribute name", clip(p.raw), a.name)
	}
	if a.typ != typeComplex {
		if strings.EqualFold(p.name, "value") {
			return a, nil
		}
		return nil, w.errorf("unknown attribute %q inside %s[...]: elements of %s are compared as \"value\"", clip(p.raw), a.name, a.name)
	}
	s := a.sub(p.name)
	if s == nil {
		return nil, w.errorf("unknown attribute %q inside %s[...]", clip(p.raw), a.name)
	}
	return s, nil
}
