package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"Paging", testPaging})
}

// pagingMembers is the size of the paging fixture: not a multiple of the
// page sizes used, so last pages are short.
const pagingMembers = 25

// displayNames of the paging fixture: three values ignoring case, so a
// sort by displayName has long runs of ties.
var pagingDisplayNames = []string{"Amber", "blue", "Cyan", "BLUE", "amber"}

// pageByIndex lists every match with StartIndex/Count pages of size and
// checks each page's Total.
func pageByIndex(t *testing.T, s repository.Store, accountID string, q repository.Query, size, total int) []string {
	t.Helper()
	var ids []string
	for start := 1; ; start += size {
		if start > total+size {
			t.Fatalf("startIndex paging %+v does not end", q)
		}
		q.StartIndex, q.Count = start, size
		p := listMembers(t, s, accountID, q)
		expect(t, p.Total, total, "Total on the page at startIndex %d", start)
		if len(p.Items) > size {
			t.Fatalf("page at startIndex %d: %d items for count %d", start, len(p.Items), size)
		}
		ids = append(ids, memberIDs(p.Items)...)
		if len(p.Items) < size {
			return ids
		}
	}
}

// pageByCursor lists every match following NextCursor with pages of size
// and checks each page's Total.
func pageByCursor(t *testing.T, s repository.Store, accountID string, q repository.Query, size, total int) []string {
	t.Helper()
	var ids []string
	q.Count = size
	for page := 0; ; page++ {
		if page > total+1 {
			t.Fatalf("cursor paging %+v does not end", q)
		}
		p := listMembers(t, s, accountID, q)
		expect(t, p.Total, total, "Total on cursor page %d", page)
		if len(p.Items) > size {
			t.Fatalf("cursor page %d: %d items for count %d", page, len(p.Items), size)
		}
		if len(p.Items) < size && p.NextCursor != "" {
			t.Errorf("cursor page %d has %d of %d items but a NextCursor", page, len(p.Items), size)
		}
		ids = append(ids, memberIDs(p.Items)...)
		if p.NextCursor == "" {
			return ids
		}
		q.Cursor = p.NextCursor
		q.StartIndex = 7 // ignored with a cursor
	}
}

