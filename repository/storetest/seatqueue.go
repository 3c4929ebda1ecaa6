package storetest

import (
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"SeatQueueOrder", testSeatQueueOrder})
}

// testSeatQueueOrder checks the query provisioning promotes queued members
// with: seatStatus eq "queued" sorted by seatQueuedAt, first come first
// served, whatever the creation order, page by page with a cursor.
func testSeatQueueOrder(t *testing.T, c Config) {
	s := c.New(t)
	acct := newAccount(t, s)
	other := newAccount(t, s)
	base := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	queued := func(at time.Duration) func(*repository.Member) {
		return func(m *repository.Member) {
			m.SeatStatus, m.SeatQueuedAt = repository.SeatQueued, base.Add(at)
		}
	}
	// Created in one order, queued in another; two queued in the same
	// millisecond (ties break by id); one assigned and one in another
	// account must not appear.
	d := newMember(t, s, acct.ID, "d@example.com", queued(4*time.Second))
	b := newMember(t, s, acct.ID, "b@example.com", queued(2*time.Second))
	a := newMember(t, s, acct.ID, "a@example.com", queued(time.Second))
	c1 := newMember(t, s, acct.ID, "c1@example.com", queued(3*time.Second))
	c2 := newMember(t, s, acct.ID, "c2@example.com", queued(3*time.Second))
	newMember(t, s, acct.ID, "held@example.com", func(m *repository.Member) { m.SeatStatus = repository.SeatAssigned })
	newMember(t, s, other.ID, "first@example.com", queued(0))

	ties := []string{c1.ID, c2.ID}
	if c2.ID < c1.ID {
		ties = []string{c2.ID, c1.ID}
	}
	want := append(append([]string{a.ID, b.ID}, ties...), d.ID)
	q := repository.Query{
		Filter: repository.Compare{Field: repository.MemberSeatStatus, Op: repository.OpEq, Value: repository.SeatQueued},
		SortBy: repository.MemberSeatQueuedAt,
	}
	expectSeq(t, pageByCursor(t, s, acct.ID, q, 2, len(want)), want, "queue order by cursor pages of 2")
	expectSeq(t, pageByIndex(t, s, acct.ID, q, 3, len(want)), want, "queue order by index pages of 3")

	q.Filter = repository.And{
		repository.Compare{Field: repository.MemberSeatStatus, Op: repository.OpEq, Value: repository.SeatQueued},
		repository.Compare{Field: repository.MemberSeatQueuedAt, Op: repository.OpLt, Value: base.Add(3 * time.Second)},
	}
	q.Count = 10
	expectSeq(t, memberIDs(listMembers(t, s, acct.ID, q).Items), []string{a.ID, b.ID}, "queued before a time")
}
