package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rosterhq/roster/repository"
)

var (
	qInsertGroup  = groupTable.insertSQL()
	qGroupCols    = groupTable.selectList("g")
	qGetGroup     = "SELECT " + qGroupCols + " FROM groups g WHERE g.account_id = ? AND g.id = ?"
	qUpdateGroup  = groupTable.updateSQL("account_id = ? AND id = ? AND version = ?")
	qGroupExists  = "SELECT 1 FROM groups WHERE account_id = ? AND id = ?"
	qDeleteGroup  = "DELETE FROM groups WHERE account_id = ? AND id = ?"
	qDeleteEdges  = "DELETE FROM group_members WHERE account_id = ? AND group_id = ?"
	qCountMembers = "SELECT count(*) FROM members WHERE account_id = ? AND id IN (SELECT value FROM json_each(?))"
	// Membership changes touch the edges named and the group's version,
	// never the rest of the membership.
	qAddEdges = `INSERT OR IGNORE INTO group_members (account_id, group_id, member_id)
		SELECT ?, ?, value FROM json_each(?)`
	qRemoveEdges       = "DELETE FROM group_members WHERE account_id = ? AND group_id = ? AND member_id IN (SELECT value FROM json_each(?))"
	qRemoveOtherEdges  = "DELETE FROM group_members WHERE account_id = ? AND group_id = ? AND member_id NOT IN (SELECT value FROM json_each(?))"
	qBumpGroup         = "UPDATE groups SET version = version + 1, updated_at = max(updated_at + 1, ?) WHERE account_id = ? AND id = ?"
	qGroupMembersAfter = `SELECT gm.member_id, coalesce(m.display_name, '') FROM group_members gm
		LEFT JOIN members m ON m.account_id = gm.account_id AND m.id = gm.member_id
		WHERE gm.account_id = ? AND gm.group_id = ? AND gm.member_id > ?
		ORDER BY gm.member_id LIMIT ?`
	qGroupMembersMany = `SELECT gm.group_id, gm.member_id, coalesce(m.display_name, '') FROM group_members gm
		LEFT JOIN members m ON m.account_id = gm.account_id AND m.id = gm.member_id
		WHERE gm.account_id = ? AND gm.group_id IN (SELECT value FROM json_each(?))
		ORDER BY gm.group_id, gm.member_id`
)

// CreateGroup stores g and the edges to g.Members, which must all be
// members of the account.
func (s *Store) CreateGroup(ctx context.Context, g repository.Group) (repository.Group, error) {
	if g.ID == "" {
		g.ID = repository.NewID()
	}
	now := s.now()
	g.Version, g.CreatedAt, g.UpdatedAt = 1, now, now
	ids := make([]string, len(g.Members))
	for i, m := range g.Members {
		ids[i] = m.MemberID
	}
	ids = dedupe(ids)
	err := s.write(ctx, func(h handle) error {
		if _, err := h.exec(ctx, qInsertGroup, groupTable.args(&g)...); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if err := checkMembers(ctx, h, g.AccountID, ids); err != nil {
			return err
		}
		_, err := h.exec(ctx, qAddEdges, g.AccountID, g.ID, jsonStrings(ids))
		return err
	})
	if err != nil {
		return repository.Group{}, mapErr("create group", err)
	}
	g.Members = nil
	for _, id := range ids {
		g.Members = append(g.Members, repository.GroupMember{MemberID: id})
	}
	return g, nil
}

// checkMembers fails with ErrNotFound unless every id (without repeats) is a
// member of the account.
func checkMembers(ctx context.Context, h handle, accountID string, ids []string) error {
	var n int
	if err := h.queryRow(ctx, []any{&n}, qCountMembers, accountID, jsonStrings(ids)); err != nil {
		return err
	}
	if n != len(ids) {
		return repository.ErrNotFound
	}
	return nil
}

// GetGroup returns the group, with its members when withMembers.
func (s *Store) GetGroup(ctx context.Context, accountID, id string, withMembers bool) (repository.Group, error) {
	var g repository.Group
	err := s.read(ctx, func(h handle) error {
		var err error
		if g, err = getGroup(ctx, h, accountID, id); err != nil || !withMembers {
			return err
		}
		g.Members, err = groupMembers(ctx, h, accountID, id, "", 0)
		return err
	})
	return g, wrap("get group", err)
}

