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
// nothing is created and the error names the unknown ones.
func (s *Service) CreateGroup(ctx context.Context, actor Actor, g repository.Group, memberIDs []string) (repository.Group, error) {
	var created repository.Group
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		after, err := applyGroup(actor, nil, g)
		if err != nil {
			return err
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
		return s.audit(ctx, actor, created.AccountID, "group.create", "group", created.ID, diff)
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
		for _, mc := range ch.Members {
			n, err := s.changeMembership(ctx, actor, accountID, id, mc)
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

// changeMembership applies one membership operation and records it. It
// reports whether it wrote anything.
func (s *Service) changeMembership(ctx context.Context, actor Actor, accountID, groupID string, mc MembershipChange) (bool, error) {
	ids := dedupe(mc.MemberIDs)
	switch mc.Op {
	case MembersAdd:
		if len(ids) == 0 {
			return false, nil
		}
		if err := s.checkMembers(ctx, accountID, ids); err != nil {
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
		return true, s.audit(ctx, actor, accountID, "group.members.add", "group", groupID,
			map[string]any{"members": fieldChange{After: ids}, "added": n})
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
		return true, s.audit(ctx, actor, accountID, "group.members.remove", "group", groupID,
			map[string]any{"members": fieldChange{Before: ids}, "removed": n})
	case MembersReplace:
		if err := s.checkMembers(ctx, accountID, ids); err != nil {
			return false, err
		}
		if err := s.store.ReplaceGroupMembers(ctx, accountID, groupID, ids); err != nil {
			return false, fmt.Errorf("replace group members: %w", err)
		}
		return true, s.audit(ctx, actor, accountID, "group.members.replace", "group", groupID,
			map[string]any{"members": fieldChange{After: ids}})
	}
	return false, &Error{Code: CodeInvalidValue, Attribute: "members",
		Message: fmt.Sprintf("unknown membership operation %q", mc.Op)}
}

// DeleteGroup removes a group and its edges; the members stay.
func (s *Service) DeleteGroup(ctx context.Context, actor Actor, accountID, id string, ifVersion IfVersion) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		before, err := s.store.GetGroup(ctx, accountID, id, false)
		if err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		if !ifVersion.allows(before.Version) {
			return versionMismatch(before.Version)
		}
		if err := s.store.DeleteGroup(ctx, accountID, id); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		return s.auditChange(ctx, actor, accountID, "group.delete", "group", id, groupView(&before), nil)
	})
}

// applyGroup is the rule step of every group write: before is nil on
// create. (Issue 4's group→role mappings act here.)
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
