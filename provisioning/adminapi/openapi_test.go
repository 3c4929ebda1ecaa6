package adminapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
)

// TestOpenAPIDocumentsEveryRoute compares the routes gin serves with the
// operations the served document describes: every route is documented and
// every documented operation is routed.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	engine := gin.New()
	api, err := New(e.svc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(engine.Group("/api/v1"))

	routed := map[string]bool{}
	for _, r := range engine.Routes() {
		p, found := strings.CutPrefix(r.Path, "/api/v1")
		if !found {
			t.Errorf("route %s %s outside /api/v1", r.Method, r.Path)
			continue
		}
		routed[r.Method+" "+openAPIPath(p)] = true
	}
	doc := openAPIDoc(t, e)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for k := range routed {
		if !documented[k] {
			t.Errorf("route %s is not documented", k)
		}
	}
	for k := range documented {
		if !routed[k] {
			t.Errorf("documented operation %s is not routed", k)
		}
	}
	if len(routed) < 35 {
		t.Errorf("only %d routes", len(routed))
	}
	// The brief's endpoints, by name, so a route dropped from both the table
	// and the document is still caught.
	for _, k := range []string{
		"GET /members", "POST /members", "GET /members/{id}", "PATCH /members/{id}", "DELETE /members/{id}",
		"POST /members/{id}/deactivate", "POST /members/{id}/reactivate", "GET /members/{id}/permissions",
		"GET /members/{id}/reports", "GET /roles", "POST /roles", "GET /roles/{key}", "PATCH /roles/{key}",
		"DELETE /roles/{key}", "GET /groups", "GET /groups/{id}", "GET /groups/{id}/role-mapping",
		"PUT /groups/{id}/role-mapping", "DELETE /groups/{id}/role-mapping", "GET /seats", "PUT /seats",
		"POST /ownership/transfer", "POST /api-tokens", "GET /api-tokens", "DELETE /api-tokens/{id}",
		"POST /scim-tokens", "GET /scim-tokens", "DELETE /scim-tokens/{id}", "GET /audit-events", "GET /openapi.json",
	} {
		if !routed[k] {
			t.Errorf("%s is not served", k)
		}
	}
}

// TestOpenAPIDocumentIsConsistent checks the document itself: unique
// operation ids, resolvable references, the problem schema on every error,
// the bearer scheme, and every permission from the catalogue.
func TestOpenAPIDocumentIsConsistent(t *testing.T) {
	e := newEnv(t)
	rec := e.as("", http.MethodGet, "/openapi.json", nil)
	var doc map[string]any
	if err := json.Unmarshal(expect(t, rec, http.StatusOK), &doc); err != nil {
		t.Fatal(err)
	}
	comps := doc["components"].(map[string]any)
	schemas := comps["schemas"].(map[string]any)
	for _, name := range []string{"Problem", "Member", "MemberInput", "MemberPatch", "MemberPage", "Role", "Group", "Seats", "Token", "IssuedToken", "AuditEventPage"} {
		if schemas[name] == nil {
			t.Errorf("schema %s missing", name)
		}
	}
	problem := schemas["Problem"].(map[string]any)
	for _, f := range []string{"type", "title", "status", "detail", "instance", "code", "attribute"} {
		if problem["properties"].(map[string]any)[f] == nil {
			t.Errorf("Problem lacks %s", f)
		}
	}
	codes := problem["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]any)
	for _, c := range []string{"seat_limit_reached", "owner_protected", "managed_by_idp", "not_found", "conflict",
		"invalid_value", "version_mismatch", "forbidden", "unauthenticated", "unknown_field", "invalid_type"} {
		if !slices.Contains(codes, any(c)) {
			t.Errorf("code enum lacks %s", c)
		}
	}
	bearer := comps["securitySchemes"].(map[string]any)["bearerAuth"].(map[string]any)
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("bearerAuth = %v", bearer)
	}
	if patch := schemas["MemberPatch"].(map[string]any); patch["additionalProperties"] != false {
		t.Errorf("MemberPatch allows unknown fields: %v", patch["additionalProperties"])
	}

	// Every $ref resolves.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, isRef := v["$ref"].(string); isRef {
				parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
				var cur any = doc
				for _, p := range parts {
					m, isMap := cur.(map[string]any)
					if !isMap || m[p] == nil {
						t.Errorf("unresolved $ref %s", ref)
						return
					}
					cur = m[p]
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)

	ids := map[string]bool{}
	perms := map[string]bool{}
	for path, ops := range doc["paths"].(map[string]any) {
		for method, op := range ops.(map[string]any) {
			op := op.(map[string]any)
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			if strings.Contains(path, "{") && op["parameters"] == nil {
				t.Errorf("%s %s: path parameters undocumented", method, path)
			}
			for status, resp := range op["responses"].(map[string]any) {
				if status[0] != '4' && status[0] != '5' {
					continue
				}
				content := resp.(map[string]any)["content"].(map[string]any)
				if content[ProblemContentType] == nil {
					t.Errorf("%s %s %s is not a problem", method, path, status)
				}
			}
			if xp, has := op["x-permissions"].([]any); has {
				for _, p := range xp {
					perms[p.(string)] = true
					if !provisioning.IsPermission(p.(string)) {
						t.Errorf("%s %s: unknown permission %v", method, path, p)
					}
				}
				if op["responses"].(map[string]any)["401"] == nil || op["responses"].(map[string]any)["403"] == nil {
					t.Errorf("%s %s: 401 or 403 undocumented", method, path)
				}
			}
		}
	}
	for _, p := range []string{provisioning.PermTeamManage, provisioning.PermRolesManage, provisioning.PermSeatsManage,
		provisioning.PermAuditView, provisioning.PermSCIMManage, provisioning.PermTeamViewAs} {
		if !perms[p] {
			t.Errorf("no route needs %s", p)
		}
	}
}

// TestProblemCodesHaveStatuses checks the one mapping covers every
// provisioning code, with the statuses this door promises.
func TestProblemCodesHaveStatuses(t *testing.T) {
	want := map[provisioning.Code]int{
		provisioning.CodeNotFound: 404, provisioning.CodeConflict: 409, provisioning.CodeInvalidValue: 400,
		provisioning.CodeInvalidQuery: 400, provisioning.CodeVersionMismatch: 412,
		provisioning.CodeSeatLimitReached: 409, provisioning.CodeSeatsInUse: 409,
		provisioning.CodeOwnerProtected: 403, provisioning.CodeOwnerOnly: 403,
		provisioning.CodeManagedByIdP: 409, provisioning.CodeForbidden: 403, provisioning.CodeUnauthenticated: 401,
	}
	for code, status := range want {
		p, internal := toProblem(&provisioning.Error{Code: code, Message: "m", Attribute: "manager"})
		if internal || p.Status != status || p.Code != string(code) || p.Attribute != "managerId" {
			t.Errorf("%s -> %+v (internal %v), want %d", code, p, internal, status)
		}
	}
}
