package provisioning

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/repository"
)

// Invitations.
//
// Inviting creates the member in status invited through CreateMember, so
// the seat rules (a seat, the queue, or a refusal under reject) apply
// exactly as for any new member, and sends an email with a single-use link
// BaseURL/invite/TOKEN. The token is 256 random bits; the store keeps only
// its hash (HashToken), so a leaked database opens no account. A link
// works until the account's InvitationTTL (7 days by default) runs out.
//
// Admins can resend (a new token and email; the old link dies), get a
// fresh link without an email (to paste elsewhere; the old link dies too)
// and revoke (the invited member is deleted and its seat freed). Resending
// is rate limited per invitation: once a minute and five emails a day,
// so an admin script gone wrong cannot flood someone's mailbox.
//
// Accepting sets a password that passes CheckNewPassword and activates
// the member; members flagged external SSO cannot set one and accept
// through their company's SSO instead (AcceptInvitationBySSO, called by
// the SSO bridge on their first login). A member an admin created
// directly may get the same kind of link as an activation email.
//
// Every email is enqueued in the store's outbox in the transaction of the
// change that causes it, so a crash loses neither.

// Codes of the invitation rules.
const (
	// CodeInvitationGone means an invitation link does not work any more:
	// expired, revoked, already used or replaced by a newer link.
	CodeInvitationGone Code = "invitation_gone"
	// CodeRateLimited means the same action was asked for too often; the
	// message says when it works again.
	CodeRateLimited Code = "rate_limited"
	// CodeSSORequired means the member signs in through the company's
	// SSO only and cannot set a password.
	CodeSSORequired Code = "sso_required"
)

// Resend limits, per invitation.
const (
	resendInterval   = time.Minute
	sendWindow       = 24 * time.Hour
	maxSendsInWindow = 5
)

// maxLinkTokenLen bounds what a link token may look like before a lookup:
// the tokens are 43 characters of base64url.
const maxLinkTokenLen = 128

// invitePath is the path of invitation links under the base URL.
const invitePath = "/invite/"

// WithBaseURL sets Roster's public base URL (https://roster.example.com),
// which invitation and activation links start with. Without it inviting
// fails: an email needs an absolute link.
func WithBaseURL(baseURL string) Option {
	return func(s *Service) { s.baseURL = strings.TrimRight(strings.TrimSpace(baseURL), "/") }
}

// inviteLink returns the link of a token.
func (s *Service) inviteLink(token string) (string, error) {
	base, err := validateBaseURL(s.baseURL)
	if err != nil {
		return "", fmt.Errorf("invitation link: the service has no valid base URL (provisioning.WithBaseURL): %w", err)
	}
	return base + invitePath + token, nil
}

// Invited is a member created with an invitation or activation link.
type Invited struct {
	Member     repository.Member
	Invitation repository.Invitation
}

// InvitationInfo is a pending invitation with its member.
type InvitationInfo struct {
	Invitation repository.Invitation
	Member     repository.Member
	// Email is where the link was sent.
	Email string
	// Expired reports whether the link's time ran out; a resend or a
	// fresh link revives it.
	Expired bool
}

// Invite creates m as an invited member (status invited, source
// invitation) and emails an invitation link. m.AccountID is required and
// m.UserName is the invitee's email address; m.Emails defaults to it.
// Seat rules apply as in CreateMember, and so does the rule that an
// admin-API actor may only grant roles and optional permissions it holds
// itself (checkActorGrants).
func (s *Service) Invite(ctx context.Context, actor Actor, m repository.Member) (Invited, error) {
	return s.createWithLink(ctx, actor, m, repository.InvitationInvite)
}

// CreateMemberWithActivation creates m as an active member, as
// CreateMember does, and emails it an activation link where it chooses a
// password. m.UserName or one of m.Emails must be an email address.
func (s *Service) CreateMemberWithActivation(ctx context.Context, actor Actor, m repository.Member) (Invited, error) {
	return s.createWithLink(ctx, actor, m, repository.InvitationActivation)
}

