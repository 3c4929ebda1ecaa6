package sqlite

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/repository"
)

// This file translates the store-neutral query model into SQL. Values are
// always bound parameters. Case-insensitive fields compare their Go-lowered
// shadow column (_lc) with the Go-lowered value; case-exact fields compare
// the column itself. Multi-valued fields compare their side table: "any
// element matches" is an EXISTS, or, when an index can answer the
// condition (eq or sw on an indexed column), an uncorrelated
// "pk IN (SELECT ... WHERE account_id = ? AND col = ?)" that SQLite drives
// from that index instead of scanning the account.

// fieldCol says where a query field lives.
type fieldCol struct {
	col string // column in the main table, or in the side table of multi
	// multi is the side table's attribute ("emails"), or "" for a column of
	// the main table.
	multi string
	// indexed: an index (account_id, col) answers eq and sw on this column.
	indexed bool
	// partial: the column's index is partial on col <> ''; an eq or sw with
	// a non-empty value repeats that condition so SQLite may use it.
	partial bool
}

// sideSpec joins a multi-valued attribute's table to the main table.
type sideSpec struct {
	table string // side table
	inner string // its column that references the main row
	outer string // the main table's column it references
}

// listSpec describes one listable record kind.
type listSpec struct {
	table  string // main table
	alias  string // its alias in queries
	info   map[repository.Field]repository.FieldInfo
	cols   map[repository.Field]fieldCol
	sides  map[string]sideSpec
	idCol  string // the id column, tie-breaker of every order
	fields string // select list of the main table
	// outer, when set, is the select list (over the main table's alias)
	// of a query that joins the page's rows back by pk: the page itself
	// selects only pks (and the sort key), so the columns computed per
	// returned row (a member's packed row and multi-valued attributes)
	// are computed for the page only, never for every match a sort has
	// to look at.
	outer string
	// withGroups, when set, is one more select-list column for
	// Query.WithGroups: whether the record is in any group (see
	// qMemberInGroups).
	withGroups string
	// unique lists the fields no two records of an account share a
	// non-empty value of: an eq on one matches at most one record.
	unique map[repository.Field]bool
}

var memberList = &listSpec{
	table: "members",
	alias: "m",
	info:  repository.MemberFields,
	cols: map[repository.Field]fieldCol{
		repository.MemberID:                {col: "id", indexed: true},
		repository.MemberExternalID:        {col: "external_id", indexed: true, partial: true},
		repository.MemberUserName:          {col: "user_name_lc", indexed: true},
		repository.MemberDisplayName:       {col: "display_name_lc", indexed: true},
		repository.MemberNickName:          {col: "nick_name_lc"},
		repository.MemberTitle:             {col: "title_lc"},
		repository.MemberUserType:          {col: "user_type_lc"},
		repository.MemberLocale:            {col: "locale_lc"},
		repository.MemberPreferredLanguage: {col: "preferred_language_lc"},
		repository.MemberTimezone:          {col: "timezone_lc"},
		repository.MemberGivenName:         {col: "given_name_lc"},
		repository.MemberFamilyName:        {col: "family_name_lc"},
		repository.MemberFormattedName:     {col: "formatted_name_lc"},
		repository.MemberActive:            {col: "active"},
		repository.MemberStatus:            {col: "status_lc"},
		repository.MemberSource:            {col: "source_lc"},
		repository.MemberEmployeeNumber:    {col: "employee_number_lc", indexed: true},
		repository.MemberDepartment:        {col: "department_lc"},
		repository.MemberOrganization:      {col: "organization_lc"},
		repository.MemberCostCenter:        {col: "cost_center_lc"},
		repository.MemberDivision:          {col: "division_lc"},
		repository.MemberManagerID:         {col: "manager_id", indexed: true, partial: true},
		repository.MemberPendingManagerRef: {col: "pending_manager_ref", indexed: true, partial: true},
		repository.MemberEmploymentStatus:  {col: "employment_status_lc"},
		repository.MemberCanManageTeams:    {col: "can_manage_teams"},
		repository.MemberExternalSSO:       {col: "external_sso"},
		repository.MemberSeatStatus:        {col: "seat_status_lc", indexed: true},
		repository.MemberSeatQueuedAt:      {col: "seat_queued_at"},
		repository.MemberCreated:           {col: "created_at"},
		repository.MemberLastModified:      {col: "updated_at", indexed: true},
		repository.MemberEmailValue:        {col: "value_lc", multi: "emails", indexed: true},
		repository.MemberEmailType:         {col: "type_lc", multi: "emails"},
		repository.MemberEmailPrimary:      {col: "is_primary", multi: "emails"},
		repository.MemberPhoneValue:        {col: "value_lc", multi: "phoneNumbers", indexed: true},
		repository.MemberPhoneType:         {col: "type_lc", multi: "phoneNumbers"},
		repository.MemberRole:              {col: "role_key_lc", multi: "roles", indexed: true},
		repository.MemberExpertise:         {col: "value_lc", multi: "expertise", indexed: true},
		repository.MemberChannel:           {col: "value_lc", multi: "channels", indexed: true},
		repository.MemberGroupID:           {col: "group_id", multi: "groups", indexed: true},
	},
	sides: map[string]sideSpec{
		"emails":       {table: "member_emails", inner: "member_pk", outer: "pk"},
		"phoneNumbers": {table: "member_phones", inner: "member_pk", outer: "pk"},
		"roles":        {table: "member_roles", inner: "member_pk", outer: "pk"},
		"expertise":    {table: "member_expertise", inner: "member_pk", outer: "pk"},
		"channels":     {table: "member_channels", inner: "member_pk", outer: "pk"},
		"groups":       {table: "group_members", inner: "member_id", outer: "id"},
	},
	idCol:      "id",
	fields:     qMemberCols,
	outer:      memberColumns("m"),
	withGroups: qMemberInGroups,
	unique: map[repository.Field]bool{
		repository.MemberID: true, repository.MemberUserName: true, repository.MemberExternalID: true,
	},
}

