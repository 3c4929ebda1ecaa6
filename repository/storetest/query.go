package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"QueryMembers", testQueryMembers},
		testCase{"QueryGroups", testQueryGroups},
		testCase{"QueryInvalid", testQueryInvalid},
		testCase{"QuerySort", testQuerySort},
	)
}

// queryFixture is a small account whose members differ in every queried
// attribute. Its twin account holds the same members (same userNames,
// externalIds, emails, groups), so every query also checks tenancy.
type queryFixture struct {
	account repository.Account
	// byKey maps a short key (alice, bob, …) to the member.
	byKey map[string]repository.Member
	// keyOf maps a member id back to its key.
	keyOf        map[string]string
	tier1, tier2 repository.Group
	empty        repository.Group
}

// fixtureMembers returns the members of a query fixture in creation order:
//
//	key    userName               externalId  active  emails (type, primary)                         roles
//	alice  alice@example.com      EXT-Alice   true    alice@example.com (work,p) Alice.Home@Mail.test (home)  agent admin
//	bob    Bob.Smith@Example.com  ext-bob     false   bob@corp.test (home) bob.work@example.com (work,p)       agent
//	carol  carol@example.org      (none)      true    carol@example.org (work,p)                       supervisor
//	dave   dave@sample.net        ext-dave    true    (none)                                           (none)
//	erin   erin@example.com       ext-erin    true    erin@corp.test (work) erin@home.test (home,p)     analyst
func fixtureMembers(accountID string) []struct {
	key string
	m   repository.Member
} {
	type km = struct {
		key string
		m   repository.Member
	}
	return []km{
		{"alice", repository.Member{
			AccountID: accountID, UserName: "alice@example.com", ExternalID: "EXT-Alice",
			DisplayName: "Alice Liddell", NickName: "ali", Title: "Engineer", UserType: "Employee",
			Name:   repository.Name{GivenName: "Alice", FamilyName: "Liddell", Formatted: "Alice Liddell"},
			Active: true, Status: repository.StatusActive, Source: repository.SourceSCIM,
			EmployeeNumber: "1001", Department: "Support", Organization: "Acme",
			Emails: []repository.Email{
				{Value: "alice@example.com", Type: "work", Primary: true},
				{Value: "Alice.Home@Mail.test", Type: "home"},
			},
			PhoneNumbers: []repository.PhoneNumber{{Value: "+1 555 0100", Type: "work"}},
			Roles:        []string{"agent", "admin"},
			Profile: repository.SupportProfile{
				Expertise: []string{"billing", "returns"}, Channels: []string{"chat", "email"},
				CanManageTeams: true, EmploymentStatus: "full_time",
			},
			SeatStatus: repository.SeatAssigned,
		}},
		{"bob", repository.Member{
			AccountID: accountID, UserName: "Bob.Smith@Example.com", ExternalID: "ext-bob",
			DisplayName: "Bob Smith", Title: "Manager", UserType: "Contractor",
			Name:   repository.Name{GivenName: "Bob", FamilyName: "smith"},
			Active: false, Status: repository.StatusDeactivated, Source: repository.SourceAdmin,
			EmployeeNumber: "1002", Department: "Sales",
			Emails: []repository.Email{
				{Value: "bob@corp.test", Type: "home"},
				{Value: "bob.work@example.com", Type: "work", Primary: true},
			},
			PhoneNumbers: []repository.PhoneNumber{{Value: "+44 20 7946 0000", Type: "mobile"}},
			Roles:        []string{"agent"},
			Profile:      repository.SupportProfile{Expertise: []string{"sales"}, Channels: []string{"voice"}, EmploymentStatus: "part_time"},
			SeatStatus:   repository.SeatNone,
		}},
		{"carol", repository.Member{
			AccountID: accountID, UserName: "carol@example.org",
			DisplayName: "Carol",
			Name:        repository.Name{GivenName: "Carol", FamilyName: "Jones"},
			Active:      true, Status: repository.StatusActive, Source: repository.SourceJIT,
			Department: "Support",
			Emails:     []repository.Email{{Value: "carol@example.org", Type: "work", Primary: true}},
			Roles:      []string{"supervisor"},
			Profile:    repository.SupportProfile{ExternalSSO: true, Channels: []string{"chat"}, EmploymentStatus: "temp"},
			SeatStatus: repository.SeatQueued,
		}},
		{"dave", repository.Member{
			AccountID: accountID, UserName: "dave@sample.net", ExternalID: "ext-dave",
			DisplayName: "Dave", Title: "Engineer",
			Name:   repository.Name{GivenName: "Dave", FamilyName: "Brown"},
			Active: true, Status: repository.StatusInvited, Source: repository.SourceInvitation,
			PendingManagerRef: "EXT-Boss",
			SeatStatus:        repository.SeatNone,
		}},
		{"erin", repository.Member{
			AccountID: accountID, UserName: "erin@example.com", ExternalID: "ext-erin",
			DisplayName: "Erin", Title: "Analyst",
			Name:   repository.Name{GivenName: "Erin", FamilyName: "Smith"},
			Active: true, Status: repository.StatusActive, Source: repository.SourceSCIM,
			Department: "Support",
			Emails: []repository.Email{
				{Value: "erin@corp.test", Type: "work"},
				{Value: "erin@home.test", Type: "home", Primary: true},
			},
			Roles:      []string{"analyst"},
			Profile:    repository.SupportProfile{Channels: []string{"email"}},
			SeatStatus: repository.SeatNone,
		}},
	}
}

