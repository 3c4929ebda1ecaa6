package provisioning

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

// fillValue sets every field reachable from v (strings, bools, ints,
// times, slices of two elements, nested structs) to a non-zero value
// derived from seed, so a field added to repository.Member later shows up
// in both views or fails TestMemberViewMatchesJSONRoundTrip.
func fillValue(t *testing.T, v reflect.Value, seed string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(seed)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(len(seed)) + 1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillValue(t, s.Index(i), fmt.Sprintf("%s[%d]", seed, i))
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2025, 3, 4, 10, 0, 0, len(seed), time.UTC)))
			return
		}
		for i := range v.NumField() {
			fillValue(t, v.Field(i), seed+"."+v.Type().Field(i).Name)
		}
	default:
		t.Fatalf("fillValue: field kind %s of %s is not handled: extend memberView and this test", v.Kind(), seed)
	}
}

// TestMemberViewMatchesJSONRoundTrip: the field-by-field audit view is
// exactly the JSON round trip it replaces, so audit diffs and memberEqual
// do not change.
func TestMemberViewMatchesJSONRoundTrip(t *testing.T) {
	var full repository.Member
	fillValue(t, reflect.ValueOf(&full).Elem(), "x")

	cases := map[string]func(m *repository.Member){
		"every field set": func(*repository.Member) {},
		"empty":           func(m *repository.Member) { *m = repository.Member{} },
		"only bookkeeping": func(m *repository.Member) {
			*m = repository.Member{Meta: repository.Meta{Version: 3, CreatedAt: time.Now(), UpdatedAt: time.Now()}}
		},
		"falses and empties inside objects": func(m *repository.Member) {
			m.Name = repository.Name{GivenName: "Ada"}
			m.Profile = repository.SupportProfile{Bio: "hi"}
			m.Emails = []repository.Email{{Value: "a@b.example"}}
			m.Active, m.MustChangePassword = false, false
		},
		"empty but not nil lists": func(m *repository.Member) {
			m.Roles, m.Emails, m.ManagedAttributes = []string{}, []repository.Email{}, []string{}
			m.Profile = repository.SupportProfile{Expertise: []string{}, Channels: nil, CanManageTeams: true}
		},
		"a value that reads as the zero time": func(m *repository.Member) {
			m.Title = "0001-01-01T00:00:00Z"
			m.Name = repository.Name{Formatted: "0001-01-01T00:00:00Z"}
		},
		"no password":         func(m *repository.Member) { m.PasswordHash = "" },
		"HTML and escapes":    func(m *repository.Member) { m.DisplayName = "<b>&\"\\\u2028</b>\t" },
		"not UTF-8":           func(m *repository.Member) { m.DisplayName = "a\xffb\xfe" },
		"not UTF-8 in a list": func(m *repository.Member) { m.Roles = []string{"ok", "\xc3"} },
		"time JSON cannot encode": func(m *repository.Member) {
			m.SeatQueuedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		},
		"time in another zone": func(m *repository.Member) {
			m.SeatQueuedAt = time.Date(2025, 3, 4, 10, 0, 0, 123456789, time.FixedZone("X", 3600))
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			m := cloneMember(full)
			change(&m)
			got, want := memberView(&m), memberViewJSON(&m)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("field-wise view differs from the JSON round trip\n got %#v\nwant %#v", got, want)
			}
		})
	}
	if memberView(nil) != nil {
		t.Error("memberView(nil) is not nil")
	}
}

func BenchmarkMemberView(b *testing.B) {
	var m repository.Member
	fillValue(&testing.T{}, reflect.ValueOf(&m).Elem(), "x")
	b.Run("field-wise", func(b *testing.B) {
		for b.Loop() {
			_ = memberView(&m)
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			_ = memberViewJSON(&m)
		}
	})
}
