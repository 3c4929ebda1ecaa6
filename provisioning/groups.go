package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/rosterhq/roster/repository"
)

// Limits of group input.
const (
	maxGroupNameLen = 256
	// memberCheckChunk is how many member ids one existence query tests.
	memberCheckChunk = 100
	// maxListedMissing caps the ids an error message names.
	maxListedMissing = 5
)

// MembershipOp is a change to a group's membership edges.
type MembershipOp string

// Membership operations.
const (
	MembersAdd     MembershipOp = "add"     // add edges; existing ones stay
	MembersRemove  MembershipOp = "remove"  // remove edges; absent ones are ignored
	MembersReplace MembershipOp = "replace" // make the list the exact membership
)

// MembershipChange is one membership operation over member ids.
type MembershipChange struct {
	Op        MembershipOp
	MemberIDs []string
}

// GroupChange is everything one request changes in a group, applied in
// one transaction: its own attributes, then the membership operations in
// order. Membership goes straight to the store's edges, so adding one
// member costs the same whatever the group's size.
type GroupChange struct {
	// IfVersion is the caller's If-Match.
	IfVersion IfVersion
	// Update, when set, receives a copy of the group (without members) and
	// returns the wanted attributes.
	Update func(repository.Group) (repository.Group, error)
	// Members are applied in order after Update.
	Members []MembershipChange
}

// CreateGroup creates a group in g.AccountID with memberIDs as its
// members. Every member id must be a member of the account; otherwise
// nothing is created and the error names the unknown ones. g.RoleKey, when
// set (a key or a display name), maps the group to a role from the start:
// the members hold it, and take agent seats if it consumes one.
func (s *Service) CreateGroup(ctx context.Context, actor Actor, g repository.Group, memberIDs []string) (repository.Group, error) {
	var created repository.Group
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		after, err := applyGroup(actor, nil, g)
		if err != nil {
			return err
		}
		var sc *groupSeatRule
		if after.RoleKey != "" {
			list, idx, err := s.roleCatalogue(ctx, after.AccountID)
			if err != nil {
				return err
			}
			if after.RoleKey, err = resolveRoleKey(list, after.RoleKey); err != nil {
				return err
			}
			if err := s.checkActorGrants(ctx, actor, after.AccountID, idx, []string{after.RoleKey}, nil); err != nil {
				return err
			}
			if sc, err = s.groupSeatRule(ctx, after.AccountID, after.RoleKey, idx); err != nil {
				return err
			}
		}
		ids := dedupe(memberIDs)
		if err := s.checkMembers(ctx, after.AccountID, ids); err != nil {
			return err
		}
		after.Members = make([]repository.GroupMember, len(ids))
		for i, id := range ids {
			after.Members[i] = repository.GroupMember{MemberID: id}
		}
		created, err = s.store.CreateGroup(ctx, after)
		if err != nil {
			return fmt.Errorf("create group: %w", err)
		}
		diff := diffViews(nil, groupView(&created))
		if len(ids) > 0 {
			diff["members"] = fieldChange{After: ids}
		}
		if err := s.audit(ctx, actor, created.AccountID, "group.create", "group", created.ID, diff); err != nil {
			return err
		}
		return s.resyncGroupSeats(ctx, actor, sc, ids)
	})
	if err != nil {
		return repository.Group{}, err
	}
	return created, nil
}

