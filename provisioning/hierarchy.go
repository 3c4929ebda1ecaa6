package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// Team hierarchy.
//
// A member's team leader (Member.ManagerID, the SCIM enterprise "manager")
// is a member of the same account that can manage teams, and the
// hierarchy has no cycles. A reference to a leader that does not exist yet
// is kept as PendingManagerRef and resolved when the leader arrives.
//
// Who may be a leader depends on the door, because the people behind the
// doors expect different things:
//   - The admin API (an Actor of kind member) sets a leader deliberately,
//     from the members offered as team leaders: the leader must already
//     have CanManageTeams, otherwise the change is refused (invalid_value
//     on "manager") and says to turn it on first.
//   - SCIM (and the system, for SSO just-in-time creation) pushes the org
//     chart as the HR system knows it: an IT admin expects "manager" to
//     work for anyone the directory names as a manager. Refusing would fail
//     the push of every report of a manager nobody flagged, so the leader
//     is given CanManageTeams instead, as a recorded change (audit
//     "member.update" of the leader by the same actor). Pending references
//     resolve the same way when the leader arrives.
//   - On every door, turning CanManageTeams off on a member who still has
//     direct reports is refused (invalid_value on "canManageTeams", naming
//     how many), so the rule cannot be broken from the leader's side.

// maxReportsDepth bounds the levels Reports walks down; real hierarchies
// are a few levels deep, and cycles are refused on write.
const maxReportsDepth = 64

// reportsChunk is how many leaders one query for their reports names.
const reportsChunk = 100

// resolveManager turns after.ManagerID, a reference as the caller sent it
// (a member id, else an externalId), into a member id of the same account,
// or keeps it as PendingManagerRef when no member answers to it yet.
// Cycles in the team hierarchy are refused. It returns the leader when the
// write links the member to a new one (nil when the link is unchanged,
// cleared or pending), for the CanManageTeams rule.
func (s *Service) resolveManager(ctx context.Context, before *repository.Member, after *repository.Member) (*repository.Member, error) {
	ref := after.ManagerID
	after.ManagerID, after.PendingManagerRef = "", ""
	if ref == "" {
		return nil, nil
	}
	if before != nil && before.ManagerID != "" && ref == before.ManagerID {
		after.ManagerID = ref
		return nil, nil
	}
	if ref == after.ID || (after.ExternalID != "" && ref == after.ExternalID) {
		return nil, &Error{Code: CodeInvalidValue, Attribute: "manager", Message: "a member cannot be their own manager"}
	}
	mgr, found, err := s.findMemberByRef(ctx, after.AccountID, ref)
	if err != nil {
		return nil, err
	}
	if !found {
		after.PendingManagerRef = ref
		return nil, nil
	}
	if mgr.ID == after.ID {
		return nil, &Error{Code: CodeInvalidValue, Attribute: "manager", Message: "a member cannot be their own manager"}
	}
	if err := s.checkNoCycle(ctx, after.AccountID, after.ID, mgr); err != nil {
		return nil, err
	}
	after.ManagerID = mgr.ID
	if before != nil && before.ManagerID == mgr.ID {
		return nil, nil // the same leader, named another way
	}
	return &mgr, nil
}

// checkLeader applies the CanManageTeams rule to a newly linked leader: it
// returns the leader to flag after the write (SCIM and system actors), or
// an error for an admin-API actor when the leader cannot manage teams.
func checkLeader(actor Actor, leader *repository.Member) (*repository.Member, error) {
	if leader == nil || leader.Profile.CanManageTeams {
		return nil, nil
	}
	if actor.Kind == repository.ActorMember {
		return nil, &Error{Code: CodeInvalidValue, Attribute: "manager",
			Message: fmt.Sprintf("%s cannot manage teams, so they cannot be a team leader: turn on canManageTeams for them first",
				describeMember(*leader))}
	}
	return leader, nil
}