// createWithLink creates a member and its link of kind in one
// transaction, with its email.
func (s *Service) createWithLink(ctx context.Context, actor Actor, m repository.Member, kind string) (Invited, error) {
	if _, err := s.inviteLink("x"); err != nil {
		return Invited{}, err
	}
	m, email, err := prepareLinkedMember(m, kind)
	if err != nil {
		return Invited{}, err
	}
	if m.PasswordHash != "" {
		return Invited{}, &Error{Code: CodeInvalidValue, Attribute: "password",
			Message: "a member who gets an invitation or activation link chooses a password there: do not set one"}
	}
	var out Invited
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.createWithLinkTx(ctx, actor, m, email, kind, false)
		return err
	})
	if err != nil {
		return Invited{}, err
	}
	return out, nil
}

// prepareLinkedMember fills the defaults of a member that gets a link and
// returns the address the link goes to.
func prepareLinkedMember(m repository.Member, kind string) (repository.Member, string, error) {
	m.UserName = strings.TrimSpace(m.UserName)
	email := ""
	if kind == repository.InvitationInvite {
		// An invitation is addressed by email: that is the user name.
		var err error
		if email, err = validateEmail("email", m.UserName); err != nil {
			return m, "", err
		}
		m.UserName = strings.ToLower(email)
		// An invitation greets the person by name, and the seeds ask for
		// both names.
		switch {
		case strings.TrimSpace(m.Name.GivenName) == "":
			return m, email, &Error{Code: CodeInvalidValue, Attribute: "name.givenName", Message: "firstName is required to invite someone"}
		case strings.TrimSpace(m.Name.FamilyName) == "":
			return m, email, &Error{Code: CodeInvalidValue, Attribute: "name.familyName", Message: "lastName is required to invite someone"}
		}
	} else {
		email = recipientOf(m)
		if _, err := validateEmail("email", email); err != nil {
			return m, "", &Error{Code: CodeInvalidValue, Attribute: "emails",
				Message: "an activation email needs an email address: give one in emails or as the userName"}
		}
	}
	if len(m.Emails) == 0 {
		m.Emails = []repository.Email{{Value: email, Type: "work", Primary: true}}
	}
	m.Active = true
	if kind == repository.InvitationInvite {
		m.Source = repository.SourceInvitation
	}
	return m, email, nil
}

// createWithLinkTx is createWithLink inside the caller's transaction.
// checked skips the address check a caller already made.
func (s *Service) createWithLinkTx(ctx context.Context, actor Actor, m repository.Member, email, kind string, checked bool) (Invited, error) {
	if !checked {
		if err := s.checkEmailFree(ctx, m.AccountID, email); err != nil {
			return Invited{}, err
		}
	}
	created, err := s.CreateMember(ctx, actor, m)
	if err != nil {
		return Invited{}, emailConflict(err, m.UserName)
	}
	if kind == repository.InvitationInvite {
		before := created
		created, err = s.store.UpdateMember(ctx, created.AccountID, created.ID, func(cur repository.Member) (repository.Member, error) {
			cur.Status = repository.StatusInvited
			return cur, nil
		})
		if err != nil {
			return Invited{}, fmt.Errorf("invite member: %w", err)
		}
		if err := s.auditChange(ctx, actor, created.AccountID, "member.update", "member", created.ID,
			memberView(&before), memberView(&created)); err != nil {
			return Invited{}, err
		}
	}
	acct, err := s.store.GetAccount(ctx, created.AccountID)
	if err != nil {
		return Invited{}, fmt.Errorf("invite member: %w", err)
	}
	now := s.now().UTC()
	token, err := newSecret()
	if err != nil {
		return Invited{}, fmt.Errorf("invite member: %w", err)
	}
	inviter := ""
	if actor.Kind == repository.ActorMember {
		inviter = actor.ID
	}
	inv, err := s.store.CreateInvitation(ctx, repository.Invitation{
		AccountID:      created.AccountID,
		ID:             repository.NewID(),
		MemberID:       created.ID,
		TokenHash:      HashToken(token),
		InvitedBy:      inviter,
		Kind:           kind,
		ExpiresAt:      now.Add(invitationTTL(acct)),
		SentAt:         now,
		SendCount:      1,
		SendCountSince: now,
	})
	if err != nil {
		return Invited{}, fmt.Errorf("invite member: %w", err)
	}
	if err := s.audit(ctx, actor, created.AccountID, "invitation.create", "invitation", inv.ID,
		invitationView(inv, email)); err != nil {
		return Invited{}, err
	}
	tmpl := mail.TemplateInvitation
	if kind == repository.InvitationActivation {
		tmpl = mail.TemplateActivation
	}
	if err := s.sendLink(ctx, actor, acct, created, inv, token, email, tmpl); err != nil {
		return Invited{}, err
	}
	return Invited{Member: created, Invitation: inv}, nil
}

