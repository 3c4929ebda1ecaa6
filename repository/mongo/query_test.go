package mongo

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/rosterhq/roster/repository"
)

// These tests need no server: they pin the query documents the store
// sends. The contract suite checks what those documents select.

func extJSON(t *testing.T, d bson.D) string {
	t.Helper()
	b, err := bson.MarshalExtJSON(d, false, false)
	if err != nil {
		t.Fatalf("marshal %v: %v", d, err)
	}
	return string(b)
}

func TestCompileMemberFilters(t *testing.T) {
	cmp := func(f repository.Field, op repository.Op, v any) repository.Compare {
		return repository.Compare{Field: f, Op: op, Value: v}
	}
	created := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	createdFine := created.Add(1500 * time.Microsecond) // 1.5 ms after
	tests := []struct {
		name   string
		filter repository.Filter
		want   string
	}{
		{"nil selects all", nil, `{}`},
		{"eq lowers a case-insensitive value onto its shadow",
			cmp(repository.MemberUserName, repository.OpEq, "Alice@Example.COM"), `{"userNameLower":"alice@example.com"}`},
		{"externalId eq uses the unique key",
			cmp(repository.MemberExternalID, repository.OpEq, "Ext-1"), `{"externalIdKey":"Ext-1"}`},
		{"externalId ne keeps case", cmp(repository.MemberExternalID, repository.OpNe, "Ext-1"), `{"externalId":{"$ne":"Ext-1"}}`},
		{"sw is an anchored, quoted prefix", cmp(repository.MemberUserName, repository.OpSw, "A.b+"), `{"userNameLower":{"$regex":"^a\\.b\\+"}}`},
		{"ew anchors at the very end", cmp(repository.MemberUserName, repository.OpEw, ".COM"), `{"userNameLower":{"$regex":"\\.com\\z"}}`},
		{"co quotes metacharacters", cmp(repository.MemberDisplayName, repository.OpCo, "(a|b)*"), `{"displayNameLower":{"$regex":"\\(a\\|b\\)\\*"}}`},
		{"gt on a string", cmp(repository.MemberUserName, repository.OpGt, "C"), `{"userNameLower":{"$gt":"c"}}`},
		{"pr on a string is non-empty", cmp(repository.MemberTitle, repository.OpPr, nil), `{"titleLower":{"$gt":""}}`},
		{"bool eq", cmp(repository.MemberActive, repository.OpEq, false), `{"active":false}`},
		{"bool pr", cmp(repository.MemberActive, repository.OpPr, nil), `{"active":{"$in":[true,false]}}`},
		{"nested path", cmp(repository.MemberEmploymentStatus, repository.OpEq, "Temp"), `{"profile.employmentStatusLower":"temp"}`},
		{"time eq", cmp(repository.MemberCreated, repository.OpEq, created), `{"createdAt":{"$date":"2025-03-01T10:00:00Z"}}`},
		{"time eq finer than stored never matches", cmp(repository.MemberCreated, repository.OpEq, createdFine), `{"createdAt":{"$in":[]}}`},
		{"time ge finer than stored", cmp(repository.MemberCreated, repository.OpGe, createdFine), `{"createdAt":{"$gt":{"$date":"2025-03-01T10:00:00.001Z"}}}`},
		{"time lt finer than stored", cmp(repository.MemberCreated, repository.OpLt, createdFine), `{"createdAt":{"$lte":{"$date":"2025-03-01T10:00:00.001Z"}}}`},
		{"time in another zone", cmp(repository.MemberLastModified, repository.OpLe, created.In(time.FixedZone("X", 3600))), `{"updatedAt":{"$lte":{"$date":"2025-03-01T10:00:00Z"}}}`},

		{"multi-valued eq: any element", cmp(repository.MemberEmailValue, repository.OpEq, "A@X"), `{"emails.valueLower":"a@x"}`},
		{"multi-valued ne: no element equals", cmp(repository.MemberEmailValue, repository.OpNe, "A@X"), `{"$nor":[{"emails.valueLower":"a@x"}]}`},
		{"scalar list", cmp(repository.MemberRole, repository.OpEq, "Agent"), `{"rolesLower":"agent"}`},
		{"scalar list under profile", cmp(repository.MemberChannel, repository.OpSw, "Ch"), `{"profile.channelsLower":{"$regex":"^ch"}}`},

		{"and", repository.And{cmp(repository.MemberActive, repository.OpEq, true), cmp(repository.MemberTitle, repository.OpEq, "X")},
			`{"$and":[{"active":true},{"titleLower":"x"}]}`},
		{"or", repository.Or{cmp(repository.MemberActive, repository.OpEq, true), cmp(repository.MemberTitle, repository.OpEq, "X")},
			`{"$or":[{"active":true},{"titleLower":"x"}]}`},
		{"not", repository.Not{Filter: cmp(repository.MemberDepartment, repository.OpEq, "Support")},
			`{"$nor":[{"departmentLower":"support"}]}`},

		{"any with one condition is the dotted path",
			repository.Any{Attr: "emails", Filter: cmp(repository.MemberEmailType, repository.OpEq, "Work")},
			`{"emails.typeLower":"work"}`},
		{"any with ne: some element differs",
			repository.Any{Attr: "emails", Filter: cmp(repository.MemberEmailType, repository.OpNe, "work")},
			`{"$or":[{"emails.typeLower":{"$lt":"work"}},{"emails.typeLower":{"$gt":"work"}}]}`},
		{"any with ne on a bool",
			repository.Any{Attr: "emails", Filter: cmp(repository.MemberEmailPrimary, repository.OpNe, true)},
			`{"emails.primary":false}`},
		{"any over or needs no elemMatch",
			repository.Any{Attr: "emails", Filter: repository.Or{
				cmp(repository.MemberEmailValue, repository.OpEq, "a"), cmp(repository.MemberEmailType, repository.OpEq, "b")}},
			`{"$or":[{"emails.valueLower":"a"},{"emails.typeLower":"b"}]}`},
		{"any with and: one element",
			repository.Any{Attr: "emails", Filter: repository.And{
				cmp(repository.MemberEmailType, repository.OpEq, "Work"),
				repository.Not{Filter: cmp(repository.MemberEmailPrimary, repository.OpEq, true)}}},
			`{"emails":{"$elemMatch":{"$and":[{"typeLower":"work"},{"$nor":[{"primary":true}]}]}}}`},
		{"any with ne inside and is per element",
			repository.Any{Attr: "phoneNumbers", Filter: repository.And{
				cmp(repository.MemberPhoneType, repository.OpNe, "work"), cmp(repository.MemberPhoneValue, repository.OpSw, "+1")}},
			`{"phoneNumbers":{"$elemMatch":{"$and":[{"typeLower":{"$ne":"work"}},{"valueLower":{"$regex":"^\\+1"}}]}}}`},
		{"any with and over a scalar list: operator form",
			repository.Any{Attr: "roles", Filter: repository.And{
				cmp(repository.MemberRole, repository.OpGe, "A"), cmp(repository.MemberRole, repository.OpLt, "C")}},
			`{"rolesLower":{"$elemMatch":{"$gte":"a","$lt":"c"}}}`},
		{"any with not over a scalar list",
			repository.Any{Attr: "roles", Filter: repository.And{
				cmp(repository.MemberRole, repository.OpSw, "a"), repository.Not{Filter: cmp(repository.MemberRole, repository.OpEq, "admin")}}},
			`{"rolesLower":{"$elemMatch":{"$regex":"^a","$not":{"$eq":"admin"}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := repository.Validate(tt.filter, repository.MemberFields); err != nil {
				t.Fatalf("the test's filter is invalid: %v", err)
			}
			c := &compiler{accountID: "acc", cat: memberCatalog}
			got, err := c.compile(t.Context(), tt.filter)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if js := extJSON(t, got); js != tt.want {
				t.Errorf("compile:\n got  %s\n want %s", js, tt.want)
			}
		})
	}
}

func TestCompileRejects(t *testing.T) {
	c := &compiler{accountID: "acc", cat: memberCatalog}
	role := func(op repository.Op, v string) repository.Compare {
		return repository.Compare{Field: repository.MemberRole, Op: op, Value: v}
	}
	for name, f := range map[string]repository.Filter{
		"a scalar list value filter repeating an operator": repository.Any{Attr: "roles", Filter: repository.And{role(repository.OpCo, "a"), role(repository.OpCo, "b")}},
		"or inside and over a scalar list": repository.Any{Attr: "roles", Filter: repository.And{
			role(repository.OpSw, "a"), repository.Or{role(repository.OpEq, "b"), role(repository.OpEq, "c")}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.compile(t.Context(), f)
			if !errors.Is(err, repository.ErrInvalidQuery) {
				t.Errorf("compile: got %v, want ErrInvalidQuery", err)
			}
		})
	}
}

// TestCatalogsCoverFields keeps the translation tables in step with the
// query model: every field has a spec, compared ignoring case exactly when
// the model says so, and sortable exactly when the model says so.
func TestCatalogsCoverFields(t *testing.T) {
	for _, cat := range []*catalog{memberCatalog, groupCatalog} {
		for f, info := range cat.valid {
			sp, ok := cat.fields[f]
			if !ok {
				t.Errorf("%s field %q has no translation", cat.kind, f)
				continue
			}
			wantFold := info.Kind == repository.KindString && !info.CaseExact && !sp.edge
			if sp.fold != wantFold {
				t.Errorf("%s field %q: fold %v, want %v", cat.kind, f, sp.fold, wantFold)
			}
			if sp.kind != info.Kind {
				t.Errorf("%s field %q: kind %v, want %v", cat.kind, f, sp.kind, info.Kind)
			}
			if (sp.sort != "") != info.Sortable {
				t.Errorf("%s field %q: sortable %v, want %v", cat.kind, f, sp.sort != "", info.Sortable)
			}
			if (info.Multi != "") != (sp.array != "" || sp.edge) {
				t.Errorf("%s field %q: multi-valued in the model but not in the store, or the reverse", cat.kind, f)
			}
		}
		for f := range cat.fields {
			if _, ok := cat.valid[f]; !ok {
				t.Errorf("%s translation for unknown field %q", cat.kind, f)
			}
		}
	}
}

func TestCursorConditions(t *testing.T) {
	tests := []struct {
		name     string
		cursor   repository.Cursor
		sortPath string
		kind     repository.Kind
		dir      int
		want     string
	}{
		{"by id", repository.Cursor{ID: "i"}, "_id", repository.KindString, 1, `{"_id":{"$gt":"i"}}`},
		{"by id desc", repository.Cursor{ID: "i"}, "_id", repository.KindString, -1, `{"_id":{"$lt":"i"}}`},
		{"by string", repository.Cursor{Key: "k", ID: "i"}, "displayNameLower", repository.KindString, 1,
			`{"$or":[{"displayNameLower":{"$gt":"k"}},{"displayNameLower":"k","_id":{"$gt":"i"}}]}`},
		{"by string desc: absent values come last", repository.Cursor{Key: "k", ID: "i"}, "displayNameLower", repository.KindString, -1,
			`{"$or":[{"displayNameLower":{"$lt":"k"}},{"displayNameLower":"k","_id":{"$lt":"i"}},{"displayNameLower":null}]}`},
		{"after an absent value", repository.Cursor{ID: "i"}, "displayNameLower", repository.KindString, 1,
			`{"$or":[{"displayNameLower":null,"_id":{"$gt":"i"}},{"displayNameLower":{"$gt":""}}]}`},
		{"after an absent value desc", repository.Cursor{ID: "i"}, "displayNameLower", repository.KindString, -1,
			`{"displayNameLower":null,"_id":{"$lt":"i"}}`},
		{"by time", repository.Cursor{Key: "1740823200000", ID: "i"}, "createdAt", repository.KindTime, 1,
			`{"$or":[{"createdAt":{"$gt":{"$date":"2025-03-01T10:00:00Z"}}},{"createdAt":{"$date":"2025-03-01T10:00:00Z"},"_id":{"$gt":"i"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := afterCursor(tt.cursor.Encode(), tt.sortPath, tt.kind, tt.dir)
			if err != nil {
				t.Fatalf("afterCursor: %v", err)
			}
			if js := extJSON(t, got); js != tt.want {
				t.Errorf("afterCursor:\n got  %s\n want %s", js, tt.want)
			}
		})
	}
	if _, err := afterCursor(repository.Cursor{Key: "not a number", ID: "i"}.Encode(), "createdAt", repository.KindTime, 1); !errors.Is(err, repository.ErrInvalidQuery) {
		t.Errorf("time cursor with a bad key: %v, want ErrInvalidQuery", err)
	}
}

func TestDupIndex(t *testing.T) {
	tests := []struct {
		msg  string
		want string
	}{
		{"E11000 duplicate key error collection: roster.members index: member_userName dup key: { accountId: \"a\", userNameLower: \"x\" }", "userName"},
		{"E11000 duplicate key error collection: roster.members index: member_externalId dup key: { accountId: \"a\", externalIdKey: \"x\" }", "externalId"},
		// FerretDB, for an update that violates a unique index.
		{"[msg_update.go:133 ...] constraint failed: UNIQUE constraint failed: index 'members_0b8d3f10_member_userName' (2067)", "userName"},
		// FerretDB, for an insert: no index named.
		{"E11000 duplicate key error collection: roster.members", ""},
		{"E11000 duplicate key error collection: roster.members index: _id_ dup key: { _id: \"x\" }", ""},
	}
	for _, tt := range tests {
		k, ok := dupIndex(fmt.Errorf("%s", tt.msg), memberKeys)
		if got := map[bool]string{true: k.attr}[ok]; got != tt.want {
			t.Errorf("dupIndex(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
	if !isDup(mongo.CommandError{Code: 1, Message: "constraint failed: UNIQUE constraint failed: index 'x_y'"}) {
		t.Errorf("FerretDB's unique violation on update is not recognised as a duplicate")
	}
	if isDup(mongo.CommandError{Code: 2, Message: "BadValue"}) {
		t.Errorf("a bad value is taken for a duplicate")
	}
}
