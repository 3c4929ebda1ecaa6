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
)

// ReserveSeat gives memberID a seat when one is free. The count and the
// insert run in one IMMEDIATE transaction, which SQLite's write lock
// serialises across every connection and process sharing the file, so the
// limit is never exceeded.
func (s *Store) ReserveSeat(ctx context.Context, accountID, memberID string) error {
	err := s.write(ctx, func(h handle) error {
		var held int
		if err := h.queryRow(ctx, []any{&held}, qHoldsSeat, accountID, memberID); err != nil {
			return err
		}
		if held > 0 {
			return nil
		}
		var total int
		if err := h.queryRow(ctx, []any{&total}, qSeatTotal, accountID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return repository.ErrNotFound
			}
			return err
		}
		var inUse int
		if err := h.queryRow(ctx, []any{&inUse}, qSeatsInUse, accountID); err != nil {
			return err
		}
		if inUse >= total {
			return repository.ErrNoSeat
		}
		_, err := h.exec(ctx, qInsertSeat, accountID, memberID)
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
