package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decodeJSON parses a request body into v, keeping numbers exact. Bad
// JSON is a 400 invalidSyntax naming where it broke; a body over the size
// limit is a 413.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest(typeInvalidSyntax, "the request body is empty; a JSON object is expected")
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return badRequest(typeInvalidSyntax, "the request body is not valid JSON: %v (at byte %d)", syn, syn.Offset)
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			field := typ.Field
			if field == "" {
				field = "the request body"
			}
			return badRequest(typeInvalidSyntax, "%s must be a JSON %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return badRequest(typeInvalidSyntax, "the request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return badRequest(typeInvalidSyntax, "the request body holds more than one JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest(typeInvalidSyntax, "the request body has trailing data after the JSON value")
	}
	return nil
}

// jsonKind names a Go kind the way a JSON reader would.
func jsonKind(k string) string {
	switch k {
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int64", "float64":
		return "number"
	}
	return k
}

// decodeObject parses a request body that must be one JSON object.
func decodeObject(body []byte) (map[string]any, error) {
	var v any
	if err := decodeJSON(body, &v); err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest(typeInvalidSyntax, "the request body must be a JSON object, not %s", describe(v))
	}
	return obj, nil
}

// describe names the JSON type of a decoded value for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64, int, int64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// normalizeResource checks a resource sent by a client (a POST or PUT
// body, or a resource after PATCH operations) against rt and returns it in
// canonical form:
//   - attribute names in their schema's case, extension attributes in an
//     object under their schema URN, also when sent as
//     "urn:...:User:department" keys at the top level;
//   - values coerced to their types: booleans sent as "True"/"false",
//     numbers for strings, a single value where a list is expected, a
//     string where a complex value with a "value" sub-attribute is
//     expected (an enterprise manager sent as its id);
//   - JSON nulls dropped (an unassigned attribute);
//   - read-only attributes (id, meta, groups, seatStatus, ...) and "schemas"
//     dropped, attributes of no schema ignored.
//
// A schema URN in "schemas" that the resource type does not know is a 400.
func normalizeResource(rt *resourceType, in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if err := checkSchemas(rt, in["schemas"]); err != nil {
		return nil, err
	}
	seen := map[string]string{} // lower-case schema:attribute -> key sent
	put := func(a *attr, key string, v any) error {
		path := strings.ToLower(a.schema + ":" + a.name)
		if prev, dup := seen[path]; dup {
			return badRequest(typeInvalidSyntax, "attribute %q is given twice (as %q and %q)", a.name, prev, key)
		}
		seen[path] = key
		if a.readOnly() {
			return nil
		}
		cv, err := coerce(a, a.name, v)
		if err != nil {
			return err
		}
		if cv != nil {
			containerOf(out, a)[a.name] = cv
		}
		return nil
	}
	type dottedKey struct {
		a, s *attr
		key  string
		v    any
	}
	var dotted []dottedKey
	for key, v := range in {
		if strings.EqualFold(key, "schemas") {
			continue
		}
		if ext := rt.extension(key); ext != nil {
			if v == nil {
				continue
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, badRequest(typeInvalidValue, "%s must be an object of extension attributes, not %s", ext.def.ID, describe(v))
			}
			for k, sv := range obj {
				if a := ext.attr(k); a != nil {
					if err := put(a, ext.def.ID+":"+k, sv); err != nil {
						return nil, err
					}
				}
			}
			continue
		}
		a, sub, ok := rt.lookup(key)
		if !ok {
			continue // RFC 7644 lets a server ignore attributes it does not define
		}
		if sub != "" {
			// A dotted key ("name.givenName") is how some clients send one
			// sub-attribute; it is merged into the complex value below.
			if s := a.subAttr(sub); s != nil && !a.multi {
				dotted = append(dotted, dottedKey{a: a, s: s, key: key, v: v})
			}
			continue
		}
		if err := put(a, key, v); err != nil {
			return nil, err
		}
	}
	// Sorted, so that two spellings of one sub-attribute resolve the same
	// way every time.
	sort.Slice(dotted, func(i, j int) bool { return dotted[i].key < dotted[j].key })
	for _, d := range dotted {
		if d.a.readOnly() || d.s.readOnly() {
			continue
		}
		cv, err := coerce(d.s, d.a.name+"."+d.s.name, d.v)
		if err != nil {
			return nil, err
		}
		container := containerOf(out, d.a)
		obj, _ := container[d.a.name].(map[string]any)
		if obj == nil {
			obj = map[string]any{}
		}
		if cv == nil {
			delete(obj, d.s.name)
		} else {
			obj[d.s.name] = cv
		}
		if len(obj) == 0 {
			delete(container, d.a.name)
		} else {
			container[d.a.name] = obj
		}
	}
	pruneEmptyExtensions(rt, out)
	return out, nil
}

// pruneEmptyExtensions drops extension objects left without attributes.
func pruneEmptyExtensions(rt *resourceType, res map[string]any) {
	for _, e := range rt.extensions {
		if m, ok := res[e.def.ID].(map[string]any); ok && len(m) == 0 {
			delete(res, e.def.ID)
		}
	}
}

