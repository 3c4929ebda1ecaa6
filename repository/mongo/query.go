package mongo

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// This file translates the store-neutral query model into MongoDB query
// documents:
//
//   - And, Or, Not become $and, $or, $nor.
//   - A Compare on a single-valued field compares its stored path; fields
//     compared ignoring case use their lowered shadow and a lowered value.
//   - A Compare on a multi-valued field uses the dotted path, so it matches
//     when any element matches (MongoDB's native array semantics), except
//     ne, which must match when no element equals the value: $nor of the
//     equality.
//   - Any with one condition is that condition on the dotted path (for ne:
//     "some element differs", lt-or-gt); Any over an Or is the Or of Anys
//     (existence distributes over or); anything else needs the conditions to
//     hold on one element: $elemMatch. FerretDB rejects $elemMatch with
//     field conditions, so only the last case depends on the server.
//   - co/sw/ew are anchored regular expressions over regexp.QuoteMeta'd
//     values; sw is a ^prefix so MongoDB can bound an index scan with it.
//   - pr (present and not empty) is "$gt ''" for strings (type bracketing
//     keeps it to non-empty strings), a bool for bools, $exists for dates.
//   - groups.value (members) and members.value (groups) live in the edge
//     collection; see edgeIDs.

// fieldSpec says where a queryable field lives in a document and how it is
// compared.
type fieldSpec struct {
	// path is the compared path: the lowered shadow when fold is set, the
	// dotted path through the array for multi-valued fields.
	path string
	// sort is the path sorted on when the field is sortable ("" if not).
	sort string
	kind repository.Kind
	// fold lowers values before comparing (SCIM caseExact=false).
	fold bool
	// array is the array's path for multi-valued fields; elem the compared
	// path inside one element ("" when the array holds scalars).
	array string
	elem  string
	// edge fields are membership edges: elem is then the edge field holding
	// the other side's id.
	edge bool
	// eqKey is an always-present unique key equality on a non-empty value
	// can use instead of path (externalId → externalIdKey).
	eqKey string
}

// catalog is the translation table of one kind of record.
type catalog struct {
	kind   string
	fields map[repository.Field]fieldSpec
	valid  map[repository.Field]repository.FieldInfo
	// selfEdge is the edge field holding this kind's id.
	selfEdge string
	// unique lists the fields no two records of an account share.
	unique []repository.Field
}

// pointLookup reports a filter that selects at most one record (equality
// on a unique attribute), so the first page needs no sort and no search
// past the first match. It matters on FerretDB, which scans: it reads
// every document to sort or to look for more, but stops at the first
// match otherwise; "userName eq" is the query SCIM clients send most.
func (c *catalog) pointLookup(f repository.Filter) bool {
	cmp, ok := f.(repository.Compare)
	return ok && cmp.Op == repository.OpEq && slices.Contains(c.unique, cmp.Field)
}

func single(path string, kind repository.Kind, fold bool) fieldSpec {
	return fieldSpec{path: path, kind: kind, fold: fold}
}

func sortable(f fieldSpec, sortPath string) fieldSpec {
	f.sort = sortPath
	return f
}

func multiDocs(array, elem string, kind repository.Kind, fold bool) fieldSpec {
	return fieldSpec{path: array + "." + elem, kind: kind, fold: fold, array: array, elem: elem}
}

func multiScalars(array string, fold bool) fieldSpec {
	return fieldSpec{path: array, kind: repository.KindString, fold: fold, array: array}
}

const str, boolean, date = repository.KindString, repository.KindBool, repository.KindTime