// invitationTTL is how long the account's links work.
func invitationTTL(acct repository.Account) time.Duration {
	if acct.Settings.InvitationTTL > 0 {
		return acct.Settings.InvitationTTL
	}
	return DefaultInvitationTTL
}

// checkEmailFree refuses an address a member of the account already uses
// as its userName, naming it (the store's uniqueness says "userName").
func (s *Service) checkEmailFree(ctx context.Context, accountID, email string) error {
	_, err := s.store.GetMemberByUserName(ctx, accountID, email)
	switch {
	case err == nil:
		return emailTaken(email, nil)
	case !errors.Is(err, repository.ErrNotFound):
		return fmt.Errorf("check email: %w", err)
	}
	// A member an identity provider created may use another userName and
	// this address as its email: inviting it again would make a second
	// person of one.
	page, err := s.store.ListMembers(ctx, accountID, repository.Query{Count: 1,
		Filter: repository.Compare{Field: repository.MemberEmailValue, Op: repository.OpEq, Value: email}})
	if err != nil {
		return fmt.Errorf("check email: %w", err)
	}
	if len(page.Items) > 0 {
		return emailTaken(email, nil)
	}
	return nil
}

// emailTaken is the conflict of an address already in use.
func emailTaken(email string, cause error) error {
	return &Error{Code: CodeConflict, Attribute: "email", Err: cause,
		Message: fmt.Sprintf("a member with the email %s already exists in this account", email)}
}

// emailConflict rewrites a userName conflict of a member created from an
// email address into one naming the address.
func emailConflict(err error, email string) error {
	var c *repository.ConflictError
	if errors.As(err, &c) && c.Attribute == "userName" {
		return emailTaken(email, err)
	}
	return err
}

// sendLink enqueues the email carrying token's link.
func (s *Service) sendLink(ctx context.Context, actor Actor, acct repository.Account, m repository.Member,
	inv repository.Invitation, token, to, tmpl string) error {
	link, err := s.inviteLink(token)
	if err != nil {
		return err
	}
	inviter := ""
	if actor.Kind == repository.ActorMember {
		if who, err := s.store.GetMember(ctx, acct.ID, actor.ID); err == nil {
			inviter = nameOf(who)
		}
	}
	var data any
	switch tmpl {
	case mail.TemplateActivation:
		data = mail.ActivationData{AccountName: acct.Name, CreatorName: inviter, MemberName: nameOf(m),
			UserName: m.UserName, Link: link, ExpiresAt: inv.ExpiresAt}
	default:
		data = mail.InvitationData{AccountName: acct.Name, InviterName: inviter, InviteeName: nameOf(m),
			InviteeEmail: to, Link: link, ExpiresAt: inv.ExpiresAt}
	}
	// The key names this link: a retried change sends one email, and every
	// new link gets its own.
	return s.enqueueEmail(ctx, acct.ID, tmpl+":"+inv.ID+":"+inv.TokenHash[:16], to, tmpl, data)
}

