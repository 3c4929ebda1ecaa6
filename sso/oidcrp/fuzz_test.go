package oidcrp

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/sso/connector"
)

// FuzzCallback feeds arbitrary callback queries to a working RP (a real
// store, a live test OP with a started login pending): it must never
// panic, and garbage must always be refused with a LoginError that has a
// reason and a public message.
func FuzzCallback(f *testing.F) {
	e := newEnv(f, func(c *connector.OIDC) { c.UserInfo = true })
	// A real, used callback gives the fuzzer the shape of one.
	cb, _ := url.Parse(e.begin(e.rp, "fuzz-browser"))
	if _, err := e.finish(e.rp, cb.String(), "fuzz-browser"); err != nil {
		f.Fatalf("seed login: %v", err)
	}
	// A pending login whose state the fuzzer does not know.
	e.begin(e.rp, "fuzz-browser")
	for _, seed := range []string{
		cb.RawQuery,
		"",
		"state=",
		"code=abc",
		"state=" + strings.Repeat("A", 43) + "&code=abc",
		"state=" + strings.Repeat("A", 43) + "&code=abc&iss=" + url.QueryEscape(e.op.issuer),
		"error=access_denied&error_description=no&state=x",
		"error=%00%ff&state=" + strings.Repeat("_", 43),
		"state=a&state=b",
		"code=%zz",
		"iss=&state=" + strings.Repeat("-", 43),
		strings.Repeat("a=b&", 500),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/sso/oidc/conn1/callback", RawQuery: raw}}
		id, err := e.rp.Callback(e.ctx, req, "fuzz-browser")
		if err == nil {
			t.Fatalf("query %q accepted: %+v", raw, id)
		}
		var le *connector.LoginError
		if !errors.As(err, &le) || le.Reason == "" || le.Public == "" {
			t.Fatalf("query %q: error %v is not a complete LoginError", raw, err)
		}
	})
}
