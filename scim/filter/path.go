package filter

import (
	"strings"
	"time"

	"github.com/rosterhq/roster/repository"
)

// Path is a parsed attribute path: the "path" of a PATCH operation (RFC
// 7644 section 3.5.2) or an entry of attributes/excludedAttributes. Names
// are in their canonical spelling whatever the case the client used, so
// callers compare them with ==.
type Path struct {
	// Schema is the URN of the schema the attribute belongs to, such as
	// SchemaEnterpriseUser for "manager", whether or not the client wrote
	// the URN. Always set.
	Schema string
	// Attr is the attribute, e.g. "emails" or "manager"; empty when the
	// path is only a schema URN (the whole extension).
	Attr string
	// Filter selects elements of a multi-valued Attr: the part in
	// brackets of emails[type eq "work"]. Nil without brackets.
	Filter *ElementFilter
	// Sub is the sub-attribute, e.g. "givenName" for name.givenName or
	// "value" for emails[type eq "work"].value; empty when none.
	Sub string
}

// String renders the path canonically; extension attributes keep their
// schema URN so the text parses back to the same Path.
func (p Path) String() string {
	var b strings.Builder
	if p.Schema != SchemaUser && p.Schema != SchemaGroup || p.Attr == "" {
		b.WriteString(p.Schema)
		if p.Attr != "" {
			b.WriteByte(':')
		}
	}
	b.WriteString(p.Attr)
	if p.Filter != nil {
		b.WriteString("[" + p.Filter.text + "]")
	}
	if p.Sub != "" {
		b.WriteString("." + p.Sub)
	}
	return b.String()
}

// ParsePath parses an attribute path of r: attrPath, or valuePath with an
// optional sub-attribute (attr[filter].sub), each with an optional schema
// URN prefix, in any capitalisation. Unknown schemas, attributes and
// sub-attributes, a value filter on a single-valued attribute, and value
// filters comparing the wrong type are errors matching ErrInvalidPath.
func (r Resource) ParsePath(s string) (Path, error) {
	def, err := r.def(whatPath)
	if err != nil {
		return Path{}, err
	}
	ps, err := parsePathSyntax(whatPath, s)
	if err != nil {
		return Path{}, err
	}
	a, sub, schema, err := def.resolve(whatPath, ps.path)
	if err != nil {
		return Path{}, err
	}
	p := Path{Schema: schema}
	if a == nil {
		return p, nil
	}
	p.Attr = a.name
	if sub != nil {
		p.Sub = sub.name
	}
	if ps.filter == nil {
		return p, nil
	}
	if sub != nil || !a.multi {
		return Path{}, whatPath.errorf("%q is not multi-valued: [...] filters apply to multi-valued attributes such as emails", clip(ps.path.raw))
	}
	root, err := elementNode(a, ps.filter)
	if err != nil {
		return Path{}, err
	}
	p.Filter = &ElementFilter{root: root, text: ps.text}
	if ps.sub != "" {
		if a.typ != typeComplex {
			return Path{}, whatPath.errorf("attribute %q has no sub-attributes", a.name)
		}
		s := a.sub(ps.sub)
		if s == nil {
			return Path{}, whatPath.errorf("unknown attribute %q at offset %d", a.name+"."+clip(ps.sub), ps.subOff)
		}
		p.Sub = s.name
	}
	return p, nil
}

// SortField resolves a sortBy attribute of r (RFC 7644 section 3.4.2.3) to
// the repository field to order by. A blank sortBy returns "" (no
// ordering). Unknown and unsortable attributes are errors matching
// ErrInvalidSort.
func (r Resource) SortField(sortBy string) (repository.Field, error) {
	def, err := r.def(whatSort)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(sortBy) == "" {
		return "", nil
	}
	ps, err := parsePathSyntax(whatSort, sortBy)
	if err != nil {
		return "", err
	}
	a, sub, _, err := def.resolve(whatSort, ps.path)
	if err != nil {
		return "", err
	}
	if a == nil {
		return "", whatSort.errorf("cannot sort by a schema: %q", clip(sortBy))
	}
	if sub != nil {
		a = sub
	}
	if info, ok := def.fields[a.field]; ok && info.Sortable && !a.multi {
		return a.field, nil
	}
	return "", whatSort.errorf("cannot sort by %q", clip(sortBy))
}

// ElementFilter is the filter of a value path, such as type eq "work" in
// emails[type eq "work"].value, ready to be evaluated in memory against
// the elements of one resource's multi-valued attribute.
type ElementFilter struct {
	root elemNode
	text string // as written between the brackets
}

// String returns the filter as written between the brackets.
func (f *ElementFilter) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

// Match reports whether element, one element of the multi-valued attribute
// as decoded JSON (map keys are sub-attribute names, matched ignoring
// case), satisfies the filter. Elements of a multi-valued attribute of
// simple values, such as expertise, are passed as {"value": v}. Strings
// compare by the sub-attribute's caseExact rule; booleans also match the
// strings "true" and "false"; dateTime values may be time.Time or RFC 3339
// strings. A nil filter matches every element.
func (f *ElementFilter) Match(element map[string]any) bool {
	if f == nil {
		return true
	}
	return f.root.match(element)
}

