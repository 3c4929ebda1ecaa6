package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"Seats", testSeats},
		testCase{"SeatsConcurrent", testSeatsConcurrent},
	)
}

func seatsInUse(t *testing.T, s repository.Store, accountID string) int {
	t.Helper()
	n, err := s.SeatsInUse(t.Context(), accountID)
	must(t, err, "seats in use")
	return n
}

func holdsSeat(t *testing.T, s repository.Store, accountID, memberID string) bool {
	t.Helper()
	held, err := s.HoldsSeat(t.Context(), accountID, memberID)
	must(t, err, "holds seat")
	return held
}

func testSeats(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s, func(a *repository.Account) { a.Seats.Total = 2 })
	var ms []string
	for i := range 4 {
		ms = append(ms, newMember(t, s, acct.ID, fmt.Sprintf("agent%d@example.com", i)).ID)
	}

	t.Run("ReserveRelease", func(t *testing.T) {
		expect(t, seatsInUse(t, s, acct.ID), 0, "seats in use in a new account")
		expect(t, holdsSeat(t, s, acct.ID, ms[0]), false, "holds seat before reserving")
		must(t, s.ReserveSeat(ctx, acct.ID, ms[0]), "reserve seat")
		expect(t, holdsSeat(t, s, acct.ID, ms[0]), true, "holds seat after reserving")
		expect(t, seatsInUse(t, s, acct.ID), 1, "seats in use after one reserve")
		must(t, s.ReserveSeat(ctx, acct.ID, ms[0]), "reserve a seat already held")
		expect(t, seatsInUse(t, s, acct.ID), 1, "seats in use after reserving a held seat again")
		must(t, s.ReleaseSeat(ctx, acct.ID, ms[0]), "release seat")
		expect(t, holdsSeat(t, s, acct.ID, ms[0]), false, "holds seat after release")
		expect(t, seatsInUse(t, s, acct.ID), 0, "seats in use after release")
		must(t, s.ReleaseSeat(ctx, acct.ID, ms[0]), "release a seat not held")
		expect(t, seatsInUse(t, s, acct.ID), 0, "seats in use after releasing a seat not held")
	})

	t.Run("Limit", func(t *testing.T) {
		must(t, s.ReserveSeat(ctx, acct.ID, ms[0]), "reserve first seat")
		must(t, s.ReserveSeat(ctx, acct.ID, ms[1]), "reserve second seat")
		mustIs(t, s.ReserveSeat(ctx, acct.ID, ms[2]), repository.ErrNoSeat, "reserve a third of two seats")
		expect(t, holdsSeat(t, s, acct.ID, ms[2]), false, "holds seat after ErrNoSeat")
		// A holder re-reserving at the limit is a no-op, not ErrNoSeat.
		must(t, s.ReserveSeat(ctx, acct.ID, ms[1]), "re-reserve a held seat at the limit")
		expect(t, seatsInUse(t, s, acct.ID), 2, "seats in use at the limit")

		must(t, s.ReleaseSeat(ctx, acct.ID, ms[0]), "release a seat")
		must(t, s.ReserveSeat(ctx, acct.ID, ms[2]), "reserve the freed seat")
		mustIs(t, s.ReserveSeat(ctx, acct.ID, ms[0]), repository.ErrNoSeat, "reserve again after giving the seat away")
	})

	t.Run("SetSeatLimit", func(t *testing.T) {
		// Held: ms[1], ms[2].
		_, err := s.SetSeatLimit(ctx, acct.ID, 1)
		var sie *repository.SeatsInUseError
		if !errors.As(err, &sie) {
			t.Fatalf("lower the limit below the seats held: got %v, want *SeatsInUseError", err)
		}
		expect(t, sie.InUse, 2, "SeatsInUseError.InUse")
		expect(t, sie.Requested, 1, "SeatsInUseError.Requested")
		mustIs(t, err, repository.ErrSeatsInUse, "lower the limit below the seats held")
		got, err := s.GetAccount(ctx, acct.ID)
		must(t, err, "get account")
		expect(t, got.Seats.Total, 2, "limit after a refused lowering")

		a, err := s.SetSeatLimit(ctx, acct.ID, 2)
		must(t, err, "set the limit to the seats held")
		expect(t, a.Seats.Total, 2, "returned limit")

		a, err = s.SetSeatLimit(ctx, acct.ID, 4)
		must(t, err, "raise the limit")
		expect(t, a.Seats.Total, 4, "returned limit after raising")
		got, err = s.GetAccount(ctx, acct.ID)
		must(t, err, "get account")
		expect(t, got.Seats.Total, 4, "stored limit after raising")
		must(t, s.ReserveSeat(ctx, acct.ID, ms[0]), "reserve after raising the limit")
		must(t, s.ReserveSeat(ctx, acct.ID, ms[3]), "reserve the last seat after raising the limit")
		expect(t, seatsInUse(t, s, acct.ID), 4, "seats in use after raising the limit")
		extra := newMember(t, s, acct.ID, "agent-extra@example.com")
		mustIs(t, s.ReserveSeat(ctx, acct.ID, extra.ID), repository.ErrNoSeat, "reserve past the raised limit")
	})

	t.Run("ZeroSeats", func(t *testing.T) {
		none := newAccount(t, s, func(a *repository.Account) { a.Seats.Total = 0 })
		m := newMember(t, s, none.ID, "agent@example.com")
		mustIs(t, s.ReserveSeat(ctx, none.ID, m.ID), repository.ErrNoSeat, "reserve in an account without seats")
		expect(t, seatsInUse(t, s, none.ID), 0, "seats in use without seats")
	})
}