// enqueueEmail puts a templated email in the outbox, in the caller's
// transaction.
func (s *Service) enqueueEmail(ctx context.Context, accountID, key, to, tmpl string, data any) error {
	if err := mail.Enqueue(ctx, s.store, accountID, key, to, tmpl, data); err != nil {
		return fmt.Errorf("enqueue %s email: %w", tmpl, err)
	}
	return nil
}

// recipientOf returns the address emails to m go to: its primary email,
// else its first, else its userName.
func recipientOf(m repository.Member) string {
	for _, e := range m.Emails {
		if e.Primary && strings.TrimSpace(e.Value) != "" {
			return strings.TrimSpace(e.Value)
		}
	}
	for _, e := range m.Emails {
		if strings.TrimSpace(e.Value) != "" {
			return strings.TrimSpace(e.Value)
		}
	}
	return strings.TrimSpace(m.UserName)
}

// nameOf is how a person is named to others: the display name, else the
// full name, else empty.
func nameOf(m repository.Member) string {
	if n := strings.TrimSpace(m.DisplayName); n != "" {
		return n
	}
	if n := strings.TrimSpace(m.Name.Formatted); n != "" {
		return n
	}
	return strings.TrimSpace(m.Name.GivenName + " " + m.Name.FamilyName)
}

// invitationView is the audited form of an invitation: never its hash.
func invitationView(inv repository.Invitation, email string) map[string]any {
	return map[string]any{
		"memberId": inv.MemberID, "kind": kindOf(inv), "email": email,
		"expiresAt": inv.ExpiresAt, "invitedBy": inv.InvitedBy,
	}
}

// kindOf returns an invitation's kind, the empty kind being an invitation.
func kindOf(inv repository.Invitation) string {
	if inv.Kind == "" {
		return repository.InvitationInvite
	}
	return inv.Kind
}

