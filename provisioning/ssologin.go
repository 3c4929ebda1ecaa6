package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// SSO logins.
//
// The SAML and OIDC halves of the SSO bridge prove who a person is and
// hand over what the identity provider asserted (ExternalIdentity);
// ResolveLogin alone decides which member that is, in this order:
//
//  1. a stored link (connection, subject) → its member;
//  2. else a member of the connection's account with the asserted email,
//     linked when the IdP vouches for the email (verified) AND the account
//     allows email linking, and the member is not linked to another subject
//     of the same connection (an address an IdP gave to someone new must not
//     open a former employee's member);
//  3. else just-in-time creation when the connection enables it, through
//     CreateMember (so the seat rules apply exactly as for any new member),
//     then linked;
//  4. else CodeNotProvisioned.
//
// Lookups never leave the connection's account: an identity of account A's
// IdP can only ever reach a member of A, whatever email it asserts.
//
// A deactivated member never gets through (CodeMemberInactive). An invited
// member logging in accepts its invitation (AcceptInvitationBySSO). Group
// claims map to roles through the account's groups (a group whose
// displayName or externalId equals a claim value, and which maps to a role):
// those roles are given at JIT creation and the missing ones added at later
// logins, never removed (SCIM and admins remove roles).

// ExternalIdentity is what an identity provider asserted about the person
// logging in: the provisioning-side mirror of sso/connector.Identity, which
// this package does not import.
type ExternalIdentity struct {
	// Subject is the SAML NameID or the OIDC "sub": stable per IdP.
	Subject string
	Email   string
	// EmailVerified: the IdP vouches for Email.
	EmailVerified bool
	GivenName     string
	FamilyName    string
	DisplayName   string
	// Groups are the IdP's group claim values (names or ids).
	Groups []string
	// RequestID links the audit events to the login request.
	RequestID string
}

// Limits of identity input.
const (
	maxSubjectLen = 1024
	// maxGroupClaims bounds the group values looked up per login; an IdP
	// sending thousands (Entra's overage) maps through SCIM groups instead.
	maxGroupClaims = 200
	// resolveAttempts bounds the retries of a login that raced another
	// login of the same person (both creating the member or the link).
	resolveAttempts = 3
)

// notProvisioned is the refusal of a login no member answers to.
func notProvisioned(detail string, cause error) error {
	msg := "not provisioned: ask your administrator to give you access"
	if detail != "" {
		msg = "not provisioned: " + detail + " Ask your administrator."
	}
	return &Error{Code: CodeNotProvisioned, Message: msg, Err: cause}
}

// memberInactive is the refusal of a deactivated member.
func memberInactive(memberID string) error {
	return &Error{Code: CodeMemberInactive,
		Message: "your access to this account is deactivated: ask your administrator",
		Err:     fmt.Errorf("member %s is deactivated", memberID)}
}

// ResolveLogin returns the member an SSO login through conn is, creating
// the link (and, when jit, the member) as the rules above say. Refusals are
// *Error values with codes CodeNotProvisioned, CodeMemberInactive,
// CodeSeatLimitReached (JIT refused by the seat settings) or
// CodeInvalidValue (an identity without a subject).
func (s *Service) ResolveLogin(ctx context.Context, conn repository.SSOConnection, id ExternalIdentity, jit bool) (repository.Member, error) {
	id.Subject = strings.TrimSpace(id.Subject)
	id.Email = strings.TrimSpace(id.Email)
	switch {
	case id.Subject == "" || len(id.Subject) > maxSubjectLen:
		return repository.Member{}, &Error{Code: CodeInvalidValue, Attribute: "subject",
			Message: "the identity provider sent no usable subject (NameID or sub)"}
	case conn.AccountID == "" || conn.ID == "":
		return repository.Member{}, errors.New("resolve login: connection without account or id")
	case !conn.Enabled:
		return repository.Member{}, &Error{Code: CodeForbidden,
			Message: "this single sign-on connection is turned off: ask your administrator"}
	}
	acct, err := s.store.GetAccount(ctx, conn.AccountID)
	if err != nil {
		return repository.Member{}, fmt.Errorf("resolve login: %w", err)
	}
	var m repository.Member
	for attempt := 1; ; attempt++ {
		m, err = s.resolveOnce(ctx, acct, conn, id, jit)
		if !errors.Is(err, errRaced) || attempt >= resolveAttempts {
			break
		}
	}
	if errors.Is(err, errRaced) {
		return repository.Member{}, &Error{Code: CodeConflict,
			Message: "another sign-in of yours was being set up at the same moment: try again", Err: err}
	}
	if err != nil {
		return repository.Member{}, err
	}
	if !m.Active || m.Status == repository.StatusDeactivated {
		return repository.Member{}, memberInactive(m.ID)
	}
	if m.Status == repository.StatusInvited {
		if m, err = s.AcceptInvitationBySSO(ctx, acct.ID, m.ID); err != nil {
			return repository.Member{}, fmt.Errorf("resolve login: %w", err)
		}
	}
	return s.grantGroupRoles(ctx, acct, conn, id, m)
}

