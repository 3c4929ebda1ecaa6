package sqlite

import (
	"slices"
	"sync"

	"github.com/rosterhq/roster/repository"
)

var (
	// qRolesVersion reads the account's role generation (see
	// migrations/0003_roles_version.sql).
	qRolesVersion = "SELECT roles_version FROM accounts WHERE id = ?"
	// qBumpRoles is run by every write to an account's roles, in the
	// write's transaction.
	qBumpRoles = "UPDATE accounts SET roles_version = roles_version + 1 WHERE id = ?"
)

// maxCachedRoleAccounts bounds the accounts whose roles are kept; beyond
// it an arbitrary entry makes room (it is reloaded when needed).
const maxCachedRoleAccounts = 1024

// roleCache keeps the roles of accounts with the roles_version they were
// read at. An entry is only used while the stored version is the same, so
// a role changed by another process, or by a transaction of this one, is
// never served stale; the version check is one read of the account row.
type roleCache struct {
	mu sync.Mutex
	m  map[string]roleEntry
}

type roleEntry struct {
	version int64
	roles   []repository.Role
}

func newRoleCache() *roleCache {
	return &roleCache{m: make(map[string]roleEntry)}
}

// get returns a copy of the roles cached for accountID at version.
func (c *roleCache) get(accountID string, version int64) ([]repository.Role, bool) {
	c.mu.Lock()
	e, ok := c.m[accountID]
	c.mu.Unlock()
	if !ok || e.version != version {
		return nil, false
	}
	return cloneRoles(e.roles), true
}

// put keeps a copy of roles read at version.
func (c *roleCache) put(accountID string, version int64, roles []repository.Role) {
	cp := cloneRoles(roles)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[accountID]; !ok && len(c.m) >= maxCachedRoleAccounts {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[accountID] = roleEntry{version: version, roles: cp}
}

// drop forgets an account's roles.
func (c *roleCache) drop(accountID string) {
	c.mu.Lock()
	delete(c.m, accountID)
	c.mu.Unlock()
}

// cloneRoles copies roles deeply enough that a caller changing its copy
// cannot change the cache.
func cloneRoles(roles []repository.Role) []repository.Role {
	if roles == nil {
		return nil
	}
	out := slices.Clone(roles)
	for i := range out {
		out[i].Permissions = slices.Clone(out[i].Permissions)
		out[i].OptionalPermissions = slices.Clone(out[i].OptionalPermissions)
	}
	return out
}