// ChangeGroup applies ch to the group and returns it without members.
func (s *Service) ChangeGroup(ctx context.Context, actor Actor, accountID, id string, ch GroupChange) (repository.Group, error) {
	var out repository.Group
	err := s.retry(ctx, ch.IfVersion, func(ctx context.Context) error {
		before, err := s.store.GetGroup(ctx, accountID, id, false)
		if err != nil {
			return fmt.Errorf("change group: %w", err)
		}
		if !ch.IfVersion.allows(before.Version) {
			return versionMismatch(before.Version)
		}
		cur := before
		if ch.Update != nil {
			wanted, err := ch.Update(cloneGroup(before))
			if err != nil {
				return err
			}
			after, err := applyGroup(actor, &before, wanted)
			if err != nil {
				return err
			}
			if !groupEqual(before, after) {
				cur, err = s.store.UpdateGroup(ctx, accountID, id, func(g repository.Group) (repository.Group, error) {
					if g.Version != before.Version {
						return g, repository.ErrVersionMismatch
					}
					after.Meta = g.Meta
					return after, nil
				})
				if err != nil {
					return fmt.Errorf("change group: %w", err)
				}
				if err := s.auditChange(ctx, actor, accountID, "group.update", "group", id,
					groupView(&before), groupView(&cur)); err != nil {
					return err
				}
			}
		}
		changedEdges := false
		var sc *groupSeatRule
		if len(ch.Members) > 0 && before.RoleKey != "" {
			_, idx, err := s.roleCatalogue(ctx, accountID)
			if err != nil {
				return err
			}
			if joins(ch.Members) {
				// Joining a mapped group gives its role.
				if err := s.checkActorGrants(ctx, actor, accountID, idx, []string{before.RoleKey}, nil); err != nil {
					return err
				}
			}
			if sc, err = s.groupSeatRule(ctx, accountID, before.RoleKey, idx); err != nil {
				return err
			}
		}
		for _, mc := range ch.Members {
			n, err := s.changeMembership(ctx, actor, accountID, id, mc, sc)
			if err != nil {
				return err
			}
			changedEdges = changedEdges || n
		}
		if changedEdges {
			if cur, err = s.store.GetGroup(ctx, accountID, id, false); err != nil {
				return fmt.Errorf("change group: %w", err)
			}
		}
		out = cur
		return nil
	})
	if err != nil {
		return repository.Group{}, err
	}
	return out, nil
}

// joins reports whether changes may add members to the group. A replace
// counts, even one that only keeps members.
func joins(changes []MembershipChange) bool {
	return slices.ContainsFunc(changes, func(mc MembershipChange) bool {
		return mc.Op != MembersRemove && len(mc.MemberIDs) > 0
	})
}

// changeMembership applies one membership operation and records it. It
// reports whether it wrote anything. When the group maps to a role that
// consumes a seat (sc not nil), the members that joined or left get or
// give back their seats.
func (s *Service) changeMembership(ctx context.Context, actor Actor, accountID, groupID string, mc MembershipChange, sc *groupSeatRule) (bool, error) {
	ids := dedupe(mc.MemberIDs)
	switch mc.Op {
	case MembersAdd:
		if len(ids) == 0 {
			return false, nil
		}
		if err := s.checkMembers(ctx, accountID, ids); err != nil {
			return false, err
		}
		if err := s.precheckJoin(ctx, sc, ids); err != nil {
			return false, err
		}
		n, err := s.store.AddGroupMembers(ctx, accountID, groupID, ids)
		if errors.Is(err, repository.ErrNotFound) {
			// A member went away since the check: name it.
			if cerr := s.checkMembers(ctx, accountID, ids); cerr != nil {
				return false, cerr
			}
		}
		if err != nil {
			return false, fmt.Errorf("add group members: %w", err)
		}
		if n == 0 {
			return false, nil
		}
		if err := s.audit(ctx, actor, accountID, "group.members.add", "group", groupID,
			map[string]any{"members": fieldChange{After: ids}, "added": n}); err != nil {
			return false, err
		}
		return true, s.resyncGroupSeats(ctx, actor, sc, ids)
	case MembersRemove:
		if len(ids) == 0 {
			return false, nil
		}
		n, err := s.store.RemoveGroupMembers(ctx, accountID, groupID, ids)
		if err != nil {
			return false, fmt.Errorf("remove group members: %w", err)
		}
		if n == 0 {
			return false, nil
		}
		if err := s.audit(ctx, actor, accountID, "group.members.remove", "group", groupID,
			map[string]any{"members": fieldChange{Before: ids}, "removed": n}); err != nil {
			return false, err
		}
		return true, s.resyncGroupSeats(ctx, actor, sc, ids)
	case MembersReplace:
		if err := s.checkMembers(ctx, accountID, ids); err != nil {
			return false, err
		}
		var affected []string
		if sc != nil {
			// Who leaves and who joins decides whose seat changes; only a
			// group whose role uses seats pays for reading its members.
			old, err := s.allGroupMembers(ctx, accountID, groupID)
			if err != nil {
				return false, err
			}
			affected = symmetricDifference(old, ids)
			if err := s.precheckJoin(ctx, sc, affected); err != nil {
				return false, err
			}
		}
		if err := s.store.ReplaceGroupMembers(ctx, accountID, groupID, ids); err != nil {
			return false, fmt.Errorf("replace group members: %w", err)
		}
		if err := s.audit(ctx, actor, accountID, "group.members.replace", "group", groupID,
			map[string]any{"members": fieldChange{After: ids}}); err != nil {
			return false, err
		}
		return true, s.resyncGroupSeats(ctx, actor, sc, affected)
	}
	return false, &Error{Code: CodeInvalidValue, Attribute: "members",
		Message: fmt.Sprintf("unknown membership operation %q", mc.Op)}
}