// PendingInvitations lists the account's invitations that were neither
// accepted nor revoked, newest first, with their members; expired ones
// are listed (and say so) because a resend revives them. An invitation
// whose member was deleted meanwhile is left out.
func (s *Service) PendingInvitations(ctx context.Context, accountID string) ([]InvitationInfo, error) {
	invs, err := s.store.ListInvitations(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	now := s.now()
	out := make([]InvitationInfo, 0, len(invs))
	for _, inv := range invs {
		m, err := s.store.GetMember(ctx, accountID, inv.MemberID)
		if errors.Is(err, repository.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list invitations: %w", err)
		}
		out = append(out, InvitationInfo{Invitation: inv, Member: m, Email: recipientOf(m), Expired: !now.Before(inv.ExpiresAt)})
	}
	return out, nil
}

// GetInvitation returns one pending invitation of the account.
func (s *Service) GetInvitation(ctx context.Context, accountID, id string) (InvitationInfo, error) {
	inv, m, err := s.openInvitation(ctx, accountID, id)
	if err != nil {
		return InvitationInfo{}, err
	}
	return InvitationInfo{Invitation: inv, Member: m, Email: recipientOf(m), Expired: !s.now().Before(inv.ExpiresAt)}, nil
}

// openInvitation reads an invitation an admin acts on and its member: it
// must be neither accepted nor revoked.
func (s *Service) openInvitation(ctx context.Context, accountID, id string) (repository.Invitation, repository.Member, error) {
	inv, err := s.store.GetInvitation(ctx, accountID, id)
	if errors.Is(err, repository.ErrNotFound) {
		return inv, repository.Member{}, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no invitation with id %q", id), Err: err}
	}
	if err != nil {
		return inv, repository.Member{}, fmt.Errorf("get invitation: %w", err)
	}
	if err := closedForAdmin(inv); err != nil {
		return inv, repository.Member{}, err
	}
	m, err := s.store.GetMember(ctx, accountID, inv.MemberID)
	if errors.Is(err, repository.ErrNotFound) {
		return inv, m, &Error{Code: CodeInvitationGone, Err: err,
			Message: "the invited member was deleted; invite the person again"}
	}
	if err != nil {
		return inv, m, fmt.Errorf("get invitation: %w", err)
	}
	return inv, m, nil
}

// closedForAdmin refuses acting on an accepted or revoked invitation.
func closedForAdmin(inv repository.Invitation) error {
	switch {
	case !inv.AcceptedAt.IsZero():
		return &Error{Code: CodeInvitationGone,
			Message: fmt.Sprintf("the invitation was accepted on %s", inv.AcceptedAt.UTC().Format(time.RFC3339))}
	case !inv.RevokedAt.IsZero():
		return &Error{Code: CodeInvitationGone,
			Message: fmt.Sprintf("the invitation was revoked on %s; invite the person again", inv.RevokedAt.UTC().Format(time.RFC3339))}
	}
	return nil
}

// ResendInvitation gives the invitation a new link, emails it, and kills
// the old link. The expiry starts again. It is refused (CodeRateLimited)
// within a minute of the last email and after five emails in a day.
func (s *Service) ResendInvitation(ctx context.Context, actor Actor, accountID, id string) (InvitationInfo, error) {
	return s.renewLink(ctx, actor, accountID, id, true)
}

// FreshInvitationLink gives the invitation a new link without sending an
// email and returns it, for the admin to pass on another way; the old
// link dies and the expiry starts again.
func (s *Service) FreshInvitationLink(ctx context.Context, actor Actor, accountID, id string) (string, InvitationInfo, error) {
	var link string
	info, err := s.renewLinkWith(ctx, actor, accountID, id, false, func(token string) error {
		var err error
		link, err = s.inviteLink(token)
		return err
	})
	if err != nil {
		return "", InvitationInfo{}, err
	}
	return link, info, nil
}

func (s *Service) renewLink(ctx context.Context, actor Actor, accountID, id string, send bool) (InvitationInfo, error) {
	return s.renewLinkWith(ctx, actor, accountID, id, send, func(string) error { return nil })
}

// renewLinkWith replaces an invitation's token; with send it emails the
// new link under the rate limit. got receives the new token.
func (s *Service) renewLinkWith(ctx context.Context, actor Actor, accountID, id string, send bool, got func(token string) error) (InvitationInfo, error) {
	if _, err := s.inviteLink("x"); err != nil {
		return InvitationInfo{}, err
	}
	var out InvitationInfo
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		_, m, err := s.openInvitation(ctx, accountID, id)
		if err != nil {
			return err
		}
		acct, err := s.store.GetAccount(ctx, accountID)
		if err != nil {
			return fmt.Errorf("renew invitation link: %w", err)
		}
		token, err := newSecret()
		if err != nil {
			return fmt.Errorf("renew invitation link: %w", err)
		}
		now := s.now().UTC()
		updated, err := s.store.UpdateInvitation(ctx, accountID, id, func(cur repository.Invitation) (repository.Invitation, error) {
			if err := closedForAdmin(cur); err != nil {
				return cur, err
			}
			if send {
				if err := checkSendRate(cur, now); err != nil {
					return cur, err
				}
				if cur.SendCountSince.IsZero() || now.Sub(cur.SendCountSince) >= sendWindow {
					cur.SendCount, cur.SendCountSince = 0, now
				}
				cur.SendCount++
				cur.SentAt = now
			}
			cur.TokenHash = HashToken(token)
			cur.ExpiresAt = now.Add(invitationTTL(acct))
			return cur, nil
		})
		if err != nil {
			if AsError(err) != nil {
				return err
			}
			return fmt.Errorf("renew invitation link: %w", err)
		}
		action := "invitation.link"
		if send {
			action = "invitation.resend"
		}
		if err := s.audit(ctx, actor, accountID, action, "invitation", id, invitationView(updated, recipientOf(m))); err != nil {
			return err
		}
		if send {
			tmpl := mail.TemplateInvitationResent
			if kindOf(updated) == repository.InvitationActivation {
				tmpl = mail.TemplateActivation
			}
			if err := s.sendLink(ctx, actor, acct, m, updated, token, recipientOf(m), tmpl); err != nil {
				return err
			}
		}
		if err := got(token); err != nil {
			return err
		}
		out = InvitationInfo{Invitation: updated, Member: m, Email: recipientOf(m)}
		return nil
	})
	if err != nil {
		return InvitationInfo{}, err
	}
	return out, nil
}