// newQueryFixture creates the fixture members (a few milliseconds apart,
// so meta.created differs at the stored precision) and three groups:
// Tier 1 {alice, bob}, Tier 2 {bob, carol} and Empty. Bob's manager is
// alice.
func newQueryFixture(t *testing.T, s repository.Store) queryFixture {
	t.Helper()
	ctx := t.Context()
	f := queryFixture{account: newAccount(t, s), byKey: map[string]repository.Member{}, keyOf: map[string]string{}}
	for _, km := range fixtureMembers(f.account.ID) {
		m := km.m
		m.ID = repository.NewID()
		if km.key == "bob" {
			m.ManagerID = f.byKey["alice"].ID
		}
		_, err := s.CreateMember(ctx, m)
		must(t, err, "create fixture member %s", km.key)
		// Read back what the store keeps, so time comparisons use stored
		// values.
		got, err := s.GetMember(ctx, f.account.ID, m.ID)
		must(t, err, "get fixture member %s", km.key)
		f.byKey[km.key] = got
		f.keyOf[got.ID] = km.key
		time.Sleep(3 * time.Millisecond)
	}
	mkGroup := func(name, ext string, keys ...string) repository.Group {
		time.Sleep(3 * time.Millisecond) // distinct meta.created
		var ids []string
		for _, k := range keys {
			ids = append(ids, f.byKey[k].ID)
		}
		g := newGroup(t, s, f.account.ID, name, ids...)
		if ext != "" {
			var err error
			g, err = s.UpdateGroup(ctx, f.account.ID, g.ID, func(g repository.Group) (repository.Group, error) {
				g.ExternalID = ext
				return g, nil
			})
			must(t, err, "set externalId of group %s", name)
		}
		g, err := s.GetGroup(ctx, f.account.ID, g.ID, false) // stored times
		must(t, err, "get fixture group %s", name)
		return g
	}
	f.tier1 = mkGroup("Tier 1 Support", "g-ext-1", "alice", "bob")
	f.tier2 = mkGroup("Tier 2 Support", "", "bob", "carol")
	f.empty = mkGroup("Empty Team", "")
	return f
}

// keys lists the fixture keys of ms, checking each belongs to f's account.
func (f queryFixture) keys(t *testing.T, ms []repository.Member) []string {
	t.Helper()
	var out []string
	for _, m := range ms {
		k, ok := f.keyOf[m.ID]
		if !ok || m.AccountID != f.account.ID {
			t.Errorf("member %s (%s) of account %s is not a member of account %s", m.ID, m.UserName, m.AccountID, f.account.ID)
			k = "?" + m.UserName
		}
		out = append(out, k)
	}
	return out
}

// cmp builds a Compare.
func cmp(field repository.Field, op repository.Op, value any) repository.Compare {
	return repository.Compare{Field: field, Op: op, Value: value}
}

