package scim

import (
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/repository"
)

// This file maps a repository.Member to the SCIM User JSON and back. Both
// directions work on the canonical map form of normalizeResource, which
// is also what the PATCH engine edits.

// userView says how a member is rendered.
type userView struct {
	// base is the absolute SCIM base URL for meta.location and $ref.
	base string
	// groups are the member's groups; nil leaves "groups" out.
	groups []repository.GroupRef
	// roles maps role keys to display names for roles[].display.
	roles map[string]string
	// internal renders the form the PATCH engine edits: no read-only
	// decoration, and a pending manager reference as manager.value so that
	// an unrelated change keeps it.
	internal bool
}

// renderUser returns the SCIM User of m.
func renderUser(m repository.Member, v userView) map[string]any {
	res := map[string]any{}
	set := func(obj map[string]any, k, s string) {
		if s != "" {
			obj[k] = s
		}
	}
	schemas := []any{URNUser}
	if !v.internal {
		res["id"] = m.ID
	}
	set(res, "externalId", m.ExternalID)
	res["userName"] = m.UserName
	name := map[string]any{}
	set(name, "formatted", m.Name.Formatted)
	set(name, "familyName", m.Name.FamilyName)
	set(name, "givenName", m.Name.GivenName)
	set(name, "middleName", m.Name.MiddleName)
	set(name, "honorificPrefix", m.Name.HonorificPrefix)
	set(name, "honorificSuffix", m.Name.HonorificSuffix)
	if len(name) > 0 {
		res["name"] = name
	}
	set(res, "displayName", m.DisplayName)
	set(res, "nickName", m.NickName)
	set(res, "profileUrl", m.ProfileURL)
	set(res, "title", m.Title)
	set(res, "userType", m.UserType)
	set(res, "preferredLanguage", m.PreferredLanguage)
	set(res, "locale", m.Locale)
	set(res, "timezone", m.Timezone)
	res["active"] = m.Active

	if len(m.Emails) > 0 {
		list := make([]any, len(m.Emails))
		for i, e := range m.Emails {
			el := map[string]any{"value": e.Value, "primary": e.Primary}
			set(el, "type", e.Type)
			set(el, "display", e.Display)
			list[i] = el
		}
		res["emails"] = list
	}
	if len(m.PhoneNumbers) > 0 {
		list := make([]any, len(m.PhoneNumbers))
		for i, p := range m.PhoneNumbers {
			el := map[string]any{"value": p.Value, "primary": p.Primary}
			set(el, "type", p.Type)
			set(el, "display", p.Display)
			list[i] = el
		}
		res["phoneNumbers"] = list
	}
	if len(m.Addresses) > 0 {
		list := make([]any, len(m.Addresses))
		for i, a := range m.Addresses {
			el := map[string]any{"primary": a.Primary}
			set(el, "formatted", a.Formatted)
			set(el, "streetAddress", a.StreetAddress)
			set(el, "locality", a.Locality)
			set(el, "region", a.Region)
			set(el, "postalCode", a.PostalCode)
			set(el, "country", a.Country)
			set(el, "type", a.Type)
			list[i] = el
		}
		res["addresses"] = list
	}
	if len(m.Roles) > 0 {
		list := make([]any, len(m.Roles))
		for i, key := range m.Roles {
			el := map[string]any{"value": key}
			if !v.internal {
				set(el, "display", v.roles[key])
				el["primary"] = i == 0
			}
			list[i] = el
		}
		res["roles"] = list
	}
	if v.groups != nil && !v.internal {
		list := make([]any, len(v.groups))
		for i, g := range v.groups {
			el := map[string]any{"value": g.GroupID, "$ref": v.base + "/Groups/" + g.GroupID, "type": "direct"}
			set(el, "display", g.DisplayName)
			list[i] = el
		}
		res["groups"] = list
	}

	ent := map[string]any{}
	set(ent, "employeeNumber", m.EmployeeNumber)
	set(ent, "costCenter", m.CostCenter)
	set(ent, "organization", m.Organization)
	set(ent, "division", m.Division)
	set(ent, "department", m.Department)
	switch {
	case m.ManagerID != "" && v.internal:
		ent["manager"] = map[string]any{"value": m.ManagerID}
	case m.ManagerID != "":
		ent["manager"] = map[string]any{"value": m.ManagerID, "$ref": v.base + "/Users/" + m.ManagerID}
	case m.PendingManagerRef != "" && v.internal:
		ent["manager"] = map[string]any{"value": m.PendingManagerRef}
	}
	if len(ent) > 0 {
		res[URNEnterpriseUser] = ent
		schemas = append(schemas, URNEnterpriseUser)
	}

	p := m.Profile
	ext := map[string]any{
		"onlyAssignFromExpertise":   p.OnlyAssignFromExpertise,
		"onlyAssignedConversations": p.OnlyAssignedConversations,
		"canViewGroupCompanies":     p.CanViewGroupCompanies,
		"externalSso":               p.ExternalSSO,
		"canManageTeams":            p.CanManageTeams,
	}
	if len(p.Expertise) > 0 {
		ext["expertise"] = stringsToAny(p.Expertise)
	}
	if len(p.Channels) > 0 {
		ext["channels"] = stringsToAny(p.Channels)
	}
	set(ext, "employmentStatus", p.EmploymentStatus)
	set(ext, "startDate", p.StartDate)
	set(ext, "bio", p.Bio)
	set(ext, "imageUrl", p.ImageURL)
	set(ext, "hometown", p.Hometown)
	set(ext, "stateOrCountry", p.StateOrCountry)
	set(ext, "approvalStatus", p.ApprovalStatus)
	if !v.internal {
		seat := m.SeatStatus
		if seat == "" {
			seat = repository.SeatNone
		}
		ext["seatStatus"] = seat
	}
	res[URNRosterUser] = ext
	schemas = append(schemas, URNRosterUser)

	if !v.internal {
		res["schemas"] = schemas
		res["meta"] = meta("User", v.base+"/Users/"+m.ID, m.Meta)
	}
	return res
}

