package scim

import (
	"slices"
	"strings"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// Schema and message URNs.
const (
	URNUser                  = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNGroup                 = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URNEnterpriseUser        = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	URNRosterUser            = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
	URNServiceProviderConfig = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	URNResourceType          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	URNSchema                = "urn:ietf:params:scim:schemas:core:2.0:Schema"

	URNListResponse  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	URNSearchRequest = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	URNPatchOp       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	URNBulkRequest   = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	URNBulkResponse  = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	URNError         = "urn:ietf:params:scim:api:messages:2.0:Error"

	// urnEntraGroup is a marker Microsoft Entra's classic provisioning
	// client puts in the schemas of every Group it sends. It defines no
	// attribute; it is accepted and ignored.
	urnEntraGroup = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
)

// attr is one attribute definition, derived from the elimity schema
// definitions that also produce the /Schemas documents, so what the
// server advertises and what it accepts cannot drift apart.
type attr struct {
	name       string // canonical case
	typ        string // string, boolean, complex, dateTime, reference, integer, decimal, binary
	multi      bool
	mutability string // readOnly, readWrite, immutable, writeOnly
	returned   string // always, never, default, request
	caseExact  bool
	sub        []*attr
	schema     string // URN of the schema defining it
}

// subAttr finds a sub-attribute by name, ignoring case.
func (a *attr) subAttr(name string) *attr {
	for _, s := range a.sub {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// readOnly reports whether clients may not set the attribute.
func (a *attr) readOnly() bool { return a.mutability == "readOnly" }

// fromElimity converts an elimity attribute definition.
func fromElimity(urn string, c schema.CoreAttribute) *attr {
	a := &attr{
		name:       c.Name(),
		typ:        c.AttributeType(),
		multi:      c.MultiValued(),
		mutability: c.Mutability(),
		returned:   c.Returned(),
		caseExact:  c.CaseExact(),
		schema:     urn,
	}
	for _, s := range c.SubAttributes() {
		a.sub = append(a.sub, fromElimity(urn, s))
	}
	return a
}

// schemaDef is one schema of a resource type: its definition (for
// /Schemas) and its attributes (for reading requests).
type schemaDef struct {
	def   schema.Schema
	attrs []*attr
}

func newSchemaDef(s schema.Schema) *schemaDef {
	d := &schemaDef{def: s}
	for _, c := range s.Attributes {
		d.attrs = append(d.attrs, fromElimity(s.ID, c))
	}
	return d
}

// attr finds a top-level attribute by name, ignoring case.
func (d *schemaDef) attr(name string) *attr {
	for _, a := range d.attrs {
		if strings.EqualFold(a.name, name) {
			return a
		}
	}
	return nil
}

// resourceType is a SCIM resource type (User or Group) with its schemas.
type resourceType struct {
	id          string // "User"
	endpoint    string // "/Users"
	description string
	core        *schemaDef
	extensions  []*schemaDef
	// common holds id, externalId and meta (RFC 7643 section 3.1).
	common *schemaDef
	// ignoredSchemas are URNs clients send that carry no attribute.
	ignoredSchemas []string
}

// extension finds an extension schema by URN, ignoring case.
func (rt *resourceType) extension(urn string) *schemaDef {
	for _, e := range rt.extensions {
		if strings.EqualFold(e.def.ID, urn) {
			return e
		}
	}
	return nil
}

// topAttr finds a core or common attribute by name, ignoring case.
func (rt *resourceType) topAttr(name string) *attr {
	if a := rt.common.attr(name); a != nil {
		return a
	}
	return rt.core.attr(name)
}

// lookup resolves an attribute name that may start with a schema URN
// ("urn:...:enterprise:2.0:User:department") to its definition and the
// rest of the name after the attribute (".givenName" sub-attribute part
// is returned in sub). A name without URN is looked up in the core schema,
// then, leniently, in the extensions when it is unique there.
func (rt *resourceType) lookup(name string) (a *attr, sub string, ok bool) {
	schemaURN, rest := splitURN(rt, name)
	attrName, sub, _ := strings.Cut(rest, ".")
	if schemaURN != "" && !strings.EqualFold(schemaURN, rt.core.def.ID) {
		ext := rt.extension(schemaURN)
		if ext == nil {
			return nil, "", false
		}
		a = ext.attr(attrName)
		return a, sub, a != nil
	}
	if a = rt.topAttr(attrName); a != nil {
		return a, sub, true
	}
	if schemaURN != "" {
		return nil, "", false
	}
	var found *attr
	for _, e := range rt.extensions {
		if x := e.attr(attrName); x != nil {
			if found != nil {
				return nil, "", false
			}
			found = x
		}
	}
	return found, sub, found != nil
}

// splitURN splits a known schema URN prefix off name: it returns the URN
// (in the case sent) and what follows its colon, or "" and name.
func splitURN(rt *resourceType, name string) (urn, rest string) {
	for _, s := range rt.allSchemas() {
		id := s.def.ID
		if len(name) > len(id) && strings.EqualFold(name[:len(id)], id) && name[len(id)] == ':' {
			return id, name[len(id)+1:]
		}
	}
	return "", name
}

// allSchemas returns the core schema then the extensions.
func (rt *resourceType) allSchemas() []*schemaDef {
	return append([]*schemaDef{rt.core}, rt.extensions...)
}

// knownSchema reports whether urn names a schema of the resource type or
// one clients send harmlessly.
func (rt *resourceType) knownSchema(urn string) bool {
	for _, s := range rt.allSchemas() {
		if strings.EqualFold(s.def.ID, urn) {
			return true
		}
	}
	return slices.ContainsFunc(rt.ignoredSchemas, func(u string) bool { return strings.EqualFold(u, urn) })
}

// catalogue holds every schema the server knows.
type catalogue struct {
	users, groups *resourceType
	// discovery are the schemas of the discovery resources themselves.
	discovery []schema.Schema
}

// newCatalogue builds the schemas. It uses elimity's definitions of the
// core User, Group and enterprise extension, trimmed to the attributes
// Roster stores, and the Roster extension defined with elimity's builders.
func newCatalogue() *catalogue {
	user := schema.CoreUserSchema()
	// Roster has no use for these multi-valued core attributes and does not
	// store them; advertising them would promise what is not kept.
	user.Attributes = slices.DeleteFunc(user.Attributes, func(a schema.CoreAttribute) bool {
		switch a.Name() {
		case "ims", "photos", "entitlements", "x509Certificates":
			return true
		}
		return false
	})
	common := schema.Schema{ID: "common", Attributes: schema.CommonAttributes()[1:]} // without "schemas"
	c := &catalogue{
		users: &resourceType{
			id:          "User",
			endpoint:    "/Users",
			description: "A team member of the account",
			core:        newSchemaDef(user),
			extensions:  []*schemaDef{newSchemaDef(schema.ExtensionEnterpriseUser()), newSchemaDef(rosterUserSchema())},
			common:      newSchemaDef(common),
		},
		groups: &resourceType{
			id:             "Group",
			endpoint:       "/Groups",
			description:    "An agent group, department or team",
			core:           newSchemaDef(schema.CoreGroupSchema()),
			common:         newSchemaDef(common),
			ignoredSchemas: []string{urnEntraGroup},
		},
		discovery: []schema.Schema{serviceProviderConfigSchema(), schema.ResourceTypeSchema(), schema.Definition()},
	}
	return c
}

// resourceTypes lists the resource types in a stable order.
func (c *catalogue) resourceTypes() []*resourceType {
	return []*resourceType{c.users, c.groups}
}

// Descriptions of the Roster extension.
func desc(s string) optional.String { return optional.NewString(s) }

// rosterUserSchema is the Roster extension of a User: the support profile.
func rosterUserSchema() schema.Schema {
	str := func(name, description string, multi bool) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name: name, Description: desc(description), MultiValued: multi,
		}))
	}
	boolean := func(name, description string) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{
			Name: name, Description: desc(description),
		}))
	}
	return schema.Schema{
		ID:          URNRosterUser,
		Name:        desc("Roster User"),
		Description: desc("The support profile of a team member: how conversations are routed to them and how customers see them."),
		Attributes: []schema.CoreAttribute{
			str("expertise", "Areas of expertise used to route conversations.", true),
			boolean("onlyAssignFromExpertise", "Assign conversations to the member only from their expertise."),
			boolean("onlyAssignedConversations", "The member can only view conversations assigned to them."),
			boolean("canViewGroupCompanies", "The member can view the account's group companies."),
			boolean("externalSso", "The member signs in only through single sign-on and has no password."),
			boolean("canManageTeams", "The member can manage teams and may serve as a team leader."),
			str("channels", "Channels the member works on, e.g. chat, email, voice.", true),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:            "employmentStatus",
				Description:     desc("Employment status."),
				CanonicalValues: []string{"full_time", "part_time", "temp"},
			})),
			str("startDate", "Start date with the company, as YYYY-MM-DD.", false),
			str("bio", "Profile bio shown to customers.", false),
			schema.SimpleCoreAttribute(schema.SimpleReferenceParams(schema.ReferenceParams{
				Name:           "imageUrl",
				Description:    desc("URL of the profile image."),
				ReferenceTypes: []schema.AttributeReferenceType{schema.AttributeReferenceTypeExternal},
			})),
			str("hometown", "Hometown.", false),
			str("stateOrCountry", "State or country.", false),
			str("approvalStatus", "Profile approval status.", false),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:            "seatStatus",
				Description:     desc("Whether the member holds an agent seat, waits for one, or needs none."),
				Mutability:      schema.AttributeMutabilityReadOnly(),
				CanonicalValues: []string{"assigned", "queued", "none"},
			})),
		},
	}
}

