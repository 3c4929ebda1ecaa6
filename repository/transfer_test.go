package repository

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestKeysSortLikeTheirParts(t *testing.T) {
	// Joined keys must order like (account, id) tuples, which is how the
	// backends page: a shorter account id that prefixes a longer one
	// comes first whatever the ids.
	tuples := [][2]string{{"a", "z"}, {"ab", "a"}, {"a", "a"}, {"b", ""}, {"a-", "0"}}
	keys := make([]string, len(tuples))
	for i, tp := range tuples {
		keys[i] = JoinKey(tp[0], tp[1])
	}
	sort.Strings(keys)
	sort.Slice(tuples, func(i, j int) bool {
		if tuples[i][0] != tuples[j][0] {
			return tuples[i][0] < tuples[j][0]
		}
		return tuples[i][1] < tuples[j][1]
	})
	for i, tp := range tuples {
		if keys[i] != JoinKey(tp[0], tp[1]) {
			t.Fatalf("key order %q differs from tuple order %v", keys, tuples)
		}
	}
	parts, err := SplitKey(JoinKey("acct", "conn", "sub ject/1"), 3)
	if err != nil || !reflect.DeepEqual(parts, []string{"acct", "conn", "sub ject/1"}) {
		t.Errorf("SplitKey = %q, %v", parts, err)
	}
	if _, err := SplitKey("a\x00b", 3); err == nil {
		t.Error("SplitKey accepted a key of the wrong arity")
	}
	if parts, _ := SplitKey("", 2); len(parts) != 2 {
		t.Errorf("SplitKey of the start = %q", parts)
	}
}

func TestKeyOf(t *testing.T) {
	tests := []struct {
		kind RecordKind
		v    any
		want string
	}{
		{KindAccounts, Account{ID: "a"}, "a"},
		{KindRoles, Role{AccountID: "a", Key: "Agent"}, "a\x00Agent"},
		{KindMembers, Member{AccountID: "a", ID: "m"}, "a\x00m"},
		{KindGroupMembers, GroupEdge{AccountID: "a", GroupID: "g", MemberID: "m"}, "a\x00g\x00m"},
		{KindSeats, SeatHolder{AccountID: "a", MemberID: "m"}, "a\x00m"},
		{KindIdentityLinks, IdentityLink{AccountID: "a", ConnectionID: "c", Subject: "s"}, "a\x00c\x00s"},
		{KindSigningKeys, SigningKey{ID: "k"}, "k"},
		{KindAccountDeletions, AccountDeletion{AccountID: "a"}, "a"},
	}
	for _, tt := range tests {
		got, err := KeyOf(tt.kind, tt.v)
		if err != nil || got != tt.want {
			t.Errorf("KeyOf(%s) = %q, %v; want %q", tt.kind, got, err, tt.want)
		}
		if n := len(strings.Split(got, "\x00")); n != KeyParts(tt.kind) {
			t.Errorf("%s: key has %d parts, KeyParts says %d", tt.kind, n, KeyParts(tt.kind))
		}
	}
	if _, err := KeyOf(KindMembers, Group{}); err == nil {
		t.Error("KeyOf accepted a group as a member")
	}
	for _, k := range TransferKinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
}

func TestCanonicalIgnoresRepresentation(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	a := Member{AccountID: "a", ID: "m", Emails: []Email{}, Roles: nil, Meta: Meta{Version: 2, CreatedAt: at, UpdatedAt: at}}
	b := Member{AccountID: "a", ID: "m", Emails: nil, Roles: []string{}, Meta: Meta{Version: 2, CreatedAt: at.UTC().Truncate(time.Millisecond), UpdatedAt: at.UTC()}}
	ra, _ := NewRecord(KindMembers, a)
	rb, _ := NewRecord(KindMembers, b)
	ja, err := CanonicalJSON(ra)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := CanonicalJSON(rb)
	if string(ja) != string(jb) {
		t.Errorf("canonical forms differ:\n%s\n%s", ja, jb)
	}
	if a.Emails == nil || a.CreatedAt.Nanosecond() != 123456789 {
		t.Error("Canonical changed the record it was given")
	}
	b.Version = 3
	rb, _ = NewRecord(KindMembers, b)
	jb, _ = CanonicalJSON(rb)
	if string(ja) == string(jb) {
		t.Error("canonical forms of different versions are equal")
	}
	g := Group{AccountID: "a", ID: "g", Members: []GroupMember{{MemberID: "m"}}}
	if Canonical(g).(Group).Members != nil {
		t.Error("a group's members are part of its canonical form")
	}
}

func TestChecksum(t *testing.T) {
	var c1, c2 Checksum
	r1, _ := NewRecord(KindAccounts, Account{ID: "a"})
	r2, _ := NewRecord(KindAccounts, Account{ID: "b"})
	for _, r := range []Record{r1, r2} {
		if err := c1.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := c2.Add(r1); err != nil {
		t.Fatal(err)
	}
	if c1.Sum() == c2.Sum() || c1.Count != 2 {
		t.Errorf("checksums of different sets agree (%d records)", c1.Count)
	}
	if err := c1.Add(r1); err == nil {
		t.Error("Checksum accepted a key out of order")
	}
	var empty Checksum
	if empty.Sum() != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty checksum %s", empty.Sum())
	}
}
