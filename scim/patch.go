package scim

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/rosterhq/roster/scim/filter"
)

// This file is the PATCH engine (RFC 7644 section 3.5.2). It applies
// operations to the canonical JSON map of one resource (see
// normalizeResource); the caller maps the result back to the record and
// writes it once, so a request either applies whole or not at all. Group
// membership operations never come here: the Groups handler sends them
// to the store's edge methods.

// patchOp is one operation as the client sent it.
type patchOp struct {
	op    string // "add", "replace" or "remove", whatever case was sent
	path  string // empty: the target is the resource itself
	value any
	// hasValue tells a JSON null value from no value at all.
	hasValue bool
}

// pathOp is an operation on one resolved attribute path.
type pathOp struct {
	op    string // lower case
	path  filter.Path
	value any
}

// parsePatch reads a PatchOp request body. Member names are matched
// ignoring case ("Operations", "operations"; "op", "Op"), and op values
// too ("Replace"), as real clients send them.
func parsePatch(body []byte) ([]patchOp, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	var rawOps any
	found := false
	for k, v := range obj {
		switch strings.ToLower(k) {
		case "schemas":
			list, ok := v.([]any)
			if !ok {
				return nil, badRequest(typeInvalidSyntax, "schemas must be [%q]", URNPatchOp)
			}
			for _, u := range list {
				if s, _ := u.(string); !strings.EqualFold(s, URNPatchOp) {
					return nil, badRequest(typeInvalidSyntax, "a PATCH request takes the schema %q, not %v", URNPatchOp, u)
				}
			}
		case "operations":
			rawOps, found = v, true
		}
	}
	list, ok := rawOps.([]any)
	if !found || !ok || len(list) == 0 {
		return nil, badRequest(typeInvalidSyntax, "a PATCH request needs a non-empty \"Operations\" array")
	}
	ops := make([]patchOp, 0, len(list))
	for i, raw := range list {
		o, ok := raw.(map[string]any)
		if !ok {
			return nil, badRequest(typeInvalidSyntax, "Operations[%d] must be an object, not %s", i, describe(raw))
		}
		var op patchOp
		for k, v := range o {
			switch strings.ToLower(k) {
			case "op":
				s, ok := v.(string)
				if !ok {
					return nil, badRequest(typeInvalidSyntax, "Operations[%d].op must be a string", i)
				}
				op.op = strings.ToLower(strings.TrimSpace(s))
			case "path":
				if v == nil {
					continue
				}
				s, ok := v.(string)
				if !ok {
					return nil, badRequest(typeInvalidPath, "Operations[%d].path must be a string", i)
				}
				op.path = strings.TrimSpace(s)
			case "value":
				op.value, op.hasValue = v, true
			}
		}
		switch op.op {
		case "add", "replace", "remove":
		case "":
			return nil, badRequest(typeInvalidSyntax, "Operations[%d] has no \"op\"", i)
		default:
			return nil, badRequest(typeInvalidSyntax, "Operations[%d].op %q is not add, replace or remove", i, op.op)
		}
		if op.op == "remove" && op.path == "" {
			return nil, badRequest(typeNoTarget, "Operations[%d]: a remove operation needs a path", i)
		}
		if op.op != "remove" && !op.hasValue {
			return nil, badRequest(typeInvalidValue, "Operations[%d]: an %s operation needs a value", i, op.op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// patcher applies PATCH operations to resources of one type.
type patcher struct {
	rt    *resourceType
	paths filter.Resource
}

// expand resolves every operation to attribute paths. An operation
// without path carries an object whose keys are attribute names, dotted
// sub-attributes ("name.givenName"), extension URNs with an object of
// their attributes, or URN-qualified attributes; each key becomes an
// operation of its own.
func (p *patcher) expand(ops []patchOp) ([]pathOp, error) {
	var out []pathOp
	add := func(op, path string, v any) error {
		parsed, err := p.paths.ParsePath(path)
		if err != nil {
			return err
		}
		if parsed.Attr == "" { // a whole extension
			if op == "remove" {
				out = append(out, pathOp{op: op, path: parsed})
				return nil
			}
			obj, ok := v.(map[string]any)
			if !ok {
				if v == nil {
					return nil
				}
				return badRequest(typeInvalidValue, "the value for %s must be an object of its attributes", parsed.Schema)
			}
			for _, k := range sortedKeys(obj) {
				sub, err := p.paths.ParsePath(parsed.Schema + ":" + k)
				if err != nil {
					return err
				}
				out = append(out, pathOp{op: op, path: sub, value: obj[k]})
			}
			return nil
		}
		out = append(out, pathOp{op: op, path: parsed, value: v})
		return nil
	}
	for _, o := range ops {
		if o.path != "" {
			if err := add(o.op, o.path, o.value); err != nil {
				return nil, err
			}
			continue
		}
		obj, ok := o.value.(map[string]any)
		if !ok {
			return nil, badRequest(typeInvalidValue, "an %s operation without path needs an object of attributes as its value, not %s", o.op, describe(o.value))
		}
		for _, k := range sortedKeys(obj) {
			if strings.EqualFold(k, "schemas") {
				continue
			}
			if err := add(o.op, k, obj[k]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// sortedKeys returns the keys of m in order, so that an object of
// several attributes is applied the same way every time.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// apply runs the operations on res in order. It returns the top-level
// attributes the operations set or removed (without read-only ones).
func (p *patcher) apply(res map[string]any, ops []pathOp) ([]string, error) {
	var touched []string
	for _, o := range ops {
		a, err := p.attrOf(o.path)
		if err != nil {
			return nil, err
		}
		if a == nil {
			delete(res, o.path.Schema) // remove of a whole extension
			continue
		}
		if a.readOnly() {
			continue // read-only attributes in requests are ignored
		}
		if err := applyOne(res, a, o); err != nil {
			return nil, err
		}
		if a.name != "password" && !slices.Contains(touched, a.name) {
			touched = append(touched, a.name)
		}
	}
	pruneEmptyExtensions(p.rt, res)
	return touched, nil
}

// attrOf finds the definition of a parsed path's attribute; nil for a
// whole extension. Attributes the filter package knows but Roster does
// not keep are an invalidPath.
func (p *patcher) attrOf(path filter.Path) (*attr, error) {
	if path.Attr == "" {
		if p.rt.extension(path.Schema) == nil {
			return nil, badRequest(typeInvalidPath, "unknown schema %q", path.Schema)
		}
		return nil, nil
	}
	var a *attr
	if s := p.rt.extension(path.Schema); s != nil {
		a = s.attr(path.Attr)
	} else {
		a = p.rt.topAttr(path.Attr)
	}
	if a == nil {
		return nil, badRequest(typeInvalidPath, "attribute %q is not supported by this server", path.String())
	}
	if path.Sub != "" && a.subAttr(path.Sub) == nil {
		return nil, badRequest(typeInvalidPath, "attribute %q is not supported by this server", path.String())
	}
	return a, nil
}

// applyOne applies one operation to attribute a of res.
func applyOne(res map[string]any, a *attr, o pathOp) error {
	container := containerOf(res, a)
	name := o.path.String()
	switch {
	case o.path.Filter == nil && o.path.Sub == "":
		return applyWhole(container, a, name, o)
	case o.path.Filter == nil:
		return applySub(container, a, a.subAttr(o.path.Sub), name, o)
	default:
		return applyFiltered(container, a, name, o)
	}
}

// applyWhole applies an operation on a whole attribute ("emails", "name",
// "active").
func applyWhole(container map[string]any, a *attr, name string, o pathOp) error {
	v, err := coerce(a, name, o.value)
	if err != nil {
		return err
	}
	cur, exists := container[a.name]
	switch o.op {
	case "remove":
		if o.value != nil && a.multi && exists {
			// A remove with a value removes those values (how Entra and
			// others remove one entry of a list).
			spec, _ := v.([]any)
			list := elements(cur)
			list = slices.DeleteFunc(list, func(el any) bool {
				return slices.ContainsFunc(spec, func(s any) bool { return sameElement(a, el, s) })
			})
			setList(container, a, list)
			return nil
		}
		delete(container, a.name)
		return nil
	case "add":
		if v == nil {
			return nil
		}
		if a.multi {
			list := elements(cur)
			var affected []int
			for _, nv := range v.([]any) {
				i := slices.IndexFunc(list, func(el any) bool { return sameElement(a, el, nv) })
				if i < 0 {
					list = append(list, nv)
					i = len(list) - 1
				} else {
					list[i] = mergeValue(list[i], nv)
				}
				affected = append(affected, i)
			}
			fixPrimary(a, list, affected)
			setList(container, a, list)
			return nil
		}
		container[a.name] = mergeValue(cur, v)
		return nil
	default: // replace
		if v == nil {
			delete(container, a.name)
			return nil
		}
		if a.multi {
			list := v.([]any)
			fixPrimary(a, list, nil)
			setList(container, a, list)
			return nil
		}
		// Replacing a complex attribute replaces the sub-attributes given
		// and leaves the others (RFC 7644 section 3.5.2.3).
		container[a.name] = mergeValue(cur, v)
		return nil
	}
}

// applySub applies an operation on a sub-attribute without filter
// ("name.givenName"; "emails.value" on every element).
func applySub(container map[string]any, a, s *attr, name string, o pathOp) error {
	if s.readOnly() {
		return nil
	}
	v, err := coerce(s, name, o.value)
	if err != nil {
		return err
	}
	if o.op == "remove" {
		v = nil
	}
	if !a.multi {
		obj, _ := container[a.name].(map[string]any)
		if obj == nil {
			obj = map[string]any{}
		}
		if v == nil {
			delete(obj, s.name)
		} else {
			obj[s.name] = v
		}
		if len(obj) == 0 {
			delete(container, a.name)
		} else {
			container[a.name] = obj
		}
		return nil
	}
	list := elements(container[a.name])
	if len(list) == 0 && v != nil {
		list = []any{map[string]any{s.name: v}}
	}
	for i, el := range list {
		obj, ok := el.(map[string]any)
		if !ok {
			continue
		}
		if v == nil {
			delete(obj, s.name)
		} else {
			obj[s.name] = v
		}
		list[i] = obj
	}
	setList(container, a, list)
	return nil
}

// applyFiltered applies an operation on the elements a value filter
// selects ("emails[type eq \"work\"]", "emails[type eq \"work\"].value").
// When add or replace selects nothing, the element is created from the
// filter's equalities, as Entra expects for emails[type eq "work"].value
// on a user without a work email.
func applyFiltered(container map[string]any, a *attr, name string, o pathOp) error {
	list := elements(container[a.name])
	var matched []int
	for i, el := range list {
		if o.path.Filter.Match(elementForMatch(el)) {
			matched = append(matched, i)
		}
	}
	var s *attr
	if o.path.Sub != "" {
		s = a.subAttr(o.path.Sub)
		if s.readOnly() {
			return nil
		}
	}

	if o.op == "remove" {
		if s == nil {
			var kept []any
			for i, el := range list {
				if !slices.Contains(matched, i) {
					kept = append(kept, el)
				}
			}
			setList(container, a, kept)
			return nil
		}
		for _, i := range matched {
			if obj, ok := list[i].(map[string]any); ok {
				delete(obj, s.name)
			}
		}
		setList(container, a, list)
		return nil
	}

	var v any
	var err error
	if s != nil {
		v, err = coerce(s, name, o.value)
	} else {
		v, err = coerceOne(a, name, o.value)
	}
	if err != nil {
		return err
	}
	if v == nil {
		if o.op == "replace" {
			// Replacing with null unassigns the selected values.
			return applyFiltered(container, a, name, pathOp{op: "remove", path: o.path})
		}
		return nil
	}
	if len(matched) == 0 {
		if a.typ != "complex" {
			// A list of simple values (expertise): the value is the new
			// element.
			list = append(list, v)
		} else {
			el := pinnedElement(a, o.path.Filter)
			if len(el) == 0 {
				return badRequest(typeNoTarget, "no value of %s matches [%s], and a new one cannot be made from that filter",
					a.name, o.path.Filter.String())
			}
			if s != nil {
				el[s.name] = v
			} else if obj, ok := v.(map[string]any); ok {
				for k, x := range obj {
					el[k] = x
				}
			}
			list = append(list, el)
		}
		matched = []int{len(list) - 1}
	} else {
		for _, i := range matched {
			switch {
			case s != nil:
				if obj, ok := list[i].(map[string]any); ok {
					obj[s.name] = v
				}
			case a.typ == "complex":
				list[i] = mergeValue(list[i], v)
			default:
				list[i] = v
			}
		}
	}
	fixPrimary(a, list, matched)
	setList(container, a, list)
	return nil
}

// pinnedElement builds a new complex element from the equalities of a
// value filter: type eq "work" gives {"type": "work"}. Only a filter that
// is a single equality per sub-attribute pins anything.
func pinnedElement(a *attr, f *filter.ElementFilter) map[string]any {
	el := map[string]any{}
	for _, s := range a.sub {
		if vals, ok := f.EqualValues(s.name); ok && len(vals) == 1 && !s.readOnly() {
			el[s.name] = vals[0]
		}
	}
	return el
}

// elements returns a multi-valued attribute's values as a new slice.
func elements(v any) []any {
	list, _ := v.([]any)
	return slices.Clone(list)
}

// setList stores a multi-valued attribute, removing it when empty.
func setList(container map[string]any, a *attr, list []any) {
	if len(list) == 0 {
		delete(container, a.name)
		return
	}
	container[a.name] = list
}

// elementForMatch presents an element to a value filter: simple values
// as {"value": v}.
func elementForMatch(el any) map[string]any {
	if obj, ok := el.(map[string]any); ok {
		return obj
	}
	return map[string]any{"value": el}
}

// sameElement reports whether two values of a multi-valued attribute are
// the same entry: equal "value" sub-attributes when the spec has one
// (so {"value": "x", "display": "X"} names the entry "x"), else equal as
// a whole.
func sameElement(a *attr, el, spec any) bool {
	if a.typ != "complex" {
		return equalScalar(a, el, spec)
	}
	e, ok1 := el.(map[string]any)
	s, ok2 := spec.(map[string]any)
	if !ok1 || !ok2 {
		return false
	}
	if sv, ok := s["value"]; ok {
		return equalScalar(a.subAttr("value"), e["value"], sv)
	}
	return jsonEqual(e, s)
}

// equalScalar compares two simple values by a's caseExact rule.
func equalScalar(a *attr, x, y any) bool {
	xs, ok1 := x.(string)
	ys, ok2 := y.(string)
	if ok1 && ok2 {
		if a != nil && a.caseExact {
			return xs == ys
		}
		return strings.EqualFold(xs, ys)
	}
	return jsonEqual(x, y)
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(x, y any) bool {
	bx, err1 := json.Marshal(x)
	by, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && string(bx) == string(by)
}

// mergeValue merges a complex value's sub-attributes into the current
// one; for anything else the new value wins.
func mergeValue(cur, v any) any {
	nv, ok := v.(map[string]any)
	if !ok {
		return v
	}
	obj, ok := cur.(map[string]any)
	if !ok {
		return nv
	}
	out := make(map[string]any, len(obj)+len(nv))
	for k, x := range obj {
		out[k] = x
	}
	for k, x := range nv {
		out[k] = x
	}
	return out
}

// fixPrimary keeps "primary": true on at most one element: when one of the
// affected elements is primary, the others are not (RFC 7644 section
// 3.5.2); otherwise the first primary stays.
func fixPrimary(a *attr, list []any, affected []int) {
	if a.subAttr("primary") == nil {
		return
	}
	keep := -1
	for _, i := range affected {
		if obj, ok := list[i].(map[string]any); ok && obj["primary"] == true {
			keep = i
		}
	}
	for i, el := range list {
		obj, ok := el.(map[string]any)
		if !ok || obj["primary"] != true {
			continue
		}
		if keep < 0 {
			keep = i
		}
		if i != keep {
			obj = mergeValue(obj, map[string]any{"primary": false}).(map[string]any)
			list[i] = obj
		}
	}
}
