package filter

import (
	"strings"
	"time"

	"github.com/rosterhq/roster/repository"
)

// Compile parses a SCIM filter (RFC 7644 section 3.4.2.2) and compiles it
// to the store-neutral query model over r's fields. A blank expr compiles
// to a nil Filter, which selects everything. Errors are *Error values
// matching ErrInvalidFilter.
func (r Resource) Compile(expr string) (repository.Filter, error) {
	def, err := r.def(whatFilter)
	if err != nil {
		return nil, err
	}
	x, err := parseFilter(expr)
	if err != nil || x == nil {
		return nil, err
	}
	c := compiler{def: def}
	f, err := c.compile(x)
	if err != nil {
		return nil, err
	}
	// The compiler only builds valid filters; this keeps a mistake in it
	// from reaching a backend as anything but a 400.
	if err := repository.Validate(f, def.fields); err != nil {
		return nil, whatFilter.errorf("%v", err)
	}
	return f, nil
}

type compiler struct{ def *resourceDef }

func (c *compiler) compile(x expr) (repository.Filter, error) {
	switch x := x.(type) {
	case cmpExpr:
		return c.compare(x)
	case logExpr:
		fs := make([]repository.Filter, len(x.xs))
		for i, y := range x.xs {
			f, err := c.compile(y)
			if err != nil {
				return nil, err
			}
			fs[i] = f
		}
		return join(x.and, fs...), nil
	case notExpr:
		f, err := c.compile(x.x)
		if err != nil {
			return nil, err
		}
		return repository.Not{Filter: f}, nil
	case valPathExpr:
		return c.valuePath(x)
	}
	return nil, whatFilter.errorf("unsupported expression %T", x)
}

// compare compiles an attribute expression outside any value filter.
func (c *compiler) compare(x cmpExpr) (repository.Filter, error) {
	a, sub, _, err := c.def.resolve(whatFilter, x.path)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, whatFilter.errorf("%q names a schema, not an attribute", clip(x.path.raw))
	}
	if sub != nil {
		a = sub
	}
	if a.typ == typeComplex {
		// "emails" means "emails.value", "manager" "manager.value".
		if v := a.sub("value"); v != nil && v.field != "" {
			a = v
		} else {
			return c.complexCompare(a, x)
		}
	}
	if a.field == "" {
		return nil, whatFilter.errorf("filtering on %q is not supported", clip(x.path.raw))
	}
	return typed(whatFilter, a, x, false)
}

// complexCompare handles a complex attribute without a value, such as
// name: only "pr" applies, true when any sub-attribute is present.
func (c *compiler) complexCompare(a *attrDef, x cmpExpr) (repository.Filter, error) {
	var present repository.Or
	for _, s := range a.subs {
		if s.field != "" {
			present = append(present, repository.Compare{Field: s.field, Op: repository.OpPr})
		}
	}
	switch {
	case len(present) == 0:
		return nil, whatFilter.errorf("filtering on %q is not supported", clip(x.path.raw))
	case x.op != repository.OpPr || a.multi:
		return nil, whatFilter.errorf("%q is a complex attribute: compare one of its sub-attributes, such as %q",
			clip(x.path.raw), string(present[0].(repository.Compare).Field))
	}
	return join(false, present...), nil
}

// valuePath compiles attr[filter] (and attr[filter].sub op value) to an
// Any over the attribute's elements, simplified where that is equivalent.
func (c *compiler) valuePath(x valPathExpr) (repository.Filter, error) {
	a, sub, _, err := c.def.resolve(whatFilter, x.path)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, whatFilter.errorf("%q names a schema, not an attribute", clip(x.path.raw))
	}
	if sub != nil || !a.multi {
		return nil, whatFilter.errorf("%q is not multi-valued: [...] filters apply to multi-valued attributes such as emails", clip(x.path.raw))
	}
	inner, err := c.element(a, x.filter)
	if err != nil {
		return nil, err
	}
	if x.then != nil {
		then, err := c.elementCompare(a, *x.then)
		if err != nil {
			return nil, err
		}
		inner = join(true, inner, then)
	}
	return anyOf(a.name, inner), nil
}

// element compiles the filter inside attr[...].
func (c *compiler) element(a *attrDef, x expr) (repository.Filter, error) {
	switch x := x.(type) {
	case cmpExpr:
		return c.elementCompare(a, x)
	case logExpr:
		fs := make([]repository.Filter, len(x.xs))
		for i, y := range x.xs {
			f, err := c.element(a, y)
			if err != nil {
				return nil, err
			}
			fs[i] = f
		}
		return join(x.and, fs...), nil
	case notExpr:
		f, err := c.element(a, x.x)
		if err != nil {
			return nil, err
		}
		return repository.Not{Filter: f}, nil
	}
	return nil, whatFilter.errorf("value filter inside %s[...]", a.name)
}