// memberCatalog maps every repository.MemberFields entry; a test checks the
// two stay in step.
var memberCatalog = &catalog{
	kind:     "member",
	valid:    repository.MemberFields,
	selfEdge: "memberId",
	unique:   []repository.Field{repository.MemberID, repository.MemberUserName, repository.MemberExternalID},
	fields: map[repository.Field]fieldSpec{
		repository.MemberID:                sortable(single("_id", str, false), "_id"),
		repository.MemberExternalID:        {path: "externalId", sort: "externalIdKey", kind: str, eqKey: "externalIdKey"},
		repository.MemberUserName:          sortable(single("userNameLower", str, true), "userNameLower"),
		repository.MemberDisplayName:       sortable(single("displayNameLower", str, true), "displayNameLower"),
		repository.MemberNickName:          single("nickNameLower", str, true),
		repository.MemberTitle:             single("titleLower", str, true),
		repository.MemberUserType:          single("userTypeLower", str, true),
		repository.MemberLocale:            single("localeLower", str, true),
		repository.MemberPreferredLanguage: single("preferredLanguageLower", str, true),
		repository.MemberTimezone:          single("timezoneLower", str, true),
		repository.MemberGivenName:         sortable(single("name.givenNameLower", str, true), "name.givenNameLower"),
		repository.MemberFamilyName:        sortable(single("name.familyNameLower", str, true), "name.familyNameLower"),
		repository.MemberFormattedName:     single("name.formattedLower", str, true),
		repository.MemberActive:            single("active", boolean, false),
		repository.MemberStatus:            single("statusLower", str, true),
		repository.MemberSource:            single("sourceLower", str, true),
		repository.MemberEmployeeNumber:    sortable(single("employeeNumberLower", str, true), "employeeNumberLower"),
		repository.MemberDepartment:        single("departmentLower", str, true),
		repository.MemberOrganization:      single("organizationLower", str, true),
		repository.MemberCostCenter:        single("costCenterLower", str, true),
		repository.MemberDivision:          single("divisionLower", str, true),
		repository.MemberManagerID:         single("managerId", str, false),
		repository.MemberPendingManagerRef: single("pendingManagerRef", str, false),
		repository.MemberEmploymentStatus:  single("profile.employmentStatusLower", str, true),
		repository.MemberCanManageTeams:    single("profile.canManageTeams", boolean, false),
		repository.MemberExternalSSO:       single("profile.externalSso", boolean, false),
		repository.MemberSeatStatus:        single("seatStatusLower", str, true),
		repository.MemberSeatQueuedAt:      sortable(single("seatQueuedAt", date, false), "seatQueuedAt"),
		repository.MemberCreated:           sortable(single("createdAt", date, false), "createdAt"),
		repository.MemberLastModified:      sortable(single("updatedAt", date, false), "updatedAt"),
		repository.MemberEmailValue:        multiDocs("emails", "valueLower", str, true),
		repository.MemberEmailType:         multiDocs("emails", "typeLower", str, true),
		repository.MemberEmailPrimary:      multiDocs("emails", "primary", boolean, false),
		repository.MemberPhoneValue:        multiDocs("phoneNumbers", "valueLower", str, true),
		repository.MemberPhoneType:         multiDocs("phoneNumbers", "typeLower", str, true),
		repository.MemberRole:              multiScalars("rolesLower", true),
		repository.MemberExpertise:         multiScalars("profile.expertiseLower", true),
		repository.MemberChannel:           multiScalars("profile.channelsLower", true),
		repository.MemberGroupID:           {kind: str, edge: true, elem: "groupId"},
	},
}

// groupCatalog maps every repository.GroupFields entry.
var groupCatalog = &catalog{
	kind:     "group",
	valid:    repository.GroupFields,
	selfEdge: "groupId",
	unique:   []repository.Field{repository.GroupID, repository.GroupDisplayName, repository.GroupExternalID},
	fields: map[repository.Field]fieldSpec{
		repository.GroupID:           sortable(single("_id", str, false), "_id"),
		repository.GroupExternalID:   {path: "externalId", sort: "externalIdKey", kind: str, eqKey: "externalIdKey"},
		repository.GroupDisplayName:  sortable(single("displayNameLower", str, true), "displayNameLower"),
		repository.GroupRoleKey:      single("roleKeyLower", str, true),
		repository.GroupCreated:      sortable(single("createdAt", date, false), "createdAt"),
		repository.GroupLastModified: sortable(single("updatedAt", date, false), "updatedAt"),
		repository.GroupMemberID:     {kind: str, edge: true, elem: "memberId"},
	},
}

