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
			ManagedAttributes:   []string{"active", "displayName", "emails", "externalId", "name", "userName"},
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
