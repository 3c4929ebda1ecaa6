package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rosterhq/roster/repository"
)

// Agent seats.
//
// A member needs a seat when it is not deactivated (active or invited) and
// holds, directly or through a group→role mapping, a role that consumes a
// seat (one granting PermConversationsAnswer).
//
// Under the named policy every member that needs a seat holds one, taken
// with the store's atomic primitive (ReserveSeat), which never gives out
// more than the limit, across processes. When none is free the account's
// exhaustion setting decides: queue (the member is written with seat
// status "queued" and SeatQueuedAt, without the agent capability) or
// reject (the change fails with CodeSeatLimitReached, "10 of 10 agent seats
// in use"). Whenever a seat is freed (deactivation, deletion, a role or a
// group membership lost, seats bought), the queue is promoted first come,
// first served: members with seat status queued ordered by SeatQueuedAt.
//
// Under the concurrent policy members are not given seats when they are
// written: a login takes a lease (a later issue, in the SSO bridge), and
// Seats reports the leases held as Used. Members' seat status stays none.
//
// The seat a member holds and its SeatStatus are two records. Inside a
// transaction (SQLite; MongoDB replica sets) they change together. On a
// store without transactions the reservation comes first and is given back
// when the member write fails, so a failure never leaves a seat taken by
// nobody; a crash in between can, and ReconcileSeats repairs it.

// SeatSummary is an account's agent-seat licence and its use.
type SeatSummary struct {
	Policy     string // repository.SeatPolicyNamed or SeatPolicyConcurrent
	Exhaustion string // repository.SeatExhaustionQueue or SeatExhaustionReject
	// Total is the seats bought, Used those held (named seats, or leases
	// under the concurrent policy), Queued the members waiting for one,
	// Available what is free.
	Total, Used, Queued, Available int
}

// SeatChange is a change to an account's seats; nil fields stay.
type SeatChange struct {
	Total      *int
	Policy     *string
	Exhaustion *string
}

// seatBatch is how many members one transaction of a bulk seat change
// (a group→role mapping, a policy switch, a role edit) handles, so that the
// store's write lock (SQLite) or a transaction (MongoDB) stays small.
const seatBatch = 500

// promoteBatch is how many queued members one queue read returns.
const promoteBatch = 50

// Seats reports the account's seats.
func (s *Service) Seats(ctx context.Context, accountID string) (SeatSummary, error) {
	acct, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return SeatSummary{}, fmt.Errorf("seats: %w", err)
	}
	return s.seatSummary(ctx, acct)
}

func (s *Service) seatSummary(ctx context.Context, acct repository.Account) (SeatSummary, error) {
	used, err := s.store.SeatsInUse(ctx, acct.ID)
	if err != nil {
		return SeatSummary{}, fmt.Errorf("seats: %w", err)
	}
	queued, err := s.store.ListMembers(ctx, acct.ID, repository.Query{Filter: queuedFilter, Count: 0})
	if err != nil {
		return SeatSummary{}, fmt.Errorf("seats: %w", err)
	}
	return SeatSummary{
		Policy:     acct.Seats.Policy,
		Exhaustion: acct.Seats.Exhaustion,
		Total:      acct.Seats.Total,
		Used:       used,
		Queued:     queued.Total,
		Available:  max(acct.Seats.Total-used, 0),
	}, nil
}

// queuedFilter selects the members waiting for a seat.
var queuedFilter = repository.Compare{Field: repository.MemberSeatStatus, Op: repository.OpEq, Value: repository.SeatQueued}