// attrSpec returns the spec of any field of the multi-valued attribute attr
// (they share array, elem-ness and edge-ness).
func (c *catalog) attrSpec(attr string) (fieldSpec, bool) {
	for f, info := range c.valid {
		if info.Multi == attr {
			return c.fields[f], true
		}
	}
	return fieldSpec{}, false
}

// maxEdgeIDs bounds how many ids a filter through membership edges may
// resolve to. A filter beyond it fails as an invalid query rather than
// build an unbounded $in; 100,000 covers the largest group DESIGN.md
// plans for.
const maxEdgeIDs = 100_000

// compiler translates one filter for one account.
type compiler struct {
	edges     *mongo.Collection
	accountID string
	cat       *catalog
}

// compile translates f; nil selects everything.
func (c *compiler) compile(ctx context.Context, f repository.Filter) (bson.D, error) {
	switch f := f.(type) {
	case nil:
		return bson.D{}, nil
	case repository.Compare:
		return c.compare(ctx, f)
	case repository.And:
		return c.list(ctx, "$and", f)
	case repository.Or:
		return c.list(ctx, "$or", f)
	case repository.Not:
		inner, err := c.compile(ctx, f.Filter)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$nor", Value: bson.A{inner}}}, nil
	case repository.Any:
		return c.any(ctx, f)
	default:
		return nil, repository.InvalidQueryf("unknown filter node %T", f)
	}
}

func (c *compiler) list(ctx context.Context, op string, fs []repository.Filter) (bson.D, error) {
	parts := make(bson.A, 0, len(fs))
	for _, f := range fs {
		d, err := c.compile(ctx, f)
		if err != nil {
			return nil, err
		}
		parts = append(parts, d)
	}
	return bson.D{{Key: op, Value: parts}}, nil
}

func (c *compiler) spec(f repository.Field) (fieldSpec, error) {
	sp, ok := c.cat.fields[f]
	if !ok {
		return fieldSpec{}, repository.InvalidQueryf("unsupported attribute %q", f)
	}
	return sp, nil
}

// compare translates a Compare outside any value filter.
func (c *compiler) compare(ctx context.Context, cmp repository.Compare) (bson.D, error) {
	sp, err := c.spec(cmp.Field)
	if err != nil {
		return nil, err
	}
	switch {
	case sp.edge:
		if cmp.Op == repository.OpNe {
			// No edge to that value: outside the set of ids that have one.
			eq, err := elemCond(sp, sp.elem, repository.OpEq, cmp.Value)
			if err != nil {
				return nil, err
			}
			ids, err := c.edgeIDs(ctx, eq)
			if err != nil {
				return nil, err
			}
			return bson.D{{Key: "_id", Value: bson.D{{Key: "$nin", Value: ids}}}}, nil
		}
		return c.edgeMatch(ctx, cmp)
	case sp.array != "" && cmp.Op == repository.OpNe:
		// ne on a multi-valued field: no element equals the value. ($ne on
		// the dotted path means the same on MongoDB, but FerretDB gets it
		// wrong for arrays of documents; $nor of the equality is right on
		// both.)
		eq, err := cond(sp, repository.OpEq, cmp.Value)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$nor", Value: bson.A{eq}}}, nil
	default:
		return cond(sp, cmp.Op, cmp.Value)
	}
}

