package provisioning

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// checkActorGrants refuses, for an admin-API actor (a member), giving
// roles (resolved keys) or optional permissions that carry permissions the
// actor does not hold itself: an admin with team.manage cannot mint a more
// powerful colleague than itself, nor make itself one. Only what a write
// gives is checked, never what the member already holds, so an admin may
// still edit a more powerful colleague's other attributes. Identity
// providers (SCIM) and the system are trusted sources of who holds what and
// are not checked.
//
// The agent capability (PermConversationsAnswer) is exempt: it is a
// licence bought as seats, not an authority, and administrators do not
// answer conversations themselves yet invite agents all day.
//
// A refusal is CodeForbidden on "roles" (or "optionalPermissions") naming
// the role and the permissions missing.
func (s *Service) checkActorGrants(ctx context.Context, actor Actor, accountID string, idx roleIndex, keys []string, grants []repository.RolePermission) error {
	if actor.Kind != repository.ActorMember || (len(keys) == 0 && len(grants) == 0) {
		return nil
	}
	eff, err := s.EffectivePermissions(ctx, accountID, actor.ID)
	if err != nil {
		return fmt.Errorf("check grantable roles: %w", err)
	}
	return checkGrantable(idx, eff.Permissions, keys, grants)
}

// checkActorPermissions refuses, for an admin-API actor, putting into
// role permissions or optional permissions (those a write adds) that the
// actor does not hold itself: a member with roles.manage cannot make a
// role, its own included, more powerful than itself. The agent capability
// is exempt, as in checkActorGrants.
func (s *Service) checkActorPermissions(ctx context.Context, actor Actor, accountID, role string, perms, optional []string) error {
	if actor.Kind != repository.ActorMember || (len(perms) == 0 && len(optional) == 0) {
		return nil
	}
	eff, err := s.EffectivePermissions(ctx, accountID, actor.ID)
	if err != nil {
		return fmt.Errorf("check role permissions: %w", err)
	}
	for _, f := range []struct {
		attr  string
		perms []string
	}{{"permissions", perms}, {"optionalPermissions", optional}} {
		var missing []string
		for _, p := range f.perms {
			if !mayGive(eff.Permissions, p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return &Error{Code: CodeForbidden, Attribute: f.attr,
				Message: fmt.Sprintf("you cannot give the role %q permissions you do not hold yourself (%s)",
					role, strings.Join(missing, ", "))}
		}
	}
	return nil
}

// mayGive reports whether an actor holding actorPerms may give the
// permission p: it holds p, or p is the agent capability.
func mayGive(actorPerms []string, p string) bool {
	return p == PermConversationsAnswer || slices.Contains(actorPerms, p)
}

// checkGrantable refuses giving the roles keys and the optional grants
// for an actor holding actorPerms (see checkActorGrants).
func checkGrantable(idx roleIndex, actorPerms, keys []string, grants []repository.RolePermission) error {
	for _, k := range keys {
		var missing []string
		for _, p := range idx[k].Permissions {
			if !mayGive(actorPerms, p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return &Error{Code: CodeForbidden, Attribute: "roles",
				Message: fmt.Sprintf("you cannot grant the role %q: it carries permissions you do not hold yourself (%s)",
					k, strings.Join(missing, ", "))}
		}
	}
	for _, g := range grants {
		if p := strings.TrimSpace(g.Permission); p != "" && !mayGive(actorPerms, p) {
			return &Error{Code: CodeForbidden, Attribute: "optionalPermissions",
				Message: fmt.Sprintf("you cannot grant the optional permission %q: you do not hold it yourself", p)}
		}
	}
	return nil
}
