package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/rosterhq/roster/repository"
)

var (
	qInsertRole     = roleTable.insertSQL()
	qRoleCols       = "pk, " + roleTable.selectList("")
	qGetRole        = "SELECT " + qRoleCols + " FROM roles WHERE account_id = ? AND role_key_lc = ?"
	qListRoles      = "SELECT " + qRoleCols + " FROM roles WHERE account_id = ? ORDER BY role_key_lc, role_key"
	qUpdateRole     = roleTable.updateSQL("account_id = ? AND pk = ? AND version = ?")
	qDeleteRole     = "DELETE FROM roles WHERE pk = ?"
	qRolePK         = "SELECT pk FROM roles WHERE account_id = ? AND role_key_lc = ?"
	qInsertRolePerm = "INSERT INTO role_permissions (account_id, role_pk, optional, pos, permission) VALUES (?, ?, ?, ?, ?)"
	qDeleteRolePerm = "DELETE FROM role_permissions WHERE account_id = ? AND role_pk = ?"
	qRolePerms      = "SELECT role_pk, optional, permission FROM role_permissions WHERE account_id = ? AND role_pk = ? ORDER BY optional, pos"
	qAllRolePerms   = "SELECT role_pk, optional, permission FROM role_permissions WHERE account_id = ? ORDER BY role_pk, optional, pos"
)

// CreateRole stores r; a key equal in any case to another role's is a
// conflict on "key".
func (s *Store) CreateRole(ctx context.Context, r repository.Role) (repository.Role, error) {
	now := s.now()
	r.Version, r.CreatedAt, r.UpdatedAt = 1, now, now
	r = normalizeRole(r)
	err := s.write(ctx, func(h handle) error {
		pk, err := lastID(h.exec(ctx, qInsertRole, roleTable.args(&r)...))
		if err != nil {
			return err
		}
		if err := rolesChanged(ctx, h, r.AccountID); err != nil {
			return err
		}
		return writeRolePerms(ctx, h, r.AccountID, pk, &r)
	})
	if err != nil {
		return repository.Role{}, mapErr("create role", err)
	}
	return r, nil
}

