package provisioning

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/repository"
)

// Account deletion.
//
// Only the owner deletes the account, in two steps: a request emails the
// owner a 6-digit code (crypto/rand) that works for 15 minutes; the
// confirmation with that code (and an optional reason) removes every
// record of the account through the store's DeleteAccount — members,
// roles, groups, seats, invitations, tokens, sessions, SSO connections,
// audit events, outbox — which leaves only a minimal AccountDeletion
// (name, time, reason). Every token and session dies with its record.
//
// The code is stored only as a salted hash on the account
// (Account.Deletion). Five wrong codes kill it: a 6-digit code must not be
// guessable by trying. Wrong attempts are counted by a compare-and-swap on
// the account, outside any transaction that the refusal would roll back.

// Codes of account deletion.
const (
	// CodeInvalidCode means a confirmation code is wrong, expired or was
	// never requested; the message says how many attempts are left.
	CodeInvalidCode Code = "invalid_code"
	// CodeTooManyAttempts means too many wrong codes were entered; the
	// code is dead and a new one must be requested.
	CodeTooManyAttempts Code = "too_many_attempts"
)

// Deletion code rules.
const (
	deletionCodeDigits   = 6
	deletionCodeTTL      = 15 * time.Minute
	maxDeletionAttempts  = 5
	deletionCodeInterval = time.Minute // between two requests
	maxDeletionReason    = 1000
)

// DeletionRequest is a deletion code sent to the owner.
type DeletionRequest struct {
	// SentTo is the owner's address the code went to.
	SentTo    string
	ExpiresAt time.Time
}

// RequestAccountDeletion emails the owner a code that confirms deleting
// the account. Only the owner may ask (CodeOwnerOnly). A new request
// replaces the previous code; requests are limited to one a minute.
func (s *Service) RequestAccountDeletion(ctx context.Context, actor Actor, accountID string) (DeletionRequest, error) {
	code, err := newDeletionCode()
	if err != nil {
		return DeletionRequest{}, fmt.Errorf("request account deletion: %w", err)
	}
	salt, err := newSecret()
	if err != nil {
		return DeletionRequest{}, fmt.Errorf("request account deletion: %w", err)
	}
	var out DeletionRequest
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now().UTC()
		var owner repository.Member
		acct, err := s.store.UpdateAccount(ctx, accountID, func(a repository.Account) (repository.Account, error) {
			if err := ownerOnly(actor, a); err != nil {
				return a, err
			}
			if d := a.Deletion; d.CodeHash != "" && now.Before(d.ExpiresAt) &&
				now.Sub(d.ExpiresAt.Add(-deletionCodeTTL)) < deletionCodeInterval {
				return a, &Error{Code: CodeRateLimited,
					Message: "a deletion code was sent less than a minute ago: check your email, or try again in a minute"}
			}
			a.Deletion = repository.DeletionChallenge{
				CodeHash:  salt + "$" + HashToken(salt+code),
				ExpiresAt: now.Add(deletionCodeTTL),
			}
			return a, nil
		})
		if err != nil {
			if AsError(err) != nil {
				return err
			}
			return fmt.Errorf("request account deletion: %w", err)
		}
		if owner, err = s.store.GetMember(ctx, accountID, acct.OwnerMemberID); err != nil {
			return fmt.Errorf("request account deletion: owner: %w", err)
		}
		to := recipientOf(owner)
		if err := s.audit(ctx, actor, accountID, "account.deletion.request", "account", accountID,
			map[string]any{"sentTo": to, "expiresAt": acct.Deletion.ExpiresAt}); err != nil {
			return err
		}
		data := mail.AccountDeletionCodeData{AccountName: acct.Name, RequesterName: nameOf(owner),
			Code: code, ExpiresInMinutes: int(deletionCodeTTL / time.Minute)}
		key := mail.TemplateAccountDeletionCode + ":" + accountID + ":" + HashToken(acct.Deletion.CodeHash)[:16]
		if err := s.enqueueEmail(ctx, accountID, key, to, mail.TemplateAccountDeletionCode, data); err != nil {
			return err
		}
		out = DeletionRequest{SentTo: to, ExpiresAt: acct.Deletion.ExpiresAt}
		return nil
	})
	if err != nil {
		return DeletionRequest{}, err
	}
	return out, nil
}