// ChangeSeats buys or gives back seats and changes the policy. Lowering
// the total below the seats held is refused with CodeSeatsInUse, naming
// how many must be freed; raising it promotes queued members. Switching
// to the concurrent policy gives back every named seat and empties the
// queue; switching to named hands seats to the members that need one in
// the order they were created, queueing the rest (an existing member is
// never refused, whatever the exhaustion setting).
func (s *Service) ChangeSeats(ctx context.Context, actor Actor, accountID string, ch SeatChange) (SeatSummary, error) {
	if ch.Total != nil && (*ch.Total < 0 || *ch.Total > maxSeats) {
		return SeatSummary{}, &Error{Code: CodeInvalidValue, Attribute: "total",
			Message: fmt.Sprintf("the number of seats must be between 0 and %d, got %d", maxSeats, *ch.Total)}
	}
	if ch.Policy != nil && *ch.Policy != repository.SeatPolicyNamed && *ch.Policy != repository.SeatPolicyConcurrent {
		return SeatSummary{}, &Error{Code: CodeInvalidValue, Attribute: "policy",
			Message: fmt.Sprintf("seat policy %q is not one of %s, %s", *ch.Policy, repository.SeatPolicyNamed, repository.SeatPolicyConcurrent)}
	}
	if ch.Exhaustion != nil && *ch.Exhaustion != repository.SeatExhaustionQueue && *ch.Exhaustion != repository.SeatExhaustionReject {
		return SeatSummary{}, &Error{Code: CodeInvalidValue, Attribute: "exhaustion",
			Message: fmt.Sprintf("seat exhaustion %q is not one of %s, %s", *ch.Exhaustion, repository.SeatExhaustionQueue, repository.SeatExhaustionReject)}
	}
	var before, after repository.Account
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if before, err = s.store.GetAccount(ctx, accountID); err != nil {
			return fmt.Errorf("change seats: %w", err)
		}
		after = before
		if ch.Total != nil && *ch.Total != before.Seats.Total {
			after, err = s.store.SetSeatLimit(ctx, accountID, *ch.Total)
			var inUse *repository.SeatsInUseError
			if errors.As(err, &inUse) {
				return &Error{Code: CodeSeatsInUse, Attribute: "total", Err: err,
					Message: fmt.Sprintf("%d agent seats are in use: free %d of them before lowering the number of seats to %d",
						inUse.InUse, inUse.InUse-inUse.Requested, inUse.Requested)}
			}
			if err != nil {
				return fmt.Errorf("change seats: %w", err)
			}
		}
		if (ch.Policy != nil && *ch.Policy != after.Seats.Policy) || (ch.Exhaustion != nil && *ch.Exhaustion != after.Seats.Exhaustion) {
			after, err = s.store.UpdateAccount(ctx, accountID, func(a repository.Account) (repository.Account, error) {
				if ch.Policy != nil {
					a.Seats.Policy = *ch.Policy
				}
				if ch.Exhaustion != nil {
					a.Seats.Exhaustion = *ch.Exhaustion
				}
				return a, nil
			})
			if err != nil {
				return fmt.Errorf("change seats: %w", err)
			}
		}
		if before.Seats == after.Seats {
			return nil
		}
		return s.auditChange(ctx, actor, accountID, "seats.change", "account", accountID,
			structView(before.Seats), structView(after.Seats))
	})
	if err != nil {
		return SeatSummary{}, err
	}
	if before.Seats.Policy != after.Seats.Policy {
		if err := s.reallocateSeats(ctx, actor, after); err != nil {
			return SeatSummary{}, err
		}
	}
	if after.Seats.Policy == repository.SeatPolicyNamed && after.Seats.Total > before.Seats.Total {
		if err := s.store.InTx(ctx, func(ctx context.Context) error { return s.promoteQueue(ctx, actor, accountID) }); err != nil {
			return SeatSummary{}, err
		}
	}
	return s.Seats(ctx, accountID)
}

// reallocateSeats moves every member to the account's new policy, batch by
// batch: to concurrent, the members holding or waiting for a named seat
// give it up; to named, the members that need a seat get one or queue.
func (s *Service) reallocateSeats(ctx context.Context, actor Actor, acct repository.Account) error {
	var f repository.Filter
	if acct.Seats.Policy == repository.SeatPolicyConcurrent {
		f = repository.Or{
			repository.Compare{Field: repository.MemberSeatStatus, Op: repository.OpEq, Value: repository.SeatAssigned},
			repository.Compare{Field: repository.MemberSeatStatus, Op: repository.OpEq, Value: repository.SeatQueued},
		}
	} else {
		_, idx, err := s.roleCatalogue(ctx, acct.ID)
		if err != nil {
			return err
		}
		if f, err = s.seatCandidates(ctx, acct.ID, idx, nil); err != nil {
			return err
		}
		if f == nil {
			return nil
		}
	}
	return s.resyncMatching(ctx, actor, acct.ID, f, false)
}

