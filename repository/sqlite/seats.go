package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rosterhq/roster/repository"
)

var (
	qHoldsSeat    = "SELECT count(*) FROM seats WHERE account_id = ? AND member_id = ?"
	qSeatsInUse   = "SELECT count(*) FROM seats WHERE account_id = ?"
	qSeatTotal    = "SELECT seat_total FROM accounts WHERE id = ?"
	qInsertSeat   = "INSERT INTO seats (account_id, member_id) VALUES (?, ?)"
	qDeleteSeat   = "DELETE FROM seats WHERE account_id = ? AND member_id = ?"
	qSetSeatTotal = "UPDATE accounts SET seat_total = ?, version = version + 1, updated_at = max(updated_at + 1, ?) WHERE id = ?"
	// qSeatCheck answers ReserveSeat's three questions with one
	// statement: the limit, whether ?2 holds a seat, and (only when it
	// does not) the seats in use.
	qSeatCheck = `SELECT a.seat_total, s.held,
		CASE WHEN s.held THEN 0 ELSE (SELECT count(*) FROM seats WHERE account_id = a.id) END
		FROM accounts a, (SELECT EXISTS (SELECT 1 FROM seats WHERE account_id = ?1 AND member_id = ?2) AS held) s
		WHERE a.id = ?1`
)

// ReserveSeat gives memberID a seat when one is free. The count and the
// insert run in one IMMEDIATE transaction, which SQLite's write lock
// serialises across every connection and process sharing the file, so the
// limit is never exceeded.
func (s *Store) ReserveSeat(ctx context.Context, accountID, memberID string) error {
	err := s.write(ctx, func(h handle) error {
		var total, inUse int
		var held bool
		err := h.queryRow(ctx, []any{&total, &held, &inUse}, qSeatCheck, accountID, memberID)
		if errors.Is(err, sql.ErrNoRows) {
			// No account. A seat held anyway (none should be) is still
			// a no-op success, as it always was.
			var n int
			if err := h.queryRow(ctx, []any{&n}, qHoldsSeat, accountID, memberID); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			return repository.ErrNotFound
		}
		if err != nil {
			return err
		}
		if held {
			return nil
		}
		if inUse >= total {
			return repository.ErrNoSeat
		}
		_, err = h.exec(ctx, qInsertSeat, accountID, memberID)
		return err
	})
	return wrap("reserve seat", err)
}

// ReleaseSeat frees memberID's seat, if it holds one.
func (s *Store) ReleaseSeat(ctx context.Context, accountID, memberID string) error {
	_, err := s.writer(ctx).exec(ctx, qDeleteSeat, accountID, memberID)
	return wrap("release seat", err)
}

// SeatsInUse counts the seats held.
func (s *Store) SeatsInUse(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.reader(ctx).queryRow(ctx, []any{&n}, qSeatsInUse, accountID)
	return n, wrap("seats in use", err)
}

// HoldsSeat reports whether memberID holds a seat.
func (s *Store) HoldsSeat(ctx context.Context, accountID, memberID string) (bool, error) {
	var n int
	err := s.reader(ctx).queryRow(ctx, []any{&n}, qHoldsSeat, accountID, memberID)
	return n > 0, wrap("holds seat", err)
}

// SetSeatLimit changes Seats.Total, refusing a limit below the seats held.
func (s *Store) SetSeatLimit(ctx context.Context, accountID string, total int) (repository.Account, error) {
	if total < 0 {
		return repository.Account{}, fmt.Errorf("set seat limit: %d is negative", total)
	}
	var a repository.Account
	err := s.write(ctx, func(h handle) error {
		var inUse int
		if err := h.queryRow(ctx, []any{&inUse}, qSeatsInUse, accountID); err != nil {
			return err
		}
		if total < inUse {
			return &repository.SeatsInUseError{InUse: inUse, Requested: total}
		}
		n, err := affected(h.exec(ctx, qSetSeatTotal, int64(total), toNanos(s.now()), accountID))
		if err != nil {
			return err
		}
		if n == 0 {
			return repository.ErrNotFound
		}
		a, err = s.getAccount(ctx, h, accountID)
		return err
	})
	if err != nil {
		return repository.Account{}, wrap("set seat limit", err)
	}
	return a, nil
}
