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

// TestSideMaskFollowsTheAttributes: a read looks only into the side
// tables the member's side_mask names, so the mask must follow every
// change; rows written before the mask existed (-1) read everything.
func TestSideMaskFollowsTheAttributes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "mask"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: "mask@x.example"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func(x *repository.Member){
		func(x *repository.Member) {
			x.PhoneNumbers = []repository.PhoneNumber{{Value: "+1 555"}}
			x.Profile.Expertise = []string{"billing"}
		},
		func(x *repository.Member) { x.Emails = []repository.Email{{Value: "mask@x.example"}} },
		func(x *repository.Member) { x.PhoneNumbers, x.Profile.Channels = nil, []string{"chat"} },
		func(x *repository.Member) {
			x.Emails, x.Profile.Expertise, x.Profile.Channels = nil, nil, nil
			x.Addresses = []repository.Address{{Country: "NZ"}}
		},
	}
	for i, step := range steps {
		want, err := s.UpdateMember(ctx, a.ID, m.ID, func(x repository.Member) (repository.Member, error) {
			step(&x)
			return x, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetMember(ctx, a.ID, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("step %d: read back\n%+v\nwant\n%+v", i, got, want)
		}
		var mask int64
		if err := s.r.QueryRow("SELECT side_mask FROM members WHERE id = ?", m.ID).Scan(&mask); err != nil {
			t.Fatal(err)
		}
		if mask != sideMask(&want) {
			t.Errorf("step %d: side_mask %b, want %b", i, mask, sideMask(&want))
		}
	}
	// A row from before the column: every side table is looked into.
	want, err := s.GetMember(ctx, a.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("UPDATE members SET side_mask = -1 WHERE id = ?", m.ID); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListMembers(ctx, a.ID, repository.Query{
		Filter: repository.Compare{Field: repository.MemberUserName, Op: repository.OpEq, Value: "mask@x.example"}, Count: 10})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("list: %+v, %v", page, err)
	}
	if !reflect.DeepEqual(page.Items[0], want) {
		t.Errorf("with side_mask -1 read\n%+v\nwant\n%+v", page.Items[0], want)
	}
}
