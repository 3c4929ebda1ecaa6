package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// roleIndex is an account's roles by key.
type roleIndex map[string]repository.Role

// roleCatalogue reads the account's roles once for a rule step: the list
// (ordered by key, for reference resolution) and the index.
func (s *Service) roleCatalogue(ctx context.Context, accountID string) ([]repository.Role, roleIndex, error) {
	list, err := s.store.ListRoles(ctx, accountID)
	if err != nil {
		return nil, nil, fmt.Errorf("list roles: %w", err)
	}
	idx := make(roleIndex, len(list))
	for _, r := range list {
		idx[r.Key] = r
	}
	return list, idx, nil
}

// consumesSeat reports whether any of the role keys grants the agent
// capability.
func (idx roleIndex) consumesSeat(keys []string) bool {
	return slices.ContainsFunc(keys, func(k string) bool { return idx[k].ConsumesSeat })
}

// groupPage is the page size used when walking a member's groups.
const groupPage = 100

// groupRoleKeys returns the role keys a member holds through the role
// mappings of its groups, sorted. The query goes through the membership
// edges (an index on the member id), so its cost follows the member's
// groups, not the groups' sizes.
func (s *Service) groupRoleKeys(ctx context.Context, accountID, memberID string) ([]string, error) {
	var keys []string
	q := repository.Query{
		Filter: repository.And{
			repository.Compare{Field: repository.GroupMemberID, Op: repository.OpEq, Value: memberID},
			repository.Compare{Field: repository.GroupRoleKey, Op: repository.OpPr},
		},
		Count: groupPage,
	}
	for {
		page, err := s.store.ListGroups(ctx, accountID, q, false)
		if err != nil {
			return nil, fmt.Errorf("groups of member %s: %w", memberID, err)
		}
		for _, g := range page.Items {
			if g.RoleKey != "" {
				keys = append(keys, g.RoleKey)
			}
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			break
		}
		q.Cursor = page.NextCursor
	}
	return sortedSet(keys), nil
}

// effectiveRoleKeys returns the roles a member holds: its own and those of
// its groups' mappings, sorted without duplicates.
func (s *Service) effectiveRoleKeys(ctx context.Context, accountID string, m repository.Member) ([]string, error) {
	viaGroups, err := s.groupRoleKeys(ctx, accountID, m.ID)
	if err != nil {
		return nil, err
	}
	return sortedSet(append(slices.Clone(m.Roles), viaGroups...)), nil
}

// EffectivePermissions is what a member may do now: the "view as" of an
// admin.
type EffectivePermissions struct {
	MemberID string
	// Roles are the role keys held directly or through group mappings,
	// sorted.
	Roles []string
	// Permissions is the union of the roles' permissions and the granted
	// optional permissions, sorted. The agent capability
	// (PermConversationsAnswer) is in it only while Agent is true: a queued
	// agent holds the role but not yet the seat.
	Permissions []string
	// Agent reports whether the member holds the agent capability now: a
	// named seat, or a concurrent lease.
	Agent bool
	// SeatStatus is the member's seat status (repository.SeatNone,
	// SeatAssigned or SeatQueued).
	SeatStatus string
}

// EffectivePermissions computes a member's roles and permissions. A
// deactivated member keeps its roles (reactivation restores them), so they
// are listed, but it holds no seat and Authorize refuses it everything.
func (s *Service) EffectivePermissions(ctx context.Context, accountID, memberID string) (EffectivePermissions, error) {
	m, err := s.store.GetMember(ctx, accountID, memberID)
	if err != nil {
		return EffectivePermissions{}, fmt.Errorf("effective permissions: %w", err)
	}
	return s.effectivePermissions(ctx, accountID, m)
}

