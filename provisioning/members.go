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
	"unicode/utf8"

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
		p, err := s.planMember(ctx, actor, nil, m)
		if err != nil {
			return err
		}
		created, err = s.store.CreateMember(ctx, p.after)
		if err != nil {
			s.undoReservation(ctx, p.seat, p.after.AccountID, p.after.ID)
			return fmt.Errorf("create member: %w", err)
		}
		if err := s.auditChange(ctx, actor, created.AccountID, "member.create", "member", created.ID,
			memberView(nil), memberView(&created)); err != nil {
			return err
		}
		if err := s.afterMemberWrite(ctx, actor, p, created); err != nil {
			return err
		}
		created, err = s.resolvePendingReports(ctx, actor, created)
		return err
	})
	if err != nil {
		return repository.Member{}, err
	}
	return created, nil
}

// UpdateMember changes a member: change receives a copy of the current
// record and returns the wanted one, which goes through the same rules as
// a new member (references resolved, lifecycle derived, seats, owner
// protection, IdP locks). Deactivating (Active false) frees the member's
// seat and revokes its sessions and tokens; reactivating restores it with
// its roles and takes a seat again (or queues, or is refused, as the seat
// settings say). ifVersion is the caller's If-Match; without one, a
// concurrent change is retried with the fresh record, with one it fails
// with CodeVersionMismatch. change may be called more than once and must
// not have side effects.
func (s *Service) UpdateMember(ctx context.Context, actor Actor, accountID, id string, ifVersion IfVersion,
	change func(repository.Member) (repository.Member, error)) (repository.Member, error) {
	var updated repository.Member
	revoked := false
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
		p, err := s.planMember(ctx, actor, &before, wanted)
		if err != nil {
			return err
		}
		if memberEqual(before, p.after) {
			updated = before
			return nil
		}
		after := p.after
		updated, err = s.store.UpdateMember(ctx, accountID, id, func(cur repository.Member) (repository.Member, error) {
			if cur.Version != before.Version {
				return cur, repository.ErrVersionMismatch
			}
			after.Meta = cur.Meta
			return after, nil
		})
		if err != nil {
			s.undoReservation(ctx, p.seat, accountID, id)
			return fmt.Errorf("update member: %w", err)
		}
		if p.guard != nil && !s.store.Transactional() {
			if err := s.guardNotOwner(ctx, accountID, id, p.guard); err != nil {
				s.restoreMember(ctx, before, updated)
				s.undoReservation(ctx, p.seat, accountID, id)
				return err
			}
		}
		if err := s.auditChange(ctx, actor, accountID, memberAction(before, updated), "member", id,
			memberView(&before), memberView(&updated)); err != nil {
			return err
		}
		revoked = revoked || p.revoke
		if err := s.afterMemberWrite(ctx, actor, p, updated); err != nil {
			return err
		}
		if before.ExternalID != updated.ExternalID && updated.ExternalID != "" {
			updated, err = s.resolvePendingReports(ctx, actor, updated)
		}
		return err
	})
	if revoked {
		s.tokens.invalidate() // the member's API tokens were revoked
	}
	if err != nil {
		return repository.Member{}, err
	}
	return updated, nil
}