// any translates a value filter attr[filter].
func (c *compiler) any(ctx context.Context, a repository.Any) (bson.D, error) {
	sp, ok := c.cat.attrSpec(a.Attr)
	if !ok || sp.array == "" && !sp.edge {
		return nil, repository.InvalidQueryf("%q is not a multi-valued attribute", a.Attr)
	}
	if sp.edge {
		return c.edgeMatch(ctx, a.Filter)
	}
	switch f := a.Filter.(type) {
	case repository.Or:
		// Some element matches a or b = some element matches a, or some
		// element matches b: no need for $elemMatch.
		parts := make(bson.A, 0, len(f))
		for _, sub := range f {
			d, err := c.any(ctx, repository.Any{Attr: a.Attr, Filter: sub})
			if err != nil {
				return nil, err
			}
			parts = append(parts, d)
		}
		return bson.D{{Key: "$or", Value: parts}}, nil
	case repository.Compare:
		fsp, err := c.spec(f.Field)
		if err != nil {
			return nil, err
		}
		if f.Op == repository.OpNe {
			return someDiffers(fsp, f.Value)
		}
		return cond(fsp, f.Op, f.Value)
	}
	if sp.elem == "" {
		ops, err := c.scalarOps(a.Filter)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: sp.array, Value: bson.D{{Key: "$elemMatch", Value: ops}}}}, nil
	}
	inner, err := c.elemDoc(a.Filter)
	if err != nil {
		return nil, err
	}
	return bson.D{{Key: sp.array, Value: bson.D{{Key: "$elemMatch", Value: inner}}}}, nil
}

// elemDoc translates a filter over one element of an array of documents
// (inside $elemMatch), or over one edge document: paths are relative and
// ne is per element.
func (c *compiler) elemDoc(f repository.Filter) (bson.D, error) {
	switch f := f.(type) {
	case repository.Compare:
		sp, err := c.spec(f.Field)
		if err != nil {
			return nil, err
		}
		return elemCond(sp, sp.elem, f.Op, f.Value)
	case repository.And, repository.Or:
		op, fs := "$and", []repository.Filter(nil)
		if or, ok := f.(repository.Or); ok {
			op, fs = "$or", or
		} else {
			fs = f.(repository.And)
		}
		parts := make(bson.A, 0, len(fs))
		for _, sub := range fs {
			d, err := c.elemDoc(sub)
			if err != nil {
				return nil, err
			}
			parts = append(parts, d)
		}
		return bson.D{{Key: op, Value: parts}}, nil
	case repository.Not:
		inner, err := c.elemDoc(f.Filter)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$nor", Value: bson.A{inner}}}, nil
	default:
		return nil, repository.InvalidQueryf("unsupported filter %T inside a value filter", f)
	}
}

// scalarOps translates a filter over one scalar element (roles, expertise,
// channels) into the operator form $elemMatch takes for scalars: a
// conjunction of operators, optionally negated.
func (c *compiler) scalarOps(f repository.Filter) (bson.D, error) {
	switch f := f.(type) {
	case repository.Compare:
		sp, err := c.spec(f.Field)
		if err != nil {
			return nil, err
		}
		return ops(sp, f.Op, f.Value)
	case repository.And:
		var out bson.D
		seen := map[string]bool{}
		for _, sub := range f {
			d, err := c.scalarOps(sub)
			if err != nil {
				return nil, err
			}
			for _, e := range d {
				if seen[e.Key] {
					return nil, repository.InvalidQueryf("value filter repeats %s on one value; not supported", e.Key)
				}
				seen[e.Key] = true
				out = append(out, e)
			}
		}
		return out, nil
	case repository.Not:
		inner, err := c.scalarOps(f.Filter)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$not", Value: inner}}, nil
	default:
		return nil, repository.InvalidQueryf("or inside and inside a value filter on a list of values is not supported")
	}
}

// edgeMatch selects the records that have an edge matching f, a filter over
// the other side's id (a Compare or a value filter's body).
func (c *compiler) edgeMatch(ctx context.Context, f repository.Filter) (bson.D, error) {
	edgeFilter, err := c.elemDoc(f)
	if err != nil {
		return nil, err
	}
	ids, err := c.edgeIDs(ctx, edgeFilter)
	if err != nil {
		return nil, err
	}
	return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, nil
}