// ReconcileSeats brings every member's seat in line with its roles, group
// mappings and lifecycle, batch by batch in member creation order, then
// promotes the queue. The rules keep seats in line on every change; this
// repairs what a crash between two steps of a bulk change (or a store
// without transactions) left behind. Members short of a seat are queued,
// never refused.
func (s *Service) ReconcileSeats(ctx context.Context, actor Actor, accountID string) error {
	return s.resyncMatching(ctx, actor, accountID, nil, true)
}

// resyncMatching resyncs the seat of every member matching f (nil: all),
// in batches of seatBatch members, each batch its own transaction, and
// promotes the queue at the end. repair also gives back seats held by
// members whose record says they hold none.
func (s *Service) resyncMatching(ctx context.Context, actor Actor, accountID string, f repository.Filter, repair bool) error {
	cursor := ""
	for {
		var next string
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			acct, err := s.store.GetAccount(ctx, accountID)
			if err != nil {
				return fmt.Errorf("resync seats: %w", err)
			}
			_, idx, err := s.roleCatalogue(ctx, accountID)
			if err != nil {
				return err
			}
			page, err := s.store.ListMembers(ctx, accountID, repository.Query{Filter: f, Count: seatBatch, Cursor: cursor})
			if err != nil {
				return fmt.Errorf("resync seats: %w", err)
			}
			for _, m := range page.Items {
				if _, err := s.resyncSeat(ctx, actor, acct, idx, m.ID, false, repair); err != nil {
					return err
				}
			}
			if len(page.Items) > 0 {
				next = page.NextCursor
			}
			return nil
		})
		if err != nil {
			return err
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return s.store.InTx(ctx, func(ctx context.Context) error { return s.promoteQueue(ctx, actor, accountID) })
}