// DeleteMember removes a member from every listing — its group
// memberships, seat (promoting the queue into it) and sessions go with it,
// its API tokens are revoked, and its userName and externalId are free
// again — and clears it as the team leader of its reports. The owner
// cannot be deleted.
func (s *Service) DeleteMember(ctx context.Context, actor Actor, accountID, id string, ifVersion IfVersion) error {
	// The member's API tokens are revoked: cached ones go once that is
	// committed.
	defer s.tokens.invalidate()
	return s.retry(ctx, ifVersion, func(ctx context.Context) error {
		before, err := s.store.GetMember(ctx, accountID, id)
		if err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		if !ifVersion.allows(before.Version) {
			return versionMismatch(before.Version)
		}
		acct, err := s.store.GetAccount(ctx, accountID)
		if err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		refusal := ownerProtected("the account owner cannot be deleted: transfer ownership first")
		if acct.OwnerMemberID == id {
			return refusal
		}
		if !s.store.Transactional() && before.Active {
			// Without transactions a deleted member cannot be restored,
			// so it is first deactivated under the owner guard (see
			// ownership.go): once that passed, no transfer can pick it.
			off, err := s.store.UpdateMember(ctx, accountID, id, func(cur repository.Member) (repository.Member, error) {
				if cur.Version != before.Version {
					return cur, repository.ErrVersionMismatch
				}
				cur.Active, cur.Status = false, repository.StatusDeactivated
				return cur, nil
			})
			if err != nil {
				return fmt.Errorf("delete member: %w", err)
			}
			if err := s.guardNotOwner(ctx, accountID, id, refusal); err != nil {
				s.restoreMember(ctx, before, off)
				return err
			}
		}
		if err := s.store.DeleteMember(ctx, accountID, id); err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		now := s.now().UTC()
		if err := s.store.RevokeMemberTokens(ctx, accountID, id, now); err != nil {
			return fmt.Errorf("delete member: revoke tokens: %w", err)
		}
		s.tokens.invalidate()
		if err := s.auditChange(ctx, actor, accountID, "member.delete", "member", id,
			memberView(&before), memberView(nil)); err != nil {
			return err
		}
		err = s.forEachMember(ctx, accountID,
			repository.Compare{Field: repository.MemberManagerID, Op: repository.OpEq, Value: id},
			func(r repository.Member) error {
				return s.setManager(ctx, actor, r, "", "")
			})
		if err != nil {
			return err
		}
		if before.SeatStatus == repository.SeatAssigned {
			// The store removed the seat with the member.
			return s.promoteQueue(ctx, actor, accountID)
		}
		return nil
	})
}

// restoreMember undoes a deactivation or demotion that the owner guard of
// a store without transactions refused after it was written. It puts back
// what the guard protects — active, the administrator role, the seat
// status (the seat itself is released only after the guard) — on the
// member as it is now: another writer may have touched it meanwhile (a
// transfer touches its new owner), and the owner must not stay inactive
// because of that.
func (s *Service) restoreMember(ctx context.Context, before, written repository.Member) {
	// Best effort: the refusal is what the caller must see.
	_, _ = s.store.UpdateMember(context.WithoutCancel(ctx), before.AccountID, before.ID, func(cur repository.Member) (repository.Member, error) {
		if before.Active && !cur.Active {
			cur.Active, cur.Status = true, before.Status
		}
		if slices.Contains(before.Roles, RoleAdministrator) && !slices.Contains(cur.Roles, RoleAdministrator) {
			cur.Roles = append(cur.Roles, RoleAdministrator)
		}
		if cur.SeatStatus == written.SeatStatus && cur.SeatQueuedAt.Equal(written.SeatQueuedAt) {
			cur.SeatStatus, cur.SeatQueuedAt = before.SeatStatus, before.SeatQueuedAt
		}
		return cur, nil
	})
}

// memberPlan is what the rule step decided for one member write: the
// record to store and what to do around the write.
type memberPlan struct {
	after repository.Member
	acct  repository.Account
	seat  seatPlan
	// leader is a team leader to give CanManageTeams after the write.
	leader *repository.Member
	// revoke: the write deactivates the member, whose sessions and tokens
	// go.
	revoke bool
	// guard is the refusal of the owner guard a store without
	// transactions runs after the write (a deactivation, or the removal
	// of the administrator role); nil when the write needs none.
	guard *Error
}

