package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

// queryFixture creates members whose values exercise the corners of the
// translation: LIKE wildcards in values, non-ASCII case folding, empty
// values, and elements that match different conditions.
type queryFixture struct {
	s       *Store
	account string
	other   string // a second account with the same data
	ids     map[string]string
	keys    map[string]string
	group   repository.Group
}

func newQueryFixture(t *testing.T) *queryFixture {
	t.Helper()
	ctx := context.Background()
	f := &queryFixture{s: newStore(t), ids: map[string]string{}, keys: map[string]string{}}
	members := []struct {
		key string
		m   repository.Member
	}{
		{"pct", repository.Member{UserName: "a%b_c@example.com", ExternalID: "Ext_%1", Title: "Lead",
			Emails: []repository.Email{{Value: "a%b_c@example.com", Type: "work", Primary: true}, {Value: "Private@Home.test", Type: "home"}}}},
		{"plain", repository.Member{UserName: "axbyc@example.com", ExternalID: "ext-x1", Title: "lead",
			Emails: []repository.Email{{Value: "axbyc@example.com", Type: "home", Primary: true}, {Value: "axbyc@work.test", Type: "work"}}}},
		{"emile", repository.Member{UserName: "ÉMILE@Exemple.fr", DisplayName: "Émile Zola", ExternalID: "ÉXT",
			Roles: []string{"Agent", "Admin"}, Profile: repository.SupportProfile{Expertise: []string{"Façade"}}}},
		{"empty", repository.Member{UserName: "nobody@example.com"}},
	}
	for _, acct := range []*string{&f.account, &f.other} {
		a, err := f.s.CreateAccount(ctx, repository.Account{Name: fmt.Sprintf("acct-%p", acct)})
		if err != nil {
			t.Fatal(err)
		}
		*acct = a.ID
		for _, km := range members {
			m := km.m
			m.AccountID = a.ID
			got, err := f.s.CreateMember(ctx, m)
			if err != nil {
				t.Fatalf("create %s: %v", km.key, err)
			}
			if a.ID == f.account {
				f.ids[km.key] = got.ID
				f.keys[got.ID] = km.key
			}
		}
	}
	g, err := f.s.CreateGroup(ctx, repository.Group{AccountID: f.account, DisplayName: "Leads",
		Members: []repository.GroupMember{{MemberID: f.ids["pct"]}, {MemberID: f.ids["plain"]}}})
	if err != nil {
		t.Fatal(err)
	}
	f.group = g
	return f
}

func (f *queryFixture) list(t *testing.T, filter repository.Filter) []string {
	t.Helper()
	p, err := f.s.ListMembers(context.Background(), f.account, repository.Query{Filter: filter, Count: 50})
	if err != nil {
		t.Fatalf("list members: %v", err)
	}
	var out []string
	for _, m := range p.Items {
		k, ok := f.keys[m.ID]
		if !ok {
			t.Fatalf("member %s of another account listed", m.ID)
		}
		out = append(out, k)
	}
	if p.Total != len(out) {
		t.Errorf("total %d, %d items", p.Total, len(out))
	}
	slices.Sort(out)
	return out
}

func cmpf(field repository.Field, op repository.Op, v any) repository.Compare {
	return repository.Compare{Field: field, Op: op, Value: v}
}

