package connections

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rosterhq/roster/provisioning"
)

// Limits of connection input.
const (
	maxNameLen    = 100
	maxDomains    = 50
	maxClientID   = 255
	maxSecretLen  = 4096
	maxScopes     = 30
	maxAttrLen    = 256
	maxMetadataIn = 1 << 20
)

// publicMailDomains are domains of mail providers anyone can sign up
// with: routing one to a company's IdP would send strangers there (and
// lock the company's own people with personal addresses out of password
// login). The list holds the providers people actually use; it cannot be
// complete, so domain ownership remains the admin's responsibility.
var publicMailDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true,
	"outlook.com": true, "hotmail.com": true, "live.com": true, "msn.com": true,
	"hotmail.co.uk": true, "hotmail.fr": true, "outlook.fr": true, "live.co.uk": true,
	"yahoo.com": true, "ymail.com": true, "yahoo.co.uk": true, "yahoo.fr": true, "yahoo.de": true, "rocketmail.com": true,
	"aol.com": true, "icloud.com": true, "me.com": true, "mac.com": true,
	"proton.me": true, "protonmail.com": true, "pm.me": true, "tutanota.com": true, "fastmail.com": true, "hey.com": true,
	"gmx.com": true, "gmx.de": true, "gmx.net": true, "web.de": true, "mail.com": true, "zoho.com": true,
	"yandex.ru": true, "yandex.com": true, "mail.ru": true, "qq.com": true, "163.com": true, "126.com": true,
}

// invalid returns an invalid_value error naming the attribute (the admin
// API's field path).
func invalid(attribute, format string, args ...any) error {
	return &provisioning.Error{Code: provisioning.CodeInvalidValue, Attribute: attribute,
		Message: fmt.Sprintf(format, args...)}
}

// checkName trims and checks a connection name.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxNameLen {
		return "", invalid("name", "name must be 1 to %d characters", maxNameLen)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", invalid("name", "name must not contain control characters")
	}
	return name, nil
}

// checkDomains lowercases, deduplicates and checks email domains.
func checkDomains(in []string) ([]string, error) {
	if len(in) > maxDomains {
		return nil, invalid("domains", "at most %d domains per connection", maxDomains)
	}
	out := make([]string, 0, len(in))
	for _, d := range in {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if strings.HasPrefix(d, "@") {
			d = d[1:]
		}
		if err := checkDNSName(d); err != nil {
			return nil, err
		}
		if publicMailDomains[d] {
			return nil, invalid("domains", "%s is a public email provider: routing it to your identity provider would send everyone with a %s address there; use your organisation's own domain", d, d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// checkDNSName accepts a lowercase ASCII domain name of two labels or
// more (internationalised names in their xn-- form).
func checkDNSName(d string) error {
	bad := func(why string) error {
		return invalid("domains", "%q is not a valid email domain: %s", d, why)
	}
	if d == "" {
		return bad("it is empty")
	}
	if len(d) > 253 {
		return bad("it is longer than 253 characters")
	}
	for _, r := range d {
		if r > 0x7f {
			return bad("write internationalised domains in their xn-- (punycode) form")
		}
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return bad("it needs a top-level domain, e.g. example.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return bad("each label must be 1 to 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return bad("a label cannot start or end with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return bad("only letters, digits and hyphens are allowed")
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return bad("the top-level domain cannot be numeric")
	}
	return nil
}

// checkIssuer checks an OIDC issuer URL: https, or http on a loopback
// host (local IdPs and tests); no query, fragment or credentials.
func checkIssuer(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || u.Opaque != "" {
		return "", invalid("oidc.issuer", "issuer must be an absolute https URL, e.g. https://login.example.com")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", invalid("oidc.issuer", "issuer must not carry credentials, a query or a fragment")
	}
	if err := checkScheme(u); err != nil {
		return "", invalid("oidc.issuer", "issuer %s", err)
	}
	return raw, nil
}

// checkMetadataURL checks a SAML metadata URL by the same rules.
func checkMetadataURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || u.Opaque != "" {
		return "", invalid("saml.idpMetadataUrl", "idpMetadataUrl must be an absolute https URL")
	}
	if u.User != nil {
		return "", invalid("saml.idpMetadataUrl", "idpMetadataUrl must not carry credentials")
	}
	if err := checkScheme(u); err != nil {
		return "", invalid("saml.idpMetadataUrl", "idpMetadataUrl %s", err)
	}
	return raw, nil
}

// checkScheme allows https anywhere and http on a loopback host only.
func checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("must use https (http only on a loopback host)")
	default:
		return fmt.Errorf("must use https, not %q", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkScopes checks OIDC scopes: openid among them, no duplicates.
func checkScopes(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > maxScopes {
		return nil, invalid("oidc.scopes", "at most %d scopes", maxScopes)
	}
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > maxAttrLen || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > 0x7e }) {
			return nil, invalid("oidc.scopes", "scope %q is not a valid scope token", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if !slices.Contains(out, "openid") {
		return nil, invalid("oidc.scopes", "scopes must include openid")
	}
	return out, nil
}

// checkAttr checks one attribute or claim name of a mapping.
func checkAttr(attribute, v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > maxAttrLen || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", invalid(attribute, "%s must be at most %d printable characters", attribute, maxAttrLen)
	}
	return v, nil
}