var groupList = &listSpec{
	table: "groups",
	alias: "g",
	info:  repository.GroupFields,
	cols: map[repository.Field]fieldCol{
		repository.GroupID:           {col: "id", indexed: true},
		repository.GroupExternalID:   {col: "external_id", indexed: true, partial: true},
		repository.GroupDisplayName:  {col: "display_name_lc", indexed: true},
		repository.GroupRoleKey:      {col: "role_key_lc"},
		repository.GroupCreated:      {col: "created_at"},
		repository.GroupLastModified: {col: "updated_at", indexed: true},
		repository.GroupMemberID:     {col: "member_id", multi: "members", indexed: true},
	},
	sides: map[string]sideSpec{
		"members": {table: "group_members", inner: "group_id", outer: "id"},
	},
	idCol:  "id",
	fields: qGroupCols,
}

// compiler builds a WHERE clause and its arguments.
type compiler struct {
	spec    *listSpec
	account string
	sb      strings.Builder
	args    []any
}

func (c *compiler) arg(v any) {
	c.sb.WriteByte('?')
	c.args = append(c.args, v)
}

// filter appends the SQL of f, evaluated against the main table.
func (c *compiler) filter(f repository.Filter) error {
	switch f := f.(type) {
	case repository.Compare:
		fc, info, err := c.field(f.Field)
		if err != nil {
			return err
		}
		if fc.multi == "" {
			return c.compare(c.spec.alias+"."+fc.col, fc, info, f.Op, f.Value)
		}
		if f.Op == repository.OpNe {
			// ne on a multi-valued attribute: no element is equal.
			c.sb.WriteString("NOT (")
			if err := c.anyElement(fc.multi, repository.Compare{Field: f.Field, Op: repository.OpEq, Value: f.Value}); err != nil {
				return err
			}
			c.sb.WriteByte(')')
			return nil
		}
		return c.anyElement(fc.multi, f)
	case repository.And:
		return c.join(" AND ", f)
	case repository.Or:
		return c.join(" OR ", f)
	case repository.Not:
		c.sb.WriteString("NOT (")
		if err := c.filter(f.Filter); err != nil {
			return err
		}
		c.sb.WriteByte(')')
		return nil
	case repository.Any:
		return c.anyElement(f.Attr, f.Filter)
	}
	return repository.InvalidQueryf("unsupported filter node %T", f)
}

func (c *compiler) join(op string, fs []repository.Filter) error {
	c.sb.WriteByte('(')
	for i, f := range fs {
		if i > 0 {
			c.sb.WriteString(op)
		}
		if err := c.filter(f); err != nil {
			return err
		}
	}
	c.sb.WriteByte(')')
	return nil
}

func (c *compiler) field(f repository.Field) (fieldCol, repository.FieldInfo, error) {
	fc, ok := c.spec.cols[f]
	info, known := c.spec.info[f]
	if !ok || !known {
		return fc, info, repository.InvalidQueryf("unsupported attribute %q", f)
	}
	return fc, info, nil
}