// effectivePermissions computes the permissions of a member already read.
func (s *Service) effectivePermissions(ctx context.Context, accountID string, m repository.Member) (EffectivePermissions, error) {
	_, idx, err := s.roleCatalogue(ctx, accountID)
	if err != nil {
		return EffectivePermissions{}, err
	}
	roles, err := s.effectiveRoleKeys(ctx, accountID, m)
	if err != nil {
		return EffectivePermissions{}, err
	}
	agent := false
	if m.Active && idx.consumesSeat(roles) {
		if agent, err = s.store.HoldsSeat(ctx, accountID, m.ID); err != nil {
			return EffectivePermissions{}, fmt.Errorf("effective permissions: %w", err)
		}
	}
	var perms []string
	for _, k := range roles {
		perms = append(perms, idx[k].Permissions...)
	}
	for _, g := range m.OptionalPermissions {
		// A grant counts while its role is held and still offers it; a
		// grant left behind by a role change or a role edit is inert.
		if slices.Contains(roles, g.Role) && slices.Contains(idx[g.Role].OptionalPermissions, g.Permission) {
			perms = append(perms, g.Permission)
		}
	}
	if !agent {
		perms = slices.DeleteFunc(perms, func(p string) bool { return p == PermConversationsAnswer })
	}
	status := m.SeatStatus
	if status == "" {
		status = repository.SeatNone
	}
	return EffectivePermissions{
		MemberID:    m.ID,
		Roles:       roles,
		Permissions: sortedSet(perms),
		Agent:       agent,
		SeatStatus:  status,
	}, nil
}

// Authorize returns nil when memberID is a member of the account that is
// not deactivated and holds permission now; otherwise an *Error with
// CodeForbidden whose message says what is missing. PermAccountDelete is
// the owner's alone, whoever else holds it through a role.
func (s *Service) Authorize(ctx context.Context, accountID, memberID, permission string) error {
	deny := func(format string, args ...any) error {
		return &Error{Code: CodeForbidden, Message: fmt.Sprintf(format, args...)}
	}
	if !IsPermission(permission) {
		return deny("unknown permission %q", permission)
	}
	m, err := s.store.GetMember(ctx, accountID, memberID)
	if errors.Is(err, repository.ErrNotFound) {
		return deny("not a member of this account")
	}
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	if !m.Active || m.Status == repository.StatusDeactivated {
		return deny("the member is deactivated")
	}
	if permission == PermAccountDelete {
		acct, err := s.store.GetAccount(ctx, accountID)
		if err != nil {
			return fmt.Errorf("authorize: %w", err)
		}
		if acct.OwnerMemberID != memberID {
			return deny("only the account owner can delete the account")
		}
	}
	eff, err := s.effectivePermissions(ctx, accountID, m)
	if err != nil {
		return err
	}
	if slices.Contains(eff.Permissions, permission) {
		return nil
	}
	if permission == PermConversationsAnswer && eff.SeatStatus == repository.SeatQueued {
		return deny("the member waits for an agent seat: every seat is in use")
	}
	return deny("the permission %q is not granted by the member's roles (%s)", permission, strings.Join(eff.Roles, ", "))
}

// checkGrants validates the optional permissions of a member against the
// roles it holds (effective, sorted keys). A grant must name a held role
// and one of that role's optional permissions. A grant the member already
// had that no longer fits (its role was removed) is dropped quietly, so an
// identity provider removing a role never fails on the grants; a new grant
// that does not fit is an error. The result is sorted.
func checkGrants(idx roleIndex, held []string, before, after []repository.RolePermission) ([]repository.RolePermission, error) {
	var out []repository.RolePermission
	for _, g := range after {
		g.Role = strings.TrimSpace(g.Role)
		g.Permission = strings.TrimSpace(g.Permission)
		if slices.Contains(out, g) {
			continue
		}
		r, known := idx[g.Role]
		fits := known && slices.Contains(held, g.Role) && slices.Contains(r.OptionalPermissions, g.Permission)
		if fits {
			out = append(out, g)
			continue
		}
		if slices.Contains(before, g) {
			continue
		}
		bad := func(format string, args ...any) error {
			return &Error{Code: CodeInvalidValue, Attribute: "optionalPermissions", Message: fmt.Sprintf(format, args...)}
		}
		switch {
		case !known:
			return nil, bad("optional permission %q is granted for an unknown role %q", g.Permission, g.Role)
		case !slices.Contains(held, g.Role):
			return nil, bad("optional permission %q of role %q needs the member to hold that role", g.Permission, g.Role)
		case len(r.OptionalPermissions) == 0:
			return nil, bad("role %q has no optional permissions", g.Role)
		default:
			return nil, bad("%q is not an optional permission of role %q; it offers: %s",
				g.Permission, g.Role, strings.Join(r.OptionalPermissions, ", "))
		}
	}
	slices.SortFunc(out, func(a, b repository.RolePermission) int {
		if c := strings.Compare(a.Role, b.Role); c != 0 {
			return c
		}
		return strings.Compare(a.Permission, b.Permission)
	})
	return out, nil
}