// checkSendRate applies the resend limits to an invitation at now.
func checkSendRate(inv repository.Invitation, now time.Time) error {
	if !inv.SentAt.IsZero() && now.Sub(inv.SentAt) < resendInterval {
		wait := resendInterval - now.Sub(inv.SentAt)
		return &Error{Code: CodeRateLimited,
			Message: fmt.Sprintf("the invitation was emailed less than a minute ago; try again in %d seconds", int(wait.Seconds())+1)}
	}
	if !inv.SendCountSince.IsZero() && now.Sub(inv.SendCountSince) < sendWindow && inv.SendCount >= maxSendsInWindow {
		again := inv.SendCountSince.Add(sendWindow).UTC().Format(time.RFC3339)
		return &Error{Code: CodeRateLimited,
			Message: fmt.Sprintf("the invitation was emailed %d times in a day, the most allowed; try again after %s, or get a fresh link to pass on another way",
				inv.SendCount, again)}
	}
	return nil
}

// RevokeInvitation revokes an invitation: its link dies and the invited
// member is deleted, which frees its seat for the queue. The invitation of
// a member created directly (an activation link) only loses its link: the
// member stays. The owner's invitation cannot be revoked (transfer
// ownership first).
func (s *Service) RevokeInvitation(ctx context.Context, actor Actor, accountID, id string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		inv, m, err := s.openInvitation(ctx, accountID, id)
		if err != nil {
			return err
		}
		if kindOf(inv) == repository.InvitationInvite && m.Status == repository.StatusInvited {
			// Deleting first: if it is refused (the owner), the link stays.
			if err := s.DeleteMember(ctx, actor, accountID, m.ID, nil); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		revoked, err := s.store.UpdateInvitation(ctx, accountID, id, func(cur repository.Invitation) (repository.Invitation, error) {
			if err := closedForAdmin(cur); err != nil {
				return cur, err
			}
			cur.RevokedAt = now
			return cur, nil
		})
		if err != nil {
			if AsError(err) != nil {
				return err
			}
			return fmt.Errorf("revoke invitation: %w", err)
		}
		return s.audit(ctx, actor, accountID, "invitation.revoke", "invitation", id, invitationView(revoked, recipientOf(m)))
	})
}

// InvitationDetails is what the person holding a link is shown.
type InvitationDetails struct {
	AccountID   string
	AccountName string
	// InviterName is who invited; empty when the system did (the owner's
	// invitation of a new account).
	InviterName string
	MemberID    string
	Email       string
	UserName    string
	Name        string // the invitee's display name, may be empty
	// Kind is repository.InvitationInvite or InvitationActivation.
	Kind string
	// ExternalSSO: the member signs in through the company's SSO and sets
	// no password.
	ExternalSSO bool
	ExpiresAt   time.Time
}

// LookupInvitation returns what the invitation with link token shows. A
// link that does not work any more is a CodeInvitationGone whose message
// says why and to ask an admin for a new one.
func (s *Service) LookupInvitation(ctx context.Context, token string) (InvitationDetails, error) {
	inv, m, acct, err := s.liveInvitation(ctx, token)
	if err != nil {
		return InvitationDetails{}, err
	}
	inviter := ""
	if inv.InvitedBy != "" {
		if who, err := s.store.GetMember(ctx, acct.ID, inv.InvitedBy); err == nil {
			inviter = nameOf(who)
		}
	}
	return InvitationDetails{
		AccountID: acct.ID, AccountName: acct.Name, InviterName: inviter,
		MemberID: m.ID, Email: recipientOf(m), UserName: m.UserName, Name: nameOf(m),
		Kind: kindOf(inv), ExternalSSO: m.Profile.ExternalSSO, ExpiresAt: inv.ExpiresAt,
	}, nil
}