// testSeatsConcurrent has 64 distinct members race for 10 seats: exactly
// 10 win, whatever the interleaving.
func testSeatsConcurrent(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	const limit, callers = 10, 64
	acct := newAccount(t, s, func(a *repository.Account) { a.Seats.Total = limit })
	var ids []string
	for i := range callers {
		ids = append(ids, newMember(t, s, acct.ID, fmt.Sprintf("racer%02d@example.com", i)).ID)
	}

	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { errs[i] = s.ReserveSeat(ctx, acct.ID, ids[i]) })
	}
	wg.Wait()
	var winners []string
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, ids[i])
		case !errors.Is(err, repository.ErrNoSeat):
			t.Errorf("concurrent reserve %d: %v, want nil or ErrNoSeat", i, err)
		}
	}
	expect(t, len(winners), limit, "concurrent reservations that succeeded")
	expect(t, seatsInUse(t, s, acct.ID), limit, "seats in use after the race")
	for i, id := range ids {
		won := errs[i] == nil
		if held := holdsSeat(t, s, acct.ID, id); held != won {
			t.Errorf("member %d: HoldsSeat %v but its reserve returned %v", i, held, errs[i])
		}
	}

	// Winners re-reserving and losers retrying at once: still 10.
	for i := range callers {
		wg.Go(func() { errs[i] = s.ReserveSeat(ctx, acct.ID, ids[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		var held bool
		for _, w := range winners {
			held = held || w == ids[i]
		}
		if held && err != nil {
			t.Errorf("re-reserve by holder %d: %v, want nil", i, err)
		}
		if !held && !errors.Is(err, repository.ErrNoSeat) {
			t.Errorf("retry by loser %d: %v, want ErrNoSeat", i, err)
		}
	}
	expect(t, seatsInUse(t, s, acct.ID), limit, "seats in use after retries")

	// Release and reserve concurrently: never more than the limit.
	for i := range callers {
		wg.Go(func() {
			if i < limit {
				errs[i] = s.ReleaseSeat(ctx, acct.ID, winners[i])
				return
			}
			errs[i] = s.ReserveSeat(ctx, acct.ID, ids[i])
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, repository.ErrNoSeat) {
			t.Errorf("concurrent release/reserve %d: %v", i, err)
		}
	}
	n := seatsInUse(t, s, acct.ID)
	if n > limit {
		t.Errorf("seats in use after concurrent release/reserve: %d, over the limit %d", n, limit)
	}
	held := 0
	for _, id := range ids {
		if holdsSeat(t, s, acct.ID, id) {
			held++
		}
	}
	expect(t, held, n, "members holding a seat against SeatsInUse")
}
