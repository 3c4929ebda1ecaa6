package filter

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// notSCIM lists repository fields that are deliberately not SCIM
// attributes: internal state the IdP never sees. A new repository field
// fails TestCatalogueCoversRepository until it is mapped or listed here.
var notSCIM = map[*resourceDef]map[repository.Field]bool{
	userDef: {
		repository.MemberStatus:            true,
		repository.MemberSource:            true,
		repository.MemberPendingManagerRef: true,
		repository.MemberSeatQueuedAt:      true,
	},
	groupDef: {
		repository.GroupRoleKey: true,
	},
}

func walk(r *resourceDef, fn func(a *attrDef)) {
	var visit func(a *attrDef)
	visit = func(a *attrDef) {
		fn(a)
		for _, s := range a.subs {
			visit(s)
		}
	}
	for _, s := range r.schemas {
		for _, a := range s.attrs {
			visit(a)
		}
	}
}

// TestCatalogueMatchesRepository checks every mapped attribute against the
// repository field it compiles to: the field exists, has the same kind,
// and belongs to the same multi-valued attribute.
func TestCatalogueMatchesRepository(t *testing.T) {
	for _, r := range []*resourceDef{userDef, groupDef} {
		walk(r, func(a *attrDef) {
			if a.field == "" {
				return
			}
			info, ok := r.fields[a.field]
			if !ok {
				t.Errorf("%s %s maps to unknown field %q", r.name, a.path(), a.field)
				return
			}
			elem := a
			if a.typ == typeComplex {
				elem = a.sub("value")
			}
			want := map[attrType]repository.Kind{typeString: repository.KindString, typeReference: repository.KindString,
				typeBoolean: repository.KindBool, typeDateTime: repository.KindTime}
			if k, ok := want[elem.typ]; !ok || k != info.Kind {
				t.Errorf("%s %s has type %d but field %q has kind %d", r.name, a.path(), elem.typ, a.field, info.Kind)
			}
			multi := ""
			switch {
			case a.multi:
				multi = a.name
			case a.parent != nil && a.parent.multi:
				multi = a.parent.name
			}
			if info.Multi != multi {
				t.Errorf("%s %s: field %q has Multi %q, want %q", r.name, a.path(), a.field, info.Multi, multi)
			}
			if elem.caseExact != info.CaseExact {
				t.Errorf("%s %s: caseExact %v, field %q says %v", r.name, a.path(), elem.caseExact, a.field, info.CaseExact)
			}
		})
	}
}

// TestCatalogueCoversRepository checks that every repository field a SCIM
// client may filter on is reachable from some attribute.
func TestCatalogueCoversRepository(t *testing.T) {
	for _, r := range []*resourceDef{userDef, groupDef} {
		reached := map[repository.Field]bool{}
		walk(r, func(a *attrDef) { reached[a.field] = true })
		for f := range r.fields {
			if !reached[f] && !notSCIM[r][f] {
				t.Errorf("%s: repository field %q is neither mapped to an attribute nor listed in notSCIM", r.name, f)
			}
			if reached[f] && notSCIM[r][f] {
				t.Errorf("%s: repository field %q is mapped but listed in notSCIM", r.name, f)
			}
		}
	}
}

// TestCatalogueNames checks what resolve relies on: attribute names are
// valid ATTRNAMEs, unique (ignoring case) across a resource's schemas and
// within each complex attribute.
func TestCatalogueNames(t *testing.T) {
	for _, r := range []*resourceDef{userDef, groupDef} {
		seen := map[string]string{}
		for _, s := range r.schemas {
			for _, a := range s.attrs {
				key := strings.ToLower(a.name)
				if prev, dup := seen[key]; dup {
					t.Errorf("%s: %q is in both %s and %s", r.name, a.name, prev, s.urn)
				}
				seen[key] = s.urn
			}
		}
		walk(r, func(a *attrDef) {
			if !validName(a.name) {
				t.Errorf("%s: invalid attribute name %q", r.name, a.name)
			}
			subs := map[string]bool{}
			for _, s := range a.subs {
				if subs[strings.ToLower(s.name)] {
					t.Errorf("%s: %s has sub-attribute %q twice", r.name, a.name, s.name)
				}
				subs[strings.ToLower(s.name)] = true
				if s.typ == typeComplex || s.multi {
					t.Errorf("%s: sub-attribute %s must be simple and single-valued", r.name, s.path())
				}
			}
			if a.typ == typeComplex && len(a.subs) == 0 {
				t.Errorf("%s: complex attribute %s without sub-attributes", r.name, a.name)
			}
		})
	}
}

func TestResourceString(t *testing.T) {
	if Users.String() != "User" || Groups.String() != "Group" || Resource(0).String() != "Resource(?)" {
		t.Errorf("String: %s %s %s", Users, Groups, Resource(0))
	}
}
