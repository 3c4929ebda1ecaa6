package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// readBody reads the request body, capped at MaxBodyBytes, after checking
// it is JSON.
func (a *API) readBody(c *gin.Context) ([]byte, error) {
	if ct := strings.TrimSpace(c.GetHeader("Content-Type")); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errorf(CodeUnsupportedMediaType, "", "Content-Type %q is not supported: send application/json", ct)
		}
	}
	if c.Request.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, a.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errorf(CodeInvalidJSON, "", "the request body could not be read")
	}
	return b, nil
}

// bodyFields are the top-level fields of a decoded body as they were
// sent, so a merge patch can tell "absent" from null.
type bodyFields map[string]json.RawMessage

// null reports whether the body set field to null.
func (f bodyFields) null(field string) bool {
	v, ok := f[field]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// decode reads the request body into dst, a pointer to a request type.
// The body must be one JSON object whose fields dst declares (exact case)
// with the JSON types dst expects; each violation is a 400 naming the
// field. repr, when not nil, is the resource's representation type: a
// field it has and dst lacks is read-only, which gets its own message.
func (a *API) decode(c *gin.Context, dst any, repr any) (bodyFields, error) {
	b, err := a.readBody(c)
	if err != nil {
		return nil, err
	}
	return decodeJSON(b, dst, repr)
}

// decodeJSON is decode over a body already read.
func decodeJSON(b []byte, dst any, repr any) (bodyFields, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errorf(CodeInvalidJSON, "", "a JSON object body is required")
	}
	var fields bodyFields
	if err := json.Unmarshal(b, &fields); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, errorf(CodeInvalidJSON, "", "the body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
		}
		return nil, errorf(CodeInvalidJSON, "", "the body must be a JSON object")
	}
	if fields == nil { // the body was null
		return nil, errorf(CodeInvalidJSON, "", "the body must be a JSON object")
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, errorf(CodeInvalidJSON, "", "the body is not valid JSON")
	}
	t := reflect.TypeOf(dst).Elem()
	var reprFields map[string]jsonField
	if repr != nil {
		reprFields = fieldsOf(reflect.TypeOf(repr))
	}
	if err := checkValue(tree, t, "", reprFields); err != nil {
		return nil, err
	}
	// The walk above found every unknown field and type error with its
	// path; the strict decoder stays as a second guard.
	strict := json.NewDecoder(bytes.NewReader(b))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, errorf(CodeInvalidType, ute.Field, "%s has the wrong type: %s", ute.Field, ute.Error())
		}
		return nil, errorf(CodeInvalidJSON, "", "the body does not match the expected shape: %v", err)
	}
	return fields, nil
}

// timeType is time.Time, a struct the API exchanges as an RFC 3339 string.
var timeType = reflect.TypeFor[time.Time]()

// rawType is json.RawMessage: any JSON value.
var rawType = reflect.TypeFor[json.RawMessage]()