func testQueryMembers(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	a := newQueryFixture(t, s)
	b := newQueryFixture(t, s) // the twin: identical data, other account
	m := a.byKey
	created := m["bob"].CreatedAt

	// An id with a letter, so changing its case changes it (a UUID
	// without one among five is a one in 10^29 chance).
	lettered := "alice"
	for _, k := range []string{"alice", "bob", "carol", "dave", "erin"} {
		if id := m[k].ID; strings.ToUpper(id) != id {
			lettered = k
			break
		}
	}

	const (
		eq, ne, co, sw, ew = repository.OpEq, repository.OpNe, repository.OpCo, repository.OpSw, repository.OpEw
		gt, ge, lt, le, pr = repository.OpGt, repository.OpGe, repository.OpLt, repository.OpLe, repository.OpPr
	)
	type row struct {
		name   string
		filter repository.Filter
		want   []string
		// needs names a feature the row needs.
		needs Feature
	}
	rows := []row{
		// userName is caseExact=false: every operator ignores case.
		{"userName eq other case", cmp(repository.MemberUserName, eq, "ALICE@EXAMPLE.COM"), []string{"alice"}, ""},
		{"userName eq stored mixed case", cmp(repository.MemberUserName, eq, "bob.smith@example.com"), []string{"bob"}, ""},
		{"userName ne", cmp(repository.MemberUserName, ne, "Alice@Example.com"), []string{"bob", "carol", "dave", "erin"}, ""},
		{"userName co", cmp(repository.MemberUserName, co, "EXAMPLE"), []string{"alice", "bob", "carol", "erin"}, ""},
		{"userName sw", cmp(repository.MemberUserName, sw, "b"), []string{"bob"}, ""},
		{"userName ew", cmp(repository.MemberUserName, ew, ".COM"), []string{"alice", "bob", "erin"}, ""},
		{"userName gt ignores case", cmp(repository.MemberUserName, gt, "C"), []string{"carol", "dave", "erin"}, ""},
		{"userName ge", cmp(repository.MemberUserName, ge, "CAROL@example.org"), []string{"carol", "dave", "erin"}, ""},
		{"userName lt ignores case", cmp(repository.MemberUserName, lt, "CAROL"), []string{"alice", "bob"}, ""},
		{"userName le", cmp(repository.MemberUserName, le, "bob.smith@example.com"), []string{"alice", "bob"}, ""},
		{"userName pr", cmp(repository.MemberUserName, pr, nil), []string{"alice", "bob", "carol", "dave", "erin"}, ""},

		// externalId and id are caseExact.
		{"externalId eq", cmp(repository.MemberExternalID, eq, "ext-bob"), []string{"bob"}, ""},
		{"externalId eq other case finds nothing", cmp(repository.MemberExternalID, eq, "EXT-BOB"), nil, ""},
		{"externalId eq exact case", cmp(repository.MemberExternalID, eq, "EXT-Alice"), []string{"alice"}, ""},
		{"externalId eq lower case finds nothing", cmp(repository.MemberExternalID, eq, "ext-alice"), nil, ""},
		{"externalId ne", cmp(repository.MemberExternalID, ne, "ext-bob"), []string{"alice", "carol", "dave", "erin"}, ""},
		{"externalId sw is case-exact", cmp(repository.MemberExternalID, sw, "ext-"), []string{"bob", "dave", "erin"}, ""},
		{"externalId co", cmp(repository.MemberExternalID, co, "Ali"), []string{"alice"}, ""},
		{"externalId co other case finds nothing", cmp(repository.MemberExternalID, co, "ali"), nil, ""},
		{"externalId ew", cmp(repository.MemberExternalID, ew, "-erin"), []string{"erin"}, ""},
		{"externalId gt is case-exact", cmp(repository.MemberExternalID, gt, "ext-c"), []string{"dave", "erin"}, ""},
		{"externalId ge", cmp(repository.MemberExternalID, ge, "ext-dave"), []string{"dave", "erin"}, ""},
		{"externalId lt", cmp(repository.MemberExternalID, lt, "ext-c"), []string{"alice", "bob"}, ""},
		{"externalId le", cmp(repository.MemberExternalID, le, "ext-bob"), []string{"alice", "bob"}, ""},
		{"externalId pr", cmp(repository.MemberExternalID, pr, nil), []string{"alice", "bob", "dave", "erin"}, ""},
		{"id eq", cmp(repository.MemberID, eq, m["carol"].ID), []string{"carol"}, ""},
		{"id eq other case finds nothing", cmp(repository.MemberID, eq, strings.ToUpper(m[lettered].ID)), nil, ""},
		{"id eq another account's member", cmp(repository.MemberID, eq, b.byKey["carol"].ID), nil, ""},

		// Other single-valued strings, all caseExact=false.
		{"displayName sw", cmp(repository.MemberDisplayName, sw, "BOB"), []string{"bob"}, ""},
		{"name.familyName eq", cmp(repository.MemberFamilyName, eq, "SMITH"), []string{"bob", "erin"}, ""},
		{"name.givenName pr", cmp(repository.MemberGivenName, pr, nil), []string{"alice", "bob", "carol", "dave", "erin"}, ""},
		{"name.formatted co", cmp(repository.MemberFormattedName, co, "liddell"), []string{"alice"}, ""},
		{"nickName pr", cmp(repository.MemberNickName, pr, nil), []string{"alice"}, ""},
		{"title eq", cmp(repository.MemberTitle, eq, "engineer"), []string{"alice", "dave"}, ""},
		{"title pr", cmp(repository.MemberTitle, pr, nil), []string{"alice", "bob", "dave", "erin"}, ""},
		{"userType eq", cmp(repository.MemberUserType, eq, "contractor"), []string{"bob"}, ""},
		{"department eq", cmp(repository.MemberDepartment, eq, "support"), []string{"alice", "carol", "erin"}, ""},
		{"organization eq", cmp(repository.MemberOrganization, eq, "ACME"), []string{"alice"}, ""},
		{"employeeNumber gt", cmp(repository.MemberEmployeeNumber, gt, "1001"), []string{"bob"}, ""},
		{"employmentStatus eq", cmp(repository.MemberEmploymentStatus, eq, "PART_TIME"), []string{"bob"}, ""},
		{"status eq", cmp(repository.MemberStatus, eq, repository.StatusInvited), []string{"dave"}, ""},
		{"source eq", cmp(repository.MemberSource, eq, repository.SourceJIT), []string{"carol"}, ""},
		{"seatStatus eq", cmp(repository.MemberSeatStatus, eq, repository.SeatQueued), []string{"carol"}, ""},
		{"manager.value eq", cmp(repository.MemberManagerID, eq, m["alice"].ID), []string{"bob"}, ""},
		{"manager.value pr", cmp(repository.MemberManagerID, pr, nil), []string{"bob"}, ""},
		{"pendingManagerRef eq", cmp(repository.MemberPendingManagerRef, eq, "EXT-Boss"), []string{"dave"}, ""},
		{"pendingManagerRef eq other case finds nothing", cmp(repository.MemberPendingManagerRef, eq, "ext-boss"), nil, ""},

		// Booleans.
		{"active eq false", cmp(repository.MemberActive, eq, false), []string{"bob"}, ""},
		{"active eq true", cmp(repository.MemberActive, eq, true), []string{"alice", "carol", "dave", "erin"}, ""},
		{"active ne true", cmp(repository.MemberActive, ne, true), []string{"bob"}, ""},
		{"canManageTeams eq true", cmp(repository.MemberCanManageTeams, eq, true), []string{"alice"}, ""},
		{"externalSso eq true", cmp(repository.MemberExternalSSO, eq, true), []string{"carol"}, ""},

		// Times: bob's stored creation time is the pivot.
		{"meta.created gt", cmp(repository.MemberCreated, gt, created), []string{"carol", "dave", "erin"}, ""},
		{"meta.created ge", cmp(repository.MemberCreated, ge, created), []string{"bob", "carol", "dave", "erin"}, ""},
		{"meta.created lt", cmp(repository.MemberCreated, lt, created), []string{"alice"}, ""},
		{"meta.created le", cmp(repository.MemberCreated, le, created), []string{"alice", "bob"}, ""},
		{"meta.created eq", cmp(repository.MemberCreated, eq, created), []string{"bob"}, ""},
		{"meta.created ne", cmp(repository.MemberCreated, ne, created), []string{"alice", "carol", "dave", "erin"}, ""},
		{"meta.created eq in another zone", cmp(repository.MemberCreated, eq, created.In(time.FixedZone("PST", -8*3600))), []string{"bob"}, ""},
		{"meta.lastModified pr", cmp(repository.MemberLastModified, pr, nil), []string{"alice", "bob", "carol", "dave", "erin"}, ""},

		// Multi-valued: any element matches; ne means no element equals.
		{"emails.value eq second email", cmp(repository.MemberEmailValue, eq, "BOB.WORK@example.com"), []string{"bob"}, ""},
		{"emails.value eq ignores case", cmp(repository.MemberEmailValue, eq, "alice.home@mail.test"), []string{"alice"}, ""},
		{"emails.value ne", cmp(repository.MemberEmailValue, ne, "ALICE@example.com"), []string{"bob", "carol", "dave", "erin"}, ""},
		{"emails.value co", cmp(repository.MemberEmailValue, co, "CORP"), []string{"bob", "erin"}, ""},
		{"emails.value sw", cmp(repository.MemberEmailValue, sw, "Erin@"), []string{"erin"}, ""},
		{"emails.value ew", cmp(repository.MemberEmailValue, ew, ".ORG"), []string{"carol"}, ""},
		{"emails.value gt", cmp(repository.MemberEmailValue, gt, "D"), []string{"erin"}, ""},
		{"emails.value lt", cmp(repository.MemberEmailValue, lt, "b"), []string{"alice"}, ""},
		{"emails.value pr", cmp(repository.MemberEmailValue, pr, nil), []string{"alice", "bob", "carol", "erin"}, ""},
		{"emails.type eq", cmp(repository.MemberEmailType, eq, "home"), []string{"alice", "bob", "erin"}, ""},
		{"emails.primary eq true", cmp(repository.MemberEmailPrimary, eq, true), []string{"alice", "bob", "carol", "erin"}, ""},
		{"emails.primary eq false", cmp(repository.MemberEmailPrimary, eq, false), []string{"alice", "bob", "erin"}, ""},
		{"phoneNumbers.type eq", cmp(repository.MemberPhoneType, eq, "mobile"), []string{"bob"}, ""},
		{"phoneNumbers.value sw", cmp(repository.MemberPhoneValue, sw, "+1"), []string{"alice"}, ""},
		{"roles.value eq", cmp(repository.MemberRole, eq, "agent"), []string{"alice", "bob"}, ""},
		{"roles.value eq ignores case", cmp(repository.MemberRole, eq, "AGENT"), []string{"alice", "bob"}, ""},
		{"roles.value ne", cmp(repository.MemberRole, ne, "agent"), []string{"carol", "dave", "erin"}, ""},
		{"roles.value pr", cmp(repository.MemberRole, pr, nil), []string{"alice", "bob", "carol", "erin"}, ""},
		{"expertise eq", cmp(repository.MemberExpertise, eq, "returns"), []string{"alice"}, ""},
		{"channels eq", cmp(repository.MemberChannel, eq, "email"), []string{"alice", "erin"}, ""},
		{"channels eq chat", cmp(repository.MemberChannel, eq, "chat"), []string{"alice", "carol"}, ""},

		// Group membership, through edges.
		{"groups.value eq", cmp(repository.MemberGroupID, eq, a.tier1.ID), []string{"alice", "bob"}, ""},
		{"groups.value eq other group", cmp(repository.MemberGroupID, eq, a.tier2.ID), []string{"bob", "carol"}, ""},
		{"groups.value eq empty group", cmp(repository.MemberGroupID, eq, a.empty.ID), nil, ""},
		{"groups.value eq another account's group", cmp(repository.MemberGroupID, eq, b.tier1.ID), nil, ""},
		{"groups.value ne", cmp(repository.MemberGroupID, ne, a.tier1.ID), []string{"carol", "dave", "erin"}, ""},
		{"groups.value pr", cmp(repository.MemberGroupID, pr, nil), []string{"alice", "bob", "carol"}, ""},
		{"not groups.value pr", repository.Not{Filter: cmp(repository.MemberGroupID, pr, nil)}, []string{"dave", "erin"}, ""},

		// Logic.
		{"and", repository.And{cmp(repository.MemberTitle, eq, "Engineer"), cmp(repository.MemberActive, eq, true)}, []string{"alice", "dave"}, ""},
		{"or", repository.Or{cmp(repository.MemberUserName, sw, "a"), cmp(repository.MemberUserName, sw, "E")}, []string{"alice", "erin"}, ""},
		{"not includes empty values", repository.Not{Filter: cmp(repository.MemberDepartment, eq, "support")}, []string{"bob", "dave"}, ""},
		{"not over multi-valued", repository.Not{Filter: cmp(repository.MemberEmailValue, co, "example")}, []string{"dave", "erin"}, ""},
		{"not not", repository.Not{Filter: repository.Not{Filter: cmp(repository.MemberUserName, eq, "alice@example.com")}}, []string{"alice"}, ""},
		{"and of or and not", repository.And{
			repository.Or{cmp(repository.MemberDepartment, eq, "support"), cmp(repository.MemberDepartment, eq, "sales")},
			repository.Not{Filter: cmp(repository.MemberActive, eq, false)},
		}, []string{"alice", "carol", "erin"}, ""},
		{"or of and", repository.Or{
			repository.And{cmp(repository.MemberRole, eq, "agent"), cmp(repository.MemberActive, eq, false)},
			cmp(repository.MemberExternalSSO, eq, true),
		}, []string{"bob", "carol"}, ""},
		{"and over one multi-valued attribute matches across elements",
			repository.And{cmp(repository.MemberEmailType, eq, "work"), cmp(repository.MemberEmailValue, ew, "@home.test")},
			[]string{"erin"}, ""},
		{"and over two multi-valued attributes", repository.And{cmp(repository.MemberRole, eq, "agent"), cmp(repository.MemberChannel, eq, "voice")}, []string{"bob"}, ""},
		{"or with groups", repository.Or{cmp(repository.MemberGroupID, eq, a.tier2.ID), cmp(repository.MemberUserName, eq, "dave@sample.net")}, []string{"bob", "carol", "dave"}, ""},
		{"not and", repository.Not{Filter: repository.And{cmp(repository.MemberGroupID, eq, a.tier1.ID), cmp(repository.MemberActive, eq, true)}}, []string{"bob", "carol", "dave", "erin"}, ""},

		// Value filters: every condition on the same element.
		{"any: conditions on different elements do not match",
			repository.Any{Attr: "emails", Filter: repository.And{cmp(repository.MemberEmailType, eq, "work"), cmp(repository.MemberEmailValue, ew, "@home.test")}},
			nil, ElemMatch},
		{"any: conditions on one element",
			repository.Any{Attr: "emails", Filter: repository.And{cmp(repository.MemberEmailType, eq, "home"), cmp(repository.MemberEmailValue, ew, "@HOME.test")}},
			[]string{"erin"}, ElemMatch},
		{"any: work and primary",
			repository.Any{Attr: "emails", Filter: repository.And{cmp(repository.MemberEmailType, eq, "work"), cmp(repository.MemberEmailPrimary, eq, true)}},
			[]string{"alice", "bob", "carol"}, ElemMatch},
		{"any: home and primary",
			repository.Any{Attr: "emails", Filter: repository.And{cmp(repository.MemberEmailType, eq, "home"), cmp(repository.MemberEmailPrimary, eq, true)}},
			[]string{"erin"}, ElemMatch},
		{"and without any: home and primary on different elements",
			repository.And{cmp(repository.MemberEmailType, eq, "home"), cmp(repository.MemberEmailPrimary, eq, true)},
			[]string{"alice", "bob", "erin"}, ""},
		{"any: or inside",
			repository.Any{Attr: "emails", Filter: repository.Or{cmp(repository.MemberEmailValue, eq, "carol@example.org"), cmp(repository.MemberEmailType, eq, "other")}},
			[]string{"carol"}, ElemMatch},
		{"any: not inside",
			repository.Any{Attr: "emails", Filter: repository.And{cmp(repository.MemberEmailType, eq, "work"), repository.Not{Filter: cmp(repository.MemberEmailPrimary, eq, true)}}},
			[]string{"erin"}, ElemMatch},
		{"any combined with a plain comparison",
			repository.And{
				repository.Any{Attr: "emails", Filter: repository.And{cmp(repository.MemberEmailType, eq, "work"), cmp(repository.MemberEmailValue, co, "example")}},
				cmp(repository.MemberActive, eq, true),
			},
			[]string{"alice", "carol"}, ElemMatch},
	}

	// What the same query finds in the twin account B, where it differs
	// from account A: ids of A name nothing in B, and B was created after
	// A, so all of it is newer than bob of A.
	all := []string{"alice", "bob", "carol", "dave", "erin"}
	inTwin := map[string][]string{
		"id eq":                                   nil,
		"id eq other case finds nothing":          nil,
		"id eq another account's member":          {"carol"},
		"manager.value eq":                        nil,
		"groups.value eq":                         nil,
		"groups.value eq other group":             nil,
		"groups.value eq another account's group": {"alice", "bob"},
		"groups.value ne":                         all,
		"or with groups":                          {"dave"},
		"not and":                                 all,
		"meta.created gt":                         all,
		"meta.created ge":                         all,
		"meta.created lt":                         nil,
		"meta.created le":                         nil,
		"meta.created eq":                         nil,
		"meta.created ne":                         all,
		"meta.created eq in another zone":         nil,
	}

	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if r.needs != "" {
				c.needs(t, r.needs)
			}
			q := repository.Query{Filter: r.filter, Count: 100}
			pa, err := s.ListMembers(ctx, a.account.ID, q)
			must(t, err, "list members of account A")
			expectSet(t, a.keys(t, pa.Items), r.want, "members of account A matching %s", r.name)
			expect(t, pa.Total, len(r.want), "total of account A")

			pb, err := s.ListMembers(ctx, b.account.ID, q)
			must(t, err, "list members of account B")
			got := b.keys(t, pb.Items)
			want, ok := inTwin[r.name]
			if !ok {
				want = r.want
			}
			expectSet(t, got, want, "members of the twin account B matching %s (with account A's ids)", r.name)
		})
	}

	t.Run("Count0ReturnsTotal", func(t *testing.T) {
		p := listMembers(t, s, a.account.ID, repository.Query{Filter: cmp(repository.MemberActive, eq, true)})
		expect(t, len(p.Items), 0, "items with Count 0")
		expect(t, p.Total, 4, "total with Count 0")
	})

	t.Run("NilFilterSelectsAccount", func(t *testing.T) {
		p := listMembers(t, s, a.account.ID, repository.Query{Count: 100})
		expectSet(t, a.keys(t, p.Items), []string{"alice", "bob", "carol", "dave", "erin"}, "members with no filter")
		// Creation order when no sort is asked for.
		expectSeq(t, a.keys(t, p.Items), []string{"alice", "bob", "carol", "dave", "erin"}, "default order (creation)")
	})
}

