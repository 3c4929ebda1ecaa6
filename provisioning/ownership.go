package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rosterhq/roster/repository"
)

// Ownership.
//
// Every account has exactly one owner (Account.OwnerMemberID): an active
// administrator holding the administrator role in its own right (not only
// through a group mapping, which a group change could take away). The
// rules, enforced in the member write path whatever the door:
//   - nobody (no admin, no SCIM client, not the owner) can delete or
//     deactivate the owner or remove its administrator role: the error is
//     CodeOwnerProtected and says to transfer ownership first;
//   - the owner's profile and credentials change only through the owner's
//     own credentials: an admin-API actor other than the owner changing
//     the owner gets CodeOwnerProtected;
//   - SCIM may still update the owner's profile attributes (names,
//     emails, department, manager, ...): the IdP is the source of truth for
//     who the person is, and refusing its pushes would fail every sync of
//     the owner. It may not set the owner's password (a credential), nor
//     deactivate, delete or demote the owner (the points above).
//   - ownership transfers, by the owner (or the system), only to an active
//     administrator; the former owner stays an administrator.
//
// Concurrency: a transfer to Y racing a deactivation (deletion, demotion)
// of Y must not leave an inactive owner, and two transfers must not both
// win.
//   - On SQLite, InTx is one IMMEDIATE transaction: writers are serialised
//     across processes, each sees the other's committed result.
//   - On MongoDB with transactions, a transfer writes the account AND the
//     new owner's member record (it makes sure the administrator role is
//     held directly, which bumps the record's version even when nothing
//     changes), and every deactivation, deletion or demotion of Y writes Y
//     after reading the account in the same transaction. The two write Y,
//     so MongoDB's write-conflict detection aborts one of them and runs it
//     again, and the retry sees the other's result. Two transfers both
//     write the account. Deactivations of ordinary members never write the
//     account document, so it does not become a hot spot.
//   - Without transactions (standalone MongoDB), the account document's
//     compare-and-swap is the guard. A transfer is one UpdateAccount whose
//     update function reads Y afresh on every attempt, and the write
//     succeeds only if the account did not change since it was read. A
//     deactivation or demotion of Y first writes Y, then "touches" the
//     account with UpdateAccount, refusing when Y is its owner; if so, Y's
//     write is undone. Whichever account write comes second sees the
//     first: a transfer reading Y before Y's write fails its CAS (the touch
//     changed the version) and reads Y again; a touch after the transfer
//     sees Y as owner. A deletion first deactivates Y that way, then
//     deletes. (FerretDB does not make one document's compare-and-swap
//     atomic, so there these races are not guarded.)

// errSameOwner ends a transfer to the current owner without a write.
var errSameOwner = errors.New("already the owner")

// TransferOwnership makes toMemberID the account's owner. Only the current
// owner (an admin-API actor) or the system may transfer; the new owner
// must be an active administrator (status active, not only invited). The
// new owner is given the administrator role directly if it held it only
// through a group. The former owner stays an administrator.
func (s *Service) TransferOwnership(ctx context.Context, actor Actor, accountID, toMemberID string) (repository.Account, error) {
	var out repository.Account
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		from := ""
		acct, err := s.store.UpdateAccount(ctx, accountID, func(a repository.Account) (repository.Account, error) {
			from = a.OwnerMemberID
			owner := actor.Kind == repository.ActorMember && actor.ID == a.OwnerMemberID
			if !owner && actor.Kind != repository.ActorSystem {
				return a, &Error{Code: CodeOwnerOnly, Message: "only the account owner can transfer ownership"}
			}
			if toMemberID == a.OwnerMemberID {
				return a, errSameOwner
			}
			if err := s.checkNewOwner(ctx, accountID, toMemberID); err != nil {
				return a, err
			}
			a.OwnerMemberID = toMemberID
			return a, nil
		})
		if errors.Is(err, errSameOwner) {
			out, err = s.store.GetAccount(ctx, accountID)
			return err
		}
		if err != nil {
			return fmt.Errorf("transfer ownership: %w", err)
		}
		var before repository.Member
		updated, err := s.store.UpdateMember(ctx, accountID, toMemberID, func(cur repository.Member) (repository.Member, error) {
			before = cloneMember(cur)
			if !slices.Contains(cur.Roles, RoleAdministrator) {
				cur.Roles = append(cur.Roles, RoleAdministrator)
			}
			return cur, nil
		})
		if err != nil {
			return fmt.Errorf("transfer ownership: %w", err)
		}
		if !memberEqual(before, updated) {
			if err := s.auditChange(ctx, actor, accountID, "member.update", "member", toMemberID,
				memberView(&before), memberView(&updated)); err != nil {
				return err
			}
		}
		out = acct
		return s.audit(ctx, actor, accountID, "account.ownership.transfer", "account", accountID,
			map[string]fieldChange{"ownerMemberId": {Before: from, After: toMemberID}})
	})
	if err != nil {
		return repository.Account{}, err
	}
	return out, nil
}

