package scim

import (
	"strings"

	"github.com/rosterhq/roster/scim/filter"
)

// projection is the attributes / excludedAttributes of a request (RFC
// 7644 section 3.4.2.5): which attributes of a resource are returned.
type projection struct {
	include []filter.Path // nil: the default set
	exclude []filter.Path
}

// parseProjection reads the two lists (comma-separated in a query, arrays
// in a search body). Names may carry a schema URN, name sub-attributes
// (name.givenName) or a whole extension (its URN). Names the resource does
// not have are ignored: they select nothing.
func parseProjection(res filter.Resource, attributes, excluded []string) projection {
	var p projection
	named := false
	read := func(list []string) []filter.Path {
		var out []filter.Path
		for _, item := range list {
			for _, name := range strings.Split(item, ",") {
				name = strings.TrimSpace(name)
				if name == "" {
					continue
				}
				named = true
				path, err := res.ParsePath(name)
				if err != nil || path.Filter != nil {
					continue
				}
				out = append(out, path)
			}
		}
		return out
	}
	p.include = read(attributes)
	if named && p.include == nil {
		// Only unknown names were asked for: return the always-returned
		// attributes, not the default set.
		p.include = []filter.Path{}
	}
	p.exclude = read(excluded)
	return p
}

// returns reports whether the projection returns (part of) the top-level
// attribute name of the core schema, so that a caller can skip loading
// what will not be shown (a group's members, a user's groups).
func (p projection) returns(name string) bool {
	if p.include != nil {
		for _, path := range p.include {
			if path.Attr == name {
				return true
			}
		}
		return false
	}
	for _, path := range p.exclude {
		if path.Attr == name && path.Sub == "" {
			return false
		}
	}
	return true
}

// alwaysReturned are the attributes every projection keeps.
var alwaysReturned = []string{"id", "schemas"}

// apply returns the projected copy of a rendered resource.
func (p projection) apply(rt *resourceType, res map[string]any) map[string]any {
	if p.include == nil && len(p.exclude) == 0 {
		return res
	}
	out := res
	if p.include != nil {
		out = map[string]any{}
		for _, k := range alwaysReturned {
			if v, ok := res[k]; ok {
				out[k] = v
			}
		}
		for _, path := range p.include {
			copyPath(rt, res, out, path)
		}
	} else {
		out = shallowCopy(res)
	}
	for _, path := range p.exclude {
		removePath(rt, out, path)
	}
	return out
}

// holder returns the object of res that holds path's attribute (the
// resource or an extension object); nil when absent. With create, a
// missing extension object is made.
func holder(rt *resourceType, res map[string]any, path filter.Path, create bool) map[string]any {
	if rt.extension(path.Schema) == nil {
		return res
	}
	obj, ok := res[path.Schema].(map[string]any)
	if !ok && create {
		obj = map[string]any{}
		res[path.Schema] = obj
	}
	return obj
}

// copyPath copies the attribute (or sub-attribute) path names from src to
// dst.
func copyPath(rt *resourceType, src, dst map[string]any, path filter.Path) {
	if path.Attr == "" { // a whole extension
		if v, ok := src[path.Schema]; ok {
			dst[path.Schema] = v
		}
		return
	}
	from := holder(rt, src, path, false)
	v, ok := from[path.Attr]
	if !ok {
		return
	}
	to := holder(rt, dst, path, true)
	if path.Sub == "" {
		to[path.Attr] = v
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if sv, ok := v[path.Sub]; ok {
			obj, _ := to[path.Attr].(map[string]any)
			if obj == nil {
				obj = map[string]any{}
			}
			obj[path.Sub] = sv
			to[path.Attr] = obj
		}
	case []any:
		// Sub-attributes of a multi-valued attribute: keep the elements
		// with only the sub-attributes asked for (merged with those
		// already copied).
		prev, _ := to[path.Attr].([]any)
		list := make([]any, len(v))
		for i, el := range v {
			obj := map[string]any{}
			if i < len(prev) {
				if p, ok := prev[i].(map[string]any); ok {
					for k, x := range p {
						obj[k] = x
					}
				}
			}
			if e, ok := el.(map[string]any); ok {
				if sv, ok := e[path.Sub]; ok {
					obj[path.Sub] = sv
				}
			}
			list[i] = obj
		}
		to[path.Attr] = list
	}
}

// removePath removes the attribute (or sub-attribute) path names from
// res, never an always-returned one.
func removePath(rt *resourceType, res map[string]any, path filter.Path) {
	if path.Attr == "" {
		delete(res, path.Schema)
		return
	}
	for _, k := range alwaysReturned {
		if path.Attr == k && rt.extension(path.Schema) == nil {
			return
		}
	}
	obj := holder(rt, res, path, false)
	if obj == nil {
		return
	}
	if path.Sub == "" {
		delete(obj, path.Attr)
		return
	}
	switch v := obj[path.Attr].(type) {
	case map[string]any:
		c := shallowCopy(v)
		delete(c, path.Sub)
		obj[path.Attr] = c
	case []any:
		list := make([]any, len(v))
		for i, el := range v {
			if e, ok := el.(map[string]any); ok {
				c := shallowCopy(e)
				delete(c, path.Sub)
				list[i] = c
			} else {
				list[i] = el
			}
		}
		obj[path.Attr] = list
	}
}

// shallowCopy copies the top level of a map; extension objects are copied
// too, so removing from them leaves the source alone.
func shallowCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if strings.HasPrefix(k, "urn:") {
			if obj, ok := v.(map[string]any); ok {
				c := make(map[string]any, len(obj))
				for k2, v2 := range obj {
					c[k2] = v2
				}
				v = c
			}
		}
		out[k] = v
	}
	return out
}
