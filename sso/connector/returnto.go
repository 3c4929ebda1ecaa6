package connector

import (
	"net/url"
	"strings"
)

// DefaultReturnPrefixes are the paths of our own origin a login may
// return to when the deployment configures none.
var DefaultReturnPrefixes = []string{"/app", "/auth/session", "/invite/"}

// ReturnPaths is the allow-list of places a login may send the browser
// back to: paths of our own origin under one of Prefixes. Anything else —
// another origin, a scheme, "//host", a backslash trick, an encoded
// traversal — is refused, so RelayState and return_to cannot make an open
// redirect.
type ReturnPaths struct {
	Prefixes []string
	// Default is where a login goes when no (or no allowed) path is given.
	Default string
}

// Check returns raw cleaned when it is an allowed path of our origin, and
// ok false otherwise.
func (p ReturnPaths) Check(raw string) (string, bool) {
	if raw == "" || len(raw) > 2048 || raw[0] != '/' {
		return "", false
	}
	// "//evil", "/\evil" and control characters are read as other origins
	// by some browsers.
	if strings.HasPrefix(raw, "//") || strings.ContainsAny(raw, "\\\r\n\t") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	path := u.Path
	if strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") || strings.Contains(path, "/./") {
		return "", false
	}
	prefixes := p.Prefixes
	if len(prefixes) == 0 {
		prefixes = DefaultReturnPrefixes
	}
	for _, pre := range prefixes {
		if path == strings.TrimSuffix(pre, "/") || strings.HasPrefix(path, strings.TrimSuffix(pre, "/")+"/") {
			return u.RequestURI(), true
		}
	}
	return "", false
}

// Or returns raw when allowed and the default otherwise.
func (p ReturnPaths) Or(raw string) string {
	if v, ok := p.Check(raw); ok {
		return v
	}
	if p.Default != "" {
		return p.Default
	}
	return "/auth/session"
}