// planMember is the one rule step every member write goes through, inside
// the write's transaction: before is nil on create. It returns the record
// to store and what to do after the write. Every rule lives here, so SCIM,
// SSO (just-in-time) and the admin API share them: references resolved,
// lifecycle derived, owner protection, IdP locks, the team-leader rule,
// optional permissions, and seats. A seat may be reserved here (the
// record's SeatStatus depends on it); nothing else is written.
func (s *Service) planMember(ctx context.Context, actor Actor, before *repository.Member, after repository.Member) (memberPlan, error) {
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
			return memberPlan{}, errors.New("create member: no account id")
		}
		after.ID = repository.NewID()
		after.Meta = repository.Meta{}
		if after.Source == "" {
			after.Source = sourceOf(actor)
		}
		after.SeatStatus = repository.SeatNone
		after.SeatQueuedAt = time.Time{}
	}
	if actor.Kind == repository.ActorMember {
		// Only the identity provider's own writes change what it manages.
		after.ManagedAttributes = nil
		if before != nil {
			after.ManagedAttributes = slices.Clone(before.ManagedAttributes)
		}
	}

	if err := normalizeIdentity(&after); err != nil {
		return memberPlan{}, err
	}
	if err := normalizeProfile(&after.Profile); err != nil {
		return memberPlan{}, err
	}
	normalizePrimary(after.Emails, func(e *repository.Email) *bool { return &e.Primary })
	normalizePrimary(after.PhoneNumbers, func(p *repository.PhoneNumber) *bool { return &p.Primary })
	normalizePrimary(after.Addresses, func(a *repository.Address) *bool { return &a.Primary })
	after.ManagedAttributes = sortedSet(after.ManagedAttributes)
	after.ManagerID = strings.TrimSpace(after.ManagerID)

	acct, err := s.store.GetAccount(ctx, after.AccountID)
	if err != nil {
		return memberPlan{}, fmt.Errorf("member rules: %w", err)
	}
	list, idx, err := s.roleCatalogue(ctx, after.AccountID)
	if err != nil {
		return memberPlan{}, err
	}
	if before == nil && len(after.Roles) == 0 && acct.Settings.DefaultRoleKey != "" {
		after.Roles = []string{acct.Settings.DefaultRoleKey}
	}
	if after.Roles, err = resolveRoles(list, after.Roles); err != nil {
		return memberPlan{}, err
	}
	leader, err := s.resolveManager(ctx, before, &after)
	if err != nil {
		return memberPlan{}, err
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

	var changed []string
	if before != nil {
		changed = changedAttributes(*before, after)
	}
	if err := ownerRules(actor, acct, before, after, changed); err != nil {
		return memberPlan{}, err
	}
	if actor.Kind == repository.ActorMember && before != nil {
		for _, a := range changed {
			if slices.Contains(before.ManagedAttributes, a) {
				return memberPlan{}, &Error{Code: CodeManagedByIdP, Attribute: a,
					Message: fmt.Sprintf("%s is managed by the identity provider (SCIM): change it there", a)}
			}
		}
	}
	flag, err := checkLeader(actor, leader)
	if err != nil {
		return memberPlan{}, err
	}
	if err := s.checkStillLeads(ctx, before, after); err != nil {
		return memberPlan{}, err
	}

	// A new member is in no group yet; an existing one also holds the
	// roles of its groups' mappings.
	held := after.Roles
	var grantsBefore []repository.RolePermission
	if before != nil {
		viaGroups, err := s.groupRoleKeys(ctx, after.AccountID, after.ID)
		if err != nil {
			return memberPlan{}, err
		}
		held = sortedSet(append(slices.Clone(after.Roles), viaGroups...))
		grantsBefore = before.OptionalPermissions
	}
	if after.OptionalPermissions, err = checkGrants(idx, held, grantsBefore, after.OptionalPermissions); err != nil {
		return memberPlan{}, err
	}
	var rolesBefore []string
	if before != nil {
		rolesBefore = before.Roles
	}
	if err := s.checkActorGrants(ctx, actor, after.AccountID, idx,
		added(after.Roles, rolesBefore), added(after.OptionalPermissions, grantsBefore)); err != nil {
		return memberPlan{}, err
	}

	p := memberPlan{acct: acct, leader: flag}
	if before != nil {
		p.revoke = before.Active && !after.Active
		switch {
		case p.revoke:
			p.guard = ownerProtected("the account owner cannot be deactivated: transfer ownership first")
		case slices.Contains(before.Roles, RoleAdministrator) && !slices.Contains(after.Roles, RoleAdministrator):
			p.guard = ownerProtected("the administrator role cannot be removed from the account owner: transfer ownership first")
		}
	}
	// Seats last: a reservation is the one write of this step, so every
	// refusal above comes before it.
	if p.seat, err = s.decideSeat(ctx, acct, before, &after, after.Active && idx.consumesSeat(held), true); err != nil {
		return memberPlan{}, err
	}
	p.after = after
	return p, nil
}