// edgeIDs resolves a filter over membership edges to the ids of this side
// that have a matching edge. Membership is never an array in a document, so
// a membership filter is answered from the edge collection's indexes
// ((accountId, groupId, memberId) and (accountId, memberId, groupId)) first
// and becomes an _id $in for the main query. That keeps one source of truth
// for membership and costs one indexed read, bounded by maxEdgeIDs: the
// usual filters (members.value eq M on groups: a member's few groups;
// groups.value eq G on members: one group's members) stay well inside it.
func (c *compiler) edgeIDs(ctx context.Context, edgeFilter bson.D) ([]string, error) {
	cur, err := c.edges.Find(ctx, withAccount(c.accountID, edgeFilter), options.Find().
		SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: c.cat.selfEdge, Value: 1}}).
		SetLimit(maxEdgeIDs+1))
	if err != nil {
		return nil, fmt.Errorf("resolve membership filter: %w", err)
	}
	defer cur.Close(ctx)
	seen := map[string]bool{}
	ids := []string{}
	n := 0
	for cur.Next(ctx) {
		n++
		if n > maxEdgeIDs {
			return nil, repository.InvalidQueryf("membership filter matches more than %d memberships; narrow it", maxEdgeIDs)
		}
		v, err := cur.Current.LookupErr(c.cat.selfEdge)
		if err != nil {
			continue
		}
		id, ok := v.StringValueOK()
		if ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("resolve membership filter: %w", err)
	}
	return ids, nil
}

// cond is {path: condition} for a top-level comparison.
func cond(sp fieldSpec, op repository.Op, v any) (bson.D, error) {
	if sp.eqKey != "" && op == repository.OpEq {
		if s, ok := v.(string); ok && s != "" {
			return bson.D{{Key: sp.eqKey, Value: s}}, nil
		}
	}
	return elemCond(sp, sp.path, op, v)
}

// elemCond is {path: condition}, equality written as the plain value.
func elemCond(sp fieldSpec, path string, op repository.Op, v any) (bson.D, error) {
	o, err := ops(sp, op, v)
	if err != nil {
		return nil, err
	}
	if len(o) == 1 && o[0].Key == "$eq" {
		return bson.D{{Key: path, Value: o[0].Value}}, nil
	}
	return bson.D{{Key: path, Value: o}}, nil
}

// someDiffers matches when some element of a multi-valued field differs
// from v, without $elemMatch: for strings and dates, some element is below
// or above it; for bools, some element is the other value.
func someDiffers(sp fieldSpec, v any) (bson.D, error) {
	switch sp.kind {
	case repository.KindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, repository.InvalidQueryf("%s needs a boolean", sp.path)
		}
		return bson.D{{Key: sp.path, Value: !b}}, nil
	default:
		lt, err := ops(sp, repository.OpLt, v)
		if err != nil {
			return nil, err
		}
		gt, err := ops(sp, repository.OpGt, v)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: sp.path, Value: lt}},
			bson.D{{Key: sp.path, Value: gt}},
		}}}, nil
	}
}

// ops is the operator document of one comparison.
func ops(sp fieldSpec, op repository.Op, v any) (bson.D, error) {
	one := func(k string, v any) bson.D { return bson.D{{Key: k, Value: v}} }
	switch sp.kind {
	case repository.KindString:
		if op == repository.OpPr {
			return one("$gt", ""), nil
		}
		s, ok := v.(string)
		if !ok {
			return nil, repository.InvalidQueryf("%s needs a string value", sp.path)
		}
		if sp.fold {
			s = fold(s)
		}
		q := regexp.QuoteMeta(s)
		switch op {
		case repository.OpEq:
			return one("$eq", s), nil
		case repository.OpNe:
			return one("$ne", s), nil
		case repository.OpCo:
			return one("$regex", q), nil
		case repository.OpSw:
			return one("$regex", "^"+q), nil
		case repository.OpEw:
			return one("$regex", q+`\z`), nil
		case repository.OpGt:
			return one("$gt", s), nil
		case repository.OpGe:
			return one("$gte", s), nil
		case repository.OpLt:
			return one("$lt", s), nil
		case repository.OpLe:
			return one("$lte", s), nil
		}
	case repository.KindBool:
		if op == repository.OpPr {
			return one("$in", bson.A{true, false}), nil
		}
		b, ok := v.(bool)
		if !ok {
			return nil, repository.InvalidQueryf("%s needs a boolean value", sp.path)
		}
		switch op {
		case repository.OpEq:
			return one("$eq", b), nil
		case repository.OpNe:
			return one("$ne", b), nil
		}
	case repository.KindTime:
		if op == repository.OpPr {
			return one("$exists", true), nil
		}
		t, ok := v.(time.Time)
		if !ok {
			return nil, repository.InvalidQueryf("%s needs a dateTime value", sp.path)
		}
		// Stored dates are whole milliseconds; a value with a finer part
		// lies strictly between two of them, which changes the bounds.
		ms := t.UTC().Truncate(time.Millisecond)
		frac := !t.Equal(ms)
		switch op {
		case repository.OpEq:
			if frac {
				return one("$in", bson.A{}), nil
			}
			return one("$eq", ms), nil
		case repository.OpNe:
			if frac {
				return one("$exists", true), nil
			}
			return one("$ne", ms), nil
		case repository.OpGt:
			return one("$gt", ms), nil
		case repository.OpGe:
			if frac {
				return one("$gt", ms), nil
			}
			return one("$gte", ms), nil
		case repository.OpLt:
			if frac {
				return one("$lte", ms), nil
			}
			return one("$lt", ms), nil
		case repository.OpLe:
			return one("$lte", ms), nil
		}
	}
	return nil, repository.InvalidQueryf("operator %q is not supported on %s", op, sp.path)
}

