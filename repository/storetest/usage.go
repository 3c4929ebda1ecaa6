package storetest

import (
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"UsageTotals", testUsageTotals})
}

// testUsageTotals checks the deployment-wide counts metrics read: totals
// across accounts, and per-account lines only when asked for.
func testUsageTotals(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()

	empty, err := s.UsageTotals(ctx, true)
	must(t, err, "usage totals of an empty store")
	expectSame(t, empty, repository.Usage{}, "usage of an empty store")

	a := newAccount(t, s) // 10 seats
	b := newAccount(t, s, func(a *repository.Account) { a.Seats.Total = 3 })
	var aMembers []repository.Member
	for range 4 {
		aMembers = append(aMembers, newMember(t, s, a.ID, unique("a")+"@a.example"))
	}
	for _, m := range aMembers[:2] {
		must(t, s.ReserveSeat(ctx, a.ID, m.ID), "reserve seat")
	}
	newMember(t, s, a.ID, unique("queued")+"@a.example", func(m *repository.Member) {
		m.SeatStatus = repository.SeatQueued
		m.SeatQueuedAt = ms(time.Now())
	})
	bm := newMember(t, s, b.ID, unique("b")+"@b.example")
	must(t, s.ReserveSeat(ctx, b.ID, bm.ID), "reserve seat")

	want := repository.Usage{
		Accounts: 2, Members: 6, SeatsTotal: 13, SeatsInUse: 3, SeatsQueued: 1,
	}
	got, err := s.UsageTotals(ctx, false)
	must(t, err, "usage totals")
	expectSame(t, got, want, "usage totals without per-account lines")

	lines := []repository.AccountUsage{
		{AccountID: a.ID, Members: 5, SeatsTotal: 10, SeatsInUse: 2, SeatsQueued: 1},
		{AccountID: b.ID, Members: 1, SeatsTotal: 3, SeatsInUse: 1},
	}
	if b.ID < a.ID {
		lines[0], lines[1] = lines[1], lines[0]
	}
	want.ByAccount = lines
	got, err = s.UsageTotals(ctx, true)
	must(t, err, "usage totals by account")
	expectSame(t, got, want, "usage totals with per-account lines")

	// Released seats and deleted accounts leave the totals.
	must(t, s.ReleaseSeat(ctx, a.ID, aMembers[0].ID), "release seat")
	must(t, s.DeleteAccount(ctx, b.ID, "test"), "delete account")
	got, err = s.UsageTotals(ctx, false)
	must(t, err, "usage totals after release and delete")
	expectSame(t, got, repository.Usage{Accounts: 1, Members: 5, SeatsTotal: 10, SeatsInUse: 1, SeatsQueued: 1},
		"usage totals after release and delete")
}
