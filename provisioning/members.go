package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/rosterhq/roster/repository"
)

// IfVersion is an optional precondition on a record's version, as an HTTP
// If-Match carries it. Empty means no condition; several versions mean any
// of them.
type IfVersion []int64

// allows reports whether a record at version satisfies the precondition.
func (v IfVersion) allows(version int64) bool {
	return len(v) == 0 || slices.Contains(v, version)
}

// Limits of member input.
const (
	maxUserNameLen = 256
	// maxManagerDepth bounds the walk up a team hierarchy when looking for
	// cycles; a real hierarchy is a few levels deep.
	maxManagerDepth = 1000
	// maxRetries is how often an update without If-Match is retried when a
	// concurrent writer changed the record between read and write.
	maxRetries = 3
	// pageSize is the page used when walking members matching a filter.
	pageSize = 200
)

// Employment statuses of the support profile.
const (
	EmploymentFullTime = "full_time"
	EmploymentPartTime = "part_time"
	EmploymentTemp     = "temp"
)

// CreateMember creates a member in m.AccountID from what a front door
// sent. m.ManagerID is a reference as the caller got it — a member id or an
// externalId — and m.Roles are role keys or display names; both are
// resolved here. Server-managed fields (ID, Meta, Status, SeatStatus,
// PendingManagerRef) are computed, not taken from m. Members waiting for
// this one as their manager are linked to it in the same transaction.
func (s *Service) CreateMember(ctx context.Context, actor Actor, m repository.Member) (repository.Member, error) {
	var created repository.Member
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		after, err := s.applyMember(ctx, actor, nil, m)
		if err != nil {
			return err
		}
		created, err = s.store.CreateMember(ctx, after)
		if err != nil {
			return fmt.Errorf("create member: %w", err)
		}
		if err := s.auditChange(ctx, actor, created.AccountID, "member.create", "member", created.ID,
			memberView(nil), memberView(&created)); err != nil {
			return err
		}
		return s.resolvePendingReports(ctx, actor, created)
	})
	if err != nil {
		return repository.Member{}, err
	}
	return created, nil
}

// UpdateMember changes a member: change receives a copy of the current
// record and returns the wanted one, which goes through the same rules as
// a new member (references resolved, lifecycle derived). ifVersion is the
// caller's If-Match; without one, a concurrent change is retried with the
// fresh record, with one it fails with CodeVersionMismatch. change may be
// called more than once and must not have side effects.
func (s *Service) UpdateMember(ctx context.Context, actor Actor, accountID, id string, ifVersion IfVersion,
	change func(repository.Member) (repository.Member, error)) (repository.Member, error) {
	var updated repository.Member
	err := s.retry(ctx, ifVersion, func(ctx context.Context) error {
		before, err := s.store.GetMember(ctx, accountID, id)
		if err != nil {
			return fmt.Errorf("update member: %w", err)
		}
		if !ifVersion.allows(before.Version) {
			return versionMismatch(before.Version)
		}
		wanted, err := change(cloneMember(before))
		if err != nil {
			return err
		}
		after, err := s.applyMember(ctx, actor, &before, wanted)
		if err != nil {
			return err
		}
		if memberEqual(before, after) {
			updated = before
			return nil
		}
		updated, err = s.store.UpdateMember(ctx, accountID, id, func(cur repository.Member) (repository.Member, error) {
			if cur.Version != before.Version {
				return cur, repository.ErrVersionMismatch
			}
			after.Meta = cur.Meta
			return after, nil
		})
		if err != nil {
			return fmt.Errorf("update member: %w", err)
		}
		if err := s.auditChange(ctx, actor, accountID, memberAction(before, updated), "member", id,
			memberView(&before), memberView(&updated)); err != nil {
			return err
		}
		if before.ExternalID != updated.ExternalID && updated.ExternalID != "" {
			return s.resolvePendingReports(ctx, actor, updated)
		}
		return nil
	})
	if err != nil {
		return repository.Member{}, err
	}
	return updated, nil
}