// anyElement appends a test that one element of attr satisfies f, where f
// only names fields of attr (the element's columns, alias x).
func (c *compiler) anyElement(attr string, f repository.Filter) error {
	side, ok := c.spec.sides[attr]
	if !ok {
		return repository.InvalidQueryf("unsupported attribute %q", attr)
	}
	a := c.spec.alias
	if c.indexable(f) {
		fmt.Fprintf(&c.sb, "%s.%s IN (SELECT x.%s FROM %s x WHERE x.account_id = ", a, side.outer, side.inner, side.table)
		c.arg(c.account)
	} else {
		fmt.Fprintf(&c.sb, "EXISTS (SELECT 1 FROM %s x WHERE x.account_id = %s.account_id AND x.%s = %s.%s",
			side.table, a, side.inner, a, side.outer)
	}
	c.sb.WriteString(" AND ")
	if err := c.element(f); err != nil {
		return err
	}
	c.sb.WriteByte(')')
	return nil
}

// indexable reports whether f (an element filter) has a top-level
// condition an index of its side table answers.
func (c *compiler) indexable(f repository.Filter) bool {
	switch f := f.(type) {
	case repository.Compare:
		fc := c.spec.cols[f.Field]
		if !fc.indexed {
			return false
		}
		switch f.Op {
		case repository.OpEq:
			return true
		case repository.OpSw:
			s, _ := f.Value.(string)
			return s != ""
		}
	case repository.And:
		for _, g := range f {
			if c.indexable(g) {
				return true
			}
		}
	}
	return false
}

// element appends f evaluated on one element (alias x).
func (c *compiler) element(f repository.Filter) error {
	switch f := f.(type) {
	case repository.Compare:
		fc, info, err := c.field(f.Field)
		if err != nil {
			return err
		}
		return c.compare("x."+fc.col, fc, info, f.Op, f.Value)
	case repository.And, repository.Or:
		op, fs := " AND ", []repository.Filter(nil)
		if o, ok := f.(repository.Or); ok {
			op, fs = " OR ", o
		} else {
			fs = f.(repository.And)
		}
		c.sb.WriteByte('(')
		for i, g := range fs {
			if i > 0 {
				c.sb.WriteString(op)
			}
			if err := c.element(g); err != nil {
				return err
			}
		}
		c.sb.WriteByte(')')
		return nil
	case repository.Not:
		c.sb.WriteString("NOT (")
		if err := c.element(f.Filter); err != nil {
			return err
		}
		c.sb.WriteByte(')')
		return nil
	}
	return repository.InvalidQueryf("unsupported filter node %T inside a value filter", f)
}

// compare appends one comparison of column col.
func (c *compiler) compare(col string, fc fieldCol, info repository.FieldInfo, op repository.Op, value any) error {
	switch info.Kind {
	case repository.KindBool:
		if op == repository.OpPr {
			c.sb.WriteString("1 = 1") // a boolean always has a value
			return nil
		}
		b, _ := value.(bool)
		return c.binary(col, op, b2i(b))
	case repository.KindTime:
		if op == repository.OpPr {
			c.sb.WriteString(col + " <> 0")
			return nil
		}
		t, _ := value.(time.Time)
		return c.ordered(col, fc, op, toNanos(t), "0")
	}

	if op == repository.OpPr {
		c.sb.WriteString(col + " <> ''")
		return nil
	}
	s, _ := value.(string)
	if !info.CaseExact {
		s = strings.ToLower(s)
	}
	switch op {
	case repository.OpCo:
		if s == "" {
			c.sb.WriteString(col + " <> ''")
			return nil
		}
		// instr is an exact, byte-wise search: no LIKE wildcards to escape
		// and no ASCII case folding on case-exact columns.
		c.sb.WriteString("instr(" + col + ", ")
		c.arg(s)
		c.sb.WriteString(") > 0")
		return nil
	case repository.OpSw:
		if s == "" {
			c.sb.WriteString(col + " <> ''") // every present value
			return nil
		}
		// A range on the column, which an index can answer: every string
		// starting with s sorts between s and s followed by 0xFF (a byte
		// valid UTF-8 never contains).
		c.sb.WriteString("(" + col + " >= ")
		c.arg(s)
		c.sb.WriteString(" AND " + col + " < ")
		c.arg(s + "\xff")
		if fc.partial {
			c.sb.WriteString(" AND " + col + " <> ''")
		}
		c.sb.WriteByte(')')
		return nil
	case repository.OpEw:
		if s == "" {
			c.sb.WriteString(col + " <> ''")
			return nil
		}
		// substr counts characters, as RuneCountInString does.
		c.sb.WriteString("substr(" + col + ", ")
		c.arg(-int64(utf8.RuneCountInString(s)))
		c.sb.WriteString(") = ")
		c.arg(s)
		return nil
	case repository.OpEq:
		if fc.partial && s != "" {
			c.sb.WriteString("(" + col + " = ")
			c.arg(s)
			c.sb.WriteString(" AND " + col + " <> '')")
			return nil
		}
	}
	return c.ordered(col, fc, op, s, "''")
}

