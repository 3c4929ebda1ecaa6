package connector

import "testing"

func TestReturnPaths(t *testing.T) {
	p := ReturnPaths{Prefixes: []string{"/app", "/invite/"}, Default: "/app"}
	for _, tc := range []struct {
		raw  string
		want string
		ok   bool
	}{
		{"/app", "/app", true},
		{"/app/inbox?x=1", "/app/inbox?x=1", true},
		{"/invite/abc", "/invite/abc", true},
		{"/application", "", false},
		{"https://evil.example/app", "", false},
		{"//evil.example/app", "", false},
		{"/\\evil.example", "", false},
		{"/app/../admin", "", false},
		{"/app/%2e%2e/admin", "", false},
		{"javascript:alert(1)", "", false},
		{"/app\r\nSet-Cookie: x", "", false},
		{"", "", false},
		{"app", "", false},
	} {
		got, ok := p.Check(tc.raw)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Check(%q) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
	if got := p.Or("https://evil.example"); got != "/app" {
		t.Errorf("Or(evil) = %q, want the default", got)
	}
}