// groupSeatRule is what membership changes of a group mapped to a
// seat-consuming role need to move seats.
type groupSeatRule struct {
	acct repository.Account
	idx  roleIndex
}

// groupSeatRule returns the seat rule of a group mapped to roleKey, or nil
// when its role (or none) uses no seat. idx may be nil.
func (s *Service) groupSeatRule(ctx context.Context, accountID, roleKey string, idx roleIndex) (*groupSeatRule, error) {
	if roleKey == "" {
		return nil, nil
	}
	if idx == nil {
		var err error
		if _, idx, err = s.roleCatalogue(ctx, accountID); err != nil {
			return nil, err
		}
	}
	if !idx[roleKey].ConsumesSeat {
		return nil, nil
	}
	acct, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("group seats: %w", err)
	}
	return &groupSeatRule{acct: acct, idx: idx}, nil
}

// resyncGroupSeats moves the seats of members who joined or left a group
// mapped to a seat-consuming role, inside the membership change's
// transaction, then promotes the queue into seats freed. On a store with
// transactions the reject setting refuses the whole change; without them
// the edges are already written, so a member short of a seat is queued.
func (s *Service) resyncGroupSeats(ctx context.Context, actor Actor, sc *groupSeatRule, ids []string) error {
	if sc == nil || len(ids) == 0 {
		return nil
	}
	freed := false
	for _, id := range ids {
		f, err := s.resyncSeat(ctx, actor, sc.acct, sc.idx, id, s.store.Transactional(), false)
		if err != nil {
			return err
		}
		freed = freed || f
	}
	if freed {
		return s.promoteQueue(ctx, actor, sc.acct.ID)
	}
	return nil
}

// precheckJoin refuses, on a store without transactions, members joining
// a group whose role uses seats when they would need more seats than are
// free under the reject setting: there the edges cannot be rolled back
// once written, so the check comes first. (With transactions the
// per-member seat step refuses and the whole change rolls back.) ids may
// include members leaving; only those without a seat count.
func (s *Service) precheckJoin(ctx context.Context, sc *groupSeatRule, ids []string) error {
	if sc == nil || len(ids) == 0 || s.store.Transactional() {
		return nil
	}
	acct := sc.acct
	if acct.Seats.Policy != repository.SeatPolicyNamed || acct.Seats.Exhaustion != repository.SeatExhaustionReject {
		return nil
	}
	need := 0
	for chunk := range slices.Chunk(ids, memberCheckChunk) {
		or := make(repository.Or, len(chunk))
		for i, id := range chunk {
			or[i] = repository.Compare{Field: repository.MemberID, Op: repository.OpEq, Value: id}
		}
		n, err := s.newSeatsNeeded(ctx, acct.ID, or)
		if err != nil {
			return err
		}
		need += n
	}
	used, err := s.store.SeatsInUse(ctx, acct.ID)
	if err != nil {
		return fmt.Errorf("seats in use: %w", err)
	}
	if need > acct.Seats.Total-used {
		return s.seatLimitError(ctx, acct)
	}
	return nil
}