// checkStillLeads refuses turning CanManageTeams off on a member who has
// direct reports.
func (s *Service) checkStillLeads(ctx context.Context, before *repository.Member, after repository.Member) error {
	if before == nil || !before.Profile.CanManageTeams || after.Profile.CanManageTeams {
		return nil
	}
	page, err := s.store.ListMembers(ctx, after.AccountID, repository.Query{
		Filter: repository.Compare{Field: repository.MemberManagerID, Op: repository.OpEq, Value: after.ID},
	})
	if err != nil {
		return fmt.Errorf("count reports: %w", err)
	}
	if page.Total == 0 {
		return nil
	}
	return &Error{Code: CodeInvalidValue, Attribute: "canManageTeams",
		Message: fmt.Sprintf("canManageTeams cannot be turned off: %d members report to this member; give them another team leader first", page.Total)}
}

// flagLeader gives a team leader CanManageTeams and records it.
func (s *Service) flagLeader(ctx context.Context, actor Actor, accountID, leaderID string) (repository.Member, error) {
	var before repository.Member
	updated, err := s.store.UpdateMember(ctx, accountID, leaderID, func(cur repository.Member) (repository.Member, error) {
		before = cloneMember(cur)
		cur.Profile.CanManageTeams = true
		return cur, nil
	})
	if err != nil {
		return updated, fmt.Errorf("make %s a team leader: %w", leaderID, err)
	}
	if before.Profile.CanManageTeams {
		return updated, nil
	}
	return updated, s.auditChange(ctx, actor, accountID, "member.update", "member", leaderID,
		memberView(&before), memberView(&updated))
}

// describeMember names a member in a message.
func describeMember(m repository.Member) string {
	if m.UserName != "" {
		return fmt.Sprintf("%s (%s)", m.UserName, m.ID)
	}
	return m.ID
}

// findMemberByRef finds a member by id, else by externalId.
func (s *Service) findMemberByRef(ctx context.Context, accountID, ref string) (repository.Member, bool, error) {
	m, err := s.store.GetMember(ctx, accountID, ref)
	if err == nil {
		return m, true, nil
	}
	if !errors.Is(err, repository.ErrNotFound) {
		return m, false, fmt.Errorf("find manager: %w", err)
	}
	page, err := s.store.ListMembers(ctx, accountID, repository.Query{
		Filter: repository.Compare{Field: repository.MemberExternalID, Op: repository.OpEq, Value: ref},
		Count:  1,
	})
	if err != nil {
		return m, false, fmt.Errorf("find manager: %w", err)
	}
	if len(page.Items) == 0 {
		return m, false, nil
	}
	return page.Items[0], true, nil
}

// checkNoCycle walks up from mgr and fails when it meets memberID: making
// mgr the manager of memberID would close a loop.
func (s *Service) checkNoCycle(ctx context.Context, accountID, memberID string, mgr repository.Member) error {
	cur := mgr
	for range maxManagerDepth {
		if cur.ManagerID == "" {
			return nil
		}
		if cur.ManagerID == memberID {
			return &Error{Code: CodeInvalidValue, Attribute: "manager",
				Message: fmt.Sprintf("manager %s would make a cycle in the team hierarchy: %s already reports to this member", mgr.ID, cur.ID)}
		}
		next, err := s.store.GetMember(ctx, accountID, cur.ManagerID)
		if errors.Is(err, repository.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("check team hierarchy: %w", err)
		}
		cur = next
	}
	return &Error{Code: CodeInvalidValue, Attribute: "manager",
		Message: fmt.Sprintf("the team hierarchy above %s is deeper than %d levels", mgr.ID, maxManagerDepth)}
}

