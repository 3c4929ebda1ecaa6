package scim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim/filter"
)

// The /Users operations. Each turns the SCIM request into one
// provisioning call; the rules live there.

// createUser answers POST /Users.
func (s *Server) createUser(ctx context.Context, t tenant, r request) (*response, error) {
	obj, err := decodeObject(r.body)
	if err != nil {
		return nil, err
	}
	norm, err := normalizeResource(s.cat.users, obj)
	if err != nil {
		return nil, err
	}
	if _, ok := norm["active"]; !ok {
		norm["active"] = true // RFC 7643: a new user is active unless told otherwise
	}
	m, password := memberFromUser(norm, repository.Member{AccountID: t.accountID, Source: repository.SourceSCIM})
	if password != "" {
		if m.PasswordHash, err = provisioning.HashPassword(password); err != nil {
			return nil, err
		}
	}
	m.ManagedAttributes = assertedAttributes(s.cat.users, norm)
	created, err := s.svc.CreateMember(ctx, t.actor(), m)
	if err != nil {
		return nil, err
	}
	// A member just created belongs to no group yet: its response needs
	// no group query.
	return s.renderUserResponse(ctx, t, created, r, http.StatusCreated, false)
}

// getUser answers GET /Users/{id}.
func (s *Server) getUser(ctx context.Context, t tenant, id string, r request) (*response, error) {
	// A list of one: the member comes with its groups (see listUsers).
	page, err := s.store().ListMembers(ctx, t.accountID, repository.Query{
		Filter:     repository.Compare{Field: repository.MemberID, Op: repository.OpEq, Value: id},
		Count:      1,
		WithGroups: projectionOf(filter.Users, r).returns("groups"),
	})
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	if len(page.Items) == 0 {
		return nil, notFound("User", id)
	}
	m := page.Items[0]
	if r.ifNoneMatch.present && r.ifNoneMatch.matches(m.Version) {
		return &response{status: http.StatusNotModified, etag: etag(m.Version)}, nil
	}
	return s.renderUserResponse(ctx, t, m, r, http.StatusOK, false)
}

// replaceUser answers PUT /Users/{id}. Attributes the request leaves out
// are cleared when the IdP manages them and kept otherwise (see
// mergeReplacement).
func (s *Server) replaceUser(ctx context.Context, t tenant, id string, r request) (*response, error) {
	obj, err := decodeObject(r.body)
	if err != nil {
		return nil, err
	}
	norm, err := normalizeResource(s.cat.users, obj)
	if err != nil {
		return nil, err
	}
	// The password is hashed before the write: bcrypt is slow, and the
	// transaction should not wait for it.
	hash := ""
	if pw, _ := norm["password"].(string); pw != "" {
		if hash, err = provisioning.HashPassword(pw); err != nil {
			return nil, err
		}
	}
	asserted := assertedAttributes(s.cat.users, norm)
	updated, err := s.svc.UpdateMember(ctx, t.actor(), t.accountID, id, r.ifMatch.ifVersion(),
		func(before repository.Member) (repository.Member, error) {
			cur := renderUser(before, userView{internal: true})
			merged := mergeReplacement(s.cat.users, cur, norm, before.ManagedAttributes)
			m, _ := memberFromUser(merged, before)
			if hash != "" {
				m.PasswordHash = hash
			}
			m.ManagedAttributes = union(before.ManagedAttributes, asserted)
			return m, nil
		})
	if isNotFound(err) {
		return nil, notFound("User", id)
	}
	if err != nil {
		return nil, err
	}
	return s.userResponse(ctx, t, updated, r, http.StatusOK)
}

// patchUser answers PATCH /Users/{id}: the operations are applied to the
// user's JSON, which is then checked and written once.
func (s *Server) patchUser(ctx context.Context, t tenant, id string, r request) (*response, error) {
	ops, err := parsePatch(r.body)
	if err != nil {
		return nil, err
	}
	pops, err := s.users.expand(ops)
	if err != nil {
		return nil, err
	}
	hashes, err := hashPasswords(pops)
	if err != nil {
		return nil, err
	}
	updated, err := s.svc.UpdateMember(ctx, t.actor(), t.accountID, id, r.ifMatch.ifVersion(),
		func(before repository.Member) (repository.Member, error) {
			return s.patchMember(before, pops, hashes)
		})
	if isNotFound(err) {
		return nil, notFound("User", id)
	}
	if err != nil {
		return nil, err
	}
	return s.userResponse(ctx, t, updated, r, http.StatusOK)
}

