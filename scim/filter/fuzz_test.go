package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// filterSeeds returns every filter of the table tests. Both resources get
// all of them: the other resource's filters exercise the same parser and
// the unknown-attribute paths.
func filterSeeds() []string {
	var seeds []string
	for _, tc := range compileCases {
		seeds = append(seeds, tc.expr)
	}
	for _, tc := range compileErrorCases {
		if len(tc.expr) < 1024 {
			seeds = append(seeds, tc.expr)
		}
	}
	return seeds
}

func FuzzCompileUsers(f *testing.F)  { fuzzCompile(f, Users, repository.MemberFields) }
func FuzzCompileGroups(f *testing.F) { fuzzCompile(f, Groups, repository.GroupFields) }

func fuzzCompile(f *testing.F, r Resource, fields map[repository.Field]repository.FieldInfo) {
	for _, s := range filterSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := r.Compile(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalidFilter) || !strings.HasPrefix(err.Error(), "filter: ") {
				t.Fatalf("Compile(%q): error %#v is not a filter *Error", s, err)
			}
			if out != nil {
				t.Fatalf("Compile(%q) returned %s with error %v", s, render(out), err)
			}
			if strings.Contains(err.Error(), "invalid query") {
				t.Fatalf("Compile(%q) built a filter the repository refuses: %v", s, err)
			}
			return
		}
		if err := repository.Validate(out, fields); err != nil {
			t.Fatalf("Compile(%q) = %s, which does not validate: %v", s, render(out), err)
		}
		if out == nil {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("Compile(%q) = nil for a non-blank filter", s)
			}
			return
		}
		// Grouping must not change the meaning; only the limits may refuse
		// the longer input.
		grouped, err := r.Compile("(" + s + ")")
		switch {
		case err != nil:
			if !strings.Contains(err.Error(), "nested more than") && !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("Compile(%q) works but Compile of it in parentheses fails: %v", s, err)
			}
		case !reflect.DeepEqual(grouped, out):
			t.Fatalf("Compile(%q) = %s but in parentheses %s", s, render(out), render(grouped))
		}
		negated, err := r.Compile("not (" + s + ")")
		if err == nil && !reflect.DeepEqual(negated, repository.Not{Filter: out}) {
			t.Fatalf("Compile(not (%q)) = %s, want not(%s)", s, render(negated), render(out))
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, tc := range pathCases {
		f.Add(tc.path)
	}
	for _, tc := range pathErrorCases {
		f.Add(tc.path)
	}
	elements := []map[string]any{
		{},
		{"value": "a@example.com", "type": "work", "primary": true, "display": "A"},
		{"VALUE": "x", "Type": "WORK", "primary": "True"},
		{"value": 5, "type": nil, "primary": "maybe", "postalCode": []any{}},
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range []Resource{Users, Groups} {
			p, err := r.ParsePath(s)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, ErrInvalidPath) || !strings.HasPrefix(err.Error(), "path: ") {
					t.Fatalf("%s.ParsePath(%q): error %#v is not a path *Error", r, s, err)
				}
				if !reflect.DeepEqual(p, Path{}) {
					t.Fatalf("%s.ParsePath(%q) returned %+v with error %v", r, s, p, err)
				}
				continue
			}
			if p.Schema == "" || p.Attr == "" && (p.Sub != "" || p.Filter != nil) {
				t.Fatalf("%s.ParsePath(%q) = %+v", r, s, p)
			}
			for _, el := range elements {
				p.Filter.Match(el)
			}
			p.Filter.EqualValues("value")
			// The canonical form parses back to the same path.
			again, err := r.ParsePath(p.String())
			if err != nil {
				t.Fatalf("%s.ParsePath(%q) = %s, which does not parse: %v", r, s, p, err)
			}
			if again.Schema != p.Schema || again.Attr != p.Attr || again.Sub != p.Sub || again.Filter.String() != p.Filter.String() {
				t.Fatalf("%s.ParsePath(%q) = %+v but its String() parses to %+v", r, s, p, again)
			}
			if field, err := r.SortField(s); err == nil && field != "" && p.Filter != nil {
				t.Fatalf("%s.SortField(%q) = %q for a path with a value filter", r, s, field)
			}
		}
	})
}
