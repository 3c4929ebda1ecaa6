package provisioning

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/rosterhq/roster/repository"
)

// Custom roles.
//
// Each account starts with the built-in templates (BuiltInRoles) and may
// add, change and delete roles of its own. A role's ConsumesSeat is never
// typed: it is true exactly when its permissions include the agent
// capability (PermConversationsAnswer), which therefore cannot be an
// optional permission. Role keys and display names are unique per account
// across both (ignoring case), because SCIM clients name a role by either.
//
// The administrator role is kept: it cannot be deleted and its permissions
// cannot change, because the owner's protection ("the owner is always an
// administrator") would mean nothing otherwise. A role that members hold,
// that a group maps to, or that new members get by default cannot be
// deleted; the error says how many hold it.

// Limits of role input.
const (
	maxRoleKeyLen  = 64
	maxRoleNameLen = 100
	maxRoleDescLen = 500
)

// roleKeyPattern is the form of a role key: what SCIM clients and the
// admin API send as roles[].value.
var roleKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ListRoles returns the account's roles ordered by key.
func (s *Service) ListRoles(ctx context.Context, accountID string) ([]repository.Role, error) {
	if _, err := s.store.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	roles, err := s.store.ListRoles(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return roles, nil
}

// CreateRole adds a custom role to the account. The key is lower-cased;
// permissions must come from the catalogue (Permissions), and an
// admin-API actor may only put in permissions it holds itself.
func (s *Service) CreateRole(ctx context.Context, actor Actor, accountID string, r repository.Role) (repository.Role, error) {
	var created repository.Role
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.GetAccount(ctx, accountID); err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		list, _, err := s.roleCatalogue(ctx, accountID)
		if err != nil {
			return err
		}
		r.AccountID, r.BuiltIn, r.Meta = accountID, false, repository.Meta{}
		want, err := normalizeRole(r)
		if err != nil {
			return err
		}
		if err := checkRoleNames(list, want, ""); err != nil {
			return err
		}
		if err := s.checkActorPermissions(ctx, actor, accountID, want.Key, want.Permissions, want.OptionalPermissions); err != nil {
			return err
		}
		created, err = s.store.CreateRole(ctx, want)
		if err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		return s.auditChange(ctx, actor, accountID, "role.create", "role", created.Key, nil, roleView(&created))
	})
	if err != nil {
		return repository.Role{}, err
	}
	return created, nil
}

