package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

// This file holds the suite's small assertion helpers and fixtures. The
// suite uses no assertion library: each helper states what it compared so
// a failure on a backend reads without opening the suite.

// register adds cases to the suite; every file calls it from init.
func register(cs ...testCase) { cases = append(cases, cs...) }

// must stops the test when err is not nil.
func must(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", fmt.Sprintf(format, args...), err)
	}
}

// mustIs stops the test unless errors.Is(err, target).
func mustIs(t testing.TB, err, target error, format string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", fmt.Sprintf(format, args...), errOrNil(err), target)
	}
}

// mustConflict stops the test unless err is a *repository.ConflictError on
// attribute.
func mustConflict(t testing.TB, err error, attribute string, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	var ce *repository.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: got error %v, want *repository.ConflictError on %q", what, errOrNil(err), attribute)
	}
	if ce.Attribute != attribute {
		t.Fatalf("%s: conflict on %q, want %q (error: %v)", what, ce.Attribute, attribute, err)
	}
	if !errors.Is(err, repository.ErrConflict) {
		t.Fatalf("%s: errors.Is(err, ErrConflict) is false for %v", what, err)
	}
}

func errOrNil(err error) string {
	if err == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", err.Error())
}

// expect reports got != want.
func expect[T comparable](t testing.TB, got, want T, format string, args ...any) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", fmt.Sprintf(format, args...), got, want)
	}
}

// expectTime reports instants that differ at millisecond precision, the
// precision every backend keeps.
func expectTime(t testing.TB, got, want time.Time, format string, args ...any) {
	t.Helper()
	if !sameInstant(got, want) {
		t.Errorf("%s: got %s, want %s", fmt.Sprintf(format, args...), fmtTime(got), fmtTime(want))
	}
}

func sameInstant(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// expectSet reports got and want differing as sets, naming what is missing
// and what is extra.
func expectSet(t testing.TB, got, want []string, format string, args ...any) {
	t.Helper()
	if missing, extra, dups := setDiff(got, want); len(missing)+len(extra)+len(dups) > 0 {
		t.Errorf("%s: missing %v, unexpected %v, duplicated %v (got %v, want %v)",
			fmt.Sprintf(format, args...), missing, extra, dups, got, want)
	}
}

func setDiff(got, want []string) (missing, extra, dups []string) {
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
		if seen[g] == 2 {
			dups = append(dups, g)
		}
	}
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
		if seen[w] == 0 {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !wanted[g] && !slices.Contains(extra, g) {
			extra = append(extra, g)
		}
	}
	return missing, extra, dups
}

// expectSeq reports got and want differing as sequences.
func expectSeq(t testing.TB, got, want []string, format string, args ...any) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", fmt.Sprintf(format, args...), got, want)
	}
}

// expectSame reports every field where got and want differ. Times compare
// as instants at millisecond precision and nil equals an empty slice: the
// suite holds backends to values, not to Go representations.
func expectSame(t testing.TB, got, want any, format string, args ...any) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s: %d field(s) differ:\n  %s", fmt.Sprintf(format, args...), len(d), strings.Join(d, "\n  "))
	}
}

var timeType = reflect.TypeFor[time.Time]()

func diff(got, want any) []string {
	var out []string
	diffValue(&out, reflect.TypeOf(got).Name(), reflect.ValueOf(got), reflect.ValueOf(want))
	return out
}

func diffValue(out *[]string, path string, g, w reflect.Value) {
	if g.Type() == timeType {
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		if !sameInstant(gt, wt) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, fmtTime(gt), fmtTime(wt)))
		}
		return
	}
	switch g.Kind() {
	case reflect.Struct:
		for i := range g.NumField() {
			if f := g.Type().Field(i); f.IsExported() {
				diffValue(out, path+"."+f.Name, g.Field(i), w.Field(i))
			}
		}
	case reflect.Slice:
		if g.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(g.Bytes(), w.Bytes()) {
				*out = append(*out, fmt.Sprintf("%s: got %q, want %q", path, g.Bytes(), w.Bytes()))
			}
			return
		}
		if g.Len() != w.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d elements %+v, want %d %+v",
				path, g.Len(), g.Interface(), w.Len(), w.Interface()))
			return
		}
		for i := range g.Len() {
			diffValue(out, fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))
		}
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, g.Interface(), w.Interface()))
		}
	}
}

// expectRecent reports a store-filled time that is not close to the wall
// clock (stores stamp records with their own clock; a minute is generous
// for a noisy machine and catches zero, epoch and time-zone mistakes).
func expectRecent(t testing.TB, got time.Time, format string, args ...any) {
	t.Helper()
	if d := time.Since(got); d < -time.Minute || d > time.Minute {
		t.Errorf("%s: %s is not within a minute of now", fmt.Sprintf(format, args...), fmtTime(got))
	}
}

// ms returns now at millisecond precision in a non-UTC zone, so a backend
// that keeps the wall clock instead of the instant is caught.
func ms(t time.Time) time.Time {
	return t.Truncate(time.Millisecond).In(time.FixedZone("UTC+5:30", 5*3600+1800))
}