// checkSchemas verifies the "schemas" list names schemas of rt only.
func checkSchemas(rt *resourceType, v any) error {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return badRequest(typeInvalidSyntax, "schemas must be an array of schema URNs, not %s", describe(v))
	}
	for _, u := range list {
		s, ok := u.(string)
		if !ok {
			return badRequest(typeInvalidSyntax, "schemas must be an array of schema URNs; found %s", describe(u))
		}
		if !rt.knownSchema(s) {
			return badRequest(typeInvalidSyntax, "unknown schema %q for a %s; known schemas: %s", s, rt.id, strings.Join(schemaIDs(rt), ", "))
		}
	}
	return nil
}

// schemaIDs lists the URNs of rt's schemas.
func schemaIDs(rt *resourceType) []string {
	var ids []string
	for _, s := range rt.allSchemas() {
		ids = append(ids, s.def.ID)
	}
	return ids
}

// containerOf returns the object holding a's value in a resource: the
// resource itself for core attributes, its extension object otherwise.
func containerOf(res map[string]any, a *attr) map[string]any {
	if a.schema == URNUser || a.schema == URNGroup || a.schema == "common" {
		return res
	}
	return extObject(res, a.schema)
}

// extObject returns (creating it) the extension object urn of res.
func extObject(res map[string]any, urn string) map[string]any {
	if m, ok := res[urn].(map[string]any); ok {
		return m
	}
	m := map[string]any{}
	res[urn] = m
	return m
}

// coerce checks v against a and returns it in canonical form, nil for an
// unassigned value. name is the attribute's path for messages.
func coerce(a *attr, name string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.multi {
		list, ok := v.([]any)
		if !ok {
			list = []any{v} // one value where a list is expected
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			ce, err := coerceOne(a, name, e)
			if err != nil {
				return nil, err
			}
			if ce != nil {
				out = append(out, ce)
			}
		}
		return out, nil
	}
	if list, ok := v.([]any); ok && a.typ == "complex" && len(list) == 1 {
		v = list[0] // a one-element list where one complex value is expected
	}
	return coerceOne(a, name, v)
}

// coerceOne checks one (non-list) value of a.
func coerceOne(a *attr, name string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.typ {
	case "complex":
		obj, ok := v.(map[string]any)
		if !ok {
			value := a.subAttr("value")
			if s, isStr := v.(string); isStr && value != nil {
				return map[string]any{value.name: s}, nil
			}
			return nil, badRequest(typeInvalidValue, "%s must be an object, not %s", name, describe(v))
		}
		out := map[string]any{}
		for k, sv := range obj {
			s := a.subAttr(k)
			if s == nil || s.readOnly() {
				continue
			}
			if _, dup := out[s.name]; dup {
				return nil, badRequest(typeInvalidSyntax, "%s.%s is given twice", name, s.name)
			}
			cv, err := coerce(s, name+"."+s.name, sv)
			if err != nil {
				return nil, err
			}
			if cv != nil {
				out[s.name] = cv
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case "boolean":
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			// Entra sends "True" and "False".
			switch strings.ToLower(strings.TrimSpace(b)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, badRequest(typeInvalidValue, "%s must be a boolean (true or false), not %s", name, describeValue(v))
	case "integer":
		n, err := toNumber(v)
		if err != nil {
			return nil, badRequest(typeInvalidValue, "%s must be an integer, not %s", name, describeValue(v))
		}
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return nil, badRequest(typeInvalidValue, "%s must be an integer, not %s", name, describeValue(v))
		}
		return i, nil
	case "decimal":
		n, err := toNumber(v)
		if err != nil {
			return nil, badRequest(typeInvalidValue, "%s must be a number, not %s", name, describeValue(v))
		}
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return nil, badRequest(typeInvalidValue, "%s must be a number, not %s", name, describeValue(v))
		}
		return f, nil
	case "dateTime":
		s, ok := v.(string)
		if !ok {
			return nil, badRequest(typeInvalidValue, "%s must be a dateTime string, not %s", name, describeValue(v))
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return nil, badRequest(typeInvalidValue, "%s must be a dateTime like 2024-03-01T12:00:00Z, not %q", name, s)
		}
		return s, nil
	default: // string, reference, binary
		switch s := v.(type) {
		case string:
			return s, nil
		case json.Number, float64:
			// An identifier sent as a number (an employee number) keeps
			// its digits.
			return toNumber(s)
		}
		return nil, badRequest(typeInvalidValue, "%s must be a string, not %s", name, describeValue(v))
	}
}

// toNumber returns the text of a number sent as a JSON number or string.
func toNumber(v any) (string, error) {
	switch n := v.(type) {
	case json.Number:
		return n.String(), nil
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64), nil
	case int64:
		return strconv.FormatInt(n, 10), nil
	case string:
		return strings.TrimSpace(n), nil
	}
	return "", errors.New("not a number")
}

// describeValue names a bad value for an error message, quoting short
// strings.
func describeValue(v any) string {
	if s, ok := v.(string); ok {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return strconv.Quote(s)
	}
	return describe(v)
}
