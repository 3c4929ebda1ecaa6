package scim

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim/filter"
)

// The /Groups operations. Membership is never read to be changed: member
// additions and removals go to the store's edge methods through
// provisioning.ChangeGroup.

// createGroup answers POST /Groups.
func (s *Server) createGroup(ctx context.Context, t tenant, r request) (*response, error) {
	obj, err := decodeObject(r.body)
	if err != nil {
		return nil, err
	}
	norm, err := normalizeResource(s.cat.groups, obj)
	if err != nil {
		return nil, err
	}
	ids, err := memberIDs(norm["members"])
	if err != nil {
		return nil, err
	}
	g := groupFromMap(norm, repository.Group{AccountID: t.accountID, Source: repository.SourceSCIM})
	created, err := s.svc.CreateGroup(ctx, t.actor(), g, ids)
	if err != nil {
		return nil, err
	}
	return s.groupResponse(ctx, t, created.ID, r, http.StatusCreated)
}

// getGroup answers GET /Groups/{id}; with excludedAttributes=members the
// store is asked for the group without its members.
func (s *Server) getGroup(ctx context.Context, t tenant, id string, r request) (*response, error) {
	if r.ifNoneMatch.present {
		g, err := s.store().GetGroup(ctx, t.accountID, id, false)
		if isNotFound(err) {
			return nil, notFound("Group", id)
		}
		if err != nil {
			return nil, fmt.Errorf("get group: %w", err)
		}
		if r.ifNoneMatch.matches(g.Version) {
			return &response{status: http.StatusNotModified, etag: etag(g.Version)}, nil
		}
	}
	return s.groupResponse(ctx, t, id, r, http.StatusOK)
}

// replaceGroup answers PUT /Groups/{id}: the attributes are replaced and
// the members become exactly the ones listed.
func (s *Server) replaceGroup(ctx context.Context, t tenant, id string, r request) (*response, error) {
	obj, err := decodeObject(r.body)
	if err != nil {
		return nil, err
	}
	norm, err := normalizeResource(s.cat.groups, obj)
	if err != nil {
		return nil, err
	}
	ids, err := memberIDs(norm["members"])
	if err != nil {
		return nil, err
	}
	ch := provisioning.GroupChange{
		IfVersion: r.ifMatch.ifVersion(),
		Update: func(before repository.Group) (repository.Group, error) {
			cur := renderGroup(before, s.base, false, true)
			return groupFromMap(mergeReplacement(s.cat.groups, cur, norm, nil), before), nil
		},
		Members: []provisioning.MembershipChange{{Op: provisioning.MembersReplace, MemberIDs: ids}},
	}
	if _, err := s.svc.ChangeGroup(ctx, t.actor(), t.accountID, id, ch); err != nil {
		if isNotFound(err) {
			return nil, notFound("Group", id)
		}
		return nil, err
	}
	return s.groupResponse(ctx, t, id, r, http.StatusOK)
}

// patchGroup answers PATCH /Groups/{id}. Operations on members become
// edge additions and removals; the others edit the group's attributes.
// It answers 204 No Content (what Okta and Entra expect, and cheap for a
// large group) unless the request asks for attributes, then 200 with the
// group.
func (s *Server) patchGroup(ctx context.Context, t tenant, id string, r request) (*response, error) {
	ops, err := parsePatch(r.body)
	if err != nil {
		return nil, err
	}
	pops, err := s.groups.expand(ops)
	if err != nil {
		return nil, err
	}
	var attrOps []pathOp
	var changes []provisioning.MembershipChange
	for _, o := range pops {
		if o.path.Attr != "members" {
			attrOps = append(attrOps, o)
			continue
		}
		mc, err := membershipChange(o)
		if err != nil {
			return nil, err
		}
		changes = append(changes, mc)
	}
	ch := provisioning.GroupChange{IfVersion: r.ifMatch.ifVersion(), Members: changes}
	if len(attrOps) > 0 {
		ch.Update = func(before repository.Group) (repository.Group, error) {
			cur := renderGroup(before, s.base, false, true)
			if _, err := s.groups.apply(cur, attrOps); err != nil {
				return before, err
			}
			norm, err := normalizeResource(s.cat.groups, cur)
			if err != nil {
				return before, err
			}
			return groupFromMap(norm, before), nil
		}
	}
	g, err := s.svc.ChangeGroup(ctx, t.actor(), t.accountID, id, ch)
	if isNotFound(err) {
		return nil, notFound("Group", id)
	}
	if err != nil {
		return nil, err
	}
	if !hasProjection(r) {
		return &response{status: http.StatusNoContent, etag: etag(g.Version), location: s.base + "/Groups/" + g.ID}, nil
	}
	return s.groupResponse(ctx, t, id, r, http.StatusOK)
}

