package sqlite

import (
	"slices"
	"sync"
	"time"

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

// rolesRecheck is how long ListRoles outside a transaction serves an
// account's cached roles without reading its roles_version again. Every
// SCIM read renders role names and every admin request checks
// permissions, and that one-row read was 7 % of a lookup's CPU. A change
// made through this Store empties the cache as it commits, so it is seen
// at once here; a change made by another process (another instance on
// the file) is seen within rolesRecheck. Transactions always check.
const rolesRecheck = 100 * time.Millisecond

// roleCache keeps the roles of accounts with the roles_version they were
// read at. An entry is used while the stored version is the same: inside
// a transaction that is checked every time; outside one, at most every
// recheck.
type roleCache struct {
	mu      sync.Mutex
	m       map[string]roleEntry
	gen     uint64 // bumped by clear; a read begun before it stores nothing
	recheck time.Duration
	now     func() time.Time
}

type roleEntry struct {
	version int64
	roles   []repository.Role
	checked time.Time // when the stored version was last read equal to version
}

func newRoleCache() *roleCache {
	return &roleCache{m: make(map[string]roleEntry), recheck: rolesRecheck, now: time.Now}
}

// start returns what a version check beginning now passes to get and
// put: the cache's generation and the time.
func (c *roleCache) start() (uint64, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.now()
}

// recent returns a copy of the roles cached for accountID when their
// version was checked less than recheck ago.
func (c *roleCache) recent(accountID string) ([]repository.Role, bool) {
	c.mu.Lock()
	e, ok := c.m[accountID]
	fresh := ok && c.now().Sub(e.checked) < c.recheck
	c.mu.Unlock()
	if !fresh {
		return nil, false
	}
	return cloneRoles(e.roles), true
}

// get returns a copy of the roles cached for accountID at version, and
// records that the version was seen at checked (unless the cache was
// cleared since gen).
func (c *roleCache) get(accountID string, version int64, gen uint64, checked time.Time) ([]repository.Role, bool) {
	c.mu.Lock()
	e, ok := c.m[accountID]
	if ok && e.version == version && gen == c.gen && checked.After(e.checked) {
		e.checked = checked
		c.m[accountID] = e
	}
	c.mu.Unlock()
	if !ok || e.version != version {
		return nil, false
	}
	return cloneRoles(e.roles), true
}

// put keeps a copy of roles read at version, checked at checked, unless
// the cache was cleared since gen (the roles may predate that change).
func (c *roleCache) put(accountID string, version int64, roles []repository.Role, gen uint64, checked time.Time) {
	cp := cloneRoles(roles)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.m[accountID]; !ok && len(c.m) >= maxCachedRoleAccounts {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[accountID] = roleEntry{version: version, roles: cp, checked: checked}
}

// drop forgets an account's roles.
func (c *roleCache) drop(accountID string) {
	c.mu.Lock()
	delete(c.m, accountID)
	c.mu.Unlock()
}

// clear forgets every account's roles: a transaction of this Store that
// wrote roles has ended. Role writes are rare; one generation for all
// accounts keeps the bookkeeping trivial.
func (c *roleCache) clear() {
	c.mu.Lock()
	c.m = make(map[string]roleEntry)
	c.gen++
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