// withAccount scopes filters to one account, keeping accountId at the top
// level where the query planner sees it. The filters' own top-level
// conditions are merged into the same document when their keys do not
// collide (a plain document is cheaper than $and on FerretDB), and joined
// with $and otherwise.
func withAccount(accountID string, parts ...bson.D) bson.D {
	filter := bson.D{{Key: "accountId", Value: accountID}}
	seen := map[string]bool{"accountId": true}
	var and bson.A
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		collides := false
		for _, e := range p {
			collides = collides || seen[e.Key]
		}
		if collides {
			and = append(and, p)
			continue
		}
		for _, e := range p {
			seen[e.Key] = true
			filter = append(filter, e)
		}
	}
	if len(and) > 0 {
		filter = append(filter, bson.E{Key: "$and", Value: and})
	}
	return filter
}

// listResult is one page of raw documents.
type listResult struct {
	docs       []bson.Raw
	total      int
	nextCursor string
}

// list runs a validated query of one kind: one find for the page, sorted
// by the sort field then _id, paged by StartIndex or by keyset Cursor; and
// the exact total with CountDocuments on the same filter, unless the page
// itself proves it (a page read from the start of the list, or from a
// StartIndex within it, that is not full ends the list), which spares the
// point lookups SCIM clients make most a second query.
func (s *Store) list(ctx context.Context, coll *mongo.Collection, cat *catalog, accountID string, q repository.Query) (listResult, error) {
	comp := &compiler{edges: s.edges, accountID: accountID, cat: cat}
	filter, err := comp.compile(ctx, q.Filter)
	if err != nil {
		return listResult{}, err
	}
	sortPath, sortKind := "_id", repository.KindString
	if q.SortBy != "" {
		sp := cat.fields[q.SortBy]
		if sp.sort == "" {
			return listResult{}, repository.InvalidQueryf("cannot sort by %q", q.SortBy)
		}
		sortPath, sortKind = sp.sort, sp.kind
	}
	dir := 1
	if q.SortDesc {
		dir = -1
	}
	base := withAccount(accountID, filter)
	count := func() (int, error) {
		n, err := coll.CountDocuments(ctx, base)
		if err != nil {
			return 0, fmt.Errorf("count %ss: %w", cat.kind, err)
		}
		return int(n), nil
	}
	var res listResult
	if q.Count == 0 {
		res.total, err = count()
		return res, err
	}
	sort := bson.D{{Key: sortPath, Value: dir}}
	if sortPath != "_id" {
		sort = append(sort, bson.E{Key: "_id", Value: dir})
	}
	opts := options.Find().SetSort(sort).SetLimit(int64(q.Count) + 1)
	if cat.pointLookup(q.Filter) && q.Cursor == "" && q.StartIndex <= 1 {
		// At most one record: nothing to sort, and nothing to look for
		// after the first match.
		opts = options.Find().SetLimit(1)
	}
	page, skip := base, 0
	if q.Cursor != "" {
		after, err := afterCursor(q.Cursor, sortPath, sortKind, dir)
		if err != nil {
			return listResult{}, err
		}
		page = withAccount(accountID, filter, after)
	} else if q.StartIndex > 1 {
		skip = q.StartIndex - 1
		opts.SetSkip(int64(skip))
	}
	cur, err := coll.Find(ctx, page, opts)
	if err != nil {
		return listResult{}, fmt.Errorf("list %ss: %w", cat.kind, err)
	}
	if err := cur.All(ctx, &res.docs); err != nil {
		return listResult{}, fmt.Errorf("list %ss: %w", cat.kind, err)
	}
	full := len(res.docs) > q.Count
	if full {
		res.docs = res.docs[:q.Count]
		last := res.docs[len(res.docs)-1]
		res.nextCursor = cursorAt(last, sortPath)
	}
	if !full && q.Cursor == "" && (len(res.docs) > 0 || skip == 0) {
		res.total = skip + len(res.docs)
		return res, nil
	}
	res.total, err = count()
	return res, err
}

