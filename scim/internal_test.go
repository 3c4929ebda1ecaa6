package scim

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rosterhq/roster/scim/filter"
)

// decode parses JSON for a test.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPatchEngine(t *testing.T) {
	cat := newCatalogue()
	p := &patcher{rt: cat.users, paths: filter.Users}
	start := `{"userName":"u","emails":[{"value":"w@x","type":"work","primary":true},{"value":"h@x","type":"home","primary":false}],
		"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["a","b"]}}`
	tests := []struct {
		name string
		ops  []patchOp
		want string // the resource after
	}{
		{"expertise filter replace", []patchOp{{op: "replace", path: `urn:ietf:params:scim:schemas:extension:roster:2.0:User:expertise[value eq "b"]`, value: "c"}},
			`{"emails":[{"primary":true,"type":"work","value":"w@x"},{"primary":false,"type":"home","value":"h@x"}],"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["a","c"]},"userName":"u"}`},
		{"expertise filter add missing", []patchOp{{op: "add", path: `expertise[value eq "z"]`, value: "z"}},
			`{"emails":[{"primary":true,"type":"work","value":"w@x"},{"primary":false,"type":"home","value":"h@x"}],"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["a","b","z"]},"userName":"u"}`},
		{"expertise remove by value", []patchOp{{op: "remove", path: "expertise", value: []any{"A"}}},
			`{"emails":[{"primary":true,"type":"work","value":"w@x"},{"primary":false,"type":"home","value":"h@x"}],"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["b"]},"userName":"u"}`},
		{"primary moves", []patchOp{{op: "replace", path: `emails[type eq "home"].primary`, value: "true"}},
			`{"emails":[{"primary":false,"type":"work","value":"w@x"},{"primary":true,"type":"home","value":"h@x"}],"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["a","b"]},"userName":"u"}`},
		{"add an existing email merges", []patchOp{{op: "add", path: "emails", value: map[string]any{"value": "H@X", "display": "Home"}}},
			`{"emails":[{"primary":true,"type":"work","value":"w@x"},{"display":"Home","primary":false,"type":"home","value":"H@X"}],"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["a","b"]},"userName":"u"}`},
		{"sub-attribute on every element", []patchOp{{op: "replace", path: "emails.type", value: "other"}},
			`{"emails":[{"primary":true,"type":"other","value":"w@x"},{"primary":false,"type":"other","value":"h@x"}],"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["a","b"]},"userName":"u"}`},
		{"remove whole extension", []patchOp{{op: "remove", path: "urn:ietf:params:scim:schemas:extension:roster:2.0:User"}},
			`{"emails":[{"primary":true,"type":"work","value":"w@x"},{"primary":false,"type":"home","value":"h@x"}],"userName":"u"}`},
		{"replace filtered element with null removes it", []patchOp{{op: "replace", path: `emails[type eq "home"]`, value: nil, hasValue: true}},
			`{"emails":[{"primary":true,"type":"work","value":"w@x"}],"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"expertise":["a","b"]},"userName":"u"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decode(t, start)
			pops, err := p.expand(tc.ops)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.apply(res, pops); err != nil {
				t.Fatal(err)
			}
			norm, err := normalizeResource(cat.users, res)
			if err != nil {
				t.Fatal(err)
			}
			if got := canonical(t, norm); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestNormalizeResource(t *testing.T) {
	cat := newCatalogue()
	in := decode(t, `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"UserName": "u", "ACTIVE": "false", "name.givenName": "G", "name": {"familyName": "F"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "D",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m-1", "employeeNumber": 42},
		"emails": {"value": "single@x"}, "groups": [{"value": "g"}], "id": "x", "meta": {}, "nickName": null,
		"photos": [{"value": "ignored"}], "customThing": 1
	}`)
	out, err := normalizeResource(cat.users, in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"active":false,"emails":[{"value":"single@x"}],"name":{"familyName":"F","givenName":"G"},` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","employeeNumber":"42","manager":{"value":"m-1"}},"userName":"u"}`
	if got := canonical(t, out); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{
		`{"userName": "u", "username": "v"}`,
		`{"schemas": ["urn:nope"]}`,
		`{"schemas": "urn:ietf:params:scim:schemas:core:2.0:User"}`,
		`{"active": 1}`,
		`{"name": "flat"}`,
		`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "x"}`,
	} {
		if _, err := normalizeResource(cat.users, decode(t, bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestParseETags(t *testing.T) {
	tests := []struct {
		h       string
		version int64
		match   bool
	}{
		{`W/"3"`, 3, true},
		{`"3"`, 3, true},
		{`W/"2", W/"3"`, 3, true},
		{`*`, 7, true},
		{`W/"4"`, 3, false},
		{`"abc"`, 3, false},
	}
	for _, tc := range tests {
		if got := parseETags(tc.h).matches(tc.version); got != tc.match {
			t.Errorf("%s vs %d: %v", tc.h, tc.version, got)
		}
	}
	if parseETags("").present || parseETags("*").ifVersion() != nil || len(parseETags(`"x"`).ifVersion()) != 1 {
		t.Errorf("ifVersion conversion")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(2, 2, func() time.Time { return now })
	for i := range 2 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	if ok, wait := l.allow("a"); ok || wait != 1 {
		t.Errorf("over the burst: ok %v wait %d", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Errorf("another key was limited")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Errorf("not refilled after half a second at 2/s")
	}
	var disabled *limiter
	if ok, _ := disabled.allow("a"); !ok {
		t.Errorf("a nil limiter limits")
	}
}