// added returns the elements of after that are not in before.
func added[T comparable](after, before []T) []T {
	var out []T
	for _, v := range after {
		if !slices.Contains(before, v) {
			out = append(out, v)
		}
	}
	return out
}

// afterMemberWrite does what a member write entails once stored: the
// team leader gets CanManageTeams, a deactivated member's sessions and
// tokens are revoked, and a freed seat goes to the queue.
func (s *Service) afterMemberWrite(ctx context.Context, actor Actor, p memberPlan, m repository.Member) error {
	if p.leader != nil {
		if _, err := s.flagLeader(ctx, actor, m.AccountID, p.leader.ID); err != nil {
			return err
		}
	}
	if p.revoke {
		// A deactivated member keeps no way in.
		now := s.now().UTC()
		if err := s.store.RevokeMemberSessions(ctx, m.AccountID, m.ID, now); err != nil {
			return fmt.Errorf("deactivate member: revoke sessions: %w", err)
		}
		if err := s.store.RevokeMemberTokens(ctx, m.AccountID, m.ID, now); err != nil {
			return fmt.Errorf("deactivate member: revoke tokens: %w", err)
		}
		// Again once committed: UpdateMember does it for its own writes.
		s.tokens.invalidate()
	}
	if p.seat.release {
		return s.freeSeat(ctx, actor, p.acct, m.ID)
	}
	return nil
}

// memberAttributes are the attributes of a member a caller may change,
// under the names SCIM gives them (the names ManagedAttributes holds), with
// how to read each. "password" and "optionalPermissions" are not SCIM
// attributes an IdP manages, but the owner rules name them.
var memberAttributes = []struct {
	name string
	get  func(m *repository.Member) any
}{
	{"userName", func(m *repository.Member) any { return m.UserName }},
	{"externalId", func(m *repository.Member) any { return m.ExternalID }},
	{"name", func(m *repository.Member) any { return m.Name }},
	{"displayName", func(m *repository.Member) any { return m.DisplayName }},
	{"nickName", func(m *repository.Member) any { return m.NickName }},
	{"profileUrl", func(m *repository.Member) any { return m.ProfileURL }},
	{"title", func(m *repository.Member) any { return m.Title }},
	{"userType", func(m *repository.Member) any { return m.UserType }},
	{"preferredLanguage", func(m *repository.Member) any { return m.PreferredLanguage }},
	{"locale", func(m *repository.Member) any { return m.Locale }},
	{"timezone", func(m *repository.Member) any { return m.Timezone }},
	{"active", func(m *repository.Member) any { return m.Active }},
	{"emails", func(m *repository.Member) any { return orNil(m.Emails) }},
	{"phoneNumbers", func(m *repository.Member) any { return orNil(m.PhoneNumbers) }},
	{"addresses", func(m *repository.Member) any { return orNil(m.Addresses) }},
	{"roles", func(m *repository.Member) any { return orNil(m.Roles) }},
	{"employeeNumber", func(m *repository.Member) any { return m.EmployeeNumber }},
	{"costCenter", func(m *repository.Member) any { return m.CostCenter }},
	{"organization", func(m *repository.Member) any { return m.Organization }},
	{"division", func(m *repository.Member) any { return m.Division }},
	{"department", func(m *repository.Member) any { return m.Department }},
	{"manager", func(m *repository.Member) any { return [2]string{m.ManagerID, m.PendingManagerRef} }},
	{"expertise", func(m *repository.Member) any { return orNil(m.Profile.Expertise) }},
	{"onlyAssignFromExpertise", func(m *repository.Member) any { return m.Profile.OnlyAssignFromExpertise }},
	{"onlyAssignedConversations", func(m *repository.Member) any { return m.Profile.OnlyAssignedConversations }},
	{"canViewGroupCompanies", func(m *repository.Member) any { return m.Profile.CanViewGroupCompanies }},
	{"externalSso", func(m *repository.Member) any { return m.Profile.ExternalSSO }},
	{"canManageTeams", func(m *repository.Member) any { return m.Profile.CanManageTeams }},
	{"channels", func(m *repository.Member) any { return orNil(m.Profile.Channels) }},
	{"employmentStatus", func(m *repository.Member) any { return m.Profile.EmploymentStatus }},
	{"startDate", func(m *repository.Member) any { return m.Profile.StartDate }},
	{"bio", func(m *repository.Member) any { return m.Profile.Bio }},
	{"imageUrl", func(m *repository.Member) any { return m.Profile.ImageURL }},
	{"hometown", func(m *repository.Member) any { return m.Profile.Hometown }},
	{"stateOrCountry", func(m *repository.Member) any { return m.Profile.StateOrCountry }},
	{"approvalStatus", func(m *repository.Member) any { return m.Profile.ApprovalStatus }},
	{"password", func(m *repository.Member) any { return [2]any{m.PasswordHash, m.MustChangePassword} }},
	{"optionalPermissions", func(m *repository.Member) any { return orNil(m.OptionalPermissions) }},
}

