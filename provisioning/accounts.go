package provisioning

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/rosterhq/roster/repository"
)

// DefaultInvitationTTL is how long an invitation link works unless the
// account says otherwise (the seeds: "only valid for 7 days").
const DefaultInvitationTTL = 7 * 24 * time.Hour

// Limits of account input.
const (
	maxAccountNameLen = 100
	maxEmailLen       = 254 // RFC 5321 path limit
	maxSeats          = 1_000_000
)

// CreateAccountInput is what creating an account needs.
type CreateAccountInput struct {
	// Name is the account's unique name (any case).
	Name string
	// OwnerEmail is the first administrator and owner; their userName.
	OwnerEmail string
	// OwnerGivenName and OwnerFamilyName are optional.
	OwnerGivenName  string
	OwnerFamilyName string
	// Seats is the number of agent seats bought (named policy).
	Seats int
	// BaseURL is Roster's public base URL; the invitation link starts
	// with it.
	BaseURL string
}

// CreatedAccount is a new account with the secrets that exist only now:
// the tokens and the invitation link are shown once and stored hashed.
type CreatedAccount struct {
	Account repository.Account
	Owner   repository.Member
	// SCIMToken authenticates the account's identity provider.
	SCIMToken string
	// APIToken is the owner's admin-API token.
	APIToken string
	// OwnerInvitationURL lets the owner accept the invitation and set a
	// password.
	OwnerInvitationURL string
}

// CreateAccount creates an account with its built-in roles, its owner (an
// invited administrator), a SCIM token, the owner's API token and the
// owner's invitation. On a transactional store it all commits or nothing
// does; elsewhere a failure after the account was created leaves it
// partial, and the error says so through its cause.
func (s *Service) CreateAccount(ctx context.Context, in CreateAccountInput) (CreatedAccount, error) {
	name, err := validateAccountName(in.Name)
	if err != nil {
		return CreatedAccount{}, err
	}
	email, err := validateEmail("ownerEmail", in.OwnerEmail)
	if err != nil {
		return CreatedAccount{}, err
	}
	if in.Seats < 0 || in.Seats > maxSeats {
		return CreatedAccount{}, &Error{Code: CodeInvalidValue, Attribute: "seats",
			Message: fmt.Sprintf("seats must be between 0 and %d, got %d", maxSeats, in.Seats)}
	}
	baseURL, err := validateBaseURL(in.BaseURL)
	if err != nil {
		return CreatedAccount{}, err
	}
	given := strings.TrimSpace(in.OwnerGivenName)
	family := strings.TrimSpace(in.OwnerFamilyName)

	var out CreatedAccount
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now().UTC()
		acct, err := s.store.CreateAccount(ctx, repository.Account{
			ID:     repository.NewID(),
			Name:   name,
			Status: repository.AccountActive,
			Seats: repository.SeatSettings{
				Policy:     repository.SeatPolicyNamed,
				Total:      in.Seats,
				Exhaustion: repository.SeatExhaustionQueue,
			},
			Settings: repository.AccountSettings{
				InvitationTTL:  DefaultInvitationTTL,
				DefaultRoleKey: RoleAgent,
			},
		})
		if err != nil {
			var c *repository.ConflictError
			if errors.As(err, &c) {
				return &Error{Code: CodeConflict, Attribute: "name",
					Message: fmt.Sprintf("an account named %q already exists", name), Err: err}
			}
			return fmt.Errorf("create account: %w", err)
		}
		for _, r := range BuiltInRoles(acct.ID) {
			if _, err := s.store.CreateRole(ctx, r); err != nil {
				return fmt.Errorf("seed role %s: %w", r.Key, err)
			}
		}

		owner, err := s.store.CreateMember(ctx, repository.Member{
			AccountID:   acct.ID,
			ID:          repository.NewID(),
			UserName:    strings.ToLower(email),
			Name:        repository.Name{GivenName: given, FamilyName: family, Formatted: strings.TrimSpace(given + " " + family)},
			DisplayName: strings.TrimSpace(given + " " + family),
			Emails:      []repository.Email{{Value: email, Type: "work", Primary: true}},
			// Active is what SCIM shows: the owner may sign in once the
			// invitation is accepted. Status says it is still pending.
			Active:     true,
			Status:     repository.StatusInvited,
			Source:     repository.SourceAdmin,
			Roles:      []string{RoleAdministrator},
			SeatStatus: repository.SeatNone, // administrator uses no agent seat
		})
		if err != nil {
			return fmt.Errorf("create owner: %w", err)
		}
		acct, err = s.store.UpdateAccount(ctx, acct.ID, func(a repository.Account) (repository.Account, error) {
			a.OwnerMemberID = owner.ID
			return a, nil
		})
		if err != nil {
			return fmt.Errorf("set owner: %w", err)
		}

		scimToken, scim, err := s.MintToken(ctx, acct.ID, repository.TokenSCIM, "Initial SCIM token", "")
		if err != nil {
			return err
		}
		apiToken, api, err := s.MintToken(ctx, acct.ID, repository.TokenAPI, "Owner API token", owner.ID)
		if err != nil {
			return err
		}

		link, err := newSecret()
		if err != nil {
			return fmt.Errorf("create owner invitation: %w", err)
		}
		inv, err := s.store.CreateInvitation(ctx, repository.Invitation{
			AccountID: acct.ID,
			ID:        repository.NewID(),
			MemberID:  owner.ID,
			TokenHash: HashToken(link),
			ExpiresAt: now.Add(acct.Settings.InvitationTTL),
		})
		if err != nil {
			return fmt.Errorf("create owner invitation: %w", err)
		}

		// The audit diff names the secrets' records, never the secrets.
		if err := s.auditChange(ctx, Actor{Kind: repository.ActorSystem}, acct.ID, "account.create", "account", acct.ID,
			nil, map[string]any{
				"name": acct.Name, "seats": acct.Seats.Total, "ownerMemberId": owner.ID,
				"ownerUserName": owner.UserName, "scimTokenId": scim.ID, "apiTokenId": api.ID,
				"invitationId": inv.ID,
			}); err != nil {
			return err
		}

		out = CreatedAccount{
			Account:            acct,
			Owner:              owner,
			SCIMToken:          scimToken,
			APIToken:           apiToken,
			OwnerInvitationURL: baseURL + "/invite/" + link,
		}
		return nil
	})
	if err != nil {
		return CreatedAccount{}, err
	}
	return out, nil
}

