package adminapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// Role is a named set of permissions of the account.
type Role struct {
	Key                 string    `json:"key" doc:"unique in the account; members and groups refer to roles by key"`
	DisplayName         string    `json:"displayName"`
	Description         string    `json:"description,omitempty"`
	Permissions         []string  `json:"permissions" doc:"permission keys (GET /permissions lists them)"`
	OptionalPermissions []string  `json:"optionalPermissions" doc:"permissions a member holding the role may be granted one by one"`
	ConsumesSeat        bool      `json:"consumesSeat" doc:"grants the agent capability, so holding it uses an agent seat"`
	BuiltIn             bool      `json:"builtIn" doc:"seeded into every account"`
	Version             int64     `json:"version"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
}

// RoleInput creates a custom role.
type RoleInput struct {
	Key                 string   `json:"key" api:"required"`
	DisplayName         string   `json:"displayName" api:"required"`
	Description         string   `json:"description,omitempty"`
	Permissions         []string `json:"permissions,omitempty"`
	OptionalPermissions []string `json:"optionalPermissions,omitempty"`
}

// RolePatch changes a role as a JSON merge patch (RFC 7396).
type RolePatch struct {
	DisplayName         *string   `json:"displayName,omitempty"`
	Description         *string   `json:"description,omitempty"`
	Permissions         *[]string `json:"permissions,omitempty"`
	OptionalPermissions *[]string `json:"optionalPermissions,omitempty"`
}

// Permission is one permission of the catalogue.
type Permission struct {
	Key         string `json:"key"`
	Description string `json:"description"`
}

func toRole(r repository.Role) Role {
	return Role{
		Key: r.Key, DisplayName: r.DisplayName, Description: r.Description,
		Permissions: nonNil(r.Permissions), OptionalPermissions: nonNil(r.OptionalPermissions),
		ConsumesSeat: r.ConsumesSeat, BuiltIn: r.BuiltIn,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func (a *API) listPermissions(*gin.Context, *call) (*reply, error) {
	out := List[Permission]{Items: []Permission{}}
	for _, p := range provisioning.Permissions() {
		out.Items = append(out.Items, Permission{Key: p.Key, Description: p.Description})
	}
	return ok(out), nil
}

func (a *API) listRoles(c *gin.Context, cl *call) (*reply, error) {
	roles, err := a.svc.ListRoles(c.Request.Context(), cl.AccountID)
	if err != nil {
		return nil, err
	}
	out := List[Role]{Items: make([]Role, 0, len(roles))}
	for _, r := range roles {
		out.Items = append(out.Items, toRole(r))
	}
	return ok(out), nil
}

func (a *API) getRole(c *gin.Context, cl *call) (*reply, error) {
	key := c.Param("key")
	r, err := a.store().GetRole(c.Request.Context(), cl.AccountID, key)
	if err != nil {
		return nil, notFound(err, "role", key)
	}
	return &reply{status: http.StatusOK, body: toRole(r), etag: etag(r.Version)}, nil
}

func (a *API) createRole(c *gin.Context, cl *call) (*reply, error) {
	var in RoleInput
	if _, err := a.decode(c, &in, Role{}); err != nil {
		return nil, err
	}
	r, err := a.svc.CreateRole(c.Request.Context(), cl.actor(), cl.AccountID, repository.Role{
		AccountID: cl.AccountID, Key: in.Key, DisplayName: in.DisplayName, Description: in.Description,
		Permissions: in.Permissions, OptionalPermissions: in.OptionalPermissions,
	})
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusCreated, body: toRole(r), etag: etag(r.Version),
		location: c.Request.URL.Path + "/" + r.Key}, nil
}

func (a *API) patchRole(c *gin.Context, cl *call) (*reply, error) {
	key := c.Param("key")
	var p RolePatch
	fields, err := a.decode(c, &p, Role{})
	if err != nil {
		return nil, err
	}
	want := ifMatch(c)
	r, err := a.svc.UpdateRole(c.Request.Context(), cl.actor(), cl.AccountID, key, func(r *repository.Role) error {
		if err := checkVersion(want, r.Version); err != nil {
			return err
		}
		if p.DisplayName != nil || fields.null("displayName") {
			r.DisplayName = derefStr(p.DisplayName)
		}
		if p.Description != nil || fields.null("description") {
			r.Description = derefStr(p.Description)
		}
		if p.Permissions != nil || fields.null("permissions") {
			r.Permissions = slices.Clone(deref(p.Permissions))
		}
		if p.OptionalPermissions != nil || fields.null("optionalPermissions") {
			r.OptionalPermissions = slices.Clone(deref(p.OptionalPermissions))
		}
		return nil
	})
	if err != nil {
		return nil, notFound(err, "role", key)
	}
	return &reply{status: http.StatusOK, body: toRole(r), etag: etag(r.Version)}, nil
}

func (a *API) deleteRole(c *gin.Context, cl *call) (*reply, error) {
	key := c.Param("key")
	ctx := c.Request.Context()
	if want := ifMatch(c); len(want) > 0 {
		r, err := a.store().GetRole(ctx, cl.AccountID, key)
		if err != nil {
			return nil, notFound(err, "role", key)
		}
		if err := checkVersion(want, r.Version); err != nil {
			return nil, err
		}
	}
	if err := a.svc.DeleteRole(ctx, cl.actor(), cl.AccountID, key); err != nil {
		return nil, notFound(err, "role", key)
	}
	return noContent(), nil
}

// derefStr returns *p, or "".
func derefStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