func testPaging(t *testing.T, c Config) {
	s := c.New(t)
	acct := newAccount(t, s)
	var created []string
	for i := range pagingMembers {
		idx := i * 7 % pagingMembers // creation order differs from userName order
		m := newMember(t, s, acct.ID, fmt.Sprintf("p%02d@example.com", idx), func(m *repository.Member) {
			m.DisplayName = pagingDisplayNames[idx%len(pagingDisplayNames)]
		})
		created = append(created, m.ID)
	}
	var byUserName []string
	for i := range pagingMembers {
		m, err := s.GetMemberByUserName(t.Context(), acct.ID, fmt.Sprintf("p%02d@example.com", i))
		must(t, err, "get paging member %d", i)
		byUserName = append(byUserName, m.ID)
	}
	blue := repository.Compare{Field: repository.MemberDisplayName, Op: repository.OpEq, Value: "Blue"}
	blueTotal := 10

	t.Run("StartIndex", func(t *testing.T) {
		for _, size := range []int{1, 7, 25, 30} {
			expectSeq(t, pageByIndex(t, s, acct.ID, repository.Query{}, size, pagingMembers), created,
				"startIndex pages of %d in default order (disjoint, complete, creation order)", size)
			expectSeq(t, pageByIndex(t, s, acct.ID, repository.Query{SortBy: repository.MemberUserName}, size, pagingMembers), byUserName,
				"startIndex pages of %d sorted by userName", size)
		}
		for _, start := range []int{0, -5} {
			p := listMembers(t, s, acct.ID, repository.Query{StartIndex: start, Count: 3})
			expectSeq(t, memberIDs(p.Items), created[:3], "page at startIndex %d (treated as 1)", start)
		}
		p := listMembers(t, s, acct.ID, repository.Query{StartIndex: pagingMembers, Count: 10})
		expectSeq(t, memberIDs(p.Items), created[pagingMembers-1:], "page at the last startIndex")
		p = listMembers(t, s, acct.ID, repository.Query{StartIndex: pagingMembers + 1, Count: 10})
		expect(t, len(p.Items), 0, "items past the end")
		expect(t, p.Total, pagingMembers, "Total past the end")
	})

	t.Run("Count0", func(t *testing.T) {
		p := listMembers(t, s, acct.ID, repository.Query{})
		expect(t, len(p.Items), 0, "items with Count 0")
		expect(t, p.Total, pagingMembers, "Total with Count 0")
		p = listMembers(t, s, acct.ID, repository.Query{Filter: blue, StartIndex: 3})
		expect(t, len(p.Items), 0, "items with Count 0 and a filter")
		expect(t, p.Total, blueTotal, "Total with Count 0 and a filter")
	})

	t.Run("Cursor", func(t *testing.T) {
		queries := []struct {
			name  string
			q     repository.Query
			total int
		}{
			{"default order", repository.Query{}, pagingMembers},
			{"userName", repository.Query{SortBy: repository.MemberUserName}, pagingMembers},
			{"userName desc", repository.Query{SortBy: repository.MemberUserName, SortDesc: true}, pagingMembers},
			{"displayName (ties)", repository.Query{SortBy: repository.MemberDisplayName}, pagingMembers},
			{"displayName desc (ties)", repository.Query{SortBy: repository.MemberDisplayName, SortDesc: true}, pagingMembers},
			{"meta.created desc", repository.Query{SortBy: repository.MemberCreated, SortDesc: true}, pagingMembers},
			{"id desc", repository.Query{SortBy: repository.MemberID, SortDesc: true}, pagingMembers},
			{"filtered", repository.Query{Filter: blue}, blueTotal},
			{"filtered, displayName desc (all tied)", repository.Query{Filter: blue, SortBy: repository.MemberDisplayName, SortDesc: true}, blueTotal},
		}
		for _, tt := range queries {
			t.Run(tt.name, func(t *testing.T) {
				big := tt.q
				big.Count = 100
				want := memberIDs(listMembers(t, s, acct.ID, big).Items)
				expect(t, len(want), tt.total, "items in one big page")
				for _, size := range []int{1, 4, 7, tt.total, tt.total + 1} {
					expectSeq(t, pageByCursor(t, s, acct.ID, tt.q, size, tt.total), want,
						"cursor pages of %d against one big page", size)
					expectSeq(t, pageByIndex(t, s, acct.ID, tt.q, size, tt.total), want,
						"startIndex pages of %d against one big page", size)
				}
			})
		}
	})

	t.Run("Order", func(t *testing.T) {
		expectSeq(t, memberIDs(listMembers(t, s, acct.ID, repository.Query{Count: 100}).Items), created, "default order is creation order")
		expectSeq(t, memberIDs(listMembers(t, s, acct.ID, repository.Query{SortBy: repository.MemberUserName, SortDesc: true, Count: 100}).Items),
			reversed(byUserName), "sorted by userName desc")

		// displayName ignoring case, ties by id ascending.
		items := listMembers(t, s, acct.ID, repository.Query{SortBy: repository.MemberDisplayName, Count: 100}).Items
		for i := 1; i < len(items); i++ {
			prev, cur := items[i-1], items[i]
			pk, ck := strings.ToLower(prev.DisplayName), strings.ToLower(cur.DisplayName)
			if pk > ck || (pk == ck && prev.ID > cur.ID) {
				t.Errorf("sorted by displayName: %q (%s) before %q (%s)", prev.DisplayName, prev.ID, cur.DisplayName, cur.ID)
			}
		}
		items = listMembers(t, s, acct.ID, repository.Query{SortBy: repository.MemberDisplayName, SortDesc: true, Count: 100}).Items
		for i := 1; i < len(items); i++ {
			if pk, ck := strings.ToLower(items[i-1].DisplayName), strings.ToLower(items[i].DisplayName); pk < ck {
				t.Errorf("sorted by displayName desc: %q before %q", items[i-1].DisplayName, items[i].DisplayName)
			}
		}
	})
}