// patchMember applies PATCH operations to a member and returns the
// wanted record. hashes holds the bcrypt hashes of passwords the
// operations set.
func (s *Server) patchMember(before repository.Member, pops []pathOp, hashes map[string]string) (repository.Member, error) {
	cur := renderUser(before, userView{internal: true})
	touched, err := s.users.apply(cur, pops)
	if err != nil {
		return before, err
	}
	norm, err := normalizeResource(s.cat.users, cur)
	if err != nil {
		return before, err
	}
	m, password := memberFromUser(norm, before)
	if password != "" {
		hash, ok := hashes[password]
		if !ok {
			if hash, err = provisioning.HashPassword(password); err != nil {
				return before, err
			}
		}
		m.PasswordHash = hash
	}
	m.ManagedAttributes = union(before.ManagedAttributes, touched)
	return m, nil
}

// hashPasswords hashes the passwords PATCH operations set, ahead of the
// write.
func hashPasswords(pops []pathOp) (map[string]string, error) {
	hashes := map[string]string{}
	for _, o := range pops {
		pw, ok := o.value.(string)
		if o.path.Attr != "password" || o.op == "remove" || !ok || pw == "" {
			continue
		}
		if _, done := hashes[pw]; done {
			continue
		}
		h, err := provisioning.HashPassword(pw)
		if err != nil {
			return nil, err
		}
		hashes[pw] = h
	}
	return hashes, nil
}

// deleteUser answers DELETE /Users/{id}.
func (s *Server) deleteUser(ctx context.Context, t tenant, id string, r request) (*response, error) {
	err := s.svc.DeleteMember(ctx, t.actor(), t.accountID, id, r.ifMatch.ifVersion())
	if isNotFound(err) {
		return nil, notFound("User", id)
	}
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// userResponse renders one user as the answer of a request, honouring
// its attributes / excludedAttributes.
func (s *Server) userResponse(ctx context.Context, t tenant, m repository.Member, r request, status int) (*response, error) {
	return s.renderUserResponse(ctx, t, m, r, status, true)
}

// renderUserResponse is userResponse; loadGroups false says m came with
// its groups (Query.WithGroups) or belongs to no group, so they are not
// read.
func (s *Server) renderUserResponse(ctx context.Context, t tenant, m repository.Member, r request, status int, loadGroups bool) (*response, error) {
	proj := projectionOf(filter.Users, r)
	list, err := s.renderUsers(ctx, t, []repository.Member{m}, proj, loadGroups)
	if err != nil {
		return nil, err
	}
	return &response{status: status, body: list[0], etag: etag(m.Version), location: s.base + "/Users/" + m.ID}, nil
}

// renderUsers renders members with their groups and role names, then
// applies the projection. loadGroups says their Groups are still to be
// read (one query for all of them); false means the members came with
// them (Query.WithGroups) or belong to no group.
func (s *Server) renderUsers(ctx context.Context, t tenant, members []repository.Member, proj projection, loadGroups bool) ([]any, error) {
	if loadGroups && proj.returns("groups") {
		members = slices.Clone(members)
		if err := repository.FillGroups(ctx, s.store().GroupsOfMembers, t.accountID, members); err != nil {
			return nil, fmt.Errorf("groups of users: %w", err)
		}
	}
	roleNames := map[string]string{}
	if proj.returns("roles") && slices.ContainsFunc(members, func(m repository.Member) bool { return len(m.Roles) > 0 }) {
		roles, err := s.store().ListRoles(ctx, t.accountID)
		if err != nil {
			return nil, fmt.Errorf("roles of users: %w", err)
		}
		for _, r := range roles {
			roleNames[r.Key] = r.DisplayName
		}
	}
	out := make([]any, len(members))
	for i, m := range members {
		res := renderUser(m, userView{base: s.base, groups: m.Groups, roles: roleNames})
		out[i] = proj.apply(s.cat.users, res)
	}
	return out, nil
}

// projectionOf reads attributes / excludedAttributes from a request's
// query string.
func projectionOf(res filter.Resource, r request) projection {
	var attrs, excl []string
	for k, v := range r.query {
		switch {
		case strings.EqualFold(k, "attributes"):
			attrs = append(attrs, v...)
		case strings.EqualFold(k, "excludedAttributes"):
			excl = append(excl, v...)
		}
	}
	return parseProjection(res, attrs, excl)
}

// union returns the sorted union of two name sets.
func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