func testQueryGroups(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	a := newQueryFixture(t, s)
	b := newQueryFixture(t, s)
	groupKey := map[string]string{a.tier1.ID: "tier1", a.tier2.ID: "tier2", a.empty.ID: "empty"}
	m := a.byKey
	eq, ne, co, pr, gt := repository.OpEq, repository.OpNe, repository.OpCo, repository.OpPr, repository.OpGt
	tests := []struct {
		name   string
		filter repository.Filter
		want   []string
	}{
		{"members.value eq", cmp(repository.GroupMemberID, eq, m["bob"].ID), []string{"tier1", "tier2"}},
		{"members.value eq one group", cmp(repository.GroupMemberID, eq, m["alice"].ID), []string{"tier1"}},
		{"members.value eq no group", cmp(repository.GroupMemberID, eq, m["dave"].ID), nil},
		{"members.value eq another account's member", cmp(repository.GroupMemberID, eq, b.byKey["bob"].ID), nil},
		{"members.value ne", cmp(repository.GroupMemberID, ne, m["alice"].ID), []string{"tier2", "empty"}},
		{"members.value pr", cmp(repository.GroupMemberID, pr, nil), []string{"tier1", "tier2"}},
		{"not members.value pr", repository.Not{Filter: cmp(repository.GroupMemberID, pr, nil)}, []string{"empty"}},
		{"displayName eq ignores case", cmp(repository.GroupDisplayName, eq, "tier 1 SUPPORT"), []string{"tier1"}},
		{"displayName co", cmp(repository.GroupDisplayName, co, "SUPPORT"), []string{"tier1", "tier2"}},
		{"displayName gt", cmp(repository.GroupDisplayName, gt, "t"), []string{"tier1", "tier2"}},
		{"externalId eq", cmp(repository.GroupExternalID, eq, "g-ext-1"), []string{"tier1"}},
		{"externalId eq other case finds nothing", cmp(repository.GroupExternalID, eq, "G-EXT-1"), nil},
		{"externalId pr", cmp(repository.GroupExternalID, pr, nil), []string{"tier1"}},
		{"id eq", cmp(repository.GroupID, eq, a.tier2.ID), []string{"tier2"}},
		{"id eq another account's group", cmp(repository.GroupID, eq, b.tier2.ID), nil},
		{"meta.created ge", cmp(repository.GroupCreated, repository.OpGe, a.tier2.CreatedAt), []string{"tier2", "empty"}},
		{"and members", repository.And{cmp(repository.GroupMemberID, eq, m["bob"].ID), cmp(repository.GroupMemberID, eq, m["carol"].ID)}, []string{"tier2"}},
		{"or members", repository.Or{cmp(repository.GroupMemberID, eq, m["alice"].ID), cmp(repository.GroupMemberID, eq, m["carol"].ID)}, []string{"tier1", "tier2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.ListGroups(ctx, a.account.ID, repository.Query{Filter: tt.filter, Count: 100}, false)
			must(t, err, "list groups")
			var got []string
			for _, g := range p.Items {
				k, ok := groupKey[g.ID]
				if !ok || g.AccountID != a.account.ID {
					t.Errorf("group %s (%s) of account %s listed for account %s", g.ID, g.DisplayName, g.AccountID, a.account.ID)
				}
				got = append(got, k)
			}
			expectSet(t, got, tt.want, "groups matching %s", tt.name)
			expect(t, p.Total, len(tt.want), "total groups matching %s", tt.name)
		})
	}
}