// errRaced is a lost race with a concurrent login of the same person: the
// resolution starts again and finds what the other login made.
var errRaced = errors.New("concurrent login of the same identity")

// resolveOnce is one pass of the resolution order.
func (s *Service) resolveOnce(ctx context.Context, acct repository.Account, conn repository.SSOConnection, id ExternalIdentity, jit bool) (repository.Member, error) {
	m, found, err := s.linkedMember(ctx, acct.ID, conn.ID, id.Subject)
	if err != nil || found {
		return m, err
	}
	if id.Email != "" {
		cands, err := s.membersByEmail(ctx, acct.ID, id.Email)
		if err != nil {
			return m, err
		}
		switch {
		case len(cands) > 1:
			return m, notProvisioned("several team members of this account use your email address, so your sign-in cannot be matched to one of them.",
				fmt.Errorf("%d members with email %s", len(cands), id.Email))
		case len(cands) == 1:
			return s.linkByEmail(ctx, acct, conn, id, cands[0])
		}
	}
	if !jit {
		return m, notProvisioned("", fmt.Errorf("no member for subject %q of connection %s", id.Subject, conn.ID))
	}
	return s.createJIT(ctx, acct, conn, id)
}

// linkedMember follows the (connection, subject) link. A link left behind
// by a member removed without it is deleted and reported as no link.
func (s *Service) linkedMember(ctx context.Context, accountID, connectionID, subject string) (repository.Member, bool, error) {
	link, err := s.store.GetIdentityLink(ctx, accountID, connectionID, subject)
	if errors.Is(err, repository.ErrNotFound) {
		return repository.Member{}, false, nil
	}
	if err != nil {
		return repository.Member{}, false, fmt.Errorf("resolve login: identity link: %w", err)
	}
	m, err := s.store.GetMember(ctx, accountID, link.MemberID)
	if errors.Is(err, repository.ErrNotFound) {
		if err := s.store.DeleteIdentityLink(ctx, accountID, connectionID, subject); err != nil && !errors.Is(err, repository.ErrNotFound) {
			return m, false, fmt.Errorf("resolve login: drop stale link: %w", err)
		}
		return repository.Member{}, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("resolve login: linked member: %w", err)
	}
	return m, true, nil
}

// membersByEmail returns the members of the account (at most two: more
// than one is ambiguous anyway) whose userName or one of whose emails is
// email, ignoring case.
func (s *Service) membersByEmail(ctx context.Context, accountID, email string) ([]repository.Member, error) {
	var out []repository.Member
	m, err := s.store.GetMemberByUserName(ctx, accountID, email)
	switch {
	case err == nil:
		out = append(out, m)
	case !errors.Is(err, repository.ErrNotFound):
		return nil, fmt.Errorf("resolve login: member by email: %w", err)
	}
	page, err := s.store.ListMembers(ctx, accountID, repository.Query{Count: 2,
		Filter: repository.Compare{Field: repository.MemberEmailValue, Op: repository.OpEq, Value: email}})
	if err != nil {
		return nil, fmt.Errorf("resolve login: member by email: %w", err)
	}
	for _, p := range page.Items {
		if !slices.ContainsFunc(out, func(o repository.Member) bool { return o.ID == p.ID }) {
			out = append(out, p)
		}
	}
	return out, nil
}

