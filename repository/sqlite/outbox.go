package sqlite

import (
	"context"
	"slices"
	"time"

	"github.com/rosterhq/roster/repository"
)

var (
	qEnqueueEmail = outboxTable.insertSQL() + " ON CONFLICT (account_id, id) DO NOTHING"
	// The lease is taken by one UPDATE of the due rows in an IMMEDIATE
	// transaction: two instances never lease the same message.
	qClaimEmails = `UPDATE outbox SET lease_until = ?
		WHERE pk IN (SELECT pk FROM outbox
			WHERE sent_at = 0 AND next_attempt_at <= ? AND lease_until <= ?
			ORDER BY next_attempt_at, created_at LIMIT ?)
		RETURNING ` + outboxTable.selectList("")
	qMarkEmailSent   = "UPDATE outbox SET sent_at = ?, lease_until = 0 WHERE account_id = ? AND id = ?"
	qMarkEmailFailed = "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_until = 0 WHERE account_id = ? AND id = ?"
	qOutboxStats     = "SELECT count(*), coalesce(min(created_at), 0) FROM outbox WHERE sent_at = 0"
)

// EnqueueEmail stores m unless a message with its ID is already stored.
func (s *Store) EnqueueEmail(ctx context.Context, m repository.OutboxMessage) error {
	if m.ID == "" {
		m.ID = repository.NewID()
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	_, err := s.writer(ctx).exec(ctx, qEnqueueEmail, outboxTable.args(&m)...)
	return wrap("enqueue email", err)
}

// ClaimEmails leases up to limit messages due at now, unsent and not
// leased, until leaseUntil, oldest due first.
func (s *Store) ClaimEmails(ctx context.Context, now, leaseUntil time.Time, limit int) ([]repository.OutboxMessage, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []repository.OutboxMessage
	err := s.write(ctx, func(h handle) error {
		n := toNanos(now)
		rows, err := h.query(ctx, qClaimEmails, toNanos(leaseUntil), n, n, int64(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m repository.OutboxMessage
			if err := rows.Scan(outboxTable.dests(&m)...); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("claim emails", err)
	}
	// RETURNING gives rows in no particular order.
	slices.SortFunc(out, func(a, b repository.OutboxMessage) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return out, nil
}

// MarkEmailSent records delivery and drops the lease.
func (s *Store) MarkEmailSent(ctx context.Context, accountID, id string, at time.Time) error {
	return s.changeOne(ctx, "mark email sent", qMarkEmailSent, toNanos(at), accountID, id)
}

// MarkEmailFailed records a failed attempt, drops the lease and sets when
// to try again.
func (s *Store) MarkEmailFailed(ctx context.Context, accountID, id, reason string, next time.Time) error {
	return s.changeOne(ctx, "mark email failed", qMarkEmailFailed, reason, toNanos(next), accountID, id)
}

// OutboxStats reports messages not sent and the creation time of the
// oldest.
func (s *Store) OutboxStats(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest time.Time
	err := s.reader(ctx).queryRow(ctx, []any{&n, timeDest{&oldest}}, qOutboxStats)
	if err != nil {
		return 0, time.Time{}, wrap("outbox stats", err)
	}
	return n, oldest, nil
}