func testQueryInvalid(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	newMember(t, s, acct.ID, "someone@example.com")
	newGroup(t, s, acct.ID, "Some group")
	now := time.Now()
	tests := []struct {
		name string
		q    repository.Query
	}{
		{"unknown field", repository.Query{Filter: cmp("favouriteColour", repository.OpEq, "blue")}},
		{"group field on members", repository.Query{Filter: cmp("members.value", repository.OpEq, "x")}},
		{"number for a string", repository.Query{Filter: cmp(repository.MemberUserName, repository.OpEq, 5)}},
		{"string for a boolean", repository.Query{Filter: cmp(repository.MemberActive, repository.OpEq, "true")}},
		{"string for a time", repository.Query{Filter: cmp(repository.MemberCreated, repository.OpGt, "2024-01-01T00:00:00Z")}},
		{"gt on a boolean", repository.Query{Filter: cmp(repository.MemberActive, repository.OpGt, true)}},
		{"co on a boolean", repository.Query{Filter: cmp(repository.MemberEmailPrimary, repository.OpCo, true)}},
		{"co on a time", repository.Query{Filter: cmp(repository.MemberCreated, repository.OpCo, now)}},
		{"unknown operator", repository.Query{Filter: cmp(repository.MemberUserName, "regex", ".*")}},
		{"pr with a value", repository.Query{Filter: cmp(repository.MemberUserName, repository.OpPr, "x")}},
		{"nil value for eq", repository.Query{Filter: cmp(repository.MemberUserName, repository.OpEq, nil)}},
		{"empty and", repository.Query{Filter: repository.And{}}},
		{"not without filter", repository.Query{Filter: repository.Not{}}},
		{"any over the wrong attribute", repository.Query{Filter: repository.Any{Attr: "emails", Filter: cmp(repository.MemberUserName, repository.OpEq, "x")}}},
		{"invalid compare deep inside", repository.Query{Filter: repository.Or{
			cmp(repository.MemberUserName, repository.OpEq, "x"),
			repository.And{cmp(repository.MemberActive, repository.OpEq, true), repository.Not{Filter: cmp("nosuch", repository.OpPr, nil)}},
		}}},
		{"sort by a field that is not sortable", repository.Query{SortBy: repository.MemberTitle}},
		{"sort by an unknown field", repository.Query{SortBy: "nosuch"}},
		{"negative count", repository.Query{Count: -1}},
		{"malformed cursor", repository.Query{Count: 10, Cursor: "%%% not a cursor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			if q.Count == 0 {
				q.Count = 10
			}
			_, err := s.ListMembers(ctx, acct.ID, q)
			mustIs(t, err, repository.ErrInvalidQuery, "list members with %s", tt.name)
		})
	}
	t.Run("groups", func(t *testing.T) {
		for _, q := range []repository.Query{
			{Filter: cmp(repository.MemberUserName, repository.OpEq, "x"), Count: 10},
			{Filter: cmp(repository.GroupDisplayName, repository.OpEq, true), Count: 10},
			{SortBy: repository.GroupRoleKey, Count: 10},
			{Count: 10, Cursor: "%%%"},
		} {
			_, err := s.ListGroups(ctx, acct.ID, q, false)
			mustIs(t, err, repository.ErrInvalidQuery, "list groups with %+v", q)
		}
	})
}

