package adminapi

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// openAPIDocument stands for the OpenAPI document as a response type.
type openAPIDocument struct{}

// ginParam matches a gin path parameter (:id).
var ginParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openAPIPath turns a gin path into an OpenAPI path template.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// openAPI builds the OpenAPI 3.1 document from the route table and the Go
// types of the requests and responses.
func (a *API) openAPI() ([]byte, error) {
	g := &schemaGen{schemas: map[string]any{}, names: map[reflect.Type]string{}}
	if _, err := g.schemaOf(reflect.TypeFor[Problem](), false); err != nil {
		return nil, err
	}
	paths := map[string]map[string]any{}
	for _, rt := range a.routes {
		op, err := a.operation(g, rt)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", rt.method, rt.path, err)
		}
		p := openAPIPath(rt.path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Roster admin API",
			"version": "1",
			"description": "Manage an account's members, roles, groups, seats, ownership, tokens and audit log. " +
				"Authenticate with a personal API token (Authorization: Bearer rst_api_...). Every operation needs a permission, " +
				"listed in its x-permissions (any one of them is enough). Errors are RFC 9457 problem details with a stable code. " +
				"Request bodies are JSON objects of at most 1 MiB; unknown fields and wrong types are refused with the field named.",
		},
		"servers":  []any{map[string]any{"url": "/api/v1"}},
		"security": []any{map[string]any{"bearerAuth": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas": g.schemas,
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]any{
					"type": "http", "scheme": "bearer",
					"description": "A personal API token (rst_api_...): printed by `roster account create` for the owner, minted with POST /api-tokens; " +
						"or a short-lived signed access token (a JWT) of the SSO bridge, such as a read-only \"view as\" token.",
				},
			},
			"headers": map[string]any{
				"ETag": map[string]any{"description": `The resource's version as a weak tag, W/"<version>"; send it back in If-Match.`,
					"schema": map[string]any{"type": "string"}},
				"Location": map[string]any{"description": "URL of the created resource.", "schema": map[string]any{"type": "string"}},
				"X-Request-Id": map[string]any{"description": "The request id, also in problems and audit events.",
					"schema": map[string]any{"type": "string"}},
			},
		},
	}
	return marshal(doc, "  ")
}