// orNil returns nil for an empty slice, so that nil and empty compare equal.
func orNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// changedAttributes names the attributes whose values differ between a
// and b, in the order of memberAttributes.
func changedAttributes(a, b repository.Member) []string {
	var out []string
	for _, at := range memberAttributes {
		if !reflect.DeepEqual(at.get(&a), at.get(&b)) {
			out = append(out, at.name)
		}
	}
	return out
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

// separatorDropper removes the separators people put in an employment
// status ("Full-time", "full_time", "Full time").
var separatorDropper = strings.NewReplacer(" ", "", "-", "", "_", "")

// normalizeProfile canonicalises the support profile and checks its
// enumerations and dates.
func normalizeProfile(p *repository.SupportProfile) error {
	p.Expertise = trimmedSet(p.Expertise, false)
	p.Channels = trimmedSet(p.Channels, true)
	switch separatorDropper.Replace(strings.ToLower(strings.TrimSpace(p.EmploymentStatus))) {
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
// the account's role keys, given the account's roles.
func resolveRoles(roles []repository.Role, refs []string) ([]string, error) {
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
//
// It is exactly what structView (a JSON round trip) makes of the record,
// built field by field: every member write computes one or two of these,
// and the round trip cost more than the rest of the rule step.
// TestMemberViewMatchesJSONRoundTrip holds the two together, and the rare
// records the direct build cannot reproduce exactly (a string that is not
// valid UTF-8, a time JSON cannot encode) take the round trip.
func memberView(m *repository.Member) map[string]any {
	if m == nil {
		return nil
	}
	b := viewBuilder{v: make(map[string]any, 24), exact: true}
	b.str("AccountID", m.AccountID)
	b.str("ID", m.ID)
	b.str("UserName", m.UserName)
	b.str("ExternalID", m.ExternalID)
	n := m.Name
	b.object("Name", map[string]any{
		"Formatted": b.text(n.Formatted), "FamilyName": b.text(n.FamilyName), "GivenName": b.text(n.GivenName),
		"MiddleName": b.text(n.MiddleName), "HonorificPrefix": b.text(n.HonorificPrefix), "HonorificSuffix": b.text(n.HonorificSuffix),
	})
	b.str("DisplayName", m.DisplayName)
	b.str("NickName", m.NickName)
	b.str("ProfileURL", m.ProfileURL)
	b.str("Title", m.Title)
	b.str("UserType", m.UserType)
	b.str("PreferredLanguage", m.PreferredLanguage)
	b.str("Locale", m.Locale)
	b.str("Timezone", m.Timezone)
	b.flag("Active", m.Active)
	b.str("Status", m.Status)
	b.str("Source", m.Source)
	if len(m.Emails) > 0 {
		l := make([]any, len(m.Emails))
		for i, e := range m.Emails {
			l[i] = map[string]any{"Value": b.text(e.Value), "Type": b.text(e.Type), "Display": b.text(e.Display), "Primary": e.Primary}
		}
		b.v["Emails"] = l
	}
	if len(m.PhoneNumbers) > 0 {
		l := make([]any, len(m.PhoneNumbers))
		for i, p := range m.PhoneNumbers {
			l[i] = map[string]any{"Value": b.text(p.Value), "Type": b.text(p.Type), "Display": b.text(p.Display), "Primary": p.Primary}
		}
		b.v["PhoneNumbers"] = l
	}
	if len(m.Addresses) > 0 {
		l := make([]any, len(m.Addresses))
		for i, a := range m.Addresses {
			l[i] = map[string]any{"Formatted": b.text(a.Formatted), "StreetAddress": b.text(a.StreetAddress),
				"Locality": b.text(a.Locality), "Region": b.text(a.Region), "PostalCode": b.text(a.PostalCode),
				"Country": b.text(a.Country), "Type": b.text(a.Type), "Primary": a.Primary}
		}
		b.v["Addresses"] = l
	}
	b.str("EmployeeNumber", m.EmployeeNumber)
	b.str("CostCenter", m.CostCenter)
	b.str("Organization", m.Organization)
	b.str("Division", m.Division)
	b.str("Department", m.Department)
	b.str("ManagerID", m.ManagerID)
	b.str("PendingManagerRef", m.PendingManagerRef)
	if len(m.Roles) > 0 {
		b.v["Roles"] = b.texts(m.Roles)
	}
	if len(m.OptionalPermissions) > 0 {
		l := make([]any, len(m.OptionalPermissions))
		for i, p := range m.OptionalPermissions {
			l[i] = map[string]any{"Role": b.text(p.Role), "Permission": b.text(p.Permission)}
		}
		b.v["OptionalPermissions"] = l
	}
	p := m.Profile
	b.object("Profile", map[string]any{
		"Expertise":                 b.texts(p.Expertise),
		"OnlyAssignFromExpertise":   p.OnlyAssignFromExpertise,
		"OnlyAssignedConversations": p.OnlyAssignedConversations,
		"CanViewGroupCompanies":     p.CanViewGroupCompanies,
		"ExternalSSO":               p.ExternalSSO,
		"CanManageTeams":            p.CanManageTeams,
		"Channels":                  b.texts(p.Channels),
		"EmploymentStatus":          b.text(p.EmploymentStatus),
		"StartDate":                 b.text(p.StartDate),
		"Bio":                       b.text(p.Bio),
		"ImageURL":                  b.text(p.ImageURL),
		"Hometown":                  b.text(p.Hometown),
		"StateOrCountry":            b.text(p.StateOrCountry),
		"ApprovalStatus":            b.text(p.ApprovalStatus),
	})
	b.str("SeatStatus", m.SeatStatus)
	if !m.SeatQueuedAt.IsZero() {
		t, err := m.SeatQueuedAt.MarshalJSON()
		if err != nil || len(t) < 2 {
			b.exact = false
		} else {
			b.str("SeatQueuedAt", string(t[1:len(t)-1]))
		}
	}
	if len(m.ManagedAttributes) > 0 {
		b.v["ManagedAttributes"] = b.texts(m.ManagedAttributes)
	}
	b.flag("MustChangePassword", m.MustChangePassword)
	if !b.exact {
		return memberViewJSON(m)
	}
	if m.PasswordHash != "" {
		b.v["Password"] = HashToken(m.PasswordHash)[:12]
	}
	return b.v
}

// viewBuilder builds a view as structView's JSON round trip would: empty
// values are left out at the top level, kept inside nested objects.
type viewBuilder struct {
	v map[string]any
	// exact turns false on a string the round trip would change (not
	// valid UTF-8): the caller then takes the round trip.
	exact bool
}

// text is s as a JSON round trip returns it.
func (b *viewBuilder) text(s string) string {
	if !utf8.ValidString(s) {
		b.exact = false
	}
	return s
}

// texts is a string list as a JSON round trip returns it: nil for nil.
func (b *viewBuilder) texts(l []string) any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = b.text(s)
	}
	return out
}

func (b *viewBuilder) str(k, s string) {
	if s = b.text(s); !isEmptyJSON(s) {
		b.v[k] = s
	}
}

func (b *viewBuilder) flag(k string, on bool) {
	if on {
		b.v[k] = true
	}
}

func (b *viewBuilder) object(k string, o map[string]any) {
	if !isEmptyJSON(o) {
		b.v[k] = o
	}
}

// memberViewJSON is memberView by a JSON round trip of the record, for
// the records memberView cannot build directly.
func memberViewJSON(m *repository.Member) map[string]any {
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