// resolvePendingReports links the members that wait for m as their manager
// (by its id or externalId). A link that would close a cycle stays
// pending. When a report is linked and m cannot manage teams yet, m is
// given CanManageTeams (the reference was accepted when it was pushed). It
// returns m as it is after that.
func (s *Service) resolvePendingReports(ctx context.Context, actor Actor, m repository.Member) (repository.Member, error) {
	refs := repository.Or{repository.Compare{Field: repository.MemberPendingManagerRef, Op: repository.OpEq, Value: m.ID}}
	if m.ExternalID != "" {
		refs = append(refs, repository.Compare{Field: repository.MemberPendingManagerRef, Op: repository.OpEq, Value: m.ExternalID})
	}
	// Almost always nobody waits: ask for the count first, which is one
	// small statement, before reading any member.
	waiting, err := s.store.ListMembers(ctx, m.AccountID, repository.Query{Filter: refs, Count: 0})
	if err != nil {
		return m, fmt.Errorf("pending reports: %w", err)
	}
	if waiting.Total == 0 {
		return m, nil
	}
	linked := 0
	err = s.forEachMember(ctx, m.AccountID, refs, func(r repository.Member) error {
		if r.ID == m.ID {
			return nil
		}
		err := s.checkNoCycle(ctx, m.AccountID, r.ID, m)
		var rule *Error
		if errors.As(err, &rule) {
			return nil
		}
		if err != nil {
			return err
		}
		linked++
		return s.setManager(ctx, actor, r, m.ID, "")
	})
	if err != nil || linked == 0 || m.Profile.CanManageTeams {
		return m, err
	}
	return s.flagLeader(ctx, actor, m.AccountID, m.ID)
}

// setManager changes r's manager fields and records it.
func (s *Service) setManager(ctx context.Context, actor Actor, r repository.Member, managerID, pending string) error {
	updated, err := s.store.UpdateMember(ctx, r.AccountID, r.ID, func(cur repository.Member) (repository.Member, error) {
		cur.ManagerID, cur.PendingManagerRef = managerID, pending
		return cur, nil
	})
	if err != nil {
		return fmt.Errorf("update manager of %s: %w", r.ID, err)
	}
	return s.auditChange(ctx, actor, r.AccountID, "member.update", "member", r.ID, memberView(&r), memberView(&updated))
}

// Reports lists a team leader's direct reports and, separately, the
// indirect ones (reports of reports, at any depth up to 64 levels), each in
// member id order within its level. It walks the hierarchy breadth first
// with indexed queries on manager.value, naming up to 100 leaders per
// query, so its cost follows the size of the team, not of the account.
func (s *Service) Reports(ctx context.Context, accountID, leaderID string) (direct, indirect []repository.Member, err error) {
	if _, err := s.store.GetMember(ctx, accountID, leaderID); err != nil {
		return nil, nil, fmt.Errorf("reports: %w", err)
	}
	seen := map[string]bool{leaderID: true}
	frontier := []string{leaderID}
	for depth := 0; depth < maxReportsDepth && len(frontier) > 0; depth++ {
		var level []repository.Member
		for chunk := range slices.Chunk(frontier, reportsChunk) {
			or := make(repository.Or, len(chunk))
			for i, id := range chunk {
				or[i] = repository.Compare{Field: repository.MemberManagerID, Op: repository.OpEq, Value: id}
			}
			err := s.forEachMember(ctx, accountID, or, func(m repository.Member) error {
				// The write rules refuse cycles; a visited set keeps a
				// walk finite even over data written before them.
				if !seen[m.ID] {
					seen[m.ID] = true
					level = append(level, m)
				}
				return nil
			})
			if err != nil {
				return nil, nil, fmt.Errorf("reports: %w", err)
			}
		}
		slices.SortFunc(level, func(a, b repository.Member) int { return strings.Compare(a.ID, b.ID) })
		frontier = frontier[:0:0]
		for _, m := range level {
			frontier = append(frontier, m.ID)
		}
		if depth == 0 {
			direct = level
		} else {
			indirect = append(indirect, level...)
		}
	}
	return direct, indirect, nil
}