// afterCursor is the keyset condition "after the cursor's item" in the
// sort order (sort key, then _id).
func afterCursor(s, sortPath string, kind repository.Kind, dir int) (bson.D, error) {
	c, err := repository.DecodeCursor(s)
	if err != nil {
		return nil, err
	}
	cmp := "$gt"
	if dir < 0 {
		cmp = "$lt"
	}
	if sortPath == "_id" {
		return bson.D{{Key: "_id", Value: bson.D{{Key: cmp, Value: c.ID}}}}, nil
	}
	afterID := bson.D{{Key: "_id", Value: bson.D{{Key: cmp, Value: c.ID}}}}
	if kind == repository.KindString && c.Key == "" {
		// The item had no value (empty values are not stored). Absent
		// values sort before every string: ascending, what follows is the
		// other absent ones with a greater id, then every value;
		// descending, only absent ones with a smaller id.
		absentAfter := append(bson.D{{Key: sortPath, Value: nil}}, afterID...)
		if dir < 0 {
			return absentAfter, nil
		}
		return bson.D{{Key: "$or", Value: bson.A{absentAfter, bson.D{{Key: sortPath, Value: bson.D{{Key: "$gt", Value: ""}}}}}}}, nil
	}
	var key any = c.Key
	if kind == repository.KindTime {
		ms, err := strconv.ParseInt(c.Key, 10, 64)
		if err != nil {
			return nil, repository.InvalidQueryf("malformed cursor")
		}
		key = time.UnixMilli(ms).UTC()
	}
	or := bson.A{
		bson.D{{Key: sortPath, Value: bson.D{{Key: cmp, Value: key}}}},
		append(bson.D{{Key: sortPath, Value: key}}, afterID...),
	}
	if dir < 0 && kind == repository.KindString {
		or = append(or, bson.D{{Key: sortPath, Value: nil}}) // absent values come last
	}
	return bson.D{{Key: "$or", Value: or}}, nil
}

// cursorAt is the cursor after doc in a list sorted on sortPath.
func cursorAt(doc bson.Raw, sortPath string) string {
	id, _ := doc.Lookup("_id").StringValueOK()
	c := repository.Cursor{ID: id}
	if sortPath != "_id" {
		v, err := doc.LookupErr(strings.Split(sortPath, ".")...)
		if err == nil {
			switch v.Type {
			case bson.TypeString:
				c.Key = v.StringValue()
			case bson.TypeDateTime:
				c.Key = strconv.FormatInt(v.DateTime(), 10)
			}
		}
	}
	return c.Encode()
}

// before is the condition "a stored date earlier than t", exact for a t
// finer than the stored milliseconds.
func before(t time.Time) bson.D {
	d, _ := ops(fieldSpec{kind: repository.KindTime}, repository.OpLt, t)
	return d
}