// checkNewOwner checks that memberID may become the owner: an active
// administrator of the account.
func (s *Service) checkNewOwner(ctx context.Context, accountID, memberID string) error {
	m, err := s.store.GetMember(ctx, accountID, memberID)
	if errors.Is(err, repository.ErrNotFound) {
		return &Error{Code: CodeNotFound, Attribute: "memberId", Err: err,
			Message: fmt.Sprintf("no member of this account has the id %q", memberID)}
	}
	if err != nil {
		return err
	}
	if !m.Active || m.Status != repository.StatusActive {
		why := "is deactivated"
		if m.Status == repository.StatusInvited {
			why = "has not accepted the invitation yet"
		}
		return &Error{Code: CodeInvalidValue, Attribute: "memberId",
			Message: fmt.Sprintf("ownership transfers only to an active administrator: %s %s", describeMember(m), why)}
	}
	roles, err := s.effectiveRoleKeys(ctx, accountID, m)
	if err != nil {
		return err
	}
	if !slices.Contains(roles, RoleAdministrator) {
		return &Error{Code: CodeInvalidValue, Attribute: "memberId",
			Message: fmt.Sprintf("ownership transfers only to an active administrator: %s is not an administrator", describeMember(m))}
	}
	return nil
}

// Owner-protection errors.
func ownerProtected(format string, args ...any) *Error {
	return &Error{Code: CodeOwnerProtected, Message: fmt.Sprintf(format, args...)}
}

// ownerRules applies the owner's protections to a change of member before
// into after; changed names the attributes that differ.
func ownerRules(actor Actor, acct repository.Account, before *repository.Member, after repository.Member, changed []string) error {
	if before == nil || before.ID != acct.OwnerMemberID {
		return nil
	}
	switch {
	case !after.Active:
		return ownerProtected("the account owner cannot be deactivated: transfer ownership first")
	case !slices.Contains(after.Roles, RoleAdministrator):
		return ownerProtected("the administrator role cannot be removed from the account owner: transfer ownership first")
	case actor.Kind == repository.ActorMember && actor.ID != before.ID && len(changed) > 0:
		return ownerProtected("only the account owner can change the owner's profile and credentials (%s)", changed[0])
	case actor.Kind == repository.ActorSCIMToken && slices.Contains(changed, "password"):
		return ownerProtected("the account owner's password changes only through the owner's own sign-in, not through SCIM")
	}
	return nil
}

// guardNotOwner is the ownership guard of a store without transactions:
// a compare-and-swap "touch" of the account that fails when memberID is its
// owner, with refusal as the error. It runs after the member's write (see
// the comment at the top).
func (s *Service) guardNotOwner(ctx context.Context, accountID, memberID string, refusal *Error) error {
	_, err := s.store.UpdateAccount(ctx, accountID, func(a repository.Account) (repository.Account, error) {
		if a.OwnerMemberID == memberID {
			return a, refusal
		}
		return a, nil
	})
	if err != nil {
		var rule *Error
		if errors.As(err, &rule) {
			return rule
		}
		return fmt.Errorf("check owner: %w", err)
	}
	return nil
}