// DeleteMember removes a member, its group memberships, seat and sessions,
// and clears it as the team leader of its reports.
func (s *Service) DeleteMember(ctx context.Context, actor Actor, accountID, id string, ifVersion IfVersion) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		before, err := s.store.GetMember(ctx, accountID, id)
		if err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		if !ifVersion.allows(before.Version) {
			return versionMismatch(before.Version)
		}
		// Issue 4 adds owner protection here: the owner is never deleted.
		if err := s.store.DeleteMember(ctx, accountID, id); err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		now := s.now().UTC()
		if err := s.store.RevokeMemberTokens(ctx, accountID, id, now); err != nil {
			return fmt.Errorf("delete member: revoke tokens: %w", err)
		}
		if err := s.auditChange(ctx, actor, accountID, "member.delete", "member", id,
			memberView(&before), memberView(nil)); err != nil {
			return err
		}
		return s.forEachMember(ctx, accountID,
			repository.Compare{Field: repository.MemberManagerID, Op: repository.OpEq, Value: id},
			func(r repository.Member) error {
				return s.setManager(ctx, actor, r, "", "")
			})
	})
}

// applyMember is the one rule step every member write goes through, inside
// the write's transaction: before is nil on create. It returns the record
// to store. Issue 4's rules (seats, owner protection, IdP locks, group→role
// mappings) belong here, so SCIM, SSO and the admin API share them.
func (s *Service) applyMember(ctx context.Context, actor Actor, before *repository.Member, after repository.Member) (repository.Member, error) {
	// Server-managed fields never come from the caller.
	if before != nil {
		after.AccountID = before.AccountID
		after.ID = before.ID
		after.Meta = before.Meta
		after.Source = before.Source
		after.Status = before.Status
		after.SeatStatus = before.SeatStatus
		after.SeatQueuedAt = before.SeatQueuedAt
	} else {
		if after.AccountID == "" {
			return after, errors.New("create member: no account id")
		}
		after.ID = repository.NewID()
		after.Meta = repository.Meta{}
		if after.Source == "" {
			after.Source = sourceOf(actor)
		}
		after.SeatStatus = repository.SeatNone
		after.SeatQueuedAt = time.Time{}
	}

	if err := normalizeIdentity(&after); err != nil {
		return after, err
	}
	if err := normalizeProfile(&after.Profile); err != nil {
		return after, err
	}
	normalizePrimary(after.Emails, func(e *repository.Email) *bool { return &e.Primary })
	normalizePrimary(after.PhoneNumbers, func(p *repository.PhoneNumber) *bool { return &p.Primary })
	normalizePrimary(after.Addresses, func(a *repository.Address) *bool { return &a.Primary })
	after.ManagedAttributes = sortedSet(after.ManagedAttributes)

	if before == nil && len(after.Roles) == 0 {
		acct, err := s.store.GetAccount(ctx, after.AccountID)
		if err != nil {
			return after, fmt.Errorf("create member: %w", err)
		}
		if acct.Settings.DefaultRoleKey != "" {
			after.Roles = []string{acct.Settings.DefaultRoleKey}
		}
	}
	roles, err := s.resolveRoles(ctx, after.AccountID, after.Roles)
	if err != nil {
		return after, err
	}
	after.Roles = roles

	if err := s.resolveManager(ctx, before, &after); err != nil {
		return after, err
	}

	// Lifecycle: active is what identity providers set; status follows it.
	switch {
	case before == nil && after.Active:
		after.Status = repository.StatusActive
	case before == nil:
		after.Status = repository.StatusDeactivated
	case before.Active && !after.Active:
		after.Status = repository.StatusDeactivated
	case !before.Active && after.Active && before.Status == repository.StatusDeactivated:
		after.Status = repository.StatusActive
	}
	if before != nil && before.Active && !after.Active {
		// A deactivated member keeps no way in: sessions and personal
		// tokens die with the deactivation. (Issue 4 frees the seat here.)
		now := s.now().UTC()
		if err := s.store.RevokeMemberSessions(ctx, after.AccountID, after.ID, now); err != nil {
			return after, fmt.Errorf("deactivate member: revoke sessions: %w", err)
		}
		if err := s.store.RevokeMemberTokens(ctx, after.AccountID, after.ID, now); err != nil {
			return after, fmt.Errorf("deactivate member: revoke tokens: %w", err)
		}
	}
	return after, nil
}

