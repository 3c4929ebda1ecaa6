package scim

import (
	"net/http"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// The discovery endpoints (RFC 7644 section 4): /ServiceProviderConfig,
// /ResourceTypes and /Schemas. The schema documents come from the elimity
// definitions the request readers are derived from.

// discovery answers GET on a discovery endpoint.
func (s *Server) discovery(ep endpoint, id string, r request) (*response, error) {
	if _, ok := r.query["filter"]; ok && ep != epServiceProviderConfig {
		// RFC 7644 section 4: a filter is refused rather than ignored, so
		// a client never believes it was applied.
		return nil, errorf(http.StatusForbidden, "", "filtering is not supported on discovery endpoints")
	}
	ok := func(body any) (*response, error) { return &response{status: http.StatusOK, body: body}, nil }
	switch ep {
	case epServiceProviderConfig:
		return ok(s.serviceProviderConfig())
	case epResourceTypes:
		var list []any
		for _, rt := range s.cat.resourceTypes() {
			list = append(list, s.resourceTypeDoc(rt))
		}
		return ok(newListResponse(len(list), 1, list))
	case epResourceType:
		for _, rt := range s.cat.resourceTypes() {
			if strings.EqualFold(rt.id, id) {
				return ok(s.resourceTypeDoc(rt))
			}
		}
		return nil, errorf(http.StatusNotFound, "", "no resource type %q; there are User and Group", id)
	case epSchemas:
		var list []any
		for _, sc := range s.schemas() {
			list = append(list, s.schemaDoc(sc))
		}
		return ok(newListResponse(len(list), 1, list))
	default: // epSchema
		for _, sc := range s.schemas() {
			if strings.EqualFold(sc.ID, id) {
				return ok(s.schemaDoc(sc))
			}
		}
		return nil, errorf(http.StatusNotFound, "", "no schema %q", id)
	}
}

// schemas lists every schema document: the resource schemas, then those
// of the discovery resources themselves.
func (s *Server) schemas() []schema.Schema {
	var out []schema.Schema
	for _, rt := range s.cat.resourceTypes() {
		for _, sd := range rt.allSchemas() {
			out = append(out, sd.def)
		}
	}
	return append(out, s.cat.discovery...)
}

// schemaDoc renders one schema with its meta.
func (s *Server) schemaDoc(sc schema.Schema) map[string]any {
	doc := sc.ToMap()
	doc["meta"] = map[string]any{"resourceType": "Schema", "location": s.base + "/Schemas/" + sc.ID}
	return doc
}

// resourceTypeDoc renders one resource type.
func (s *Server) resourceTypeDoc(rt *resourceType) map[string]any {
	exts := []any{}
	for _, e := range rt.extensions {
		exts = append(exts, map[string]any{"schema": e.def.ID, "required": false})
	}
	return map[string]any{
		"schemas":          []string{URNResourceType},
		"id":               rt.id,
		"name":             rt.id,
		"description":      rt.description,
		"endpoint":         rt.endpoint,
		"schema":           rt.core.def.ID,
		"schemaExtensions": exts,
		"meta":             map[string]any{"resourceType": "ResourceType", "location": s.base + "/ResourceTypes/" + rt.id},
	}
}

// serviceProviderConfig renders what the server supports, with its limits.
func (s *Server) serviceProviderConfig() map[string]any {
	doc := map[string]any{
		"schemas": []string{URNServiceProviderConfig},
		"patch":   map[string]any{"supported": true},
		"bulk": map[string]any{
			"supported":      true,
			"maxOperations":  s.opts.MaxOperations,
			"maxPayloadSize": s.opts.MaxPayloadBytes,
		},
		"filter":         map[string]any{"supported": true, "maxResults": s.opts.MaxResults},
		"changePassword": map[string]any{"supported": true},
		"sort":           map[string]any{"supported": true},
		"etag":           map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "The account's SCIM token, sent as \"Authorization: Bearer <token>\".",
			"specUri":     "https://www.rfc-editor.org/info/rfc6750",
			"primary":     true,
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": s.base + "/ServiceProviderConfig"},
	}
	if s.opts.DocumentationURI != "" {
		doc["documentationUri"] = s.opts.DocumentationURI
	}
	return doc
}