// checkValue checks that the JSON value v fits the Go type t: known fields
// only (exact case) and the right JSON types. path is the field path so
// far; readOnly, at the top level only, names fields of the
// representation the request type leaves out.
func checkValue(v any, t reflect.Type, path string, readOnly map[string]jsonField) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil // null clears a field, or leaves a create's field at its zero value
	}
	wrong := func() error {
		return errorf(CodeInvalidType, path, "%s must be %s, not %s", fieldName(path), jsonTypeOf(t), describeJSON(v))
	}
	switch {
	case t == rawType:
		return nil
	case t == timeType:
		s, isStr := v.(string)
		if !isStr {
			return wrong()
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return errorf(CodeInvalidType, path, "%s must be %s, not %q", fieldName(path), jsonTypeOf(t), s)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		if _, isStr := v.(string); !isStr {
			return wrong()
		}
	case reflect.Bool:
		if _, isBool := v.(bool); !isBool {
			return wrong()
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, isNum := v.(json.Number)
		if !isNum {
			return wrong()
		}
		if _, err := n.Int64(); err != nil {
			return errorf(CodeInvalidType, path, "%s must be %s, not %s", fieldName(path), jsonTypeOf(t), n)
		}
	case reflect.Slice:
		arr, isArr := v.([]any)
		if !isArr {
			return wrong()
		}
		for i, e := range arr {
			if err := checkValue(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), nil); err != nil {
				return err
			}
		}
	case reflect.Struct:
		obj, isObj := v.(map[string]any)
		if !isObj {
			return wrong()
		}
		fields := fieldsOf(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := joinPath(path, k)
			f, known := fields[k]
			if !known {
				if _, isRepr := readOnly[k]; isRepr {
					return errorf(CodeReadOnly, p, "%s is read-only here%s", p, readOnlyHint(k))
				}
				return errorf(CodeUnknownField, p, "unknown field %q%s", p, suggestion(k, fields))
			}
			if err := checkValue(obj[k], f.typ, p, nil); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("adminapi: request type %s has a field of unsupported kind %s", t, t.Kind())
	}
	return nil
}

// readOnlyHint says how to change a read-only field, where there is a way.
func readOnlyHint(field string) string {
	switch field {
	case "active", "status":
		return ": use POST /members/{id}/deactivate or /reactivate"
	case "owner":
		return ": use POST /ownership/transfer"
	case "roleKey":
		return ": use PUT /groups/{id}/role-mapping"
	case "memberId":
		return ": an API token always belongs to the member who mints it"
	}
	return ""
}

// suggestion names a known field that differs from an unknown one only in
// case, the most common mistake (FirstName for firstName).
func suggestion(k string, fields map[string]jsonField) string {
	for name := range fields {
		if strings.EqualFold(name, k) {
			return fmt.Sprintf("; did you mean %q?", name)
		}
	}
	return ""
}

// fieldName is how a message names the field at path.
func fieldName(path string) string {
	if path == "" {
		return "the body"
	}
	return path
}

// joinPath appends a field name to a path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonTypeOf names the JSON type a Go type takes, for messages.
func jsonTypeOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "a date-time string (RFC 3339, like 2025-01-31T12:00:00Z)"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64 || t.Kind() == reflect.Int32:
		return "an integer"
	case t.Kind() == reflect.Slice:
		return "an array of " + pluralOf(t.Elem())
	case t.Kind() == reflect.Struct:
		return "an object"
	}
	return "a JSON value"
}

// pluralOf names the values of an array of t, for messages.
func pluralOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "date-time strings"
	case t.Kind() == reflect.String:
		return "strings"
	case t.Kind() == reflect.Bool:
		return "booleans"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64 || t.Kind() == reflect.Int32:
		return "integers"
	case t.Kind() == reflect.Struct:
		return "objects"
	}
	return "values"
}

// describeJSON names the JSON type of a decoded value.
func describeJSON(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + v.String()
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// jsonField is one field of a JSON struct type.
type jsonField struct {
	name      string
	index     int
	typ       reflect.Type
	omitEmpty bool
	tag       reflect.StructTag
}

// fieldCache holds fieldsOf results; types are few and fixed, and the
// cache only saves repeated reflection.
var fieldCache sync.Map // reflect.Type -> map[string]jsonField

// fieldsOf returns the JSON fields of struct type t by name.
func fieldsOf(t reflect.Type) map[string]jsonField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v, cached := fieldCache.Load(t); cached {
		return v.(map[string]jsonField)
	}
	out := map[string]jsonField{}
	for _, f := range orderedFields(t) {
		out[f.name] = f
	}
	fieldCache.Store(t, out)
	return out
}

// orderedFields returns the JSON fields of struct type t in declaration
// order.
func orderedFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, jsonField{name: name, index: i, typ: sf.Type,
			omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero"),
			tag:       sf.Tag})
	}
	return out
}
