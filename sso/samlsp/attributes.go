package samlsp

import (
	"errors"
	"strings"
	"time"

	"github.com/rosterhq/roster/sso/connector"
)

// Attribute names tried, in order, when a connection maps none: the plain
// names Okta, OneLogin and JumpCloud templates use, Entra ID's claim URIs
// and the LDAP/eduPerson OIDs.
var (
	defaultEmail = []string{
		"email", "mail", "emailAddress", "Email", "user.email",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"urn:oid:0.9.2342.19200300.100.1.3",
	}
	defaultGivenName = []string{
		"givenName", "firstName", "first_name", "given_name", "user.firstName",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
		"urn:oid:2.5.4.42",
	}
	defaultFamilyName = []string{
		"surname", "sn", "lastName", "last_name", "familyName", "family_name", "user.lastName",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
		"urn:oid:2.5.4.4",
	}
	// Entra's .../claims/name is the UPN, not a display name: not listed.
	defaultDisplayName = []string{
		"displayName", "display_name", "user.displayName",
		"http://schemas.microsoft.com/identity/claims/displayname",
		"urn:oid:2.16.840.1.113730.3.1.241",
	}
	defaultGroups = []string{
		"groups", "Groups", "memberOf", "group",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
		"http://schemas.xmlsoap.org/claims/Group",
		"urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
	}
)

const (
	maxGroups     = 1000
	maxValueBytes = 1024
)

// identity maps a checked assertion to a connector.Identity.
func (sp *SP) identity(a *assertion) (connector.Identity, error) {
	nameID := a.NameID
	id := connector.Identity{
		ConnectionID:  sp.conn.ID,
		Subject:       strings.TrimSpace(nameID.Value),
		EmailVerified: sp.cfg.Provisioning.EmailVerified,
	}
	if len(id.Subject) > maxValueBytes {
		return connector.Identity{}, connector.Fail("malformed", publicMalformed, errors.New("NameID too long"))
	}
	attrs := a.Attributes
	m := sp.cfg.Attributes

	id.Email = first(attrs, m.Email, defaultEmail)
	if id.Email == "" && m.Email == "" && nameID.Format == emailAddressFormat {
		id.Email = id.Subject
	}
	if id.Email != "" && !strings.Contains(id.Email, "@") {
		id.Email = "" // not an address: provisioning must not match on it
	}
	id.GivenName = first(attrs, m.GivenName, defaultGivenName)
	id.FamilyName = first(attrs, m.FamilyName, defaultFamilyName)
	id.DisplayName = first(attrs, m.DisplayName, defaultDisplayName)
	id.Groups = all(attrs, m.Groups, defaultGroups)
	if len(id.Groups) > maxGroups {
		return connector.Identity{}, connector.Fail("malformed", publicMalformed, errors.New("too many groups"))
	}

	var session time.Time
	for _, end := range a.AuthnStatements {
		if !end.IsZero() && (session.IsZero() || end.Before(session)) {
			session = end
		}
	}
	id.SessionNotOnOrAfter = session
	return id, nil
}

func matches(at attribute, name string) bool {
	return strings.EqualFold(at.Name, name) || (at.FriendlyName != "" && strings.EqualFold(at.FriendlyName, name))
}

// values returns the non-empty values of every attribute called name.
func values(attrs []attribute, name string) []string {
	var out []string
	for _, at := range attrs {
		if !matches(at, name) {
			continue
		}
		for _, v := range at.Values {
			if s := strings.TrimSpace(v); s != "" && len(s) <= maxValueBytes {
				out = append(out, s)
			}
		}
	}
	return out
}

// first returns the first value of the mapped attribute, or when the
// connection maps none, of the first default name present.
func first(attrs []attribute, mapped string, defaults []string) string {
	names := defaults
	if mapped != "" {
		names = []string{mapped}
	}
	for _, n := range names {
		if v := values(attrs, n); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// all returns every value of the mapped attribute, or of the first default
// name present, without duplicates.
func all(attrs []attribute, mapped string, defaults []string) []string {
	names := defaults
	if mapped != "" {
		names = []string{mapped}
	}
	for _, n := range names {
		if v := values(attrs, n); len(v) > 0 {
			seen := make(map[string]bool, len(v))
			out := v[:0]
			for _, s := range v {
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
			return out
		}
	}
	return nil
}