// sourceOf names the front door an actor came through.
func sourceOf(a Actor) string {
	if a.Kind == repository.ActorSCIMToken {
		return repository.SourceSCIM
	}
	return repository.SourceAdmin
}

// normalizeIdentity trims and checks userName, externalId and the
// multi-valued contact attributes.
func normalizeIdentity(m *repository.Member) error {
	m.UserName = strings.TrimSpace(m.UserName)
	m.ExternalID = strings.TrimSpace(m.ExternalID)
	switch {
	case m.UserName == "":
		return &Error{Code: CodeInvalidValue, Attribute: "userName", Message: "userName is required"}
	case len([]rune(m.UserName)) > maxUserNameLen:
		return &Error{Code: CodeInvalidValue, Attribute: "userName",
			Message: fmt.Sprintf("userName must be at most %d characters", maxUserNameLen)}
	case strings.IndexFunc(m.UserName, unicode.IsControl) >= 0:
		return &Error{Code: CodeInvalidValue, Attribute: "userName", Message: "userName must not contain control characters"}
	}
	m.Emails = slices.DeleteFunc(m.Emails, func(e repository.Email) bool {
		return strings.TrimSpace(e.Value) == ""
	})
	for i := range m.Emails {
		m.Emails[i].Value = strings.TrimSpace(m.Emails[i].Value)
	}
	m.PhoneNumbers = slices.DeleteFunc(m.PhoneNumbers, func(p repository.PhoneNumber) bool {
		return strings.TrimSpace(p.Value) == ""
	})
	return nil
}

// normalizePrimary keeps at most one primary value (the first), as RFC 7643
// section 2.4 requires.
func normalizePrimary[T any](vs []T, primary func(*T) *bool) {
	seen := false
	for i := range vs {
		p := primary(&vs[i])
		if *p && seen {
			*p = false
		}
		seen = seen || *p
	}
}

// normalizeProfile canonicalises the support profile and checks its
// enumerations and dates.
func normalizeProfile(p *repository.SupportProfile) error {
	p.Expertise = trimmedSet(p.Expertise, false)
	p.Channels = trimmedSet(p.Channels, true)
	switch strings.NewReplacer(" ", "", "-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(p.EmploymentStatus))) {
	case "":
		p.EmploymentStatus = ""
	case "fulltime":
		p.EmploymentStatus = EmploymentFullTime
	case "parttime":
		p.EmploymentStatus = EmploymentPartTime
	case "temp", "temporary":
		p.EmploymentStatus = EmploymentTemp
	default:
		return &Error{Code: CodeInvalidValue, Attribute: "employmentStatus",
			Message: fmt.Sprintf("employmentStatus %q is not one of %s, %s, %s",
				p.EmploymentStatus, EmploymentFullTime, EmploymentPartTime, EmploymentTemp)}
	}
	if d := strings.TrimSpace(p.StartDate); d != "" {
		day, err := parseDay(d)
		if err != nil {
			return &Error{Code: CodeInvalidValue, Attribute: "startDate",
				Message: fmt.Sprintf("startDate %q is not a date like 2024-03-01", d)}
		}
		p.StartDate = day
	} else {
		p.StartDate = ""
	}
	return nil
}

// parseDay accepts a date (2024-03-01) or a dateTime and returns the date.
func parseDay(s string) (string, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format(time.DateOnly), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return "", err
	}
	return t.Format(time.DateOnly), nil
}

// trimmedSet trims, drops empty and duplicate values (ignoring case), and
// lower-cases them when lower is set; the order is kept.
func trimmedSet(vs []string, lower bool) []string {
	var out []string
	for _, v := range vs {
		v = strings.TrimSpace(v)
		if lower {
			v = strings.ToLower(v)
		}
		if v == "" || slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, v) }) {
			continue
		}
		out = append(out, v)
	}
	return out
}

// sortedSet returns vs sorted without duplicates.
func sortedSet(vs []string) []string {
	if len(vs) == 0 {
		return nil
	}
	out := slices.Clone(vs)
	sort.Strings(out)
	return slices.Compact(out)
}

