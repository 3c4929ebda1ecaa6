package sqlite

import (
	"context"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/repository"
)

var qInsertAudit = auditTable.insertSQL()

// defaultAuditLimit is the page size of ListAudit when the query sets none.
const defaultAuditLimit = 100

// AppendAudit stores e, filling ID and Time when empty.
func (s *Store) AppendAudit(ctx context.Context, e repository.AuditEvent) (repository.AuditEvent, error) {
	if e.ID == "" {
		e.ID = repository.NewID()
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Diff = nilIfEmpty(e.Diff)
	if _, err := s.writer(ctx).exec(ctx, qInsertAudit, auditTable.args(&e)...); err != nil {
		return repository.AuditEvent{}, mapErr("append audit event", err)
	}
	return e, nil
}

// ListAudit lists the account's events newest first (by Time, then id).
// Since and Until are inclusive; Limit defaults to 100; the cursor
// continues after the last event of the previous page.
func (s *Store) ListAudit(ctx context.Context, accountID string, q repository.AuditQuery) (repository.Page[repository.AuditEvent], error) {
	var page repository.Page[repository.AuditEvent]
	var where strings.Builder
	args := []any{accountID}
	where.WriteString(" FROM audit_events WHERE account_id = ?")
	for _, f := range []struct {
		col, v string
	}{{"action_name", q.Action}, {"actor_id", q.ActorID}, {"target_id", q.TargetID}} {
		if f.v != "" {
			where.WriteString(" AND " + f.col + " = ?")
			args = append(args, f.v)
		}
	}
	if !q.Since.IsZero() {
		where.WriteString(" AND event_time >= ?")
		args = append(args, toNanos(q.Since))
	}
	if !q.Until.IsZero() {
		where.WriteString(" AND event_time <= ?")
		args = append(args, toNanos(q.Until))
	}
	countSQL, countArgs := "SELECT count(*)"+where.String(), args

	pageWhere, pageArgs := where.String(), append([]any(nil), args...)
	if q.Cursor != "" {
		cur, err := repository.DecodeCursor(q.Cursor)
		if err != nil {
			return page, err
		}
		n, err := strconv.ParseInt(cur.Key, 10, 64)
		if err != nil {
			return page, repository.InvalidQueryf("malformed cursor")
		}
		pageWhere += " AND (event_time, id) < (?, ?)"
		pageArgs = append(pageArgs, n, cur.ID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	pageSQL := "SELECT " + auditTable.selectList("") + pageWhere + " ORDER BY event_time DESC, id DESC LIMIT ?"
	pageArgs = append(pageArgs, int64(limit)+1)

	s.warm(ctx, pageSQL, countSQL)
	err := s.read(ctx, func(h handle) error {
		rows, err := h.query(ctx, pageSQL, pageArgs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e repository.AuditEvent
			if err := rows.Scan(auditTable.dests(&e)...); err != nil {
				return err
			}
			page.Items = append(page.Items, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page.Items) > limit {
			page.Items = page.Items[:limit]
			last := page.Items[limit-1]
			page.NextCursor = repository.Cursor{Key: strconv.FormatInt(toNanos(last.Time), 10), ID: last.ID}.Encode()
		}
		if q.Cursor == "" && page.NextCursor == "" {
			page.Total = len(page.Items)
			return nil
		}
		return h.queryRow(ctx, []any{&page.Total}, countSQL, countArgs...)
	})
	if err != nil {
		return repository.Page[repository.AuditEvent]{}, wrap("list audit events", err)
	}
	return page, nil
}