func TestQueryOperators(t *testing.T) {
	f := newQueryFixture(t)
	const (
		eq, ne, co, sw, ew = repository.OpEq, repository.OpNe, repository.OpCo, repository.OpSw, repository.OpEw
		gt, ge, lt, le, pr = repository.OpGt, repository.OpGe, repository.OpLt, repository.OpLe, repository.OpPr
	)
	tests := []struct {
		name   string
		filter repository.Filter
		want   []string
	}{
		// LIKE wildcards in values are plain characters.
		{"co with % and _", cmpf(repository.MemberUserName, co, "%B_"), []string{"pct"}},
		{"sw with %", cmpf(repository.MemberUserName, sw, "A%"), []string{"pct"}},
		{"ew with _", cmpf(repository.MemberUserName, ew, "_C@EXAMPLE.COM"), []string{"pct"}},
		{"co with _ case-exact", cmpf(repository.MemberExternalID, co, "t_%"), []string{"pct"}},
		{"co case-exact misses other case", cmpf(repository.MemberExternalID, co, "T_%"), nil},
		{"sw case-exact", cmpf(repository.MemberExternalID, sw, "Ext"), []string{"pct"}},
		{"sw case-exact lower", cmpf(repository.MemberExternalID, sw, "ext"), []string{"plain"}},
		{"ew case-exact", cmpf(repository.MemberExternalID, ew, "X1"), nil},
		{"ew case-exact exact", cmpf(repository.MemberExternalID, ew, "x1"), []string{"plain"}},

		// Case folding beyond ASCII (NOCASE would miss these).
		{"eq folds É", cmpf(repository.MemberUserName, eq, "émile@exemple.FR"), []string{"emile"}},
		{"sw folds É", cmpf(repository.MemberUserName, sw, "émi"), []string{"emile"}},
		{"ew counts characters", cmpf(repository.MemberDisplayName, ew, "ZOLA"), []string{"emile"}},
		{"ew with a multibyte tail", cmpf(repository.MemberUserName, ew, "PLE.FR"), []string{"emile"}},
		{"co multibyte", cmpf(repository.MemberDisplayName, co, "mile z"), []string{"emile"}},
		{"case-exact É", cmpf(repository.MemberExternalID, eq, "éxt"), nil},
		{"case-exact É exact", cmpf(repository.MemberExternalID, eq, "ÉXT"), []string{"emile"}},
		{"multi-valued folds", cmpf(repository.MemberExpertise, eq, "FAÇADE"), []string{"emile"}},
		{"roles ignore case", cmpf(repository.MemberRole, eq, "admin"), []string{"emile"}},

		// Absent values.
		{"title eq is case-insensitive", cmpf(repository.MemberTitle, eq, "LEAD"), []string{"pct", "plain"}},
		{"ne matches absent", cmpf(repository.MemberTitle, ne, "lead"), []string{"emile", "empty"}},
		{"lt never matches absent", cmpf(repository.MemberTitle, lt, "z"), []string{"pct", "plain"}},
		{"ge empty matches present only", cmpf(repository.MemberTitle, ge, ""), []string{"pct", "plain"}},
		{"co empty matches present only", cmpf(repository.MemberTitle, co, ""), []string{"pct", "plain"}},
		{"pr", cmpf(repository.MemberDisplayName, pr, nil), []string{"emile"}},
		{"gt", cmpf(repository.MemberUserName, gt, "b"), []string{"emile", "empty"}},
		{"le", cmpf(repository.MemberUserName, le, "AXBYC@example.com"), []string{"pct", "plain"}},

		// Multi-valued: any element; ne is "no element equals".
		{"emails eq second element", cmpf(repository.MemberEmailValue, eq, "PRIVATE@home.test"), []string{"pct"}},
		{"emails ne", cmpf(repository.MemberEmailValue, ne, "private@home.test"), []string{"emile", "empty", "plain"}},
		{"emails pr", cmpf(repository.MemberEmailValue, pr, nil), []string{"pct", "plain"}},
		{"not emails pr", repository.Not{Filter: cmpf(repository.MemberEmailValue, pr, nil)}, []string{"emile", "empty"}},
		{"emails sw", cmpf(repository.MemberEmailValue, sw, "AXBYC@"), []string{"plain"}},
		{"emails co", cmpf(repository.MemberEmailValue, co, "%"), []string{"pct"}},
		{"emails.primary eq false", cmpf(repository.MemberEmailPrimary, eq, false), []string{"pct", "plain"}},
		{"and across elements",
			repository.And{cmpf(repository.MemberEmailType, eq, "home"), cmpf(repository.MemberEmailPrimary, eq, true)},
			[]string{"pct", "plain"}},
		{"any: one element home and primary",
			repository.Any{Attr: "emails", Filter: repository.And{cmpf(repository.MemberEmailType, eq, "home"), cmpf(repository.MemberEmailPrimary, eq, true)}},
			[]string{"plain"}},
		{"any: indexable condition plus another",
			repository.Any{Attr: "emails", Filter: repository.And{cmpf(repository.MemberEmailValue, eq, "private@home.test"), cmpf(repository.MemberEmailType, eq, "work")}},
			nil},
		{"any: or",
			repository.Any{Attr: "emails", Filter: repository.Or{cmpf(repository.MemberEmailValue, sw, "private"), cmpf(repository.MemberEmailType, eq, "nothing")}},
			[]string{"pct"}},
		{"any: not",
			repository.Any{Attr: "emails", Filter: repository.And{cmpf(repository.MemberEmailType, eq, "work"), repository.Not{Filter: cmpf(repository.MemberEmailPrimary, eq, true)}}},
			[]string{"plain"}},
		{"any: ne on an element",
			repository.Any{Attr: "emails", Filter: cmpf(repository.MemberEmailType, ne, "work")},
			[]string{"pct", "plain"}},

		// Group edges.
		{"groups.value eq", cmpf(repository.MemberGroupID, eq, f.group.ID), []string{"pct", "plain"}},
		{"groups.value ne", cmpf(repository.MemberGroupID, ne, f.group.ID), []string{"emile", "empty"}},
		{"groups and title", repository.And{cmpf(repository.MemberGroupID, eq, f.group.ID), cmpf(repository.MemberTitle, eq, "Lead")}, []string{"pct", "plain"}},

		// Times compare as instants, not strings.
		{"created after year 2000", cmpf(repository.MemberCreated, gt, time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 5*3600))), []string{"emile", "empty", "pct", "plain"}},
		{"created before year 2000", cmpf(repository.MemberCreated, lt, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)), nil},
		{"created before the far future", cmpf(repository.MemberCreated, lt, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)), []string{"emile", "empty", "pct", "plain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.list(t, tt.filter)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestQueryValuesAreBound checks that values never reach the SQL text.
func TestQueryValuesAreBound(t *testing.T) {
	evil := `x' OR 1=1 --`
	p, err := memberList.plan("acct", repository.Query{Filter: repository.Or{
		cmpf(repository.MemberUserName, repository.OpEq, evil),
		cmpf(repository.MemberEmailValue, repository.OpCo, evil),
		repository.Any{Attr: "emails", Filter: cmpf(repository.MemberEmailType, repository.OpSw, evil)},
	}, Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{p.page, p.count} {
		if strings.Contains(q, "OR 1=1") || strings.Contains(q, "acct") {
			t.Errorf("a value reached the SQL: %s", q)
		}
	}
}

func TestQueryIndexPlans(t *testing.T) {
	f := newQueryFixture(t)
	ctx := context.Background()
	// Enough rows that a scan and an index differ in cost.
	seed(t, f.s, f.account, 500)

	tests := []struct {
		name  string
		spec  *listSpec
		q     repository.Query
		index string // an index the plan must use
	}{
		{"userName eq", memberList, repository.Query{Filter: cmpf(repository.MemberUserName, repository.OpEq, "seed-000001@example.com")}, "members_user_name"},
		{"userName eq with groups", memberList, repository.Query{Filter: cmpf(repository.MemberUserName, repository.OpEq, "seed-000001@example.com"), WithGroups: true}, "group_members_member"},
		{"userName sw", memberList, repository.Query{Filter: cmpf(repository.MemberUserName, repository.OpSw, "seed-0001")}, "members_user_name"},
		{"externalId eq", memberList, repository.Query{Filter: cmpf(repository.MemberExternalID, repository.OpEq, "ext-1")}, "members_external_id"},
		{"id eq", memberList, repository.Query{Filter: cmpf(repository.MemberID, repository.OpEq, f.ids["pct"])}, "members_id"},
		{"emails.value eq", memberList, repository.Query{Filter: cmpf(repository.MemberEmailValue, repository.OpEq, "x@example.com")}, "member_emails_value"},
		{"emails.value eq inside any", memberList, repository.Query{Filter: repository.Any{Attr: "emails", Filter: repository.And{
			cmpf(repository.MemberEmailType, repository.OpEq, "work"), cmpf(repository.MemberEmailValue, repository.OpEq, "x@example.com")}}}, "member_emails_value"},
		{"roles.value eq", memberList, repository.Query{Filter: cmpf(repository.MemberRole, repository.OpEq, "agent")}, "member_roles_key"},
		{"groups.value eq", memberList, repository.Query{Filter: cmpf(repository.MemberGroupID, repository.OpEq, f.group.ID)}, "members_id"},
		{"manager.value eq", memberList, repository.Query{Filter: cmpf(repository.MemberManagerID, repository.OpEq, "m1")}, "members_manager"},
		{"pendingManagerRef eq", memberList, repository.Query{Filter: cmpf(repository.MemberPendingManagerRef, repository.OpEq, "ext")}, "members_pending_manager"},
		{"lastModified gt", memberList, repository.Query{Filter: cmpf(repository.MemberLastModified, repository.OpGt, time.Now())}, "members_updated"},
		{"sorted by userName", memberList, repository.Query{SortBy: repository.MemberUserName}, "members_user_name"},
		{"group id eq", groupList, repository.Query{Filter: cmpf(repository.GroupID, repository.OpEq, f.group.ID)}, "groups_id"},
		{"group displayName eq", groupList, repository.Query{Filter: cmpf(repository.GroupDisplayName, repository.OpEq, "leads")}, "groups_display_name"},
		{"group externalId eq", groupList, repository.Query{Filter: cmpf(repository.GroupExternalID, repository.OpEq, "x")}, "groups_external_id"},
		{"members.value eq", groupList, repository.Query{Filter: cmpf(repository.GroupMemberID, repository.OpEq, f.ids["pct"])}, "group_members_member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Count = 10
			p, err := tt.spec.plan(f.account, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			stmts := []struct {
				sql  string
				args []any
			}{{p.page, p.pageArgs}, {p.count, p.countArgs}}
			if tt.q.Filter == nil || tt.q.WithGroups {
				// The count may use any index of the account; it reads no
				// groups.
				stmts = stmts[:1]
			}
			for _, stmt := range stmts {
				// Both pools: the writer plans reads inside transactions.
				if w := strings.Join(explainOn(t, f.s.w, stmt.sql, stmt.args...), "\n"); !strings.Contains(w, tt.index) {
					t.Errorf("writer plan does not use %s:\n%s", tt.index, w)
				}
				plan := explain(t, f.s, stmt.sql, stmt.args...)
				joined := strings.Join(plan, "\n")
				for _, line := range plan {
					if strings.HasPrefix(line, "SCAN "+tt.spec.alias) || strings.HasPrefix(line, "SCAN x") || strings.HasPrefix(line, "SCAN gm") {
						t.Errorf("plan scans a table:\n%s\nfor %s", joined, stmt.sql)
					}
				}
				if !strings.Contains(joined, tt.index) {
					t.Errorf("plan does not use %s:\n%s\nfor %s", tt.index, joined, stmt.sql)
				}
			}
			if _, err := f.s.ListMembers(ctx, f.account, repository.Query{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// explain returns the EXPLAIN QUERY PLAN lines of a statement on a
// reader connection.
func explain(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	return explainOn(t, s.r, query, args...)
}

func explainOn(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(detail))
	}
	return out
}

// seed creates n members seed-000000@example.com … in one transaction.
func seed(t testing.TB, s *Store, accountID string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 5000 {
		end := min(start+5000, n)
		err := s.InTx(context.Background(), func(ctx context.Context) error {
			for i := start; i < end; i++ {
				un := fmt.Sprintf("seed-%06d@example.com", i)
				m, err := s.CreateMember(ctx, repository.Member{
					AccountID: accountID, UserName: un, ExternalID: fmt.Sprintf("ext-%d", i),
					DisplayName: fmt.Sprintf("Seed %06d", i), Active: true, Status: repository.StatusActive,
					Emails: []repository.Email{{Value: un, Type: "work", Primary: true}},
					Roles:  []string{"agent"},
				})
				if err != nil {
					return err
				}
				ids = append(ids, m.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("seed members: %v", err)
		}
	}
	return ids
}