// serviceProviderConfigSchema is the schema of /ServiceProviderConfig
// (RFC 7643 section 5), which elimity does not define.
func serviceProviderConfigSchema() schema.Schema {
	ro := schema.AttributeMutabilityReadOnly()
	boolean := func(name, description string) schema.SimpleParams {
		return schema.SimpleBooleanParams(schema.BooleanParams{Name: name, Description: desc(description), Mutability: ro, Required: true})
	}
	integer := func(name, description string) schema.SimpleParams {
		return schema.SimpleNumberParams(schema.NumberParams{Name: name, Description: desc(description), Mutability: ro,
			Required: true, Type: schema.AttributeTypeInteger()})
	}
	supported := func(name, description string, more ...schema.SimpleParams) schema.CoreAttribute {
		return schema.ComplexCoreAttribute(schema.ComplexParams{
			Name: name, Description: desc(description), Mutability: ro, Required: true,
			SubAttributes: append([]schema.SimpleParams{boolean("supported", "Whether the operation is supported.")}, more...),
		})
	}
	str := func(name, description string, required bool) schema.SimpleParams {
		return schema.SimpleStringParams(schema.StringParams{Name: name, Description: desc(description), Mutability: ro, Required: required})
	}
	ref := func(name, description string) schema.SimpleParams {
		return schema.SimpleReferenceParams(schema.ReferenceParams{Name: name, Description: desc(description), Mutability: ro,
			ReferenceTypes: []schema.AttributeReferenceType{schema.AttributeReferenceTypeExternal}})
	}
	return schema.Schema{
		ID:          URNServiceProviderConfig,
		Name:        desc("Service Provider Configuration"),
		Description: desc("Schema for representing the service provider's configuration"),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleReferenceParams(schema.ReferenceParams{
				Name: "documentationUri", Description: desc("An HTTP-addressable URL pointing to the service provider's human-consumable help documentation."),
				Mutability: ro, ReferenceTypes: []schema.AttributeReferenceType{schema.AttributeReferenceTypeExternal},
			})),
			supported("patch", "A complex type that specifies PATCH configuration options."),
			supported("bulk", "A complex type that specifies bulk configuration options.",
				integer("maxOperations", "An integer value specifying the maximum number of operations."),
				integer("maxPayloadSize", "An integer value specifying the maximum payload size in bytes.")),
			supported("filter", "A complex type that specifies FILTER options.",
				integer("maxResults", "An integer value specifying the maximum number of resources returned in a response.")),
			supported("changePassword", "A complex type that specifies configuration options related to changing a password."),
			supported("sort", "A complex type that specifies sort result options."),
			supported("etag", "A complex type that specifies ETag configuration options."),
			schema.ComplexCoreAttribute(schema.ComplexParams{
				Name: "authenticationSchemes", Description: desc("A complex type that specifies supported authentication scheme properties."),
				Mutability: ro, Required: true, MultiValued: true,
				SubAttributes: []schema.SimpleParams{
					str("type", "The authentication scheme.", true),
					str("name", "The common authentication scheme name, e.g., HTTP Basic.", true),
					str("description", "A description of the authentication scheme.", true),
					ref("specUri", "An HTTP-addressable URL pointing to the authentication scheme's specification."),
					ref("documentationUri", "An HTTP-addressable URL pointing to the authentication scheme's usage documentation."),
					boolean("primary", "Whether this is the preferred authentication scheme."),
				},
			}),
		},
	}
}