// validateAccountName trims name and checks it is 1 to 100 printable
// characters.
func validateAccountName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", &Error{Code: CodeInvalidValue, Attribute: "name", Message: "the account name must not be empty"}
	case len([]rune(name)) > maxAccountNameLen:
		return "", &Error{Code: CodeInvalidValue, Attribute: "name",
			Message: fmt.Sprintf("the account name must be at most %d characters", maxAccountNameLen)}
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0:
		return "", &Error{Code: CodeInvalidValue, Attribute: "name",
			Message: "the account name must not contain control characters"}
	}
	return name, nil
}

// validateEmail checks that s is one bare email address (no display name,
// no list) whose domain has a dot, and returns it trimmed.
func validateEmail(attr, s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (string, error) {
		return "", &Error{Code: CodeInvalidValue, Attribute: attr,
			Message: fmt.Sprintf("%s %q is not a valid email address: %s", attr, s, why)}
	}
	if s == "" {
		return "", &Error{Code: CodeInvalidValue, Attribute: attr, Message: attr + " must not be empty"}
	}
	if len(s) > maxEmailLen {
		return bad(fmt.Sprintf("longer than %d characters", maxEmailLen))
	}
	addr, err := mail.ParseAddress(s)
	if err != nil {
		return bad("expected one address like name@example.com")
	}
	if addr.Name != "" || addr.Address != s {
		return bad("give the bare address, like name@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.HasPrefix(domain, "[") {
		return bad("the domain must be a name like example.com")
	}
	return s, nil
}

// validateBaseURL checks Roster's public base URL and returns it without
// a trailing slash.
func validateBaseURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", &Error{Code: CodeInvalidValue, Attribute: "baseURL",
			Message: fmt.Sprintf("base URL %q must be an absolute http:// or https:// URL", s)}
	}
	return strings.TrimRight(strings.TrimSpace(s), "/"), nil
}
