package adminapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim/filter"
)

// Group is an agent group, department or team.
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	ExternalID  string `json:"externalId,omitempty" doc:"the identity provider's id; set by SCIM only"`
	// RoleKey is the role the group's members hold while in it.
	RoleKey string `json:"roleKey,omitempty" doc:"the role its members hold while in the group (PUT /groups/{id}/role-mapping)"`
	Source  string `json:"source" enum:"scim,admin" doc:"the front door that created it"`
	// ManagedByIdP groups are written by the identity provider only.
	ManagedByIdP bool      `json:"managedByIdp" doc:"created through SCIM: its name and members are read-only here; its role mapping is not"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// GroupInput creates a group.
type GroupInput struct {
	DisplayName string   `json:"displayName" api:"required"`
	MemberIDs   []string `json:"memberIds,omitempty" doc:"ids of members of this account"`
}

// GroupPatch changes a group as a JSON merge patch (RFC 7396).
type GroupPatch struct {
	DisplayName *string `json:"displayName,omitempty"`
}

// GroupMembersInput adds members to a group.
type GroupMembersInput struct {
	MemberIDs []string `json:"memberIds" api:"required" doc:"ids of members of this account; members already in the group are skipped"`
}

// GroupMember is one member of a group.
type GroupMember struct {
	MemberID    string `json:"memberId"`
	DisplayName string `json:"displayName,omitempty"`
}

// GroupMembers is one page of a group's members, in member id order.
type GroupMembers struct {
	Items      []GroupMember `json:"items"`
	NextCursor string        `json:"nextCursor,omitempty" doc:"pass as cursor to get the next page; absent on the last page"`
}

// RoleMapping is the role a group's members hold while in the group.
type RoleMapping struct {
	GroupID string `json:"groupId"`
	RoleKey string `json:"roleKey" doc:"empty when the group maps to no role"`
}

// RoleMappingInput sets a group's role.
type RoleMappingInput struct {
	RoleKey string `json:"roleKey" api:"required" doc:"a role key of the account"`
}

func toGroup(g repository.Group) Group {
	return Group{
		ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID, RoleKey: g.RoleKey,
		Source: g.Source, ManagedByIdP: g.Source == repository.SourceSCIM,
		Version: g.Version, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
	}
}

func groupReply(status int, g repository.Group) *reply {
	return &reply{status: status, body: toGroup(g), etag: etag(g.Version)}
}

// writableGroup returns the group, or managed_by_idp when an identity
// provider owns it: the admin API must not fight the IdP over a group it
// pushes, whose next push would undo the change.
// attr names the request field the refused change is about.
func (a *API) writableGroup(c *gin.Context, cl *call, id, attr string) (repository.Group, error) {
	g, err := a.store().GetGroup(c.Request.Context(), cl.AccountID, id, false)
	if err != nil {
		return g, notFound(err, "group", id)
	}
	if g.Source == repository.SourceSCIM {
		return g, &provisioning.Error{Code: provisioning.CodeManagedByIdP, Attribute: attr,
			Message: "group " + quote(g.DisplayName) + " is managed by the identity provider through SCIM; change it there (its role mapping may be changed here)"}
	}
	return g, nil
}

func (a *API) listGroups(c *gin.Context, cl *call) (*reply, error) {
	q, err := a.listQuery(c, filter.Groups)
	if err != nil {
		return nil, err
	}
	page, err := a.store().ListGroups(c.Request.Context(), cl.AccountID, q, false)
	if err != nil {
		return nil, err
	}
	out := Page[Group]{Items: make([]Group, 0, len(page.Items)), Total: page.Total, NextCursor: page.NextCursor}
	for _, g := range page.Items {
		out.Items = append(out.Items, toGroup(g))
	}
	return ok(out), nil
}

func (a *API) getGroup(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	g, err := a.store().GetGroup(c.Request.Context(), cl.AccountID, id, false)
	if err != nil {
		return nil, notFound(err, "group", id)
	}
	return groupReply(http.StatusOK, g), nil
}

func (a *API) createGroup(c *gin.Context, cl *call) (*reply, error) {
	var in GroupInput
	if _, err := a.decode(c, &in, Group{}); err != nil {
		return nil, err
	}
	g, err := a.svc.CreateGroup(c.Request.Context(), cl.actor(),
		repository.Group{AccountID: cl.AccountID, DisplayName: in.DisplayName}, in.MemberIDs)
	if err != nil {
		return nil, renameAttr(err, "members", "memberIds")
	}
	r := groupReply(http.StatusCreated, g)
	r.location = c.Request.URL.Path + "/" + g.ID
	return r, nil
}

func (a *API) patchGroup(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	var p GroupPatch
	fields, err := a.decode(c, &p, Group{})
	if err != nil {
		return nil, err
	}
	if _, err := a.writableGroup(c, cl, id, "displayName"); err != nil {
		return nil, err
	}
	g, err := a.svc.ChangeGroup(c.Request.Context(), cl.actor(), cl.AccountID, id, provisioning.GroupChange{
		IfVersion: ifMatch(c),
		Update: func(g repository.Group) (repository.Group, error) {
			if p.DisplayName != nil || fields.null("displayName") {
				g.DisplayName = derefStr(p.DisplayName)
			}
			return g, nil
		},
	})
	if err != nil {
		return nil, notFound(err, "group", id)
	}
	return groupReply(http.StatusOK, g), nil
}

func (a *API) deleteGroup(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	if _, err := a.writableGroup(c, cl, id, ""); err != nil {
		return nil, err
	}
	if err := a.svc.DeleteGroup(c.Request.Context(), cl.actor(), cl.AccountID, id, ifMatch(c)); err != nil {
		return nil, notFound(err, "group", id)
	}
	return noContent(), nil
}

func (a *API) listGroupMembers(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	ctx := c.Request.Context()
	count, err := intParam(c, "count", a.opts.DefaultCount, 1, a.opts.MaxCount)
	if err != nil {
		return nil, err
	}
	// The cursor of this list is the last member id of the previous page:
	// edges are read in member id order straight from the store.
	after := ""
	if cur, sent := query(c, "cursor"); sent {
		dc, err := repository.DecodeCursor(cur)
		if err != nil {
			return nil, errorf(string(provisioning.CodeInvalidValue), "cursor", "cursor is not one this API returned")
		}
		after = dc.ID
	}
	if _, err := a.store().GetGroup(ctx, cl.AccountID, id, false); err != nil {
		return nil, notFound(err, "group", id)
	}
	edges, err := a.store().ListGroupMembers(ctx, cl.AccountID, id, after, count+1)
	if err != nil {
		return nil, err
	}
	out := GroupMembers{Items: make([]GroupMember, 0, min(len(edges), count))}
	for i, e := range edges {
		if i == count {
			out.NextCursor = repository.Cursor{ID: edges[i-1].MemberID}.Encode()
			break
		}
		out.Items = append(out.Items, GroupMember{MemberID: e.MemberID, DisplayName: e.DisplayName})
	}
	return ok(out), nil
}

func (a *API) addGroupMembers(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	var in GroupMembersInput
	if _, err := a.decode(c, &in, nil); err != nil {
		return nil, err
	}
	if _, err := a.writableGroup(c, cl, id, "memberIds"); err != nil {
		return nil, err
	}
	g, err := a.svc.ChangeGroup(c.Request.Context(), cl.actor(), cl.AccountID, id, provisioning.GroupChange{
		IfVersion: ifMatch(c),
		Members:   []provisioning.MembershipChange{{Op: provisioning.MembersAdd, MemberIDs: in.MemberIDs}},
	})
	if err != nil {
		return nil, notFound(renameAttr(err, "members", "memberIds"), "group", id)
	}
	return groupReply(http.StatusOK, g), nil
}

func (a *API) removeGroupMember(c *gin.Context, cl *call) (*reply, error) {
	id, memberID := c.Param("id"), c.Param("memberId")
	if _, err := a.writableGroup(c, cl, id, "memberIds"); err != nil {
		return nil, err
	}
	_, err := a.svc.ChangeGroup(c.Request.Context(), cl.actor(), cl.AccountID, id, provisioning.GroupChange{
		IfVersion: ifMatch(c),
		Members:   []provisioning.MembershipChange{{Op: provisioning.MembersRemove, MemberIDs: []string{memberID}}},
	})
	if err != nil {
		return nil, notFound(err, "group", id)
	}
	return noContent(), nil
}

func (a *API) getRoleMapping(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	g, err := a.store().GetGroup(c.Request.Context(), cl.AccountID, id, false)
	if err != nil {
		return nil, notFound(err, "group", id)
	}
	return &reply{status: http.StatusOK, body: RoleMapping{GroupID: g.ID, RoleKey: g.RoleKey}, etag: etag(g.Version)}, nil
}

func (a *API) putRoleMapping(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	var in RoleMappingInput
	if _, err := a.decode(c, &in, nil); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.RoleKey) == "" {
		return nil, errorf(string(provisioning.CodeInvalidValue), "roleKey", "roleKey must name a role; DELETE the mapping to clear it")
	}
	return a.setRoleMapping(c, cl, id, in.RoleKey)
}

func (a *API) deleteRoleMapping(c *gin.Context, cl *call) (*reply, error) {
	if _, err := a.setRoleMapping(c, cl, c.Param("id"), ""); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// setRoleMapping maps a group to roleKey ("" clears). The mapping is
// allowed on groups an identity provider manages: mapping IdP groups to
// roles is how an IdP assigns roles without sending them.
func (a *API) setRoleMapping(c *gin.Context, cl *call, id, roleKey string) (*reply, error) {
	ctx := c.Request.Context()
	if want := ifMatch(c); len(want) > 0 {
		g, err := a.store().GetGroup(ctx, cl.AccountID, id, false)
		if err != nil {
			return nil, notFound(err, "group", id)
		}
		if err := checkVersion(want, g.Version); err != nil {
			return nil, err
		}
	}
	g, err := a.svc.SetGroupRole(ctx, cl.actor(), cl.AccountID, id, strings.TrimSpace(roleKey))
	if err != nil {
		return nil, notFound(err, "group", id)
	}
	return &reply{status: http.StatusOK, body: RoleMapping{GroupID: g.ID, RoleKey: g.RoleKey}, etag: etag(g.Version)}, nil
}