// ConfirmAccountDeletion deletes the account when code is the one last
// emailed to the owner and still valid. Only the owner may confirm
// (CodeOwnerOnly). A wrong code is CodeInvalidCode saying how many
// attempts are left; the fifth wrong one kills the code
// (CodeTooManyAttempts). reason is kept in the deletion record.
func (s *Service) ConfirmAccountDeletion(ctx context.Context, actor Actor, accountID, code, reason string) (repository.AccountDeletion, error) {
	code = strings.TrimSpace(code)
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > maxDeletionReason {
		return repository.AccountDeletion{}, &Error{Code: CodeInvalidValue, Attribute: "reason",
			Message: fmt.Sprintf("the reason must be at most %d characters", maxDeletionReason)}
	}
	var verdict error
	now := s.now().UTC()
	// The attempt is recorded whatever the verdict, so this write is not
	// inside a transaction the refusal would roll back.
	_, err := s.store.UpdateAccount(ctx, accountID, func(a repository.Account) (repository.Account, error) {
		verdict = nil
		if err := ownerOnly(actor, a); err != nil {
			return a, err
		}
		d := a.Deletion
		switch {
		case d.CodeHash == "":
			return a, &Error{Code: CodeInvalidCode, Attribute: "code",
				Message: "no deletion code is pending: request one with POST /account/deletion first"}
		case !now.Before(d.ExpiresAt):
			a.Deletion = repository.DeletionChallenge{}
			verdict = &Error{Code: CodeInvalidCode, Attribute: "code",
				Message: "the deletion code expired: request a new one"}
			return a, nil
		}
		if deletionCodeMatches(d.CodeHash, code) {
			// Used once: a replayed confirmation finds no code.
			a.Deletion = repository.DeletionChallenge{}
			return a, nil
		}
		a.Deletion.Attempts++
		left := maxDeletionAttempts - a.Deletion.Attempts
		if left <= 0 {
			a.Deletion = repository.DeletionChallenge{}
			verdict = &Error{Code: CodeTooManyAttempts, Attribute: "code",
				Message: fmt.Sprintf("%d wrong codes: the deletion code no longer works; request a new one", maxDeletionAttempts)}
			return a, nil
		}
		verdict = &Error{Code: CodeInvalidCode, Attribute: "code",
			Message: fmt.Sprintf("the deletion code is wrong: %d %s left", left, plural(left, "attempt", "attempts"))}
		return a, nil
	})
	if err != nil {
		if AsError(err) != nil {
			return repository.AccountDeletion{}, err
		}
		return repository.AccountDeletion{}, fmt.Errorf("confirm account deletion: %w", err)
	}
	if verdict != nil {
		return repository.AccountDeletion{}, verdict
	}
	err = s.store.DeleteAccount(ctx, accountID, reason)
	s.tokens.invalidate() // the account's tokens are gone with it
	if err != nil {
		return repository.AccountDeletion{}, fmt.Errorf("delete account: %w", err)
	}
	del, err := s.store.GetAccountDeletion(ctx, accountID)
	if err != nil {
		return repository.AccountDeletion{}, fmt.Errorf("delete account: %w", err)
	}
	return del, nil
}

// ownerOnly refuses anyone but the account's owner.
func ownerOnly(actor Actor, a repository.Account) error {
	if actor.Kind == repository.ActorMember && actor.ID == a.OwnerMemberID && a.OwnerMemberID != "" {
		return nil
	}
	return &Error{Code: CodeOwnerOnly, Message: "only the account owner can delete the account"}
}

// newDeletionCode returns a uniformly random 6-digit code.
func newDeletionCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("read random code: %w", err)
	}
	return fmt.Sprintf("%0*d", deletionCodeDigits, n.Int64()), nil
}

// deletionCodeMatches compares code with a stored "salt$hash" in
// constant time.
func deletionCodeMatches(stored, code string) bool {
	salt, hash, found := strings.Cut(stored, "$")
	if !found || len(code) != deletionCodeDigits {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashToken(salt+code)), []byte(hash)) == 1
}