// linkByEmail links the identity to the member found by its email, when
// the rules allow it.
func (s *Service) linkByEmail(ctx context.Context, acct repository.Account, conn repository.SSOConnection, id ExternalIdentity, m repository.Member) (repository.Member, error) {
	switch {
	case !id.EmailVerified:
		return repository.Member{}, notProvisioned("a team member with your email address exists, but your identity provider does not confirm the address is verified, so your sign-in is not linked to it automatically.",
			fmt.Errorf("email %s not verified by connection %s", id.Email, conn.ID))
	case !acct.Settings.AllowEmailLinking:
		return repository.Member{}, notProvisioned("a team member with your email address exists, but this account does not link single sign-on identities by email.",
			fmt.Errorf("account %s does not allow email linking", acct.ID))
	}
	links, err := s.store.ListMemberIdentityLinks(ctx, acct.ID, m.ID)
	if err != nil {
		return repository.Member{}, fmt.Errorf("resolve login: links of %s: %w", m.ID, err)
	}
	for _, l := range links {
		if l.ConnectionID == conn.ID && l.Subject != id.Subject {
			return repository.Member{}, notProvisioned("the team member with your email address is already linked to another identity of your identity provider.",
				fmt.Errorf("member %s already linked to subject %q of connection %s", m.ID, l.Subject, conn.ID))
		}
	}
	if err := s.createLink(ctx, acct.ID, conn.ID, id, m.ID, "member.login_linked"); err != nil {
		return repository.Member{}, err
	}
	return m, nil
}

// createLink stores the link of the identity to memberID and audits it
// as action. A link made meanwhile by a concurrent login is errRaced.
func (s *Service) createLink(ctx context.Context, accountID, connectionID string, id ExternalIdentity, memberID, action string) error {
	link, err := s.store.CreateIdentityLink(ctx, repository.IdentityLink{
		AccountID: accountID, ConnectionID: connectionID, Subject: id.Subject,
		MemberID: memberID, CreatedAt: s.now().UTC(),
	})
	var conflict *repository.ConflictError
	if errors.As(err, &conflict) {
		return fmt.Errorf("link %s: %w", memberID, errRaced)
	}
	if err != nil {
		return fmt.Errorf("resolve login: create link: %w", err)
	}
	actor := Actor{Kind: repository.ActorMember, ID: memberID, RequestID: id.RequestID}
	return s.audit(ctx, actor, accountID, action, "member", memberID, map[string]any{
		"connectionId": link.ConnectionID, "subject": link.Subject, "email": id.Email,
	})
}

// createJIT creates the member of a first login and links it. The member
// is created through CreateMember, so every member rule (seats, the
// default role, validation) applies; it signs in through SSO only.
func (s *Service) createJIT(ctx context.Context, acct repository.Account, conn repository.SSOConnection, id ExternalIdentity) (repository.Member, error) {
	roles, err := s.groupClaimRoles(ctx, acct.ID, id.Groups)
	if err != nil {
		return repository.Member{}, err
	}
	if len(roles) == 0 && acct.Settings.DefaultRoleKey != "" {
		// The account's default role applies when no group claim maps to
		// a role: mapped roles say what the person is, the default what an
		// unknown person becomes.
		roles = []string{acct.Settings.DefaultRoleKey}
	}
	userName := id.Email
	if userName == "" {
		userName = id.Subject
	}
	m := repository.Member{
		AccountID:   acct.ID,
		UserName:    userName,
		Name:        repository.Name{GivenName: id.GivenName, FamilyName: id.FamilyName},
		DisplayName: id.DisplayName,
		Active:      true,
		Source:      repository.SourceJIT,
		Roles:       roles,
		Profile:     repository.SupportProfile{ExternalSSO: true},
	}
	if id.Email != "" {
		m.Emails = []repository.Email{{Value: id.Email, Type: "work", Primary: true}}
	}
	actor := Actor{Kind: repository.ActorSystem, RequestID: id.RequestID}
	var created repository.Member
	// On a transactional store the creation and the link commit together,
	// and two first logins of one person are serialised: the second finds
	// the link. Elsewhere the loser of the race retries (errRaced).
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		created, err = s.CreateMember(ctx, actor, m)
		var conflict *repository.ConflictError
		switch pe := AsError(err); {
		case err == nil:
		case errors.As(err, &conflict) || (pe != nil && pe.Code == CodeConflict):
			return fmt.Errorf("create member %s: %w", userName, errRaced)
		case pe != nil && pe.Code == CodeSeatLimitReached:
			return &Error{Code: CodeSeatLimitReached, Err: err, Message: "not provisioned: " +
				strings.TrimSuffix(pe.Message, ": buy more seats or free one, then try again") +
				", so no access can be set up for you now. Ask your administrator."}
		default:
			return err
		}
		return s.createLink(ctx, acct.ID, conn.ID, id, created.ID, "member.login_jit")
	})
	if err != nil {
		return repository.Member{}, err
	}
	return created, nil
}

