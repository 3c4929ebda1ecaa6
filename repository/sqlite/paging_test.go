package sqlite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func TestCursorPaging(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, repository.Account{Name: "paging"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 23
	var all []repository.Member
	for i := range n {
		// Family names repeat (ties broken by id) and differ in case.
		family := []string{"alpha", "Beta", "beta", "GAMMA"}[i%4]
		m, err := s.CreateMember(ctx, repository.Member{
			AccountID: a.ID, UserName: fmt.Sprintf("User%02d@example.com", n-i),
			Name: repository.Name{FamilyName: family}, Title: []string{"x", "y"}[i%2],
		})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m)
	}
	ids := func(ms []repository.Member) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	byID := ids(all) // creation order = id order
	byUser := slices.Clone(all)
	slices.SortFunc(byUser, func(x, y repository.Member) int {
		return strings.Compare(strings.ToLower(x.UserName), strings.ToLower(y.UserName))
	})
	byFamily := slices.Clone(all)
	slices.SortStableFunc(byFamily, func(x, y repository.Member) int {
		if c := strings.Compare(strings.ToLower(x.Name.FamilyName), strings.ToLower(y.Name.FamilyName)); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	var ys []string
	for _, m := range all {
		if m.Title == "y" {
			ys = append(ys, m.ID)
		}
	}

	tests := []struct {
		name string
		q    repository.Query
		want []string
	}{
		{"creation order", repository.Query{}, byID},
		{"creation order desc", repository.Query{SortDesc: true}, reverse(byID)},
		{"userName", repository.Query{SortBy: repository.MemberUserName}, ids(byUser)},
		{"userName desc", repository.Query{SortBy: repository.MemberUserName, SortDesc: true}, reverse(ids(byUser))},
		{"familyName with ties", repository.Query{SortBy: repository.MemberFamilyName}, ids(byFamily)},
		{"familyName with ties desc", repository.Query{SortBy: repository.MemberFamilyName, SortDesc: true}, reverse(ids(byFamily))},
		{"meta.created", repository.Query{SortBy: repository.MemberCreated}, byID},
		{"meta.lastModified desc", repository.Query{SortBy: repository.MemberLastModified, SortDesc: true}, reverse(byID)},
		{"filtered", repository.Query{Filter: cmpf(repository.MemberTitle, repository.OpEq, "Y")}, ys},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 5, n, n + 5} {
			t.Run(fmt.Sprintf("%s by %d", tt.name, size), func(t *testing.T) {
				// Cursor pages.
				var got []string
				q := tt.q
				q.Count = size
				for pages := 0; ; pages++ {
					if pages > n+1 {
						t.Fatal("cursor paging does not end")
					}
					p, err := s.ListMembers(ctx, a.ID, q)
					if err != nil {
						t.Fatal(err)
					}
					if p.Total != len(tt.want) {
						t.Errorf("page %d: total %d, want %d", pages, p.Total, len(tt.want))
					}
					if len(p.Items) > size {
						t.Fatalf("page of %d items, count %d", len(p.Items), size)
					}
					got = append(got, ids(p.Items)...)
					if p.NextCursor == "" {
						break
					}
					q.Cursor = p.NextCursor
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("cursor pages:\n got %v\nwant %v", got, tt.want)
				}

				// StartIndex pages give the same sequence and totals.
				got = nil
				for start := 1; start <= len(tt.want)+1; start += size {
					q := tt.q
					q.Count, q.StartIndex = size, start
					p, err := s.ListMembers(ctx, a.ID, q)
					if err != nil {
						t.Fatal(err)
					}
					if p.Total != len(tt.want) {
						t.Errorf("startIndex %d: total %d, want %d", start, p.Total, len(tt.want))
					}
					more := start-1+len(p.Items) < len(tt.want)
					if (p.NextCursor != "") != more {
						t.Errorf("startIndex %d: next cursor %q with more=%v", start, p.NextCursor, more)
					}
					got = append(got, ids(p.Items)...)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("startIndex pages:\n got %v\nwant %v", got, tt.want)
				}
			})
		}
	}

	t.Run("count 0 gives the total only", func(t *testing.T) {
		p, err := s.ListMembers(ctx, a.ID, repository.Query{Filter: cmpf(repository.MemberTitle, repository.OpEq, "x")})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 || p.Total != n-len(ys) || p.NextCursor != "" {
			t.Errorf("got %d items, total %d, cursor %q", len(p.Items), p.Total, p.NextCursor)
		}
	})
	t.Run("startIndex past the end", func(t *testing.T) {
		p, err := s.ListMembers(ctx, a.ID, repository.Query{StartIndex: n + 10, Count: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 || p.Total != n {
			t.Errorf("got %d items, total %d", len(p.Items), p.Total)
		}
	})
	t.Run("malformed time cursor", func(t *testing.T) {
		cur := repository.Cursor{Key: "not a number", ID: byID[0]}.Encode()
		_, err := s.ListMembers(ctx, a.ID, repository.Query{SortBy: repository.MemberCreated, Count: 5, Cursor: cur})
		if !errors.Is(err, repository.ErrInvalidQuery) {
			t.Errorf("got %v, want ErrInvalidQuery", err)
		}
	})
}

func reverse(ss []string) []string {
	out := slices.Clone(ss)
	slices.Reverse(out)
	return out
}
