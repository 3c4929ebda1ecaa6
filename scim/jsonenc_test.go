package scim

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// stdJSON is what appendJSON must reproduce: encoding/json without HTML
// escaping.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{
		"", "plain", `quote " and \ backslash`, "<tag> & 'amp'", "tab\tnew\nline\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "é日本語🙂", "bad \xff byte", "\xe2\x82", "line\u2028para\u2029end", "a@b.example",
	}
	var values []any
	for _, s := range strs {
		values = append(values, s)
	}
	values = append(values,
		nil, true, false, 0, -42, int64(1<<62), 3.5, json.Number("12"),
		[]any{}, []any(nil), []string{"a", "b\""}, []string(nil),
		map[string]any{}, map[string]any{"b": 1, "a": []any{"x", map[string]any{"z": nil, "é": "\u2028"}}, "A": true, "": ""},
		map[string]any{"t": time.Date(2024, 3, 1, 12, 0, 0, 5, time.UTC)}, // falls back to encoding/json
		newListResponse(3, 1, []any{map[string]any{"id": "1"}}),
		newListResponse(0, 1, nil),
		&Error{Status: 400, Detail: "bad \"thing\""},
	)
	for _, v := range values {
		got, err := appendJSON(nil, v)
		if err != nil {
			t.Fatalf("appendJSON(%#v): %v", v, err)
		}
		if want := stdJSON(t, v); !bytes.Equal(got, want) {
			t.Errorf("appendJSON(%#v)\n got %s\nwant %s", v, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff", "\u2028", "日本", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		if want := stdJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
		m := map[string]any{s: []any{s, true}}
		got, err := appendJSON(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if want := stdJSON(t, m); !bytes.Equal(got, want) {
			t.Errorf("appendJSON(map) = %s, want %s", got, want)
		}
	})
}
