package provisioning

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// CheckGrantable refuses, for an admin-API actor (a member), giving a new
// member roles or optional permissions that carry permissions the actor
// does not hold itself: an admin with team.invite cannot mint a more
// powerful colleague than itself. roles are role references (keys or
// display names, resolved as CreateMember does; empty means the account's
// default role). Identity providers (SCIM) and the system are trusted
// sources of who holds what and are not checked.
//
// The agent capability (PermConversationsAnswer) is exempt: it is a
// licence bought as seats, not an authority, and administrators do not
// answer conversations themselves yet invite agents all day.
//
// A refusal is CodeForbidden on "roles" (or "optionalPermissions") naming
// the role and the permissions missing.
func (s *Service) CheckGrantable(ctx context.Context, actor Actor, accountID string, roles []string, grants []repository.RolePermission) error {
	if actor.Kind != repository.ActorMember {
		return nil
	}
	list, idx, err := s.roleCatalogue(ctx, accountID)
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		acct, err := s.store.GetAccount(ctx, accountID)
		if err != nil {
			return fmt.Errorf("check grantable roles: %w", err)
		}
		if acct.Settings.DefaultRoleKey != "" {
			roles = []string{acct.Settings.DefaultRoleKey}
		}
	}
	keys, err := resolveRoles(list, roles)
	if err != nil {
		return err
	}
	eff, err := s.EffectivePermissions(ctx, accountID, actor.ID)
	if err != nil {
		return fmt.Errorf("check grantable roles: %w", err)
	}
	return checkGrantable(idx, eff.Permissions, keys, grants)
}

// checkGrantable is CheckGrantable over resolved role keys and the
// actor's effective permissions.
func checkGrantable(idx roleIndex, actorPerms, keys []string, grants []repository.RolePermission) error {
	held := func(p string) bool {
		return p == PermConversationsAnswer || slices.Contains(actorPerms, p)
	}
	for _, k := range keys {
		var missing []string
		for _, p := range idx[k].Permissions {
			if !held(p) {
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
		if p := strings.TrimSpace(g.Permission); p != "" && !held(p) {
			return &Error{Code: CodeForbidden, Attribute: "optionalPermissions",
				Message: fmt.Sprintf("you cannot grant the optional permission %q: you do not hold it yourself", p)}
		}
	}
	return nil
}
