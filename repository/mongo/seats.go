package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// Agent seats.
//
// The seat count must never exceed the account's limit, under concurrent
// callers in several processes, on MongoDB and on FerretDB alike. A counter
// guarded by a conditional $inc or a read-modify-write of one document is
// not safe on FerretDB (it applies updates as read-then-write), but an
// insert guarded by a unique index is safe on both servers. So a seat is a
// document, one per holder,
//
//	{_id: accountId/memberId, accountId, memberId, slot}
//
// under a unique index on (accountId, slot), with slots numbered 1..limit.
// Holding at most `limit` seats then means: every holder occupies a distinct
// slot ≤ limit. The unique _id makes a member hold at most one seat.
//
// ReserveSeat: already held → done. Otherwise read the limit L, find the
// lowest free slot in 1..L (walking the held slots in index order), and
// insert. A duplicate _id means a concurrent call for the same member won:
// held → done. A duplicate slot means another holder took that slot first:
// look again (bounded). No free slot → ErrNoSeat. After a successful insert
// the limit is read again: if it was lowered meanwhile below our slot, we
// delete our own document (by _id and slot) and start over, so a slot above
// the limit is never kept by a reservation. (Where transactions exist, the
// reservation also writes the account document in between; see
// touchSeats.)
//
// SetSeatLimit raising the limit just stores it: more slots become
// available. Lowering it to N: if more than N are held → SeatsInUseError;
// store N; then move every holder with a slot above N into a free slot ≤ N
// (an update of that holder's slot, guarded by the same unique index); then
// count again. Any reservation that slipped in between the first count and
// storing N either landed in a slot ≤ N (and is counted now) or above N
// (and either it sees N on its re-check and withdraws, or it was inserted
// before N was stored and is moved or counted here). If more than N are
// held, or a holder above N finds no free slot, the old limit is put back
// (unless someone changed it since) and SeatsInUseError returned. Either
// way, once SetSeatLimit returns, the holders fit the limit it reports.
//
// Both sides write, then read what the other writes. With majority writes
// and majority reads on the primary, the later of the two writes is seen by
// the other side's read, so they cannot both miss each other.

// maxSeatAttempts bounds how often one call looks for a slot again after
// losing a race for one.
const maxSeatAttempts = 64

func seatID(accountID, memberID string) string { return pairID(accountID, memberID) }

// ReserveSeat gives memberID a seat if one of the account's limit is free.
func (s *Store) ReserveSeat(ctx context.Context, accountID, memberID string) error {
	id := seatID(accountID, memberID)
	for attempt := range maxSeatAttempts {
		held, err := s.HoldsSeat(ctx, accountID, memberID)
		if err != nil {
			return err
		}
		if held {
			return nil
		}
		limit, err := s.seatLimit(ctx, accountID)
		if err != nil {
			return fmt.Errorf("reserve seat: %w", err)
		}
		slot, err := s.freeSlot(ctx, accountID, limit)
		if err != nil {
			return fmt.Errorf("reserve seat: %w", err)
		}
		if slot == 0 {
			return fmt.Errorf("reserve seat: %d of %d agent seats in use: %w", limit, limit, repository.ErrNoSeat)
		}
		_, err = s.seats.InsertOne(ctx, seatDoc{ID: id, AccountID: accountID, MemberID: memberID, Slot: slot})
		if isDup(err) {
			if inTransaction(ctx) {
				// The server aborted the transaction; ask for a fresh one.
				return transientError{fmt.Errorf("reserve seat: lost a race for slot %d: %w", slot, err)}
			}
			backoff(ctx, attempt)
			continue // the held check at the top tells which key collided
		}
		if err != nil {
			return fmt.Errorf("reserve seat: %w", err)
		}
		if err := s.touchSeats(ctx, accountID); err != nil {
			return fmt.Errorf("reserve seat: %w", err)
		}
		current, err := s.seatLimit(ctx, accountID)
		if err != nil {
			return fmt.Errorf("reserve seat: %w", err)
		}
		if slot <= current {
			return nil
		}
		// The limit was lowered under us: withdraw and look again.
		if _, err := s.seats.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "slot", Value: slot}}); err != nil {
			return fmt.Errorf("reserve seat: withdraw: %w", err)
		}
	}
	return fmt.Errorf("reserve seat: still contended after %d attempts: %w", maxSeatAttempts, repository.ErrNoSeat)
}