func getGroup(ctx context.Context, h handle, accountID, id string) (repository.Group, error) {
	var g repository.Group
	err := h.queryRow(ctx, groupTable.dests(&g), qGetGroup, accountID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return g, repository.ErrNotFound
	}
	return g, err
}

func groupMembers(ctx context.Context, h handle, accountID, groupID, afterID string, limit int) ([]repository.GroupMember, error) {
	lim := int64(limit)
	if limit <= 0 {
		lim = -1 // no limit
	}
	rows, err := h.query(ctx, qGroupMembersAfter, accountID, groupID, afterID, lim)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []repository.GroupMember
	for rows.Next() {
		var m repository.GroupMember
		if err := rows.Scan(&m.MemberID, &m.DisplayName); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UpdateGroup changes the group's own attributes with a compare-and-swap on
// Version; fn gets the group without members and its Members are ignored.
func (s *Store) UpdateGroup(ctx context.Context, accountID, id string, fn func(repository.Group) (repository.Group, error)) (repository.Group, error) {
	var out repository.Group
	err := s.update(ctx, "update group", func(ctx context.Context) (bool, error) {
		old, err := getGroup(ctx, s.reader(ctx), accountID, id)
		if err != nil {
			return false, wrap("update group", err)
		}
		next, err := fn(old)
		if err != nil {
			return false, err
		}
		next.AccountID, next.ID, next.CreatedAt, next.Members = old.AccountID, old.ID, old.CreatedAt, nil
		next.Version, next.UpdatedAt = old.Version+1, s.nextUpdate(old.UpdatedAt)
		n, err := affected(s.writer(ctx).exec(ctx, qUpdateGroup, groupTable.updateArgs(&next, accountID, id, old.Version)...))
		if err != nil {
			return false, mapErr("update group", err)
		}
		out = next
		return n == 1, nil
	})
	if err != nil {
		return repository.Group{}, err
	}
	return out, nil
}

// DeleteGroup removes the group and its edges.
func (s *Store) DeleteGroup(ctx context.Context, accountID, id string) error {
	err := s.write(ctx, func(h handle) error {
		n, err := affected(h.exec(ctx, qDeleteGroup, accountID, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return repository.ErrNotFound
		}
		_, err = h.exec(ctx, qDeleteEdges, accountID, id)
		return err
	})
	return wrap("delete group", err)
}

// ListGroups lists the groups q selects, with their members when
// withMembers (one more query for the whole page).
func (s *Store) ListGroups(ctx context.Context, accountID string, q repository.Query, withMembers bool) (repository.Page[repository.Group], error) {
	var page repository.Page[repository.Group]
	p, err := groupList.plan(accountID, q)
	if err != nil {
		return page, err
	}
	s.warm(ctx, p.page, p.count)
	err = s.read(ctx, func(h handle) error {
		var keys []string
		if p.limit > 0 {
			res, err := h.query(ctx, p.page, p.pageArgs...)
			if err != nil {
				return err
			}
			defer res.Close()
			for res.Next() && len(page.Items) <= p.limit {
				var g repository.Group
				var key string
				dest := groupTable.dests(&g)
				if p.sorted {
					dest = append(dest, &key)
				}
				if err := res.Scan(dest...); err != nil {
					return err
				}
				page.Items = append(page.Items, g)
				keys = append(keys, key)
			}
			if err := errors.Join(res.Err(), res.Close()); err != nil {
				return err
			}
			if len(page.Items) > p.limit {
				page.Items = page.Items[:p.limit]
				page.NextCursor = p.nextCursor(page.Items[p.limit-1].ID, keys[p.limit-1])
			}
			if withMembers && len(page.Items) > 0 {
				if err := loadGroupMembers(ctx, h, accountID, page.Items); err != nil {
					return err
				}
			}
		}
		if total, ok := p.total(q, len(page.Items)); ok {
			page.Total = total
			return nil
		}
		return h.queryRow(ctx, []any{&page.Total}, p.count, p.countArgs...)
	})
	if err != nil {
		return repository.Page[repository.Group]{}, wrap("list groups", err)
	}
	return page, nil
}

func loadGroupMembers(ctx context.Context, h handle, accountID string, groups []repository.Group) error {
	ids := make([]string, len(groups))
	byID := make(map[string]*repository.Group, len(groups))
	for i := range groups {
		ids[i] = groups[i].ID
		byID[groups[i].ID] = &groups[i]
	}
	rows, err := h.query(ctx, qGroupMembersMany, accountID, jsonStrings(ids))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var gid string
		var m repository.GroupMember
		if err := rows.Scan(&gid, &m.MemberID, &m.DisplayName); err != nil {
			return err
		}
		if g := byID[gid]; g != nil {
			g.Members = append(g.Members, m)
		}
	}
	return rows.Err()
}

// AddGroupMembers adds the edges that do not exist yet. Every id must be a
// member of the account, or nothing is added. The group's version moves
// when an edge was added.
func (s *Store) AddGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) (int, error) {
	var added int64
	err := s.write(ctx, func(h handle) error {
		if err := groupExists(ctx, h, accountID, groupID); err != nil {
			return err
		}
		ids := dedupe(memberIDs)
		if len(ids) == 0 {
			return nil
		}
		if err := checkMembers(ctx, h, accountID, ids); err != nil {
			return err
		}
		var err error
		if added, err = affected(h.exec(ctx, qAddEdges, accountID, groupID, jsonStrings(ids))); err != nil || added == 0 {
			return err
		}
		return s.bumpGroup(ctx, h, accountID, groupID)
	})
	return int(added), wrap("add group members", err)
}

// RemoveGroupMembers removes the edges that exist; the group's version
// moves when one was removed.
func (s *Store) RemoveGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) (int, error) {
	var removed int64
	err := s.write(ctx, func(h handle) error {
		if err := groupExists(ctx, h, accountID, groupID); err != nil {
			return err
		}
		if len(memberIDs) == 0 {
			return nil
		}
		var err error
		if removed, err = affected(h.exec(ctx, qRemoveEdges, accountID, groupID, jsonStrings(dedupe(memberIDs)))); err != nil || removed == 0 {
			return err
		}
		return s.bumpGroup(ctx, h, accountID, groupID)
	})
	return int(removed), wrap("remove group members", err)
}

