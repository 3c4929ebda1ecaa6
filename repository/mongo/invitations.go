package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// CreateInvitation stores inv; its token hash is unique across the
// deployment.
func (s *Store) CreateInvitation(ctx context.Context, inv repository.Invitation) (repository.Invitation, error) {
	if inv.ID == "" {
		inv.ID = repository.NewID()
	}
	t := now()
	inv.Meta = repository.Meta{Version: 1, CreatedAt: t, UpdatedAt: t}
	doc := invitationToDoc(inv)
	if _, err := s.invitations.InsertOne(ctx, doc); err != nil {
		if isDup(err) {
			return repository.Invitation{}, fmt.Errorf("create invitation: %w", conflict(ctx, s.invitations, "invitation", invitationKeys, doc, err))
		}
		return repository.Invitation{}, fmt.Errorf("create invitation: %w", err)
	}
	return doc.record(), nil
}

func (s *Store) findInvitation(ctx context.Context, filter bson.D, what string) (repository.Invitation, error) {
	var d invitationDoc
	if err := s.invitations.FindOne(ctx, filter).Decode(&d); err != nil {
		if isNoDocs(err) {
			return repository.Invitation{}, notFound("invitation", what)
		}
		return repository.Invitation{}, fmt.Errorf("get invitation: %w", err)
	}
	return d.record(), nil
}

// GetInvitation returns one invitation of the account.
func (s *Store) GetInvitation(ctx context.Context, accountID, id string) (repository.Invitation, error) {
	var d invitationDoc
	ok, err := s.findOwned(ctx, s.invitations, accountID, id, &d)
	if err != nil {
		return repository.Invitation{}, fmt.Errorf("get invitation: %w", err)
	}
	if !ok {
		return repository.Invitation{}, notFound("invitation", id)
	}
	return d.record(), nil
}

// GetInvitationByTokenHash finds an invitation of any account by its link
// token's hash.
func (s *Store) GetInvitationByTokenHash(ctx context.Context, hash string) (repository.Invitation, error) {
	if hash == "" {
		return repository.Invitation{}, notFound("invitation", "with empty token hash")
	}
	return s.findInvitation(ctx, bson.D{{Key: "tokenHashKey", Value: hash}}, "with that token")
}

// UpdateInvitation applies fn with a compare-and-swap on the version.
func (s *Store) UpdateInvitation(ctx context.Context, accountID, id string, fn func(repository.Invitation) (repository.Invitation, error)) (repository.Invitation, error) {
	load := func(ctx context.Context) (repository.Invitation, error) { return s.GetInvitation(ctx, accountID, id) }
	write := func(ctx context.Context, cur, inv repository.Invitation) (repository.Invitation, bool, error) {
		inv.AccountID, inv.ID = accountID, id
		inv.Meta = nextMeta(cur.Meta)
		doc := invitationToDoc(inv)
		res, err := s.invitations.ReplaceOne(ctx, byVersion(accountID, id, cur.Version), doc)
		if err != nil {
			if isDup(err) {
				return inv, false, fmt.Errorf("update invitation: %w", conflict(ctx, s.invitations, "invitation", invitationKeys, doc, err))
			}
			return inv, false, fmt.Errorf("update invitation: %w", err)
		}
		return doc.record(), res.MatchedCount == 1, nil
	}
	inv, err := casUpdate(ctx, load, fn, write)
	if err != nil {
		return repository.Invitation{}, wrapUpdate("invitation", err)
	}
	return inv, nil
}

// ListInvitations lists invitations neither accepted nor revoked, newest
// first.
func (s *Store) ListInvitations(ctx context.Context, accountID string) ([]repository.Invitation, error) {
	cur, err := s.invitations.Find(ctx,
		bson.D{{Key: "accountId", Value: accountID}, {Key: "open", Value: true}},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}))
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	var docs []invitationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	out := make([]repository.Invitation, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.record())
	}
	return out, nil
}