// testQuerySort checks ordering: caseExact=false fields sort ignoring case,
// ties break by id, and desc reverses.
func testQuerySort(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	f := newQueryFixture(t, s)
	list := func(q repository.Query) []string {
		t.Helper()
		q.Count = 100
		p, err := s.ListMembers(ctx, f.account.ID, q)
		must(t, err, "list members sorted by %s desc=%v", q.SortBy, q.SortDesc)
		return f.keys(t, p.Items)
	}
	all := []string{"alice", "bob", "carol", "dave", "erin"}

	// Bob.Smith sorts second: a binary sort would put it first.
	expectSeq(t, list(repository.Query{SortBy: repository.MemberUserName}), all, "sorted by userName ignoring case")
	expectSeq(t, list(repository.Query{SortBy: repository.MemberUserName, SortDesc: true}), reversed(all), "sorted by userName desc")
	expectSeq(t, list(repository.Query{SortBy: repository.MemberCreated}), all, "sorted by meta.created")
	expectSeq(t, list(repository.Query{SortBy: repository.MemberCreated, SortDesc: true}), reversed(all), "sorted by meta.created desc")
	expectSeq(t, list(repository.Query{SortBy: repository.MemberID}), keysByID(f, all), "sorted by id")
	expectSeq(t, list(repository.Query{
		SortBy: repository.MemberExternalID,
		Filter: cmp(repository.MemberExternalID, repository.OpPr, nil),
	}), []string{"alice", "bob", "dave", "erin"}, "sorted by externalId")

	// familyName: Brown, Jones, Liddell, then "smith" (bob) and "Smith"
	// (erin) tie ignoring case and break by id.
	tie := keysByID(f, []string{"bob", "erin"})
	expectSeq(t, list(repository.Query{SortBy: repository.MemberFamilyName}),
		append([]string{"dave", "carol", "alice"}, tie...), "sorted by familyName, ties by id")
	desc := list(repository.Query{SortBy: repository.MemberFamilyName, SortDesc: true})
	if len(desc) == 5 {
		expectSet(t, desc[:2], []string{"bob", "erin"}, "the tied familyNames first in desc order")
		expectSeq(t, desc[2:], []string{"alice", "carol", "dave"}, "sorted by familyName desc after the tie")
	} else {
		t.Errorf("sorted by familyName desc: %v", desc)
	}

	// Sorting does not change what matches.
	expectSeq(t, list(repository.Query{
		SortBy: repository.MemberUserName, SortDesc: true,
		Filter: cmp(repository.MemberDepartment, repository.OpEq, "Support"),
	}), []string{"erin", "carol", "alice"}, "filtered and sorted by userName desc")
}

func reversed(ss []string) []string {
	out := slices.Clone(ss)
	slices.Reverse(out)
	return out
}

// keysByID orders fixture keys by their member ids.
func keysByID(f queryFixture, keys []string) []string {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(f.byKey[a].ID, f.byKey[b].ID) })
	return out
}
