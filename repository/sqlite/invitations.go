package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rosterhq/roster/repository"
)

var (
	qInsertInvitation    = invitationTable.insertSQL()
	qInvitationCols      = invitationTable.selectList("")
	qGetInvitation       = "SELECT " + qInvitationCols + " FROM invitations WHERE account_id = ? AND id = ?"
	qGetInvitationByHash = "SELECT " + qInvitationCols + " FROM invitations WHERE token_hash = ? AND token_hash <> ''"
	qUpdateInvitation    = invitationTable.updateSQL("account_id = ? AND id = ? AND version = ?")
	qListOpenInvitations = "SELECT " + qInvitationCols + " FROM invitations WHERE account_id = ? AND accepted_at = 0 AND revoked_at = 0 ORDER BY created_at DESC, id DESC"
)

// CreateInvitation stores inv; a token hash already used is a conflict on
// "tokenHash".
func (s *Store) CreateInvitation(ctx context.Context, inv repository.Invitation) (repository.Invitation, error) {
	if inv.ID == "" {
		inv.ID = repository.NewID()
	}
	now := s.now()
	inv.Version, inv.CreatedAt, inv.UpdatedAt = 1, now, now
	if _, err := s.writer(ctx).exec(ctx, qInsertInvitation, invitationTable.args(&inv)...); err != nil {
		return repository.Invitation{}, mapErr("create invitation", err)
	}
	return inv, nil
}

// GetInvitation returns the invitation.
func (s *Store) GetInvitation(ctx context.Context, accountID, id string) (repository.Invitation, error) {
	inv, err := s.getInvitation(ctx, s.reader(ctx), qGetInvitation, accountID, id)
	return inv, wrap("get invitation", err)
}

// GetInvitationByTokenHash finds an invitation of any account by the hash of
// its link token.
func (s *Store) GetInvitationByTokenHash(ctx context.Context, hash string) (repository.Invitation, error) {
	inv, err := s.getInvitation(ctx, s.reader(ctx), qGetInvitationByHash, hash)
	return inv, wrap("get invitation by token", err)
}

func (s *Store) getInvitation(ctx context.Context, h handle, query string, args ...any) (repository.Invitation, error) {
	var inv repository.Invitation
	err := h.queryRow(ctx, invitationTable.dests(&inv), query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return inv, repository.ErrNotFound
	}
	return inv, err
}

// UpdateInvitation applies fn with a compare-and-swap on Version.
func (s *Store) UpdateInvitation(ctx context.Context, accountID, id string, fn func(repository.Invitation) (repository.Invitation, error)) (repository.Invitation, error) {
	var out repository.Invitation
	err := s.update(ctx, "update invitation", func(ctx context.Context) (bool, error) {
		old, err := s.getInvitation(ctx, s.reader(ctx), qGetInvitation, accountID, id)
		if err != nil {
			return false, wrap("update invitation", err)
		}
		next, err := fn(old)
		if err != nil {
			return false, err
		}
		next.AccountID, next.ID, next.CreatedAt = old.AccountID, old.ID, old.CreatedAt
		next.Version, next.UpdatedAt = old.Version+1, s.nextUpdate(old.UpdatedAt)
		n, err := affected(s.writer(ctx).exec(ctx, qUpdateInvitation, invitationTable.updateArgs(&next, accountID, id, old.Version)...))
		if err != nil {
			return false, mapErr("update invitation", err)
		}
		out = next
		return n == 1, nil
	})
	if err != nil {
		return repository.Invitation{}, err
	}
	return out, nil
}

// ListInvitations lists invitations neither accepted nor revoked, newest
// first.
func (s *Store) ListInvitations(ctx context.Context, accountID string) ([]repository.Invitation, error) {
	rows, err := s.reader(ctx).query(ctx, qListOpenInvitations, accountID)
	if err != nil {
		return nil, wrap("list invitations", err)
	}
	defer rows.Close()
	var out []repository.Invitation
	for rows.Next() {
		var inv repository.Invitation
		if err := rows.Scan(invitationTable.dests(&inv)...); err != nil {
			return nil, wrap("list invitations", err)
		}
		out = append(out, inv)
	}
	return out, wrap("list invitations", rows.Err())
}