// ordered appends an eq, ne or ordering comparison. An absent value (the
// column holds empty, given as SQL) never satisfies gt, ge, lt or le, as
// in SCIM; eq and ne compare it like any value.
//
// On an indexed column the range is marked likely to be narrow: SQLite
// cannot know how much of a range matches, and would otherwise rather walk
// the whole account in id order than use the column's index.
func (c *compiler) ordered(col string, fc fieldCol, op repository.Op, v any, empty string) error {
	switch op {
	case repository.OpGt, repository.OpGe, repository.OpLt, repository.OpLe:
		c.sb.WriteByte('(')
		if fc.indexed {
			c.sb.WriteString("likelihood(")
		}
		if err := c.binary(col, op, v); err != nil {
			return err
		}
		if fc.indexed {
			c.sb.WriteString(", 0.05)")
		}
		c.sb.WriteString(" AND " + col + " <> " + empty + ")")
		return nil
	}
	return c.binary(col, op, v)
}

func (c *compiler) binary(col string, op repository.Op, v any) error {
	var sqlOp string
	switch op {
	case repository.OpEq:
		sqlOp = " = "
	case repository.OpNe:
		sqlOp = " <> "
	case repository.OpGt:
		sqlOp = " > "
	case repository.OpGe:
		sqlOp = " >= "
	case repository.OpLt:
		sqlOp = " < "
	case repository.OpLe:
		sqlOp = " <= "
	default:
		return repository.InvalidQueryf("operator %q is not supported here", op)
	}
	c.sb.WriteString(col + sqlOp)
	c.arg(v)
	return nil
}

// listPlan is the SQL of one page of a list and of its total.
type listPlan struct {
	page      string
	pageArgs  []any
	count     string
	countArgs []any
	sorted    bool // the page selects a trailing sort key column
	offset    int
	limit     int
	// unique: the filter is an eq on a unique field, so the page holds
	// every match and tells the total.
	unique bool
}