// touchSeats writes the account document after a reservation where
// transactions exist. A transaction reads a snapshot: a reservation and a
// limit change, one of them in a transaction, could each miss the other's
// write and both go through. Writing the same document makes them
// conflict instead, so MongoDB orders them (a write waits for the
// transaction holding the document, or the transaction retries) and each
// sees the other's result. The counter written is not part of the record.
// On FerretDB (never transactional) it is skipped: there an update rewrites
// the whole document and could undo a concurrent limit change.
func (s *Store) touchSeats(ctx context.Context, accountID string) error {
	if !s.transactional {
		return nil
	}
	_, err := s.accounts.UpdateOne(ctx, bson.D{{Key: "_id", Value: accountID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "seatReservations", Value: 1}}}})
	return err
}

// backoff waits a little, more after each lost race, so that many callers
// racing for the same lowest slot spread out.
func backoff(ctx context.Context, attempt int) {
	d := time.Duration(rand.Int64N(int64(time.Millisecond) * int64(min(attempt+1, 10))))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// seatLimit reads the account's seat limit.
func (s *Store) seatLimit(ctx context.Context, accountID string) (int, error) {
	var d struct {
		Seats seatSettingsDoc `bson:"seats"`
	}
	err := s.accounts.FindOne(ctx, bson.D{{Key: "_id", Value: accountID}},
		options.FindOne().SetProjection(bson.D{{Key: "seats.total", Value: 1}})).Decode(&d)
	if isNoDocs(err) {
		return 0, notFound("account", accountID)
	}
	if err != nil {
		return 0, err
	}
	return d.Seats.Total, nil
}

// freeSlot returns the lowest slot in 1..limit no holder occupies, or 0.
// It walks the held slots in index order and stops at the first gap.
func (s *Store) freeSlot(ctx context.Context, accountID string, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	cur, err := s.seats.Find(ctx, bson.D{
		{Key: "accountId", Value: accountID},
		{Key: "slot", Value: bson.D{{Key: "$lte", Value: limit}}},
	}, options.Find().
		SetSort(bson.D{{Key: "slot", Value: 1}}).
		SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "slot", Value: 1}}))
	if err != nil {
		return 0, err
	}
	defer cur.Close(ctx)
	want := 1
	for cur.Next(ctx) {
		var d struct {
			Slot int `bson:"slot"`
		}
		if err := cur.Decode(&d); err != nil {
			return 0, err
		}
		if d.Slot > want {
			break
		}
		if d.Slot == want {
			want++
		}
	}
	if err := cur.Err(); err != nil {
		return 0, err
	}
	if want > limit {
		return 0, nil
	}
	return want, nil
}

// ReleaseSeat frees memberID's seat, if it holds one.
func (s *Store) ReleaseSeat(ctx context.Context, accountID, memberID string) error {
	if _, err := s.seats.DeleteOne(ctx, byID(accountID, seatID(accountID, memberID))); err != nil {
		return fmt.Errorf("release seat: %w", err)
	}
	return nil
}

// SeatsInUse counts the seats held.
func (s *Store) SeatsInUse(ctx context.Context, accountID string) (int, error) {
	n, err := s.seats.CountDocuments(ctx, bson.D{{Key: "accountId", Value: accountID}})
	if err != nil {
		return 0, fmt.Errorf("count seats: %w", err)
	}
	return int(n), nil
}