// unique returns prefix with a suffix no other call returns.
func unique(prefix string) string { return prefix + "-" + repository.NewID() }

// newAccount creates an account with a unique name, 10 named seats and the
// queue behaviour; mods adjust it first.
func newAccount(t testing.TB, s repository.Store, mods ...func(*repository.Account)) repository.Account {
	t.Helper()
	a := repository.Account{
		ID:     repository.NewID(),
		Name:   unique("Account"),
		Status: repository.AccountActive,
		Seats: repository.SeatSettings{
			Policy:     repository.SeatPolicyNamed,
			Total:      10,
			Exhaustion: repository.SeatExhaustionQueue,
		},
		Settings: repository.AccountSettings{InvitationTTL: 7 * 24 * time.Hour, DefaultRoleKey: "agent"},
	}
	for _, m := range mods {
		m(&a)
	}
	got, err := s.CreateAccount(t.Context(), a)
	must(t, err, "create account %q", a.Name)
	return got
}

// memberFixture returns an active SCIM member with one work email.
func memberFixture(accountID, userName string) repository.Member {
	return repository.Member{
		AccountID:   accountID,
		UserName:    userName,
		DisplayName: userName,
		Active:      true,
		Status:      repository.StatusActive,
		Source:      repository.SourceSCIM,
		Emails:      []repository.Email{{Value: userName, Type: "work", Primary: true}},
		SeatStatus:  repository.SeatNone,
	}
}

// newMember creates a member from memberFixture adjusted by mods.
func newMember(t testing.TB, s repository.Store, accountID, userName string, mods ...func(*repository.Member)) repository.Member {
	t.Helper()
	m := memberFixture(accountID, userName)
	for _, mod := range mods {
		mod(&m)
	}
	got, err := s.CreateMember(t.Context(), m)
	must(t, err, "create member %q", userName)
	return got
}

// newGroup creates a group with the given member edges.
func newGroup(t testing.TB, s repository.Store, accountID, displayName string, memberIDs ...string) repository.Group {
	t.Helper()
	g := repository.Group{AccountID: accountID, ID: repository.NewID(), DisplayName: displayName, Source: repository.SourceSCIM}
	for _, id := range memberIDs {
		g.Members = append(g.Members, repository.GroupMember{MemberID: id})
	}
	got, err := s.CreateGroup(t.Context(), g)
	must(t, err, "create group %q", displayName)
	return got
}

// listMembers lists with q and stops the test on an error.
func listMembers(t testing.TB, s repository.Store, accountID string, q repository.Query) repository.Page[repository.Member] {
	t.Helper()
	p, err := s.ListMembers(t.Context(), accountID, q)
	must(t, err, "list members %+v", q)
	return p
}

// memberIDs returns the ids of ms in order.
func memberIDs(ms []repository.Member) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// groupMemberIDs returns the member ids of edges in order.
func groupMemberIDs(gms []repository.GroupMember) []string {
	ids := make([]string, len(gms))
	for i, gm := range gms {
		ids[i] = gm.MemberID
	}
	return ids
}

// allGroupMembers pages through a group's edges with ListGroupMembers and
// checks the pages come in strictly increasing member id order.
func allGroupMembers(t testing.TB, s repository.Store, accountID, groupID string, limit int) []string {
	t.Helper()
	var ids []string
	after := ""
	for {
		page, err := s.ListGroupMembers(t.Context(), accountID, groupID, after, limit)
		must(t, err, "list members of group %s after %q", groupID, after)
		if len(page) > limit {
			t.Fatalf("list members of group %s: %d edges returned for limit %d", groupID, len(page), limit)
		}
		for _, gm := range page {
			if gm.MemberID <= after {
				t.Fatalf("list members of group %s: member id %q after %q is out of order", groupID, gm.MemberID, after)
			}
			after = gm.MemberID
			ids = append(ids, gm.MemberID)
		}
		if len(page) < limit {
			return ids
		}
	}
}

// groupsOf returns the group ids of one member through GroupsOfMembers.
func groupsOf(t testing.TB, s repository.Store, accountID, memberID string) []string {
	t.Helper()
	refs, err := s.GroupsOfMembers(t.Context(), accountID, []string{memberID})
	must(t, err, "groups of member %s", memberID)
	for id := range refs {
		if id != memberID {
			t.Errorf("groups of member %s: result keyed by unrequested member %q", memberID, id)
		}
	}
	var ids []string
	for _, r := range refs[memberID] {
		ids = append(ids, r.GroupID)
	}
	return ids
}

// failures collects errors from goroutines, where t.Fatal must not be
// called, for the test goroutine to report.
type failures struct {
	ch chan string
}

func newFailures(n int) failures { return failures{ch: make(chan string, n)} }

func (f failures) add(format string, args ...any) {
	select {
	case f.ch <- fmt.Sprintf(format, args...):
	default: // enough reported already
	}
}

func (f failures) report(t testing.TB) {
	t.Helper()
	close(f.ch)
	for msg := range f.ch {
		t.Error(msg)
	}
}