// membershipChange turns one PATCH operation on "members" into an edge
// operation: add/replace of a list, remove of a list (Entra) or of
// members[value eq "id"] (Okta), remove of all members without value.
func membershipChange(o pathOp) (provisioning.MembershipChange, error) {
	if o.path.Sub != "" {
		return provisioning.MembershipChange{}, badRequest(typeInvalidPath,
			"%q: members are added and removed as a whole ({\"value\": id}), not by sub-attribute", o.path.String())
	}
	if o.path.Filter != nil {
		ids, ok := o.path.Filter.EqualValues("value")
		if !ok {
			return provisioning.MembershipChange{}, badRequest(typeInvalidFilter,
				"members[%s]: only value eq \"<id>\" (or several joined by or) selects members", o.path.Filter.String())
		}
		if o.op != "remove" {
			return provisioning.MembershipChange{}, badRequest(typeInvalidPath,
				"members[...] selects members to remove; add members with path \"members\" and a list of values")
		}
		return provisioning.MembershipChange{Op: provisioning.MembersRemove, MemberIDs: ids}, nil
	}
	ids, err := memberIDs(o.value)
	if err != nil {
		return provisioning.MembershipChange{}, err
	}
	switch o.op {
	case "add":
		return provisioning.MembershipChange{Op: provisioning.MembersAdd, MemberIDs: ids}, nil
	case "replace":
		return provisioning.MembershipChange{Op: provisioning.MembersReplace, MemberIDs: ids}, nil
	}
	if o.value == nil {
		return provisioning.MembershipChange{Op: provisioning.MembersReplace}, nil
	}
	return provisioning.MembershipChange{Op: provisioning.MembersRemove, MemberIDs: ids}, nil
}

// deleteGroup answers DELETE /Groups/{id}.
func (s *Server) deleteGroup(ctx context.Context, t tenant, id string, r request) (*response, error) {
	err := s.svc.DeleteGroup(ctx, t.actor(), t.accountID, id, r.ifMatch.ifVersion())
	if isNotFound(err) {
		return nil, notFound("Group", id)
	}
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// groupResponse reads a group (with members only when the projection
// shows them) and renders it.
func (s *Server) groupResponse(ctx context.Context, t tenant, id string, r request, status int) (*response, error) {
	proj := projectionOf(filter.Groups, r)
	withMembers := proj.returns("members")
	g, err := s.store().GetGroup(ctx, t.accountID, id, withMembers)
	if isNotFound(err) {
		return nil, notFound("Group", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get group: %w", err)
	}
	body := proj.apply(s.cat.groups, renderGroup(g, s.base, withMembers, false))
	return &response{status: status, body: body, etag: etag(g.Version), location: s.base + "/Groups/" + g.ID}, nil
}

// hasProjection reports whether a request names attributes to return.
func hasProjection(r request) bool {
	for k := range r.query {
		if strings.EqualFold(k, "attributes") || strings.EqualFold(k, "excludedAttributes") {
			return true
		}
	}
	return false
}
