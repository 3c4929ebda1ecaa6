package provisioning

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/repository"
)

// Password login.
//
// Members who accepted an invitation with a password (or got a temporary
// one from an admin) sign in with their email and password. Members flagged
// external SSO have no password and sign in through their company's IdP.
//
// Every refusal of a credential — unknown account or email, wrong
// password, external-SSO member, member without a password — is the same
// CodeUnauthenticated error, and costs the same bcrypt comparison (against
// a dummy hash when there is no real one), so neither the answer nor its
// timing tells whether an address has a member.
//
// Guessing is slowed per (account, email) and per client IP, across
// instances (the store's ThrottleStore): after emailFreeFailures failures
// within throttleWindow an address waits 1 s before the next attempt, then
// 2 s, 4 s, … up to maxLockout; an IP gets ipFreeFailures failures first
// (one office behind one NAT address mistypes more than one person). A
// locked attempt is CodeRateLimited with RetryAfter and checks nothing.

// Throttle settings of password login.
const (
	throttleWindow    = 15 * time.Minute
	emailFreeFailures = 5
	ipFreeFailures    = 50
	firstLockout      = time.Second
	maxLockout        = 15 * time.Minute
)

// dummyPasswordHash is a bcrypt hash (default cost) of a random password
// nobody knows: compared against when there is no real hash, so a refusal
// takes as long as a wrong password.
const dummyPasswordHash = "$2a$10$32oriOf5RdCq5D0NKCWzOuSGn1ZPTVQ5KGIp7BIIAUHg..ZLeSfz6"

// badCredentials is the one refusal of a credential.
func badCredentials(reason string) error {
	return &Error{Code: CodeUnauthenticated, Message: "the email address or password is not correct",
		Err: errors.New(reason)}
}

// PasswordLogin checks a password login to the account accountRef (its id,
// or its name when the store implements AccountNameFinder) and returns the
// member. ip is the client's address ("" skips the per-IP throttle).
// Refusals: CodeUnauthenticated (one message for every reason),
// CodeRateLimited with RetryAfter (too many failures), CodeMemberInactive
// (a deactivated member, said only after a correct password).
func (s *Service) PasswordLogin(ctx context.Context, accountRef, email, password, ip string) (repository.Member, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	accountRef = strings.TrimSpace(accountRef)
	if email == "" || password == "" || accountRef == "" || len(email) > maxEmailLen || len(password) > maxPasswordBytes {
		return repository.Member{}, badCredentials("empty or oversized field")
	}
	acct, err := s.loginAccount(ctx, accountRef)
	if err != nil {
		return repository.Member{}, err
	}
	acctKey := "?" + strings.ToLower(accountRef) // an unknown account is throttled too
	if acct.ID != "" {
		acctKey = acct.ID
	}
	keys := []throttleKey{{key: "pwlogin:email:" + HashToken(acctKey+"\x00"+email), free: emailFreeFailures}}
	if ip = strings.TrimSpace(ip); ip != "" {
		keys = append(keys, throttleKey{key: "pwlogin:ip:" + ip, free: ipFreeFailures})
	}
	now := s.now().UTC()
	if err := s.checkThrottle(ctx, now, "failed sign-in attempts", keys...); err != nil {
		return repository.Member{}, err
	}

	var m repository.Member
	reason := ""
	if acct.ID == "" {
		reason = "unknown account"
	} else if m, err = s.memberForLogin(ctx, acct.ID, email); err != nil {
		return repository.Member{}, err
	}
	switch {
	case reason != "":
	case m.ID == "":
		reason = "unknown email"
	case m.Profile.ExternalSSO:
		reason = "member " + m.ID + " signs in through SSO only"
	case m.PasswordHash == "":
		reason = "member " + m.ID + " has no password"
	}
	hash := m.PasswordHash
	if reason != "" {
		hash = s.dummyPasswordHash
	}
	// Always one bcrypt comparison, whatever the reason, so the time taken
	// does not tell which.
	if !CheckPassword(hash, password) && reason == "" {
		reason = "wrong password for member " + m.ID
	}
	if reason != "" {
		if err := s.recordFailure(ctx, now, keys...); err != nil {
			return repository.Member{}, fmt.Errorf("password login: %w", err)
		}
		return repository.Member{}, badCredentials(reason)
	}
	if err := s.store.ClearFailures(ctx, keys[0].key); err != nil {
		return repository.Member{}, fmt.Errorf("password login: clear failures: %w", err)
	}
	if !m.Active || m.Status != repository.StatusActive {
		return repository.Member{}, memberInactive(m.ID)
	}
	return m, nil
}

// throttleKey is one throttled dimension of a login and its free failures.
type throttleKey struct {
	key  string
	free int
}

// checkThrottle refuses, as rate limited, an attempt any of keys is locked
// out of at now; what names the attempts counted ("failed sign-in
// attempts").
func (s *Service) checkThrottle(ctx context.Context, now time.Time, what string, keys ...throttleKey) error {
	for _, k := range keys {
		if wait, err := s.lockedFor(ctx, k, now); err != nil {
			return err
		} else if wait > 0 {
			return &Error{Code: CodeRateLimited, RetryAfter: wait,
				Message: fmt.Sprintf("too many %s: try again in %s", what, roundUp(wait))}
		}
	}
	return nil
}