// UpdateRole changes a role: fn edits a copy (its key, account and
// built-in flag cannot change). When the change makes the role start or
// stop consuming a seat, the members holding it (directly or through a
// mapped group) take or give back seats, batch by batch; under the reject
// setting a change that needs more seats than are free is refused first.
func (s *Service) UpdateRole(ctx context.Context, actor Actor, accountID, key string, fn func(*repository.Role) error) (repository.Role, error) {
	var updated repository.Role
	seatsMove := false
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		seatsMove = false // MongoDB may run the transaction again
		before, err := s.store.GetRole(ctx, accountID, key)
		if err != nil {
			return fmt.Errorf("update role: %w", err)
		}
		want := cloneRole(before)
		if err := fn(&want); err != nil {
			return err
		}
		want.Key, want.AccountID, want.BuiltIn, want.Meta = before.Key, before.AccountID, before.BuiltIn, before.Meta
		if want, err = normalizeRole(want); err != nil {
			return err
		}
		if before.Key == RoleAdministrator && (!sameSet(want.Permissions, before.Permissions) ||
			!sameSet(want.OptionalPermissions, before.OptionalPermissions)) {
			return &Error{Code: CodeInvalidValue, Attribute: "permissions",
				Message: "the administrator role's permissions cannot change: the account owner must keep full access"}
		}
		list, _, err := s.roleCatalogue(ctx, accountID)
		if err != nil {
			return err
		}
		if err := checkRoleNames(list, want, before.Key); err != nil {
			return err
		}
		if err := s.checkActorPermissions(ctx, actor, accountID, key,
			added(want.Permissions, before.Permissions), added(want.OptionalPermissions, before.OptionalPermissions)); err != nil {
			return err
		}
		if len(diffViews(roleView(&before), roleView(&want))) == 0 {
			updated = before
			return nil
		}
		if want.ConsumesSeat && !before.ConsumesSeat {
			acct, err := s.store.GetAccount(ctx, accountID)
			if err != nil {
				return fmt.Errorf("update role: %w", err)
			}
			f, err := s.seatCandidates(ctx, accountID, nil, []string{key})
			if err != nil {
				return err
			}
			if err := s.checkBulkSeats(ctx, acct, f, fmt.Sprintf("making role %q answer conversations", key)); err != nil {
				return err
			}
		}
		updated, err = s.store.UpdateRole(ctx, accountID, key, func(cur repository.Role) (repository.Role, error) {
			if cur.Version != before.Version {
				return cur, repository.ErrVersionMismatch
			}
			want.Meta = cur.Meta
			return want, nil
		})
		if err != nil {
			return fmt.Errorf("update role: %w", err)
		}
		seatsMove = before.ConsumesSeat != updated.ConsumesSeat
		return s.auditChange(ctx, actor, accountID, "role.update", "role", key, roleView(&before), roleView(&updated))
	})
	if err != nil {
		return repository.Role{}, err
	}
	if seatsMove {
		f, err := s.seatCandidates(ctx, accountID, nil, []string{key})
		if err != nil {
			return repository.Role{}, err
		}
		if err := s.resyncMatching(ctx, actor, accountID, f, false); err != nil {
			return repository.Role{}, err
		}
	}
	return updated, nil
}

// DeleteRole deletes a role nobody holds. It is refused (CodeInvalidValue)
// for the administrator role, the account's default role for new members,
// a role held by members (the message says how many), and a role a group
// maps to. The holders are counted with an indexed query (roles.value eq
// key, count only).
func (s *Service) DeleteRole(ctx context.Context, actor Actor, accountID, key string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		r, err := s.store.GetRole(ctx, accountID, key)
		if err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		refuse := func(format string, args ...any) error {
			return &Error{Code: CodeInvalidValue, Attribute: "key", Message: fmt.Sprintf(format, args...)}
		}
		if r.Key == RoleAdministrator {
			return refuse("the administrator role cannot be deleted: the account owner holds it")
		}
		acct, err := s.store.GetAccount(ctx, accountID)
		if err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		if acct.Settings.DefaultRoleKey == r.Key {
			return refuse("role %q is the default role of new members: choose another default first", r.Key)
		}
		holders, err := s.store.ListMembers(ctx, accountID, repository.Query{
			Filter: repository.Compare{Field: repository.MemberRole, Op: repository.OpEq, Value: r.Key},
		})
		if err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		if holders.Total > 0 {
			return refuse("role %q is held by %d %s: remove it from them first", r.Key, holders.Total, plural(holders.Total, "member", "members"))
		}
		groups, err := s.store.ListGroups(ctx, accountID, repository.Query{
			Filter: repository.Compare{Field: repository.GroupRoleKey, Op: repository.OpEq, Value: r.Key},
		}, false)
		if err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		if groups.Total > 0 {
			return refuse("role %q is given by %d %s: map them to another role first", r.Key, groups.Total, plural(groups.Total, "group", "groups"))
		}
		if err := s.store.DeleteRole(ctx, accountID, r.Key); err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		return s.auditChange(ctx, actor, accountID, "role.delete", "role", r.Key, roleView(&r), nil)
	})
}