// EqualValues returns the string values the filter pins sub to when it is
// `sub eq "v"` or an "or" of such comparisons, as in
// members[value eq "a" or value eq "b"]; ok is false for any other filter.
// It lets a caller act on a group's members by id without loading them.
func (f *ElementFilter) EqualValues(sub string) (values []string, ok bool) {
	if f == nil {
		return nil, false
	}
	var walk func(n elemNode) bool
	walk = func(n elemNode) bool {
		switch n := n.(type) {
		case elemCompare:
			v, isString := n.val.(string)
			if n.op != repository.OpEq || !isString || !strings.EqualFold(n.key, sub) {
				return false
			}
			values = append(values, v)
			return true
		case elemLogic:
			if n.and {
				return false
			}
			for _, m := range n.xs {
				if !walk(m) {
					return false
				}
			}
			return true
		}
		return false
	}
	if !walk(f.root) {
		return nil, false
	}
	return values, true
}

// elemNode is a resolved element filter node.
type elemNode interface {
	match(el map[string]any) bool
}

type elemCompare struct {
	key       string // canonical sub-attribute name
	typ       attrType
	caseExact bool
	op        repository.Op // never OpNe: built as not(eq)
	val       any           // string, bool or time.Time; nil for pr
}

type elemLogic struct {
	and bool
	xs  []elemNode
}

type elemNot struct{ x elemNode }

// elementNode resolves the filter inside a[...] for in-memory evaluation,
// with the same typing rules as Compile.
func elementNode(a *attrDef, x expr) (elemNode, error) {
	switch x := x.(type) {
	case cmpExpr:
		s, err := a.element(whatPath, x.path)
		if err != nil {
			return nil, err
		}
		key := s.name
		if s == a { // the element of a simple multi-valued attribute
			key = "value"
		}
		c := elemCompare{key: key, typ: s.typ, caseExact: s.caseExact, op: x.op}
		if x.op == repository.OpPr {
			return c, nil
		}
		v, err := convert(whatPath, s, x)
		if err != nil {
			return nil, err
		}
		if v == nil { // null: eq means absent, ne present
			c.op = repository.OpPr
			if x.op == repository.OpEq {
				return elemNot{c}, nil
			}
			return c, nil
		}
		c.val = v
		if x.op == repository.OpNe {
			c.op = repository.OpEq
			return elemNot{c}, nil
		}
		return c, nil
	case logExpr:
		n := elemLogic{and: x.and, xs: make([]elemNode, len(x.xs))}
		for i, y := range x.xs {
			m, err := elementNode(a, y)
			if err != nil {
				return nil, err
			}
			n.xs[i] = m
		}
		return n, nil
	case notExpr:
		m, err := elementNode(a, x.x)
		if err != nil {
			return nil, err
		}
		return elemNot{m}, nil
	}
	return nil, whatPath.errorf("value filter inside %s[...]", a.name)
}

func (n elemLogic) match(el map[string]any) bool {
	for _, x := range n.xs {
		if x.match(el) != n.and {
			return !n.and
		}
	}
	return n.and
}

func (n elemNot) match(el map[string]any) bool { return !n.x.match(el) }

func (c elemCompare) match(el map[string]any) bool {
	v, ok := el[c.key]
	if !ok {
		for k, kv := range el {
			if strings.EqualFold(k, c.key) {
				v, ok = kv, true
				break
			}
		}
	}
	if c.op == repository.OpPr {
		return ok && present(v)
	}
	if !ok {
		return false
	}
	switch c.typ {
	case typeBoolean:
		b, ok := asBool(v)
		return ok && b == c.val.(bool)
	case typeDateTime:
		t, ok := asTime(v)
		return ok && order(c.op, t.Compare(c.val.(time.Time)))
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	want := c.val.(string)
	if !c.caseExact {
		s, want = strings.ToLower(s), strings.ToLower(want)
	}
	switch c.op {
	case repository.OpCo:
		return strings.Contains(s, want)
	case repository.OpSw:
		return strings.HasPrefix(s, want)
	case repository.OpEw:
		return strings.HasSuffix(s, want)
	}
	return order(c.op, strings.Compare(s, want))
}

// order applies eq, gt, ge, lt or le to the result of a three-way compare.
func order(op repository.Op, cmp int) bool {
	switch op {
	case repository.OpEq:
		return cmp == 0
	case repository.OpGt:
		return cmp > 0
	case repository.OpGe:
		return cmp >= 0
	case repository.OpLt:
		return cmp < 0
	case repository.OpLe:
		return cmp <= 0
	}
	return false
}

// present is SCIM's "has a non-empty value".
func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

func asBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch {
		case strings.EqualFold(v, "true"):
			return true, true
		case strings.EqualFold(v, "false"):
			return false, true
		}
	}
	return false, false
}

func asTime(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case string:
		return parseDateTime(v)
	}
	return time.Time{}, false
}