func writeRolePerms(ctx context.Context, h handle, accountID string, pk int64, r *repository.Role) error {
	for optional, list := range [2][]string{r.Permissions, r.OptionalPermissions} {
		for i, p := range list {
			if _, err := h.exec(ctx, qInsertRolePerm, accountID, pk, optional, i, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// GetRole returns the role with key, ignoring case.
func (s *Store) GetRole(ctx context.Context, accountID, key string) (repository.Role, error) {
	var r repository.Role
	err := s.read(ctx, func(h handle) error {
		var err error
		r, _, err = getRole(ctx, h, accountID, key)
		return err
	})
	return r, wrap("get role", err)
}

func getRole(ctx context.Context, h handle, accountID, key string) (repository.Role, int64, error) {
	var r repository.Role
	var pk int64
	err := h.queryRow(ctx, append([]any{&pk}, roleTable.dests(&r)...), qGetRole, accountID, strings.ToLower(key))
	if errors.Is(err, sql.ErrNoRows) {
		return r, 0, repository.ErrNotFound
	}
	if err != nil {
		return r, 0, err
	}
	rows, err := h.query(ctx, qRolePerms, accountID, pk)
	if err != nil {
		return r, 0, err
	}
	err = scanRolePerms(rows, map[int64]*repository.Role{pk: &r})
	return r, pk, err
}

func scanRolePerms(rows *sql.Rows, byPK map[int64]*repository.Role) error {
	defer rows.Close()
	for rows.Next() {
		var pk int64
		var optional bool
		var p string
		if err := rows.Scan(&pk, &optional, &p); err != nil {
			return err
		}
		r := byPK[pk]
		switch {
		case r == nil:
		case optional:
			r.OptionalPermissions = append(r.OptionalPermissions, p)
		default:
			r.Permissions = append(r.Permissions, p)
		}
	}
	return rows.Err()
}

// UpdateRole applies fn with a compare-and-swap on Version; the key cannot
// change.
func (s *Store) UpdateRole(ctx context.Context, accountID, key string, fn func(repository.Role) (repository.Role, error)) (repository.Role, error) {
	var out repository.Role
	err := s.update(ctx, "update role", func(ctx context.Context) (bool, error) {
		var old repository.Role
		var pk int64
		err := s.read(ctx, func(h handle) error {
			var err error
			old, pk, err = getRole(ctx, h, accountID, key)
			return err
		})
		if err != nil {
			return false, wrap("update role", err)
		}
		cp := old
		cp.Permissions, cp.OptionalPermissions = slices.Clone(old.Permissions), slices.Clone(old.OptionalPermissions)
		next, err := fn(cp)
		if err != nil {
			return false, err
		}
		next.AccountID, next.Key, next.CreatedAt = old.AccountID, old.Key, old.CreatedAt
		next.Version, next.UpdatedAt = old.Version+1, s.nextUpdate(old.UpdatedAt)
		next = normalizeRole(next)
		won := false
		err = s.write(ctx, func(h handle) error {
			n, err := affected(h.exec(ctx, qUpdateRole, roleTable.updateArgs(&next, accountID, pk, old.Version)...))
			if err != nil || n == 0 {
				return err
			}
			won = true
			if err := rolesChanged(ctx, h, accountID); err != nil {
				return err
			}
			if slices.Equal(next.Permissions, old.Permissions) && slices.Equal(next.OptionalPermissions, old.OptionalPermissions) {
				return nil
			}
			if _, err := h.exec(ctx, qDeleteRolePerm, accountID, pk); err != nil {
				return err
			}
			return writeRolePerms(ctx, h, accountID, pk, &next)
		})
		if err != nil {
			return false, mapErr("update role", err)
		}
		out = next
		return won, nil
	})
	if err != nil {
		return repository.Role{}, err
	}
	return out, nil
}

// DeleteRole removes the role.
func (s *Store) DeleteRole(ctx context.Context, accountID, key string) error {
	err := s.write(ctx, func(h handle) error {
		var pk int64
		err := h.queryRow(ctx, []any{&pk}, qRolePK, accountID, strings.ToLower(key))
		if errors.Is(err, sql.ErrNoRows) {
			return repository.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := h.exec(ctx, qDeleteRolePerm, accountID, pk); err != nil {
			return err
		}
		if _, err := h.exec(ctx, qDeleteRole, pk); err != nil {
			return err
		}
		return rolesChanged(ctx, h, accountID)
	})
	return wrap("delete role", err)
}

// ListRoles returns the account's roles ordered by key. The roles are
// served from memory while the account's roles_version is the one they
// were read at (see roleCache): outside a transaction without reading it
// again for rolesRecheck, inside one after one indexed read. A
// transaction that changed roles itself reads them from the tables.
func (s *Store) ListRoles(ctx context.Context, accountID string) ([]repository.Role, error) {
	st := s.txFrom(ctx)
	if st == nil {
		if roles, ok := s.roles.recent(accountID); ok {
			return roles, nil
		}
	}
	gen, checked := s.roles.start()
	useCache := st == nil || !st.rolesWritten.Load()
	if useCache {
		var version int64
		err := s.reader(ctx).queryRow(ctx, []any{&version}, qRolesVersion, accountID)
		switch {
		case err == nil:
			if roles, ok := s.roles.get(accountID, version, gen, checked); ok {
				return roles, nil
			}
		case errors.Is(err, sql.ErrNoRows):
			s.roles.drop(accountID) // no account (deleted): nothing to keep
			useCache = false
		default:
			return nil, wrap("list roles", err)
		}
	}
	var out []repository.Role
	var version int64
	err := s.read(ctx, func(h handle) error {
		if useCache {
			// The version and the roles come from one snapshot.
			if err := h.queryRow(ctx, []any{&version}, qRolesVersion, accountID); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					useCache = false
				} else {
					return err
				}
			}
		}
		var err error
		out, err = loadRoles(ctx, h, accountID)
		return err
	})
	if err != nil {
		return nil, wrap("list roles", err)
	}
	if useCache {
		s.roles.put(accountID, version, out, gen, checked)
	}
	return out, nil
}

// loadRoles reads the account's roles and their permissions.
func loadRoles(ctx context.Context, h handle, accountID string) ([]repository.Role, error) {
	rows, err := h.query(ctx, qListRoles, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []repository.Role
	var pks []int64
	for rows.Next() {
		var r repository.Role
		var pk int64
		if err := rows.Scan(append([]any{&pk}, roleTable.dests(&r)...)...); err != nil {
			return nil, err
		}
		out = append(out, r)
		pks = append(pks, pk)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	byPK := make(map[int64]*repository.Role, len(out))
	for i, pk := range pks {
		byPK[pk] = &out[i]
	}
	perms, err := h.query(ctx, qAllRolePerms, accountID)
	if err != nil {
		return nil, err
	}
	return out, scanRolePerms(perms, byPK)
}

// rolesChanged bumps the account's roles_version in the write's
// transaction, and marks the transaction so that its own ListRoles calls
// do not use (or fill) the cache with roles that may yet roll back.
func rolesChanged(ctx context.Context, h handle, accountID string) error {
	h.tx.rolesWritten.Store(true)
	_, err := h.exec(ctx, qBumpRoles, accountID)
	return err
}

func normalizeRole(r repository.Role) repository.Role {
	r.Permissions = nilIfEmpty(r.Permissions)
	r.OptionalPermissions = nilIfEmpty(r.OptionalPermissions)
	return r
}