// normalizeRole trims and checks a role and derives ConsumesSeat.
func normalizeRole(r repository.Role) (repository.Role, error) {
	bad := func(attr, format string, args ...any) (repository.Role, error) {
		return r, &Error{Code: CodeInvalidValue, Attribute: attr, Message: fmt.Sprintf(format, args...)}
	}
	r.Key = strings.ToLower(strings.TrimSpace(r.Key))
	r.DisplayName = strings.TrimSpace(r.DisplayName)
	r.Description = strings.TrimSpace(r.Description)
	switch {
	case r.Key == "":
		return bad("key", "a role needs a key, such as team_lead")
	case len(r.Key) > maxRoleKeyLen || !roleKeyPattern.MatchString(r.Key):
		return bad("key", "role key %q must be 1 to %d lower-case letters, digits or underscores, starting with a letter", r.Key, maxRoleKeyLen)
	case r.DisplayName == "":
		return bad("displayName", "a role needs a display name")
	case len([]rune(r.DisplayName)) > maxRoleNameLen:
		return bad("displayName", "a role's display name must be at most %d characters", maxRoleNameLen)
	case strings.IndexFunc(r.DisplayName, unicode.IsControl) >= 0:
		return bad("displayName", "a role's display name must not contain control characters")
	case len([]rune(r.Description)) > maxRoleDescLen:
		return bad("description", "a role's description must be at most %d characters", maxRoleDescLen)
	}
	perms, err := permissionSet("permissions", r.Permissions)
	if err != nil {
		return r, err
	}
	optional, err := permissionSet("optionalPermissions", r.OptionalPermissions)
	if err != nil {
		return r, err
	}
	for _, p := range optional {
		switch {
		case p == PermConversationsAnswer:
			return bad("optionalPermissions", "%s cannot be optional: it decides who uses an agent seat, so it belongs in permissions", p)
		case slices.Contains(perms, p):
			return bad("optionalPermissions", "%s is already one of the role's permissions", p)
		}
	}
	r.Permissions, r.OptionalPermissions = perms, optional
	r.ConsumesSeat = slices.Contains(perms, PermConversationsAnswer)
	return r, nil
}

// permissionSet checks permission keys against the catalogue and returns
// them trimmed, sorted and without duplicates (never nil).
func permissionSet(attr string, keys []string) ([]string, error) {
	out := []string{}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if !IsPermission(k) {
			return nil, &Error{Code: CodeInvalidValue, Attribute: attr,
				Message: fmt.Sprintf("unknown permission %q: see the permission catalogue", k)}
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// checkRoleNames refuses a key or display name that another role of the
// account already answers to (its key or display name, any case). self is
// the key of the role being changed.
func checkRoleNames(roles []repository.Role, r repository.Role, self string) error {
	for _, o := range roles {
		if o.Key == self {
			continue
		}
		switch {
		case strings.EqualFold(o.Key, r.Key) || strings.EqualFold(o.DisplayName, r.Key):
			return &Error{Code: CodeConflict, Attribute: "key", Err: repository.NewConflict("role", "key"),
				Message: fmt.Sprintf("role %q already answers to %q", o.Key, r.Key)}
		case strings.EqualFold(o.Key, r.DisplayName) || strings.EqualFold(o.DisplayName, r.DisplayName):
			return &Error{Code: CodeConflict, Attribute: "displayName", Err: repository.NewConflict("role", "displayName"),
				Message: fmt.Sprintf("role %q already answers to %q: SCIM clients name roles by key or display name, so both must be unique", o.Key, r.DisplayName)}
		}
	}
	return nil
}

// cloneRole copies r without sharing its slices.
func cloneRole(r repository.Role) repository.Role {
	r.Permissions = slices.Clone(r.Permissions)
	r.OptionalPermissions = slices.Clone(r.OptionalPermissions)
	return r
}

// roleView is the audited form of a role.
func roleView(r *repository.Role) map[string]any {
	if r == nil {
		return nil
	}
	c := cloneRole(*r)
	c.Meta = repository.Meta{}
	slices.Sort(c.Permissions)
	slices.Sort(c.OptionalPermissions)
	view := structView(c)
	delete(view, "Meta")
	return view
}

// sameSet reports whether two key lists hold the same keys.
func sameSet(a, b []string) bool {
	return slices.Equal(sortedSet(a), sortedSet(b))
}

// plural picks the singular or plural word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
