package sqlite

import (
	"context"
	"reflect"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// TestSideRowsRoundTrip: multi-valued attributes written with one
// statement per attribute (several rows) or per row (one row, or strings
// JSON cannot carry unchanged) read back exactly, in order.
func TestSideRowsRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "sides"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    repository.Member
	}{
		{"several rows each", repository.Member{
			Emails:              []repository.Email{{Value: "A@x.example", Type: "work", Primary: true}, {Value: "b@x.example", Type: "Home", Display: "<b> & \"c\""}},
			PhoneNumbers:        []repository.PhoneNumber{{Value: "+1 555", Type: "work"}, {Value: "+44 20", Primary: true}},
			Addresses:           []repository.Address{{Formatted: "1 Main St", Country: "US", Primary: true}, {Locality: "Zürich", Type: "home"}},
			Roles:               []string{"agent", "Supervisor", "reporter"},
			OptionalPermissions: []repository.RolePermission{{Role: "agent", Permission: "p1"}, {Role: "agent", Permission: "p2"}},
			Profile:             repository.SupportProfile{Expertise: []string{"Billing", "日本語"}, Channels: []string{"chat", "email"}},
			ManagedAttributes:   []string{"active", "displayName", "emails", "externalId", "name", "userName", "", "3:abc", "a:b:"},
		}},
		{"one row each", repository.Member{
			Emails: []repository.Email{{Value: "one@x.example"}}, Roles: []string{"agent"}, ManagedAttributes: []string{"userName"},
		}},
		{"invalid UTF-8", repository.Member{
			Emails:            []repository.Email{{Value: "bad\xffbyte@x.example"}, {Value: "ok@x.example", Display: "\xfe"}},
			ManagedAttributes: []string{"a\xff", "b"},
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			m.AccountID, m.UserName = a.ID, string(rune('a'+i))+"@sides.example"
			created, err := s.CreateMember(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetMember(ctx, a.ID, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, created) {
				t.Errorf("read back\n%+v\nwant\n%+v", got, created)
			}
			// An update rewrites the changed attributes the same way.
			updated, err := s.UpdateMember(ctx, a.ID, created.ID, func(x repository.Member) (repository.Member, error) {
				x.Emails = append(x.Emails, repository.Email{Value: "new@x.example", Type: "other"})
				x.ManagedAttributes = append(x.ManagedAttributes, "zz")
				return x, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err = s.GetMember(ctx, a.ID, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, updated) {
				t.Errorf("after update read back\n%+v\nwant\n%+v", got, updated)
			}
		})
	}
}

func TestDecodeSide(t *testing.T) {
	tests := []struct {
		name string
		k    int
		in   string
		want repository.Member
		ok   bool
	}{
		{"none", sideRoles, "", repository.Member{}, true},
		{"empty string", sideManaged, "0:0:", repository.Member{ManagedAttributes: []string{""}}, true},
		{"out of order", sideRoles, "1:2:b:0:3:a:c", repository.Member{Roles: []string{"a:c", "b:"}}, true},
		{"several columns", sideEmails, "0:4:a@xy4:work0:1:1",
			repository.Member{Emails: []repository.Email{{Value: "a@xy", Type: "work", Primary: true}}}, true},
		{"bytes not characters", sideRoles, "0:3:日", repository.Member{Roles: []string{"日"}}, true},
		{"length beyond the end", sideRoles, "0:4:日", repository.Member{}, false},
		{"no pos", sideRoles, "x:1:a", repository.Member{}, false},
		{"negative length", sideRoles, "0:-1:", repository.Member{}, false},
		{"missing column", sideEmails, "0:1:a", repository.Member{}, false},
	}
	for _, tc := range tests {
		var got repository.Member
		err := decodeSide(tc.k, tc.in, &got)
		if (err == nil) != tc.ok || (tc.ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: decodeSide(%q) = %+v, %v; want %+v, ok %v", tc.name, tc.in, got, err, tc.want, tc.ok)
		}
	}
}