// resolveRoles maps role references (a key or a display name, any case) to
// the account's role keys.
func (s *Service) resolveRoles(ctx context.Context, accountID string, refs []string) ([]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	roles, err := s.store.ListRoles(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("resolve roles: %w", err)
	}
	var keys []string
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			continue
		}
		i := slices.IndexFunc(roles, func(r repository.Role) bool {
			return strings.EqualFold(r.Key, ref) || strings.EqualFold(r.DisplayName, ref)
		})
		if i < 0 {
			valid := make([]string, len(roles))
			for j, r := range roles {
				valid[j] = r.Key
			}
			return nil, &Error{Code: CodeInvalidValue, Attribute: "roles",
				Message: fmt.Sprintf("unknown role %q; valid roles are: %s", ref, strings.Join(valid, ", "))}
		}
		if !slices.Contains(keys, roles[i].Key) {
			keys = append(keys, roles[i].Key)
		}
	}
	return keys, nil
}

// resolveManager turns after.ManagerID, a reference as the caller sent it
// (a member id, else an externalId), into a member id of the same account,
// or keeps it as PendingManagerRef when no member answers to it yet.
// Cycles in the team hierarchy are refused.
func (s *Service) resolveManager(ctx context.Context, before *repository.Member, after *repository.Member) error {
	ref := strings.TrimSpace(after.ManagerID)
	after.ManagerID, after.PendingManagerRef = "", ""
	if ref == "" {
		return nil
	}
	if before != nil && before.ManagerID != "" && ref == before.ManagerID {
		after.ManagerID = ref
		return nil
	}
	if ref == after.ID || (after.ExternalID != "" && ref == after.ExternalID) {
		return &Error{Code: CodeInvalidValue, Attribute: "manager", Message: "a member cannot be their own manager"}
	}
	mgr, found, err := s.findMemberByRef(ctx, after.AccountID, ref)
	if err != nil {
		return err
	}
	if !found {
		after.PendingManagerRef = ref
		return nil
	}
	if mgr.ID == after.ID {
		return &Error{Code: CodeInvalidValue, Attribute: "manager", Message: "a member cannot be their own manager"}
	}
	if err := s.checkNoCycle(ctx, after.AccountID, after.ID, mgr); err != nil {
		return err
	}
	after.ManagerID = mgr.ID
	return nil
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
// (by its id or externalId). A link that would close a cycle stays pending.
func (s *Service) resolvePendingReports(ctx context.Context, actor Actor, m repository.Member) error {
	refs := repository.Or{repository.Compare{Field: repository.MemberPendingManagerRef, Op: repository.OpEq, Value: m.ID}}
	if m.ExternalID != "" {
		refs = append(refs, repository.Compare{Field: repository.MemberPendingManagerRef, Op: repository.OpEq, Value: m.ExternalID})
	}
	return s.forEachMember(ctx, m.AccountID, refs, func(r repository.Member) error {
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
		return s.setManager(ctx, actor, r, m.ID, "")
	})
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

// forEachMember calls fn for every member of the account matching f, page
// by page with a cursor, so fn may change the fields f tests.
func (s *Service) forEachMember(ctx context.Context, accountID string, f repository.Filter, fn func(repository.Member) error) error {
	cursor := ""
	for {
		page, err := s.store.ListMembers(ctx, accountID, repository.Query{Filter: f, Count: pageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		for _, m := range page.Items {
			if err := fn(m); err != nil {
				return err
			}
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			return nil
		}
		cursor = page.NextCursor
	}
}

// retry runs fn in a transaction, again (up to maxRetries times) when it
// lost a race with another writer and the caller set no If-Match.
func (s *Service) retry(ctx context.Context, ifVersion IfVersion, fn func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := s.store.InTx(ctx, fn)
		var rule *Error
		lostRace := errors.Is(err, repository.ErrVersionMismatch) && !errors.As(err, &rule)
		if !lostRace || len(ifVersion) > 0 || attempt >= maxRetries {
			return err
		}
	}
}

// versionMismatch is the error of a failed If-Match.
func versionMismatch(current int64) error {
	return &Error{Code: CodeVersionMismatch,
		Message: fmt.Sprintf("the resource is at version %d, not the one given in If-Match; fetch it again", current),
		Err:     repository.ErrVersionMismatch}
}

// memberAction names the audit action of an update.
func memberAction(before, after repository.Member) string {
	switch {
	case before.Active && !after.Active:
		return "member.deactivate"
	case !before.Active && after.Active:
		return "member.reactivate"
	}
	return "member.update"
}

// cloneMember copies m deeply enough that changing the copy's slices does
// not change m.
func cloneMember(m repository.Member) repository.Member {
	m.Emails = slices.Clone(m.Emails)
	m.PhoneNumbers = slices.Clone(m.PhoneNumbers)
	m.Addresses = slices.Clone(m.Addresses)
	m.Roles = slices.Clone(m.Roles)
	m.OptionalPermissions = slices.Clone(m.OptionalPermissions)
	m.Profile.Expertise = slices.Clone(m.Profile.Expertise)
	m.Profile.Channels = slices.Clone(m.Profile.Channels)
	m.ManagedAttributes = slices.Clone(m.ManagedAttributes)
	return m
}

// memberEqual reports whether two records hold the same data, so an update
// that changes nothing writes nothing (and keeps the ETag).
func memberEqual(a, b repository.Member) bool {
	return reflect.DeepEqual(memberView(&a), memberView(&b))
}

// memberView is the audited form of a member: every field but the
// record's bookkeeping, with the password hash reduced to whether one is
// set (a hash never goes into the audit log). nil stands for "absent".
func memberView(m *repository.Member) map[string]any {
	if m == nil {
		return nil
	}
	c := cloneMember(*m)
	hasPassword := c.PasswordHash != ""
	c.PasswordHash = ""
	c.Meta = repository.Meta{}
	view := structView(c)
	delete(view, "PasswordHash")
	delete(view, "Meta")
	if hasPassword {
		// The hash is salted: a new password always gives a new hash, so
		// the view carries a digest of the hash to show that it changed.
		view["Password"] = HashToken(m.PasswordHash)[:12]
	}
	return view
}

// structView turns a record into a map of its fields, with empty values
// dropped so that nil and empty slices compare equal.
func structView(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	for k, val := range m {
		if isEmptyJSON(val) {
			delete(m, k)
		}
	}
	return m
}

// isEmptyJSON reports whether a decoded JSON value is a zero value.
func isEmptyJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		// The zero time.Time marshals to this; it means "not set".
		return v == "" || v == "0001-01-01T00:00:00Z"
	case bool:
		return !v
	case float64:
		return v == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, x := range v {
			if !isEmptyJSON(x) {
				return false
			}
		}
		return true
	}
	return false
}

// auditChange records one change with the before/after difference of the
// two views (nil for a side that does not exist).
func (s *Service) auditChange(ctx context.Context, actor Actor, accountID, action, targetKind, targetID string, before, after map[string]any) error {
	return s.audit(ctx, actor, accountID, action, targetKind, targetID, diffViews(before, after))
}

// audit appends one audit event with diff as its JSON difference.
func (s *Service) audit(ctx context.Context, actor Actor, accountID, action, targetKind, targetID string, diff any) error {
	b, err := json.Marshal(diff)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if _, err := s.store.AppendAudit(ctx, repository.AuditEvent{
		AccountID:  accountID,
		ID:         repository.NewID(),
		Time:       s.now().UTC(),
		ActorKind:  actor.Kind,
		ActorID:    actor.ID,
		Action:     action,
		TargetKind: targetKind,
		TargetID:   targetID,
		Diff:       b,
		RequestID:  actor.RequestID,
	}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// fieldChange is one changed field of an audit diff.
type fieldChange struct {
	Before any `json:"before,omitempty"`
	After  any `json:"after,omitempty"`
}

// diffViews returns the fields whose values differ, keyed by field name.
func diffViews(before, after map[string]any) map[string]fieldChange {
	out := map[string]fieldChange{}
	for k, a := range after {
		if b, ok := before[k]; !ok || !reflect.DeepEqual(a, b) {
			out[k] = fieldChange{Before: before[k], After: a}
		}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok {
			out[k] = fieldChange{Before: b}
		}
	}
	return out
}