// recordFailure counts a failed attempt at now against each of keys.
func (s *Service) recordFailure(ctx context.Context, now time.Time, keys ...throttleKey) error {
	for _, k := range keys {
		if _, err := s.store.RecordFailure(ctx, k.key, now, throttleWindow); err != nil {
			return fmt.Errorf("record failure: %w", err)
		}
	}
	return nil
}

// lockedFor returns how long k must still wait at now (0: not locked).
func (s *Service) lockedFor(ctx context.Context, k throttleKey, now time.Time) (time.Duration, error) {
	n, last, err := s.store.Failures(ctx, k.key, now, throttleWindow)
	if err != nil {
		return 0, fmt.Errorf("password login: failures: %w", err)
	}
	if n < k.free {
		return 0, nil
	}
	wait := maxLockout
	if shift := n - k.free; shift < 30 {
		wait = min(firstLockout<<shift, maxLockout)
	}
	if until := last.Add(wait); now.Before(until) {
		return until.Sub(now), nil
	}
	return 0, nil
}

// roundUp renders a wait in whole seconds, at least one.
func roundUp(d time.Duration) time.Duration {
	return max(((d+time.Second-1)/time.Second)*time.Second, time.Second)
}

// loginAccount finds the account of a login by id, else by name. An
// unknown account is the zero Account, not an error, so that it is
// refused like an unknown email.
func (s *Service) loginAccount(ctx context.Context, ref string) (repository.Account, error) {
	acct, err := s.store.GetAccount(ctx, ref)
	if err == nil {
		return acct, nil
	}
	if !errors.Is(err, repository.ErrNotFound) {
		return repository.Account{}, fmt.Errorf("password login: account: %w", err)
	}
	acct, err = s.store.GetAccountByName(ctx, ref)
	if errors.Is(err, repository.ErrNotFound) {
		return repository.Account{}, nil
	}
	if err != nil {
		return repository.Account{}, fmt.Errorf("password login: account: %w", err)
	}
	return acct, nil
}

// memberForLogin finds the member signing in with email: by userName,
// else by the one member using it as an email (none when several do).
func (s *Service) memberForLogin(ctx context.Context, accountID, email string) (repository.Member, error) {
	cands, err := s.membersByEmail(ctx, accountID, email)
	if err != nil {
		return repository.Member{}, fmt.Errorf("password login: %w", err)
	}
	for _, c := range cands {
		if strings.EqualFold(c.UserName, email) {
			return c, nil
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	return repository.Member{}, nil
}

// SessionMayAct reports whether a session of m may do more than show
// itself, sign out and change the password: a member signed in with a
// temporary password (MustChangePassword) must choose its own first.
func SessionMayAct(m repository.Member) error {
	if m.MustChangePassword {
		return &Error{Code: CodeForbidden,
			Message: "choose your own password first: POST /auth/password with currentPassword (the temporary one) and newPassword"}
	}
	return nil
}

// ChangePassword sets a new password for a member who proves the current
// one: how a member signed in with a temporary password (MustChangePassword)
// chooses their own. The new one follows the password rules; the change is
// audited with the member as actor. A wrong current password is the one
// generic refusal of password logins.
func (s *Service) ChangePassword(ctx context.Context, accountID, memberID, current, next, requestID string) error {
	m, err := s.store.GetMember(ctx, accountID, memberID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if m.Profile.ExternalSSO {
		return ssoRequired()
	}
	// Guessing the current password from a stolen session is throttled
	// like a login.
	k := throttleKey{key: "pwchange:" + m.ID, free: emailFreeFailures}
	now := s.now().UTC()
	if err := s.checkThrottle(ctx, now, "wrong current passwords", k); err != nil {
		return err
	}
	if !CheckPassword(m.PasswordHash, current) {
		if err := s.recordFailure(ctx, now, k); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		return &Error{Code: CodeForbidden, Attribute: "currentPassword", Message: "the current password is not correct",
			Err: errors.New("change password: wrong current password for member " + m.ID)}
	}
	if current == next {
		return &Error{Code: CodeInvalidValue, Attribute: "newPassword", Message: "the new password must differ from the current one"}
	}
	if err := CheckNewPassword(next, m); err != nil {
		return err
	}
	// Hashing is slow on purpose; it runs before the write.
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	actor := Actor{Kind: repository.ActorMember, ID: m.ID, RequestID: requestID}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.UpdateMember(ctx, accountID, memberID, func(cur repository.Member) (repository.Member, error) {
			if cur.PasswordHash != m.PasswordHash {
				// Changed meanwhile: the current password proven is stale.
				return cur, badCredentials("change password: changed concurrently")
			}
			cur.PasswordHash, cur.MustChangePassword = hash, false
			return cur, nil
		}); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		return s.audit(ctx, actor, accountID, "member.password_change", "member", memberID,
			map[string]any{"mustChangePassword": []bool{m.MustChangePassword, false}})
	})
	if err != nil {
		return err
	}
	if err := s.store.ClearFailures(ctx, k.key); err != nil {
		return fmt.Errorf("change password: clear failures: %w", err)
	}
	return nil
}