// allGroupMembers reads a group's member ids page by page.
func (s *Service) allGroupMembers(ctx context.Context, accountID, groupID string) ([]string, error) {
	var ids []string
	after := ""
	for {
		page, err := s.store.ListGroupMembers(ctx, accountID, groupID, after, seatBatch)
		if err != nil {
			return nil, fmt.Errorf("list group members: %w", err)
		}
		for _, m := range page {
			ids = append(ids, m.MemberID)
		}
		if len(page) < seatBatch {
			return ids, nil
		}
		after = page[len(page)-1].MemberID
	}
}

// symmetricDifference returns the values in exactly one of a and b.
func symmetricDifference(a, b []string) []string {
	inA := make(map[string]bool, len(a))
	for _, v := range a {
		inA[v] = true
	}
	inB := make(map[string]bool, len(b))
	var out []string
	for _, v := range b {
		inB[v] = true
		if !inA[v] {
			out = append(out, v)
		}
	}
	for _, v := range a {
		if !inB[v] {
			out = append(out, v)
		}
	}
	return out
}

// DeleteGroup removes a group and its edges; the members stay. A group
// mapped to a seat-consuming role is first unmapped (SetGroupRole with ""),
// batch by batch, so its members give back the seats they held through it.
func (s *Service) DeleteGroup(ctx context.Context, actor Actor, accountID, id string, ifVersion IfVersion) error {
	g, err := s.store.GetGroup(ctx, accountID, id, false)
	if err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	if !ifVersion.allows(g.Version) {
		return versionMismatch(g.Version)
	}
	sc, err := s.groupSeatRule(ctx, accountID, g.RoleKey, nil)
	if err != nil {
		return err
	}
	if sc != nil {
		if g, err = s.SetGroupRole(ctx, actor, accountID, id, ""); err != nil {
			return err
		}
		ifVersion = IfVersion{g.Version}
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		before, err := s.store.GetGroup(ctx, accountID, id, false)
		if err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		if !ifVersion.allows(before.Version) {
			return versionMismatch(before.Version)
		}
		if before.RoleKey != g.RoleKey {
			// Mapped again meanwhile: its members' seats would be left
			// behind.
			return &Error{Code: CodeVersionMismatch, Err: repository.ErrVersionMismatch,
				Message: "the group's role mapping changed while it was being deleted; try again"}
		}
		if err := s.store.DeleteGroup(ctx, accountID, id); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		return s.auditChange(ctx, actor, accountID, "group.delete", "group", id, groupView(&before), nil)
	})
}

// SetGroupRole maps a group to a role (a key or a display name; "" clears
// the mapping): its members hold the role while they are in the group,
// and take or give back agent seats as the role says. The mapping is
// written and recorded in one transaction; the members' seats then move in
// batches of 500 (each its own transaction, paging the edges with
// ListGroupMembers), because a 100,000-member group would otherwise hold
// the store's write lock (SQLite) or one huge transaction (MongoDB) for
// the whole walk. Under the reject setting, a mapping that would need more
// seats than are free is refused before anything is written; a member that
// still finds no seat during the walk (a race) is queued. If the process
// stops half-way, the members not reached yet get their seats on their
// next change, or from ReconcileSeats.
func (s *Service) SetGroupRole(ctx context.Context, actor Actor, accountID, groupID, roleKey string) (repository.Group, error) {
	return s.setGroupRole(ctx, actor, accountID, groupID, roleKey, seatBatch)
}