// HoldsSeat reports whether memberID holds a seat.
func (s *Store) HoldsSeat(ctx context.Context, accountID, memberID string) (bool, error) {
	ok, err := s.findOwned(ctx, s.seats, accountID, seatID(accountID, memberID), nil)
	if err != nil {
		return false, fmt.Errorf("check seat: %w", err)
	}
	return ok, nil
}

// SetSeatLimit changes the account's seat limit; lowering it below the
// seats held is a *repository.SeatsInUseError. See the comment at the top
// of this file for why it is safe against concurrent reservations.
func (s *Store) SetSeatLimit(ctx context.Context, accountID string, total int) (repository.Account, error) {
	if total < 0 {
		return repository.Account{}, fmt.Errorf("set seat limit: limit %d is negative", total)
	}
	acc, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return repository.Account{}, fmt.Errorf("set seat limit: %w", err)
	}
	old := acc.Seats.Total
	if total < old {
		held, err := s.SeatsInUse(ctx, accountID)
		if err != nil {
			return repository.Account{}, fmt.Errorf("set seat limit: %w", err)
		}
		if held > total {
			return repository.Account{}, fmt.Errorf("set seat limit: %w", &repository.SeatsInUseError{InUse: held, Requested: total})
		}
	}
	acc, err = s.UpdateAccount(ctx, accountID, func(a repository.Account) (repository.Account, error) {
		old = a.Seats.Total
		a.Seats.Total = total
		return a, nil
	})
	if err != nil {
		return repository.Account{}, fmt.Errorf("set seat limit: %w", err)
	}
	if total >= old {
		return acc, nil
	}
	fits, err := s.compactSeats(ctx, accountID, total)
	if err != nil {
		return repository.Account{}, fmt.Errorf("set seat limit: %w", err)
	}
	held, err := s.SeatsInUse(ctx, accountID)
	if err != nil {
		return repository.Account{}, fmt.Errorf("set seat limit: %w", err)
	}
	if fits && held <= total {
		return acc, nil
	}
	// A reservation slipped in: put the old limit back, unless someone
	// else has changed the limit since.
	if _, err := s.UpdateAccount(ctx, accountID, func(a repository.Account) (repository.Account, error) {
		if a.Seats.Total == total {
			a.Seats.Total = old
		}
		return a, nil
	}); err != nil {
		return repository.Account{}, fmt.Errorf("set seat limit: restore limit %d: %w", old, err)
	}
	return repository.Account{}, fmt.Errorf("set seat limit: %w", &repository.SeatsInUseError{InUse: held, Requested: total})
}

// compactSeats moves every holder with a slot above limit into a free slot
// at or below it. It reports false when a holder finds no free slot.
func (s *Store) compactSeats(ctx context.Context, accountID string, limit int) (bool, error) {
	cur, err := s.seats.Find(ctx, bson.D{
		{Key: "accountId", Value: accountID},
		{Key: "slot", Value: bson.D{{Key: "$gt", Value: limit}}},
	}, options.Find().SetSort(bson.D{{Key: "slot", Value: 1}}))
	if err != nil {
		return false, err
	}
	var above []seatDoc
	if err := cur.All(ctx, &above); err != nil {
		return false, err
	}
	for _, h := range above {
		moved := false
		for attempt := range maxSeatAttempts {
			slot, err := s.freeSlot(ctx, accountID, limit)
			if err != nil {
				return false, err
			}
			if slot == 0 {
				return false, nil
			}
			// Matching nothing means the holder released its seat meanwhile.
			_, err = s.seats.UpdateOne(ctx,
				bson.D{{Key: "_id", Value: h.ID}, {Key: "accountId", Value: accountID}, {Key: "slot", Value: h.Slot}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "slot", Value: slot}}}})
			if isDup(err) {
				if inTransaction(ctx) {
					return false, transientError{err}
				}
				backoff(ctx, attempt)
				continue
			}
			if err != nil {
				return false, err
			}
			moved = true
			break
		}
		if !moved {
			return false, errors.New("compact seats: still contended")
		}
	}
	return true, nil
}