// goneAsk is the advice every dead link ends with.
const goneAsk = "Ask an administrator of your account to send you a new invitation."

// liveInvitation finds the invitation of a link token and checks it still
// works: open, not expired, its member present and not deactivated.
func (s *Service) liveInvitation(ctx context.Context, token string) (repository.Invitation, repository.Member, repository.Account, error) {
	var (
		m    repository.Member
		acct repository.Account
	)
	gone := func(why string, cause error) error {
		return &Error{Code: CodeInvitationGone, Message: why + " " + goneAsk, Err: cause}
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxLinkTokenLen || strings.ContainsFunc(token, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return repository.Invitation{}, m, acct, gone("This invitation link is not valid.", nil)
	}
	hash := HashToken(token)
	inv, err := s.store.GetInvitationByTokenHash(ctx, hash)
	if errors.Is(err, repository.ErrNotFound) {
		return inv, m, acct, gone("This invitation link is no longer valid: a newer link may have replaced it.", err)
	}
	if err != nil {
		return inv, m, acct, fmt.Errorf("find invitation: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(inv.TokenHash), []byte(hash)) != 1 {
		return inv, m, acct, gone("This invitation link is not valid.", errors.New("stored hash differs"))
	}
	switch {
	case !inv.AcceptedAt.IsZero():
		return inv, m, acct, &Error{Code: CodeInvitationGone,
			Message: "This invitation was already accepted: sign in instead. If you cannot, ask an administrator of your account for a new invitation."}
	case !inv.RevokedAt.IsZero():
		return inv, m, acct, gone("This invitation was revoked.", nil)
	case !s.now().Before(inv.ExpiresAt):
		return inv, m, acct, gone(fmt.Sprintf("This invitation expired on %s.", inv.ExpiresAt.UTC().Format("2 January 2006 at 15:04 UTC")), nil)
	}
	if acct, err = s.store.GetAccount(ctx, inv.AccountID); err != nil {
		if errors.Is(err, repository.ErrNotFound) {
			return inv, m, acct, gone("This invitation is no longer valid.", err)
		}
		return inv, m, acct, fmt.Errorf("find invitation: %w", err)
	}
	m, err = s.store.GetMember(ctx, inv.AccountID, inv.MemberID)
	if errors.Is(err, repository.ErrNotFound) {
		return inv, m, acct, gone("This invitation is no longer valid: the account it was for was removed.", err)
	}
	if err != nil {
		return inv, m, acct, fmt.Errorf("find invitation: %w", err)
	}
	if !m.Active || m.Status == repository.StatusDeactivated {
		return inv, m, acct, gone("This invitation is no longer valid: the account it was for was deactivated.", nil)
	}
	return inv, m, acct, nil
}

// AcceptInvitation accepts the invitation with link token: password
// becomes the member's password (CheckNewPassword rules) and the member
// becomes active. The link then dies. A member flagged external SSO gets
// CodeSSORequired: it accepts through SSO. requestID goes into the audit
// events, whose actor is the member itself.
func (s *Service) AcceptInvitation(ctx context.Context, token, password, requestID string) (repository.Member, error) {
	inv, m, _, err := s.liveInvitation(ctx, token)
	if err != nil {
		return repository.Member{}, err
	}
	if m.Profile.ExternalSSO {
		return repository.Member{}, ssoRequired()
	}
	if err := CheckNewPassword(password, m); err != nil {
		return repository.Member{}, err
	}
	// Hashing is slow on purpose; it runs before the transaction so the
	// store's write lock is not held meanwhile.
	hash, err := HashPassword(password)
	if err != nil {
		return repository.Member{}, err
	}
	actor := Actor{Kind: repository.ActorMember, ID: m.ID, RequestID: requestID}
	return s.accept(ctx, actor, inv, func(cur *repository.Member) {
		cur.PasswordHash, cur.MustChangePassword = hash, false
	})
}

// ssoRequired is the refusal of a password for an external-SSO member.
func ssoRequired() error {
	return &Error{Code: CodeSSORequired, Attribute: "password",
		Message: "This account signs in through your company's single sign-on (SSO), so it has no password: sign in with your company's SSO to accept the invitation."}
}

// AcceptInvitationBySSO accepts the pending invitation of a member at its
// first SSO login: the SSO bridge calls it once the login resolved to
// memberID. The member becomes active; no password is set. A member with
// no pending invitation is returned unchanged, so the bridge may call it
// on every first login without checking first.
func (s *Service) AcceptInvitationBySSO(ctx context.Context, accountID, memberID string) (repository.Member, error) {
	invs, err := s.store.ListInvitations(ctx, accountID)
	if err != nil {
		return repository.Member{}, fmt.Errorf("accept invitation by SSO: %w", err)
	}
	for _, inv := range invs {
		if inv.MemberID != memberID {
			continue
		}
		actor := Actor{Kind: repository.ActorMember, ID: memberID}
		return s.accept(ctx, actor, inv, func(*repository.Member) {})
	}
	m, err := s.store.GetMember(ctx, accountID, memberID)
	if err != nil {
		return repository.Member{}, fmt.Errorf("accept invitation by SSO: %w", err)
	}
	return m, nil
}

// accept closes inv as accepted and activates its member, applying set to
// it, in one transaction. The invitation is closed with a compare-and-swap
// first, so of two accepts racing only one wins.
func (s *Service) accept(ctx context.Context, actor Actor, inv repository.Invitation, set func(*repository.Member)) (repository.Member, error) {
	var out repository.Member
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now().UTC()
		accepted, err := s.store.UpdateInvitation(ctx, inv.AccountID, inv.ID, func(cur repository.Invitation) (repository.Invitation, error) {
			if cur.TokenHash != inv.TokenHash || !cur.AcceptedAt.IsZero() || !cur.RevokedAt.IsZero() {
				return cur, &Error{Code: CodeInvitationGone,
					Message: "This invitation link was used or replaced a moment ago. " + goneAsk}
			}
			cur.AcceptedAt = now
			return cur, nil
		})
		if err != nil {
			if AsError(err) != nil {
				return err
			}
			return fmt.Errorf("accept invitation: %w", err)
		}
		var before repository.Member
		out, err = s.store.UpdateMember(ctx, inv.AccountID, inv.MemberID, func(cur repository.Member) (repository.Member, error) {
			before = cloneMember(cur)
			if !cur.Active || cur.Status == repository.StatusDeactivated {
				return cur, &Error{Code: CodeInvitationGone,
					Message: "This invitation is no longer valid: the account it was for was deactivated. " + goneAsk}
			}
			cur.Status = repository.StatusActive
			set(&cur)
			return cur, nil
		})
		if err != nil {
			if AsError(err) != nil {
				return err
			}
			return fmt.Errorf("accept invitation: %w", err)
		}
		if err := s.auditChange(ctx, actor, inv.AccountID, "member.update", "member", out.ID,
			memberView(&before), memberView(&out)); err != nil {
			return err
		}
		return s.audit(ctx, actor, inv.AccountID, "invitation.accept", "invitation", inv.ID,
			invitationView(accepted, recipientOf(out)))
	})
	if err != nil {
		return repository.Member{}, err
	}
	return out, nil
}

// InvitationLinkToken returns the token of an invitation link URL (or the
// token itself), for callers that were handed a whole link.
func InvitationLinkToken(link string) string {
	link = strings.TrimSpace(link)
	if u, err := url.Parse(link); err == nil && strings.Contains(u.Path, invitePath) {
		return strings.Trim(u.Path[strings.LastIndex(u.Path, invitePath)+len(invitePath):], "/")
	}
	return link
}