// setGroupRole is SetGroupRole with the batch size as a parameter.
func (s *Service) setGroupRole(ctx context.Context, actor Actor, accountID, groupID, roleKey string, batch int) (repository.Group, error) {
	var updated repository.Group
	resync := false
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		resync = false // MongoDB may run the transaction again
		before, err := s.store.GetGroup(ctx, accountID, groupID, false)
		if err != nil {
			return fmt.Errorf("set group role: %w", err)
		}
		list, idx, err := s.roleCatalogue(ctx, accountID)
		if err != nil {
			return err
		}
		key := ""
		if strings.TrimSpace(roleKey) != "" {
			if key, err = resolveRoleKey(list, roleKey); err != nil {
				return err
			}
		}
		if key == before.RoleKey {
			updated = before
			return nil
		}
		if key != "" {
			if err := s.checkActorGrants(ctx, actor, accountID, idx, []string{key}, nil); err != nil {
				return err
			}
		}
		oldSeat, newSeat := idx[before.RoleKey].ConsumesSeat, idx[key].ConsumesSeat
		if newSeat && !oldSeat {
			acct, err := s.store.GetAccount(ctx, accountID)
			if err != nil {
				return fmt.Errorf("set group role: %w", err)
			}
			if err := s.checkBulkSeats(ctx, acct,
				repository.Compare{Field: repository.MemberGroupID, Op: repository.OpEq, Value: groupID},
				fmt.Sprintf("giving role %q to the members of group %q", key, before.DisplayName)); err != nil {
				return err
			}
		}
		updated, err = s.store.UpdateGroup(ctx, accountID, groupID, func(g repository.Group) (repository.Group, error) {
			g.RoleKey = key
			return g, nil
		})
		if err != nil {
			return fmt.Errorf("set group role: %w", err)
		}
		resync = oldSeat || newSeat
		return s.auditChange(ctx, actor, accountID, "group.role", "group", groupID,
			structView(map[string]string{"RoleKey": before.RoleKey}), structView(map[string]string{"RoleKey": key}))
	})
	if err != nil {
		return repository.Group{}, err
	}
	if resync {
		if err := s.resyncGroupInBatches(ctx, actor, accountID, groupID, batch); err != nil {
			return repository.Group{}, err
		}
	}
	return updated, nil
}

// resyncGroupInBatches resyncs the seats of every member of a group, one
// transaction per batch of edges, then promotes the queue.
func (s *Service) resyncGroupInBatches(ctx context.Context, actor Actor, accountID, groupID string, batch int) error {
	after := ""
	for {
		// The page's end is taken only once its transaction committed: a
		// transaction run again (MongoDB retries) starts from the same edge.
		n, last := 0, after
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			last = after
			acct, err := s.store.GetAccount(ctx, accountID)
			if err != nil {
				return fmt.Errorf("group seats: %w", err)
			}
			_, idx, err := s.roleCatalogue(ctx, accountID)
			if err != nil {
				return err
			}
			page, err := s.store.ListGroupMembers(ctx, accountID, groupID, after, batch)
			if err != nil {
				return fmt.Errorf("group seats: %w", err)
			}
			n = len(page)
			for _, m := range page {
				if _, err := s.resyncSeat(ctx, actor, acct, idx, m.MemberID, false, false); err != nil {
					return err
				}
				last = m.MemberID
			}
			return nil
		})
		if err != nil {
			return err
		}
		after = last
		if n < batch {
			break
		}
	}
	return s.store.InTx(ctx, func(ctx context.Context) error { return s.promoteQueue(ctx, actor, accountID) })
}

// resolveRoleKey resolves one role reference (a key or a display name,
// any case) to a key of the account's roles.
func resolveRoleKey(roles []repository.Role, ref string) (string, error) {
	keys, err := resolveRoles(roles, []string{ref})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Attribute = "roleKey"
		}
		return "", err
	}
	if len(keys) == 0 {
		return "", &Error{Code: CodeInvalidValue, Attribute: "roleKey", Message: "the role must not be empty"}
	}
	return keys[0], nil
}