func (c *compiler) elementCompare(a *attrDef, x cmpExpr) (repository.Filter, error) {
	s, err := a.element(whatFilter, x.path)
	if err != nil {
		return nil, err
	}
	if s.field == "" {
		return nil, whatFilter.errorf("filtering on %q is not supported", s.path())
	}
	return typed(whatFilter, s, x, true)
}

// typed builds the comparison of field a.field. Inside an Any, "ne" becomes
// not(eq): per element, "not equal" is the negation of "equal", while a
// plain Compare with OpNe on a multi-valued field means "no element
// equals" (see repository.Compare).
func typed(w what, a *attrDef, x cmpExpr, inAny bool) (repository.Filter, error) {
	f := a.field
	if x.op == repository.OpPr {
		return repository.Compare{Field: f, Op: repository.OpPr}, nil
	}
	v, err := convert(w, a, x)
	if err != nil {
		return nil, err
	}
	if v == nil { // null
		present := repository.Compare{Field: f, Op: repository.OpPr}
		if x.op == repository.OpEq {
			return repository.Not{Filter: present}, nil
		}
		return present, nil
	}
	if inAny && x.op == repository.OpNe {
		return repository.Not{Filter: repository.Compare{Field: f, Op: repository.OpEq, Value: v}}, nil
	}
	return repository.Compare{Field: f, Op: x.op, Value: v}, nil
}

// convert checks the operator against a's type and returns the value as a
// string, bool or time.Time, or nil for null (only with eq and ne).
func convert(w what, a *attrDef, x cmpExpr) (any, error) {
	name := clip(x.path.raw)
	switch a.typ {
	case typeBoolean:
		if x.op != repository.OpEq && x.op != repository.OpNe {
			return nil, w.errorf("operator %q is not supported on boolean attribute %q", x.op, name)
		}
	case typeDateTime:
		switch x.op {
		case repository.OpCo, repository.OpSw, repository.OpEw:
			return nil, w.errorf("operator %q is not supported on dateTime attribute %q", x.op, name)
		}
	}
	if x.val.kind == litNull {
		if x.op != repository.OpEq && x.op != repository.OpNe {
			return nil, w.errorf("operator %q cannot compare %q with null", x.op, name)
		}
		return nil, nil
	}
	switch a.typ {
	case typeBoolean:
		switch {
		case x.val.kind == litTrue, x.val.kind == litString && strings.EqualFold(x.val.str, "true"):
			return true, nil
		case x.val.kind == litFalse, x.val.kind == litString && strings.EqualFold(x.val.str, "false"):
			return false, nil
		}
		return nil, w.errorf("%q needs true or false, got %s", name, x.val.describe())
	case typeDateTime:
		if x.val.kind == litString {
			if t, ok := parseDateTime(x.val.str); ok {
				return t, nil
			}
		}
		return nil, w.errorf("%q needs a dateTime such as \"2024-01-31T09:00:00Z\", got %s", name, x.val.describe())
	}
	if x.val.kind != litString {
		return nil, w.errorf("%q needs a string in double quotes, got %s", name, x.val.describe())
	}
	return x.val.str, nil
}

// parseDateTime reads an RFC 3339 date-time. A date-time without a zone
// (xsd:dateTime allows it, and some clients send it) is taken as UTC.
func parseDateTime(s string) (time.Time, bool) {
	u := strings.ToUpper(s) // RFC 3339 allows "t" and "z"
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, u); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// join combines filters with and/or, flattening nested nodes of the same
// kind so "(a and b) and c" is one And of three.
func join(and bool, fs ...repository.Filter) repository.Filter {
	var out []repository.Filter
	for _, f := range fs {
		switch g := f.(type) {
		case repository.And:
			if and {
				out = append(out, g...)
				continue
			}
		case repository.Or:
			if !and {
				out = append(out, g...)
				continue
			}
		}
		out = append(out, f)
	}
	if len(out) == 1 {
		return out[0]
	}
	if and {
		return repository.And(out)
	}
	return repository.Or(out)
}

// anyOf wraps an element filter of attribute attr in an Any, except where
// a plain comparison means the same: a single Compare (it matches when any
// element matches; typed never puts OpNe inside an Any) and each side of
// an Or ("some element is A or B" is "some element is A, or some is B").
func anyOf(attr string, f repository.Filter) repository.Filter {
	switch g := f.(type) {
	case repository.Compare:
		return g
	case repository.Or:
		out := make(repository.Or, len(g))
		for i, h := range g {
			out[i] = anyOf(attr, h)
		}
		return out
	}
	return repository.Any{Attr: attr, Filter: f}
}