// operation documents one route.
func (a *API) operation(g *schemaGen, rt route) (map[string]any, error) {
	op := map[string]any{"operationId": rt.op, "summary": rt.sum, "tags": []any{rt.tag}}
	desc := rt.desc
	if rt.public {
		op["security"] = []any{}
	} else {
		if len(rt.perms) == 0 {
			return nil, fmt.Errorf("a route that is not public needs a permission")
		}
		op["x-permissions"] = rt.perms
		need := "Requires the " + rt.perms[0] + " permission."
		if len(rt.perms) > 1 {
			need = "Requires one of the permissions " + strings.Join(rt.perms, ", ") + "."
		}
		desc = strings.TrimSpace(desc + " " + need)
	}
	if desc != "" {
		op["description"] = desc
	}
	var params []any
	for _, m := range ginParam.FindAllStringSubmatch(rt.path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
			"schema": map[string]any{"type": "string"}})
	}
	for _, q := range rt.query {
		s := map[string]any{"type": q.typ}
		if q.format != "" {
			s["format"] = q.format
		}
		params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.desc, "schema": s})
	}
	if rt.ifMatch() {
		params = append(params, map[string]any{"name": "If-Match", "in": "header",
			"description": `W/"<version>" from the ETag: the change applies only to that version (412 otherwise)`,
			"schema":      map[string]any{"type": "string"}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if rt.body != nil {
		s, err := g.schemaOf(reflect.TypeOf(rt.body), true)
		if err != nil {
			return nil, err
		}
		ct := "application/json"
		if rt.method == http.MethodPatch {
			ct = "application/merge-patch+json"
		}
		content := map[string]any{ct: map[string]any{"schema": s}}
		if ct != "application/json" {
			content["application/json"] = map[string]any{"schema": s}
		}
		if rt.csv {
			content["text/csv"] = map[string]any{"schema": map[string]any{"type": "string",
				"description": "CSV with a header row naming the columns: " + importColumns}}
		}
		op["requestBody"] = map[string]any{"required": true, "content": content}
	}

	responses := map[string]any{}
	okResp := map[string]any{"description": http.StatusText(rt.status)}
	headers := map[string]any{"X-Request-Id": map[string]any{"$ref": "#/components/headers/X-Request-Id"}}
	if rt.etag && rt.resp != nil {
		headers["ETag"] = map[string]any{"$ref": "#/components/headers/ETag"}
	}
	if rt.status == http.StatusCreated {
		headers["Location"] = map[string]any{"$ref": "#/components/headers/Location"}
	}
	okResp["headers"] = headers
	if rt.resp != nil {
		var s any
		if _, isDoc := rt.resp.(openAPIDocument); isDoc {
			s = map[string]any{"type": "object", "description": "an OpenAPI 3.1 document"}
		} else {
			var err error
			if s, err = g.schemaOf(reflect.TypeOf(rt.resp), false); err != nil {
				return nil, err
			}
		}
		okResp["content"] = map[string]any{"application/json": map[string]any{"schema": s}}
	}
	responses[strconv.Itoa(rt.status)] = okResp
	for _, st := range problemStatuses(rt) {
		responses[strconv.Itoa(st)] = map[string]any{
			"description": http.StatusText(st),
			"content": map[string]any{ProblemContentType: map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}},
		}
	}
	op["responses"] = responses
	return op, nil
}

// problemStatuses lists the error statuses a route may answer.
func problemStatuses(rt route) []int {
	var sts []int
	if rt.body != nil || len(rt.query) > 0 {
		sts = append(sts, http.StatusBadRequest)
	}
	if !rt.public {
		sts = append(sts, http.StatusUnauthorized, http.StatusForbidden)
	}
	if strings.Contains(rt.path, ":") {
		sts = append(sts, http.StatusNotFound)
	}
	if rt.ifMatch() {
		sts = append(sts, http.StatusPreconditionFailed)
	}
	if rt.body != nil {
		sts = append(sts, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	sts = append(sts, rt.errs...)
	sts = append(sts, http.StatusInternalServerError)
	if !rt.public {
		sts = append(sts, http.StatusServiceUnavailable)
	}
	slices.Sort(sts)
	return slices.Compact(sts)
}

// schemaGen builds JSON Schemas (OpenAPI 3.1 dialect) of Go types into
// components/schemas.
type schemaGen struct {
	schemas map[string]any
	names   map[reflect.Type]string
}

// genericArg matches the package-qualified type argument of a generic
// type name: Page[github.com/x/adminapi.Member].
var genericArg = regexp.MustCompile(`^(\w+)\[(?:[\w./-]+\.)?(\w+)\]$`)

// componentName names a struct type's schema: its Go name, with generic
// envelopes named after their element (MemberPage, RoleList).
func componentName(t reflect.Type) string {
	if m := genericArg.FindStringSubmatch(t.Name()); m != nil {
		return m[2] + m[1]
	}
	return t.Name()
}

// schemaOf returns the schema of t: a $ref for named structs, inline
// otherwise. input marks request types: their optional pointer fields
// accept null (a merge patch clears with it) and they take no other
// fields.
func (g *schemaGen) schemaOf(t reflect.Type, input bool) (map[string]any, error) {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		nullable = input
	}
	var s map[string]any
	switch {
	case t == timeType:
		s = map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{"description": "any JSON value"}, nil
	case t.Kind() == reflect.String:
		s = map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int32:
		s = map[string]any{"type": "integer"}
	case t.Kind() == reflect.Int64:
		s = map[string]any{"type": "integer", "format": "int64"}
	case t.Kind() == reflect.Slice:
		items, err := g.schemaOf(t.Elem(), input)
		if err != nil {
			return nil, err
		}
		s = map[string]any{"type": "array", "items": items}
	case t.Kind() == reflect.Struct:
		name, err := g.component(t, input)
		if err != nil {
			return nil, err
		}
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if nullable {
			return map[string]any{"anyOf": []any{ref, map[string]any{"type": "null"}}}, nil
		}
		return ref, nil
	default:
		return nil, fmt.Errorf("no schema for Go type %s", t)
	}
	if nullable {
		s["type"] = []any{s["type"], "null"}
	}
	return s, nil
}

// component adds the schema of struct type t to the components once and
// returns its name.
func (g *schemaGen) component(t reflect.Type, input bool) (string, error) {
	if name, done := g.names[t]; done {
		return name, nil
	}
	name := componentName(t)
	if s, taken := g.schemas[name]; taken && s != nil {
		return "", fmt.Errorf("two types are named %s", name)
	}
	g.names[t] = name
	g.schemas[name] = map[string]any{} // placeholder against recursion
	props := map[string]any{}
	var required []string
	for _, f := range orderedFields(t) {
		s, err := g.schemaOf(f.typ, input)
		if err != nil {
			return "", fmt.Errorf("%s.%s: %w", t.Name(), f.name, err)
		}
		// Per-field keywords go on a copy, beside a $ref too: OpenAPI 3.1
		// schemas are JSON Schema 2020-12, where $ref has siblings.
		s = cloneSchema(s)
		if d := f.tag.Get("doc"); d != "" {
			s["description"] = d
		}
		if fm := f.tag.Get("format"); fm != "" {
			s["format"] = fm
		}
		if e := f.tag.Get("enum"); e != "" {
			s["enum"] = enumValues(e, f.typ.Kind() == reflect.Pointer && input)
		}
		props[f.name] = s
		if f.tag.Get("api") == "required" || (!input && !f.omitEmpty && f.typ.Kind() != reflect.Pointer) {
			required = append(required, f.name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if input {
		// The API refuses fields it does not know (400 unknown_field).
		s["additionalProperties"] = false
	}
	g.schemas[name] = s
	return name, nil
}

// cloneSchema copies the top level of a schema.
func cloneSchema(s map[string]any) map[string]any {
	c := make(map[string]any, len(s)+1)
	for k, v := range s {
		c[k] = v
	}
	return c
}

// enumValues lists the values of an enum tag; "problemCodes" stands for
// every problem code.
func enumValues(tag string, nullable bool) []any {
	var vs []string
	if tag == "problemCodes" {
		for code := range problemCodes {
			vs = append(vs, code)
		}
		slices.Sort(vs)
	} else {
		vs = strings.Split(tag, ",")
	}
	out := make([]any, 0, len(vs)+1)
	for _, v := range vs {
		out = append(out, v)
	}
	if nullable {
		out = append(out, nil)
	}
	return out
}
