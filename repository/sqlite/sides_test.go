package sqlite

import (
	"context"
	"reflect"
	"strings"
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
		{"empty string", sideExpertise, "0:0:", repository.Member{Profile: repository.SupportProfile{Expertise: []string{""}}}, true},
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

// TestPackedValuesFollowTheSideTables: reads take multi-valued
// attributes from members.multi_values, filters from the side tables, so
// the two must say the same after every change.
func TestPackedValuesFollowTheSideTables(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "packed"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "packed@x.example",
		Emails: []repository.Email{{Value: "p@x.example", Type: "work", Primary: true}}, Roles: []string{"agent"}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func(x *repository.Member){
		func(x *repository.Member) {
			x.PhoneNumbers = []repository.PhoneNumber{{Value: "+1 555"}}
			x.Profile.Expertise = []string{"billing", "日本語"}
		},
		func(x *repository.Member) {
			x.Emails = append(x.Emails, repository.Email{Value: "second@x.example", Display: "a:b"})
		},
		func(x *repository.Member) { x.PhoneNumbers, x.Profile.Channels = nil, []string{"chat"} },
		func(x *repository.Member) {
			x.Emails, x.Profile.Expertise, x.Profile.Channels, x.Roles = nil, nil, nil, nil
			x.Addresses = []repository.Address{{Country: "NZ", Primary: true}}
			x.OptionalPermissions = []repository.RolePermission{{Role: "agent", Permission: "p"}}
		},
	}
	check := func(step int, want repository.Member) {
		t.Helper()
		got, err := s.GetMember(ctx, a.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("step %d: read back\n%+v\nwant\n%+v", step, got, want)
		}
		var pk int64
		if err := s.r.QueryRow("SELECT pk FROM members WHERE id = ?", m.ID).Scan(&pk); err != nil {
			t.Fatal(err)
		}
		var fromSides repository.Member
		for k, tb := range sideTables {
			parts := []string{"pos, ':'"}
			for _, c := range tb.read {
				parts = append(parts, packedArgs(c))
			}
			var enc string
			q := "SELECT coalesce(group_concat(concat(" + strings.Join(parts, ", ") + "), '' ORDER BY pos), '') FROM " + tb.name + " WHERE member_pk = ?"
			if err := s.r.QueryRow(q, pk).Scan(&enc); err != nil {
				t.Fatal(err)
			}
			if err := decodeSide(k, enc, &fromSides); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(fromSides.Emails, got.Emails) || !reflect.DeepEqual(fromSides.PhoneNumbers, got.PhoneNumbers) ||
			!reflect.DeepEqual(fromSides.Addresses, got.Addresses) || !reflect.DeepEqual(fromSides.Roles, got.Roles) ||
			!reflect.DeepEqual(fromSides.OptionalPermissions, got.OptionalPermissions) || !reflect.DeepEqual(fromSides.Profile, got.Profile) {
			t.Errorf("step %d: side tables hold\n%+v\nthe row\n%+v", step, fromSides, got)
		}
	}
	check(-1, m)
	for i, step := range steps {
		want, err := s.UpdateMember(ctx, a.ID, m.ID, func(x repository.Member) (repository.Member, error) {
			step(&x)
			return x, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		check(i, want)
	}
}

func TestUnpackSidesRefusesMalformed(t *testing.T) {
	for _, bad := range []string{"x", "0:", packList([]string{"", ""}), packList(make([]string, sideCount+1)), packList([]string{"0:4:a", "", "", "", "", "", ""})} {
		var m repository.Member
		if err := unpackSides(bad, &m); err == nil {
			t.Errorf("unpackSides(%q) = nil, want an error", bad)
		}
	}
	m := repository.Member{Emails: []repository.Email{{Value: "a", Primary: true}}, Roles: []string{"r"}}
	var got repository.Member
	if err := unpackSides(packSides(&m), &got); err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("round trip = %+v, %v", got, err)
	}
}