// seatCandidates returns a filter selecting the members that hold one of
// the given seat-consuming roles (all of the account's when keys is nil)
// directly or through a mapped group, or nil when no member can.
func (s *Service) seatCandidates(ctx context.Context, accountID string, idx roleIndex, keys []string) (repository.Filter, error) {
	if keys == nil {
		for k, r := range idx {
			if r.ConsumesSeat {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	var or repository.Or
	var byRole repository.Or
	for _, k := range keys {
		or = append(or, repository.Compare{Field: repository.MemberRole, Op: repository.OpEq, Value: k})
		byRole = append(byRole, repository.Compare{Field: repository.GroupRoleKey, Op: repository.OpEq, Value: k})
	}
	q := repository.Query{Filter: byRole, Count: groupPage}
	for {
		page, err := s.store.ListGroups(ctx, accountID, q, false)
		if err != nil {
			return nil, fmt.Errorf("groups mapped to seat roles: %w", err)
		}
		for _, g := range page.Items {
			or = append(or, repository.Compare{Field: repository.MemberGroupID, Op: repository.OpEq, Value: g.ID})
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			break
		}
		q.Cursor = page.NextCursor
	}
	return or, nil
}

// seatPlan is what a member write does to seats besides its SeatStatus.
type seatPlan struct {
	// reserved: the write reserved a seat the member did not hold; a
	// store without transactions gives it back when the write fails.
	reserved bool
	// release: after the write, free the member's seat (and promote the
	// queue under the named policy).
	release bool
}

// decideSeat sets after's SeatStatus and SeatQueuedAt from whether it
// needs a seat, reserving one when it starts to need it. before is nil for
// a new member. mayReject lets the reject setting refuse the change; bulk
// paths that cannot fail half-way queue instead.
func (s *Service) decideSeat(ctx context.Context, acct repository.Account, before, after *repository.Member,
	needs, mayReject bool) (seatPlan, error) {
	var plan seatPlan
	prev := repository.SeatNone
	if before != nil && before.SeatStatus != "" {
		prev = before.SeatStatus
	}
	if acct.Seats.Policy == repository.SeatPolicyConcurrent {
		after.SeatStatus, after.SeatQueuedAt = repository.SeatNone, time.Time{}
		switch {
		case prev == repository.SeatAssigned:
			plan.release = true // a named seat left from before a policy switch
		case !needs && before != nil:
			// A member that stops needing a seat (deactivated, role lost)
			// gives back a lease it holds.
			held, err := s.store.HoldsSeat(ctx, acct.ID, after.ID)
			if err != nil {
				return plan, fmt.Errorf("seat of %s: %w", after.ID, err)
			}
			plan.release = held
		}
		return plan, nil
	}

	switch {
	case !needs:
		after.SeatStatus, after.SeatQueuedAt = repository.SeatNone, time.Time{}
		plan.release = prev == repository.SeatAssigned
		return plan, nil
	case prev == repository.SeatQueued:
		// Still waiting: the place in the queue is kept, first come first
		// served.
		after.SeatStatus, after.SeatQueuedAt = repository.SeatQueued, before.SeatQueuedAt
		return plan, nil
	}
	heldBefore := prev == repository.SeatAssigned
	if !heldBefore && before != nil && !s.store.Transactional() {
		// Without a transaction, a concurrent write of the same member may
		// have reserved the seat already: then it is not this write's to
		// give back if this write fails.
		held, err := s.store.HoldsSeat(ctx, acct.ID, after.ID)
		if err != nil {
			return plan, fmt.Errorf("seat of %s: %w", after.ID, err)
		}
		heldBefore = held
	}
	err := s.store.ReserveSeat(ctx, acct.ID, after.ID)
	switch {
	case err == nil:
		// Reserving a seat already held is a no-op: for a member marked
		// assigned this only checks the record and the seat agree.
		after.SeatStatus, after.SeatQueuedAt = repository.SeatAssigned, time.Time{}
		plan.reserved = !heldBefore
		return plan, nil
	case !errors.Is(err, repository.ErrNoSeat):
		return plan, fmt.Errorf("reserve seat for %s: %w", after.ID, err)
	case mayReject && prev != repository.SeatAssigned && acct.Seats.Exhaustion == repository.SeatExhaustionReject:
		return plan, s.seatLimitError(ctx, acct)
	}
	queuedAt := s.now().UTC()
	if prev == repository.SeatAssigned {
		// A member marked assigned whose seat is gone (a crash on a store
		// without transactions) lost it through no change of its own: it
		// goes to the head of the queue.
		head, err := s.store.ListMembers(ctx, acct.ID, repository.Query{Filter: queuedFilter, SortBy: repository.MemberSeatQueuedAt, Count: 1})
		if err != nil {
			return plan, fmt.Errorf("seat queue: %w", err)
		}
		if len(head.Items) > 0 && !head.Items[0].SeatQueuedAt.After(queuedAt) {
			queuedAt = head.Items[0].SeatQueuedAt.Add(-time.Millisecond)
		}
	}
	after.SeatStatus, after.SeatQueuedAt = repository.SeatQueued, queuedAt
	return plan, nil
}

// seatLimitError is the error of a change refused because every seat is
// held: "10 of 10 agent seats in use".
func (s *Service) seatLimitError(ctx context.Context, acct repository.Account) error {
	used, err := s.store.SeatsInUse(ctx, acct.ID)
	if err != nil {
		return fmt.Errorf("seats in use: %w", err)
	}
	return &Error{Code: CodeSeatLimitReached, Attribute: "roles",
		Message: fmt.Sprintf("%d of %d agent seats in use: buy more seats or free one, then try again", used, acct.Seats.Total),
		Err:     repository.ErrNoSeat}
}

// undoReservation gives back a seat reserved by a write that then failed,
// on a store without transactions (a transaction rolls it back itself).
func (s *Service) undoReservation(ctx context.Context, plan seatPlan, accountID, memberID string) {
	if plan.reserved && !s.store.Transactional() {
		// Best effort: the write already failed and that error is the one
		// the caller sees; ReconcileSeats repairs a seat left behind.
		_ = s.store.ReleaseSeat(context.WithoutCancel(ctx), accountID, memberID)
	}
}

// freeSeat releases a member's seat and, under the named policy, promotes
// the queue into it.
func (s *Service) freeSeat(ctx context.Context, actor Actor, acct repository.Account, memberID string) error {
	if err := s.store.ReleaseSeat(ctx, acct.ID, memberID); err != nil {
		return fmt.Errorf("release seat of %s: %w", memberID, err)
	}
	if acct.Seats.Policy != repository.SeatPolicyNamed {
		return nil
	}
	return s.promoteQueue(ctx, actor, acct.ID)
}

// errNotQueued stops a promotion of a member that no longer waits.
var errNotQueued = errors.New("member no longer waits for a seat")

// promoteQueue gives free seats to queued members, first come first
// served (the oldest SeatQueuedAt first), until the queue or the seats run
// out. Two promoters racing (on a store without transactions) cannot give
// out more than the limit: ReserveSeat is atomic, and reserving a seat the
// member already holds is a no-op.
func (s *Service) promoteQueue(ctx context.Context, actor Actor, accountID string) error {
	acct, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("promote seat queue: %w", err)
	}
	if acct.Seats.Policy != repository.SeatPolicyNamed {
		return nil
	}
	for {
		page, err := s.store.ListMembers(ctx, accountID, repository.Query{
			Filter: queuedFilter, SortBy: repository.MemberSeatQueuedAt, Count: promoteBatch,
		})
		if err != nil {
			return fmt.Errorf("promote seat queue: %w", err)
		}
		for _, m := range page.Items {
			err := s.store.ReserveSeat(ctx, accountID, m.ID)
			if errors.Is(err, repository.ErrNoSeat) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("promote %s: %w", m.ID, err)
			}
			var before repository.Member
			updated, err := s.store.UpdateMember(ctx, accountID, m.ID, func(cur repository.Member) (repository.Member, error) {
				before = cur
				if cur.SeatStatus != repository.SeatQueued {
					return cur, errNotQueued
				}
				cur.SeatStatus, cur.SeatQueuedAt = repository.SeatAssigned, time.Time{}
				return cur, nil
			})
			if errors.Is(err, errNotQueued) || errors.Is(err, repository.ErrNotFound) {
				// Changed meanwhile: keep the seat only if it is the
				// member's now.
				if before.SeatStatus != repository.SeatAssigned {
					if err := s.store.ReleaseSeat(ctx, accountID, m.ID); err != nil {
						return fmt.Errorf("promote %s: %w", m.ID, err)
					}
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("promote %s: %w", m.ID, err)
			}
			if err := s.auditChange(ctx, actor, accountID, "member.seat.assign", "member", m.ID,
				memberView(&before), memberView(&updated)); err != nil {
				return err
			}
		}
		if len(page.Items) < promoteBatch {
			return nil
		}
	}
}

// resyncSeat brings one member's seat in line with its current roles,
// group mappings and lifecycle, and records the change. It reports
// whether it freed a seat (the caller promotes the queue once, after a
// batch). A member deleted meanwhile is skipped. repair also checks the
// seat store for a seat the record does not show (left by a crash on a
// store without transactions) and gives it back.
func (s *Service) resyncSeat(ctx context.Context, actor Actor, acct repository.Account, idx roleIndex, memberID string, mayReject, repair bool) (freed bool, err error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.store.GetMember(ctx, acct.ID, memberID)
		if errors.Is(err, repository.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("resync seat: %w", err)
		}
		roles, err := s.effectiveRoleKeys(ctx, acct.ID, cur)
		if err != nil {
			return false, err
		}
		after := cloneMember(cur)
		plan, err := s.decideSeat(ctx, acct, &cur, &after, cur.Active && idx.consumesSeat(roles), mayReject)
		if err != nil {
			return false, err
		}
		if repair && after.SeatStatus != repository.SeatAssigned && !plan.release &&
			acct.Seats.Policy == repository.SeatPolicyNamed {
			held, err := s.store.HoldsSeat(ctx, acct.ID, memberID)
			if err != nil {
				return false, fmt.Errorf("resync seat: %w", err)
			}
			plan.release = held
		}
		if after.SeatStatus == cur.SeatStatus && after.SeatQueuedAt.Equal(cur.SeatQueuedAt) {
			if plan.release {
				if err := s.store.ReleaseSeat(ctx, acct.ID, memberID); err != nil {
					return false, fmt.Errorf("release seat of %s: %w", memberID, err)
				}
			}
			return plan.release, nil
		}
		updated, err := s.store.UpdateMember(ctx, acct.ID, memberID, func(c repository.Member) (repository.Member, error) {
			if c.Version != cur.Version {
				return c, repository.ErrVersionMismatch
			}
			c.SeatStatus, c.SeatQueuedAt = after.SeatStatus, after.SeatQueuedAt
			return c, nil
		})
		if err != nil {
			s.undoReservation(ctx, plan, acct.ID, memberID)
			if errors.Is(err, repository.ErrVersionMismatch) && attempt < maxRetries {
				continue
			}
			if errors.Is(err, repository.ErrNotFound) {
				return false, nil
			}
			return false, fmt.Errorf("resync seat of %s: %w", memberID, err)
		}
		if err := s.auditChange(ctx, actor, acct.ID, seatAction(updated.SeatStatus), "member", memberID,
			memberView(&cur), memberView(&updated)); err != nil {
			return false, err
		}
		if plan.release {
			if err := s.store.ReleaseSeat(ctx, acct.ID, memberID); err != nil {
				return false, fmt.Errorf("release seat of %s: %w", memberID, err)
			}
		}
		return plan.release, nil
	}
}

// seatAction names the audit action of a seat change by its outcome.
func seatAction(status string) string {
	switch status {
	case repository.SeatAssigned:
		return "member.seat.assign"
	case repository.SeatQueued:
		return "member.seat.queue"
	}
	return "member.seat.release"
}

// newSeatsNeeded counts the members matching f that would take a new
// seat: not deactivated and holding none. Bulk changes under the reject
// setting ask it first and refuse when the free seats do not cover it.
func (s *Service) newSeatsNeeded(ctx context.Context, accountID string, f repository.Filter) (int, error) {
	page, err := s.store.ListMembers(ctx, accountID, repository.Query{Count: 0, Filter: repository.And{f,
		repository.Compare{Field: repository.MemberActive, Op: repository.OpEq, Value: true},
		repository.Compare{Field: repository.MemberSeatStatus, Op: repository.OpEq, Value: repository.SeatNone},
	}})
	if err != nil {
		return 0, fmt.Errorf("count seats needed: %w", err)
	}
	return page.Total, nil
}

// checkBulkSeats refuses, under the named policy and the reject setting, a
// bulk change that would give seats to more members than are free. what
// describes the change for the message.
func (s *Service) checkBulkSeats(ctx context.Context, acct repository.Account, f repository.Filter, what string) error {
	if acct.Seats.Policy != repository.SeatPolicyNamed || acct.Seats.Exhaustion != repository.SeatExhaustionReject || f == nil {
		return nil
	}
	need, err := s.newSeatsNeeded(ctx, acct.ID, f)
	if err != nil {
		return err
	}
	used, err := s.store.SeatsInUse(ctx, acct.ID)
	if err != nil {
		return fmt.Errorf("seats in use: %w", err)
	}
	if free := acct.Seats.Total - used; need > free {
		return &Error{Code: CodeSeatLimitReached, Err: repository.ErrNoSeat,
			Message: fmt.Sprintf("%d of %d agent seats in use: %s needs %d more; buy more seats first",
				used, acct.Seats.Total, what, need-max(free, 0))}
	}
	return nil
}