// groupClaimRoles returns the role keys the account's groups map the
// group claim values to: a group matches a value by displayName (any case)
// or externalId. Sorted, without duplicates.
func (s *Service) groupClaimRoles(ctx context.Context, accountID string, claims []string) ([]string, error) {
	var or repository.Or
	seen := map[string]bool{}
	for _, v := range claims {
		v = strings.TrimSpace(v)
		if v == "" || seen[v] || len(seen) >= maxGroupClaims {
			continue
		}
		seen[v] = true
		or = append(or,
			repository.Compare{Field: repository.GroupDisplayName, Op: repository.OpEq, Value: v},
			repository.Compare{Field: repository.GroupExternalID, Op: repository.OpEq, Value: v})
	}
	if len(or) == 0 {
		return nil, nil
	}
	q := repository.Query{Count: groupPage, Filter: repository.And{or,
		repository.Compare{Field: repository.GroupRoleKey, Op: repository.OpPr}}}
	var keys []string
	for {
		page, err := s.store.ListGroups(ctx, accountID, q, false)
		if err != nil {
			return nil, fmt.Errorf("resolve login: groups of claims: %w", err)
		}
		for _, g := range page.Items {
			if g.RoleKey != "" {
				keys = append(keys, g.RoleKey)
			}
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			break
		}
		q.Cursor = page.NextCursor
	}
	return sortedSet(keys), nil
}

// grantGroupRoles adds to m the roles its group claims map to that it does
// not hold yet (directly or through its groups). A grant the rules refuse
// (no seat under the reject setting) does not stop the login: it is
// recorded as "member.login_roles_refused" and the member signs in with
// the roles it has.
func (s *Service) grantGroupRoles(ctx context.Context, acct repository.Account, conn repository.SSOConnection, id ExternalIdentity, m repository.Member) (repository.Member, error) {
	if len(id.Groups) == 0 {
		return m, nil
	}
	mapped, err := s.groupClaimRoles(ctx, acct.ID, id.Groups)
	if err != nil || len(mapped) == 0 {
		return m, err
	}
	held, err := s.effectiveRoleKeys(ctx, acct.ID, m)
	if err != nil {
		return m, err
	}
	var missing []string
	for _, k := range mapped {
		if !slices.Contains(held, k) {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return m, nil
	}
	actor := Actor{Kind: repository.ActorSystem, RequestID: id.RequestID}
	details := map[string]any{"connectionId": conn.ID, "groups": id.Groups, "roles": missing}
	updated, err := s.UpdateMember(ctx, actor, acct.ID, m.ID, nil, func(cur repository.Member) (repository.Member, error) {
		for _, k := range missing {
			if !slices.Contains(cur.Roles, k) {
				cur.Roles = append(cur.Roles, k)
			}
		}
		return cur, nil
	})
	if pe := AsError(err); err != nil && pe != nil && pe.Code != CodeNotFound {
		details["reason"] = pe.Message
		if aerr := s.audit(ctx, actor, acct.ID, "member.login_roles_refused", "member", m.ID, details); aerr != nil {
			return m, aerr
		}
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("resolve login: grant roles: %w", err)
	}
	if err := s.audit(ctx, actor, acct.ID, "member.login_roles_granted", "member", m.ID, details); err != nil {
		return updated, err
	}
	return updated, nil
}
