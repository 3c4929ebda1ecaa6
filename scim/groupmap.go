package scim

import (
	"strings"

	"github.com/rosterhq/roster/repository"
)

// This file maps a repository.Group to the SCIM Group JSON and back. The
// membership is not part of the attribute mapping: it travels as member
// ids to the store's edge methods.

// renderGroup returns the SCIM Group of g; members are rendered only when
// withMembers (g.Members is then the full membership).
func renderGroup(g repository.Group, base string, withMembers, internal bool) map[string]any {
	res := map[string]any{"displayName": g.DisplayName}
	if g.ExternalID != "" {
		res["externalId"] = g.ExternalID
	}
	if internal {
		return res
	}
	res["id"] = g.ID
	res["schemas"] = []any{URNGroup}
	if withMembers {
		list := make([]any, len(g.Members))
		for i, m := range g.Members {
			el := map[string]any{"value": m.MemberID, "$ref": base + "/Users/" + m.MemberID, "type": "User"}
			if m.DisplayName != "" {
				el["display"] = m.DisplayName
			}
			list[i] = el
		}
		res["members"] = list
	}
	res["meta"] = meta("Group", base+"/Groups/"+g.ID, g.Meta)
	return res
}

// groupFromMap sets the SCIM-visible attributes of base from a normalized
// Group (see normalizeResource).
func groupFromMap(res map[string]any, base repository.Group) repository.Group {
	g := base
	g.DisplayName, _ = res["displayName"].(string)
	g.ExternalID, _ = res["externalId"].(string)
	return g
}

// memberIDs reads member references from a "members" value: a list of
// {"value": id, "type": "User"} objects, or of plain ids. Nested groups are
// refused: Roster groups hold members only.
func memberIDs(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		switch e := e.(type) {
		case nil:
			continue
		case string:
			ids = append(ids, strings.TrimSpace(e))
		case map[string]any:
			var id, typ string
			for k, x := range e {
				switch strings.ToLower(k) {
				case "value":
					s, ok := x.(string)
					if !ok {
						return nil, badRequest(typeInvalidValue, "members.value must be a member id string, not %s", describe(x))
					}
					id = strings.TrimSpace(s)
				case "type":
					typ, _ = x.(string)
				}
			}
			if typ != "" && !strings.EqualFold(typ, "User") {
				return nil, badRequest(typeInvalidValue, "members of type %q are not supported: a group holds users only", typ)
			}
			if id == "" {
				return nil, badRequest(typeInvalidValue, "each member needs a \"value\" with the member's id")
			}
			ids = append(ids, id)
		default:
			return nil, badRequest(typeInvalidValue, "a member must be an object like {\"value\": \"<id>\"}, not %s", describe(e))
		}
	}
	return ids, nil
}