// applyGroup is the rule step of every group write: before is nil on
// create. The role mapping is kept as it is on updates: it changes only
// through SetGroupRole, which moves the members' seats with it.
func applyGroup(actor Actor, before *repository.Group, after repository.Group) (repository.Group, error) {
	if before != nil {
		after.AccountID = before.AccountID
		after.ID = before.ID
		after.Meta = before.Meta
		after.Source = before.Source
		after.RoleKey = before.RoleKey
	} else {
		if after.AccountID == "" {
			return after, errors.New("create group: no account id")
		}
		after.ID = repository.NewID()
		after.Meta = repository.Meta{}
		if after.Source == "" {
			after.Source = sourceOf(actor)
		}
	}
	after.Members = nil
	after.DisplayName = strings.TrimSpace(after.DisplayName)
	after.ExternalID = strings.TrimSpace(after.ExternalID)
	switch {
	case after.DisplayName == "":
		return after, &Error{Code: CodeInvalidValue, Attribute: "displayName", Message: "displayName is required"}
	case len([]rune(after.DisplayName)) > maxGroupNameLen:
		return after, &Error{Code: CodeInvalidValue, Attribute: "displayName",
			Message: fmt.Sprintf("displayName must be at most %d characters", maxGroupNameLen)}
	case strings.IndexFunc(after.DisplayName, unicode.IsControl) >= 0:
		return after, &Error{Code: CodeInvalidValue, Attribute: "displayName", Message: "displayName must not contain control characters"}
	}
	return after, nil
}

// checkMembers fails with CodeInvalidValue naming the ids that are not
// members of the account. It asks the store in chunks of indexed id
// lookups, so its cost follows the request, not the account.
func (s *Service) checkMembers(ctx context.Context, accountID string, ids []string) error {
	var missing []string
	for chunk := range slices.Chunk(ids, memberCheckChunk) {
		or := make(repository.Or, len(chunk))
		for i, id := range chunk {
			or[i] = repository.Compare{Field: repository.MemberID, Op: repository.OpEq, Value: id}
		}
		page, err := s.store.ListMembers(ctx, accountID, repository.Query{Filter: or, Count: len(chunk)})
		if err != nil {
			return fmt.Errorf("check members: %w", err)
		}
		found := make(map[string]bool, len(page.Items))
		for _, m := range page.Items {
			found[m.ID] = true
		}
		for _, id := range chunk {
			if !found[id] {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	named := missing
	if len(named) > maxListedMissing {
		named = named[:maxListedMissing]
	}
	more := ""
	if len(missing) > len(named) {
		more = fmt.Sprintf(" and %d more", len(missing)-len(named))
	}
	return &Error{Code: CodeInvalidValue, Attribute: "members",
		Message: fmt.Sprintf("no member of this account has the id %s%s; nothing was changed",
			quoteAll(named), more)}
}

// quoteAll joins quoted strings with commas.
func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// dedupe returns vs without empty and repeated values, in order.
func dedupe(vs []string) []string {
	out := make([]string, 0, len(vs))
	seen := make(map[string]bool, len(vs))
	for _, v := range vs {
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

// cloneGroup copies g without sharing its member slice.
func cloneGroup(g repository.Group) repository.Group {
	g.Members = slices.Clone(g.Members)
	return g
}

// groupEqual reports whether two groups have the same attributes.
func groupEqual(a, b repository.Group) bool {
	va, vb := groupView(&a), groupView(&b)
	return len(diffViews(va, vb)) == 0
}

// groupView is the audited form of a group's own attributes.
func groupView(g *repository.Group) map[string]any {
	if g == nil {
		return nil
	}
	c := *g
	c.Members = nil
	c.Meta = repository.Meta{}
	view := structView(c)
	delete(view, "Meta")
	return view
}
