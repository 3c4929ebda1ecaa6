package oidcrp

import (
	"strings"

	"github.com/rosterhq/roster/sso/connector"
)

// Default claim names (OIDC Core 5.1; "groups" is the de facto name used
// by Okta, Entra, Keycloak and Dex).
const (
	claimEmail         = "email"
	claimEmailVerified = "email_verified"
	claimGivenName     = "given_name"
	claimFamilyName    = "family_name"
	claimName          = "name"
	claimGroups        = "groups"
)

// maxGroups caps how many group names one login may carry.
const maxGroups = 1000

// mapClaims builds the profile part of an Identity from the ID token's
// claims and, when fetched, the userinfo's, which win when both have a
// claim (userinfo is the IdP's current view). email_verified is read from
// the same source as email, so a verified flag never vouches for an
// address it was not sent with.
func mapClaims(m connector.AttributeMapping, idToken, userInfo map[string]any) connector.Identity {
	pick := func(name string) (any, map[string]any) {
		if v, ok := userInfo[name]; ok && v != nil {
			return v, userInfo
		}
		if v, ok := idToken[name]; ok && v != nil {
			return v, idToken
		}
		return nil, nil
	}
	str := func(name string) string {
		v, _ := pick(name)
		s, _ := v.(string)
		return strings.TrimSpace(s)
	}
	emailName := or(m.Email, claimEmail)
	var id connector.Identity
	ev, src := pick(emailName)
	if s, ok := ev.(string); ok {
		id.Email = strings.TrimSpace(s)
		id.EmailVerified = id.Email != "" && isTrue(src[claimEmailVerified])
	}
	id.GivenName = str(or(m.GivenName, claimGivenName))
	id.FamilyName = str(or(m.FamilyName, claimFamilyName))
	id.DisplayName = str(or(m.DisplayName, claimName))
	gv, _ := pick(or(m.Groups, claimGroups))
	id.Groups = groups(gv)
	return id
}

// isTrue accepts a JSON true or the string "true" (some IdPs, Cognito
// among them, send strings); anything else is not verified.
func isTrue(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

// groups reads a groups claim: a list of strings or one string.
func groups(v any) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && len(out) < maxGroups {
			out = append(out, s)
		}
	}
	switch g := v.(type) {
	case string:
		add(g)
	case []any:
		for _, e := range g {
			if s, ok := e.(string); ok {
				add(s)
			}
		}
	}
	return out
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