// meta renders the common "meta" attribute.
func meta(resourceType, location string, m repository.Meta) map[string]any {
	out := map[string]any{
		"resourceType": resourceType,
		"location":     location,
		"version":      etag(m.Version),
	}
	if !m.CreatedAt.IsZero() {
		out["created"] = m.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	if !m.UpdatedAt.IsZero() {
		out["lastModified"] = m.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// stringsToAny converts a string slice to the []any of decoded JSON.
func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// memberFromUser sets the SCIM-visible fields of base from a normalized
// User (see normalizeResource); an attribute absent from res is
// unassigned. Fields SCIM does not carry (optional permissions, the
// password hash, seat status, ...) stay as in base. The enterprise manager
// goes into ManagerID as the reference the client sent; provisioning
// resolves it. It also returns the password when one was sent.
func memberFromUser(res map[string]any, base repository.Member) (m repository.Member, password string) {
	m = base
	str := func(obj map[string]any, k string) string {
		s, _ := obj[k].(string)
		return s
	}
	boolean := func(obj map[string]any, k string) bool {
		b, _ := obj[k].(bool)
		return b
	}
	objects := func(v any) []map[string]any {
		list, _ := v.([]any)
		out := make([]map[string]any, 0, len(list))
		for _, e := range list {
			if o, ok := e.(map[string]any); ok {
				out = append(out, o)
			}
		}
		return out
	}

	m.UserName = str(res, "userName")
	m.ExternalID = str(res, "externalId")
	name, _ := res["name"].(map[string]any)
	m.Name = repository.Name{
		Formatted:       str(name, "formatted"),
		FamilyName:      str(name, "familyName"),
		GivenName:       str(name, "givenName"),
		MiddleName:      str(name, "middleName"),
		HonorificPrefix: str(name, "honorificPrefix"),
		HonorificSuffix: str(name, "honorificSuffix"),
	}
	m.DisplayName = str(res, "displayName")
	m.NickName = str(res, "nickName")
	m.ProfileURL = str(res, "profileUrl")
	m.Title = str(res, "title")
	m.UserType = str(res, "userType")
	m.PreferredLanguage = str(res, "preferredLanguage")
	m.Locale = str(res, "locale")
	m.Timezone = str(res, "timezone")
	m.Active = boolean(res, "active")
	password = str(res, "password")

	m.Emails = nil
	for _, e := range objects(res["emails"]) {
		m.Emails = append(m.Emails, repository.Email{Value: str(e, "value"), Type: str(e, "type"),
			Display: str(e, "display"), Primary: boolean(e, "primary")})
	}
	m.PhoneNumbers = nil
	for _, p := range objects(res["phoneNumbers"]) {
		m.PhoneNumbers = append(m.PhoneNumbers, repository.PhoneNumber{Value: str(p, "value"), Type: str(p, "type"),
			Display: str(p, "display"), Primary: boolean(p, "primary")})
	}
	m.Addresses = nil
	for _, a := range objects(res["addresses"]) {
		m.Addresses = append(m.Addresses, repository.Address{
			Formatted: str(a, "formatted"), StreetAddress: str(a, "streetAddress"), Locality: str(a, "locality"),
			Region: str(a, "region"), PostalCode: str(a, "postalCode"), Country: str(a, "country"),
			Type: str(a, "type"), Primary: boolean(a, "primary"),
		})
	}
	m.Roles = nil
	roles := objects(res["roles"])
	// The primary role, when one is marked, goes first.
	slices.SortStableFunc(roles, func(a, b map[string]any) int {
		pa, pb := boolean(a, "primary"), boolean(b, "primary")
		switch {
		case pa && !pb:
			return -1
		case pb && !pa:
			return 1
		}
		return 0
	})
	for _, r := range roles {
		ref := str(r, "value")
		if ref == "" {
			ref = str(r, "display")
		}
		if ref != "" {
			m.Roles = append(m.Roles, ref)
		}
	}

	ent, _ := res[URNEnterpriseUser].(map[string]any)
	m.EmployeeNumber = str(ent, "employeeNumber")
	m.CostCenter = str(ent, "costCenter")
	m.Organization = str(ent, "organization")
	m.Division = str(ent, "division")
	m.Department = str(ent, "department")
	mgr, _ := ent["manager"].(map[string]any)
	m.ManagerID = strings.TrimSpace(str(mgr, "value"))
	m.PendingManagerRef = ""

	ext, _ := res[URNRosterUser].(map[string]any)
	strs := func(v any) []string {
		list, _ := v.([]any)
		var out []string
		for _, e := range list {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	m.Profile = repository.SupportProfile{
		Expertise:                 strs(ext["expertise"]),
		OnlyAssignFromExpertise:   boolean(ext, "onlyAssignFromExpertise"),
		OnlyAssignedConversations: boolean(ext, "onlyAssignedConversations"),
		CanViewGroupCompanies:     boolean(ext, "canViewGroupCompanies"),
		ExternalSSO:               boolean(ext, "externalSso"),
		CanManageTeams:            boolean(ext, "canManageTeams"),
		Channels:                  strs(ext["channels"]),
		EmploymentStatus:          str(ext, "employmentStatus"),
		StartDate:                 str(ext, "startDate"),
		Bio:                       str(ext, "bio"),
		ImageURL:                  str(ext, "imageUrl"),
		Hometown:                  str(ext, "hometown"),
		StateOrCountry:            str(ext, "stateOrCountry"),
		ApprovalStatus:            str(ext, "approvalStatus"),
	}
	return m, password
}

// assertedAttributes names the attributes a normalized resource sets: the
// core attribute names and the extension attribute names, which do not
// collide. They become the member's IdP-managed attributes.
func assertedAttributes(rt *resourceType, res map[string]any) []string {
	var names []string
	for k := range res {
		if rt.extension(k) != nil {
			continue
		}
		if k != "password" {
			names = append(names, k)
		}
	}
	for _, e := range rt.extensions {
		obj, _ := res[e.def.ID].(map[string]any)
		for k := range obj {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// writableAttrs lists rt's top-level attributes a client may set, with the
// object of a resource that holds each.
func writableAttrs(rt *resourceType) []*attr {
	var out []*attr
	for _, s := range append([]*schemaDef{rt.common}, rt.allSchemas()...) {
		for _, a := range s.attrs {
			if !a.readOnly() {
				out = append(out, a)
			}
		}
	}
	return out
}

// mergeReplacement builds the resource a PUT asks for from the current one
// (internal form) and the normalized request: an attribute the request
// sets is taken from it; one it leaves out is cleared when the identity
// provider set it before (it is managed) and kept otherwise, so the
// attributes an IdP never manages (roles assigned in the app, the support
// profile) survive a PUT that does not mention them (RFC 7644 section
// 3.5.1 leaves omitted attributes to the server).
func mergeReplacement(rt *resourceType, cur, req map[string]any, managed []string) map[string]any {
	out := map[string]any{}
	for _, a := range writableAttrs(rt) {
		if v, ok := valueOf(req, a); ok {
			containerOf(out, a)[a.name] = v
			continue
		}
		if slices.Contains(managed, a.name) {
			continue
		}
		if v, ok := valueOf(cur, a); ok {
			containerOf(out, a)[a.name] = v
		}
	}
	return out
}

// valueOf returns a's value in a resource in canonical form.
func valueOf(res map[string]any, a *attr) (any, bool) {
	obj := res
	if a.schema != URNUser && a.schema != URNGroup && a.schema != "common" {
		obj, _ = res[a.schema].(map[string]any)
	}
	v, ok := obj[a.name]
	return v, ok
}