// plan validates q and builds the page and count statements. The page
// selects spec.fields, then the sort key when sorted, and reads limit+1
// rows to learn whether more follow.
func (spec *listSpec) plan(accountID string, q repository.Query) (listPlan, error) {
	var p listPlan
	if err := repository.ValidateQuery(q, spec.info); err != nil {
		return p, err
	}
	c := &compiler{spec: spec, account: accountID}
	a := spec.alias
	fmt.Fprintf(&c.sb, "FROM %s %s WHERE %s.account_id = ", spec.table, a, a)
	c.arg(accountID)
	if q.Filter != nil {
		c.sb.WriteString(" AND ")
		if err := c.filter(q.Filter); err != nil {
			return p, err
		}
	}
	where, whereArgs := c.sb.String(), slices.Clone(c.args)
	p.count, p.countArgs = "SELECT count(*) "+where, whereArgs

	idCol := a + "." + spec.idCol
	keyCol, keyKind := idCol, repository.KindString
	if q.SortBy != "" && q.SortBy != repository.Field(spec.idCol) {
		fc, info, err := c.field(q.SortBy)
		if err != nil || fc.multi != "" {
			return p, repository.InvalidQueryf("cannot sort by %q", q.SortBy)
		}
		keyCol, keyKind, p.sorted = a+"."+fc.col, info.Kind, true
	}
	dir, cmp := "", ">"
	if q.SortDesc {
		dir, cmp = " DESC", "<"
	}

	if q.Cursor != "" {
		cur, err := repository.DecodeCursor(q.Cursor)
		if err != nil {
			return p, err
		}
		if p.sorted {
			var key any = cur.Key
			if keyKind == repository.KindTime || keyKind == repository.KindBool {
				n, err := strconv.ParseInt(cur.Key, 10, 64)
				if err != nil {
					return p, repository.InvalidQueryf("malformed cursor")
				}
				key = n
			}
			fmt.Fprintf(&c.sb, " AND (%s, %s) %s (", keyCol, idCol, cmp)
			c.arg(key)
			c.sb.WriteString(", ")
			c.arg(cur.ID)
			c.sb.WriteByte(')')
		} else {
			fmt.Fprintf(&c.sb, " AND %s %s ", idCol, cmp)
			c.arg(cur.ID)
		}
	} else if q.StartIndex > 1 {
		p.offset = q.StartIndex - 1
	}
	p.limit = q.Count
	if p.limit == 0 {
		// Only the total is asked for (a count-first check such as
		// provisioning's pending-manager lookup): no page statement.
		return p, nil
	}

	if cmp, ok := q.Filter.(repository.Compare); ok && cmp.Op == repository.OpEq && spec.unique[cmp.Field] {
		v, _ := cmp.Value.(string)
		p.unique = v != ""
	}

	order := func(sb *strings.Builder, key, id string) {
		if p.sorted {
			fmt.Fprintf(sb, " ORDER BY %s%s, %s%s", key, dir, id, dir)
		} else {
			fmt.Fprintf(sb, " ORDER BY %s%s", id, dir)
		}
	}
	// selectList writes the select list of a spec with an outer one.
	selectList := func(sb *strings.Builder) {
		sb.WriteString(spec.outer)
		if q.WithGroups && spec.withGroups != "" {
			sb.WriteString(", ")
			sb.WriteString(spec.withGroups)
		}
	}
	var sb strings.Builder
	switch {
	case spec.outer == "":
		sb.WriteString("SELECT " + spec.fields)
		if p.sorted {
			sb.WriteString(", " + keyCol + " AS sort_key")
		}
		sb.WriteString(" " + c.sb.String())
		order(&sb, keyCol, idCol)
		sb.WriteString(" LIMIT ? OFFSET ?")
	case p.unique:
		// At most one row: nothing to sort or page through first.
		sb.Grow(len(spec.outer) + len(spec.withGroups) + c.sb.Len() + 100)
		sb.WriteString("SELECT ")
		selectList(&sb)
		if p.sorted {
			sb.WriteString(", " + keyCol)
		}
		sb.WriteString(" " + c.sb.String() + " LIMIT ? OFFSET ?")
	default:
		var inner strings.Builder
		fmt.Fprintf(&inner, "SELECT %s.pk", a)
		if p.sorted {
			inner.WriteString(", " + keyCol + " AS sort_key")
		}
		inner.WriteString(" " + c.sb.String())
		order(&inner, keyCol, idCol)
		inner.WriteString(" LIMIT ? OFFSET ?")
		sb.Grow(len(spec.outer) + len(spec.withGroups) + inner.Len() + 200)
		sb.WriteString("SELECT ")
		selectList(&sb)
		if p.sorted {
			sb.WriteString(", page.sort_key")
		}
		fmt.Fprintf(&sb, " FROM (%s) page JOIN %s %s ON %s.pk = page.pk", inner.String(), spec.table, a, a)
		order(&sb, "page.sort_key", idCol)
	}
	p.page = sb.String()
	p.pageArgs = append(c.args, int64(p.limit)+1, int64(p.offset))
	return p, nil
}

// total works out the number of matches from the page when it can: a page
// read from the start of the list (no cursor) that came back short holds
// everything from the offset on.
func (p *listPlan) total(q repository.Query, got int) (int, bool) {
	if p.unique && q.Cursor == "" && p.offset == 0 && p.limit > 0 {
		return got, true
	}
	if q.Cursor != "" || p.limit == 0 || got >= p.limit {
		return 0, false
	}
	if got == 0 && p.offset > 0 {
		return 0, false
	}
	return p.offset + got, true
}

// single reports whether one statement answers q: the total alone, or a
// page that tells the total.
func (p *listPlan) single(q repository.Query) bool {
	if p.limit == 0 {
		return true
	}
	_, ok := p.total(q, p.limit) // even a full page tells it
	return ok
}

// nextCursor returns the cursor after the last item, given its id and sort
// key (ignored when the list is in id order).
func (p *listPlan) nextCursor(id, key string) string {
	if !p.sorted {
		key = ""
	}
	return repository.Cursor{Key: key, ID: id}.Encode()
}