// ReplaceGroupMembers makes memberIDs the exact membership.
func (s *Store) ReplaceGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) error {
	err := s.write(ctx, func(h handle) error {
		if err := groupExists(ctx, h, accountID, groupID); err != nil {
			return err
		}
		ids := dedupe(memberIDs)
		if len(ids) > 0 {
			if err := checkMembers(ctx, h, accountID, ids); err != nil {
				return err
			}
		}
		list := jsonStrings(ids)
		removed, err := affected(h.exec(ctx, qRemoveOtherEdges, accountID, groupID, list))
		if err != nil {
			return err
		}
		var added int64
		if len(ids) > 0 {
			if added, err = affected(h.exec(ctx, qAddEdges, accountID, groupID, list)); err != nil {
				return err
			}
		}
		if removed+added == 0 {
			return nil
		}
		return s.bumpGroup(ctx, h, accountID, groupID)
	})
	return wrap("replace group members", err)
}

// ListGroupMembers pages through a group's members in member id order.
func (s *Store) ListGroupMembers(ctx context.Context, accountID, groupID, afterID string, limit int) ([]repository.GroupMember, error) {
	var out []repository.GroupMember
	err := s.read(ctx, func(h handle) error {
		if err := groupExists(ctx, h, accountID, groupID); err != nil {
			return err
		}
		var err error
		out, err = groupMembers(ctx, h, accountID, groupID, afterID, limit)
		return err
	})
	return out, wrap("list group members", err)
}

func groupExists(ctx context.Context, h handle, accountID, groupID string) error {
	var one int
	err := h.queryRow(ctx, []any{&one}, qGroupExists, accountID, groupID)
	if errors.Is(err, sql.ErrNoRows) {
		return repository.ErrNotFound
	}
	return err
}

func (s *Store) bumpGroup(ctx context.Context, h handle, accountID, groupID string) error {
	_, err := h.exec(ctx, qBumpGroup, toNanos(s.now()), accountID, groupID)
	return err
}
