package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// CreateAccount stores a new account; the name is unique ignoring case.
func (s *Store) CreateAccount(ctx context.Context, a repository.Account) (repository.Account, error) {
	if a.ID == "" {
		a.ID = repository.NewID()
	}
	t := now()
	a.Meta = repository.Meta{Version: 1, CreatedAt: t, UpdatedAt: t}
	doc := accountToDoc(a)
	if _, err := s.accounts.InsertOne(ctx, doc); err != nil {
		if isDup(err) {
			return repository.Account{}, fmt.Errorf("create account: %w", conflict(ctx, s.accounts, "account", accountKeys, doc, err))
		}
		return repository.Account{}, fmt.Errorf("create account: %w", err)
	}
	return doc.record(), nil
}

// GetAccount returns one account.
func (s *Store) GetAccount(ctx context.Context, id string) (repository.Account, error) {
	var d accountDoc
	if err := s.accounts.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		if isNoDocs(err) {
			return repository.Account{}, notFound("account", id)
		}
		return repository.Account{}, fmt.Errorf("get account: %w", err)
	}
	return d.record(), nil
}

// GetAccountByName finds an account by name, ignoring case (through the
// unique account_name index).
func (s *Store) GetAccountByName(ctx context.Context, name string) (repository.Account, error) {
	var d accountDoc
	if err := s.accounts.FindOne(ctx, bson.D{{Key: "nameLower", Value: fold(name)}}).Decode(&d); err != nil {
		if isNoDocs(err) {
			return repository.Account{}, notFound("account", name)
		}
		return repository.Account{}, fmt.Errorf("get account by name: %w", err)
	}
	return d.record(), nil
}

// UpdateAccount applies fn with a compare-and-swap on the version.
func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(repository.Account) (repository.Account, error)) (repository.Account, error) {
	load := func(ctx context.Context) (repository.Account, error) { return s.GetAccount(ctx, id) }
	write := func(ctx context.Context, cur, a repository.Account) (repository.Account, bool, error) {
		a.ID = id
		a.Meta = nextMeta(cur.Meta)
		doc := accountToDoc(a)
		res, err := s.accounts.ReplaceOne(ctx, byVersion(id, id, cur.Version), doc)
		if err != nil {
			if isDup(err) {
				return a, false, fmt.Errorf("update account: %w", conflict(ctx, s.accounts, "account", accountKeys, doc, err))
			}
			return a, false, fmt.Errorf("update account: %w", err)
		}
		return doc.record(), res.MatchedCount == 1, nil
	}
	a, err := casUpdate(ctx, load, fn, write)
	if err != nil {
		return repository.Account{}, wrapUpdate("account", err)
	}
	return a, nil
}

// DeleteAccount keeps an AccountDeletion, then removes every document of
// the account from every collection, credentials first (tokens, sessions,
// invitations, SSO) so nothing can act on the account while the rest goes,
// and the account itself last, so that a call interrupted half-way can
// simply be repeated. It does not use one transaction: an account can hold
// far more documents than a transaction should.
func (s *Store) DeleteAccount(ctx context.Context, id string, reason string) error {
	a, err := s.GetAccount(ctx, id)
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	del := deletionDoc{ID: id, AccountID: id, Name: a.Name, DeletedAt: now(), Reason: reason}
	if _, err := s.deletions.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, del, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("delete account: record deletion: %w", err)
	}
	owned := bson.D{{Key: "accountId", Value: id}}
	for _, coll := range []*mongo.Collection{
		s.tokens, s.sessions, s.invitations, s.links, s.ssoDomains, s.sso,
		s.seats, s.edges, s.groups, s.roles, s.members, s.audit, s.outbox,
	} {
		if _, err := coll.DeleteMany(ctx, owned); err != nil {
			return fmt.Errorf("delete account: %s: %w", coll.Name(), err)
		}
	}
	if _, err := s.accounts.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

// GetAccountDeletion returns what remains of a deleted account.
func (s *Store) GetAccountDeletion(ctx context.Context, id string) (repository.AccountDeletion, error) {
	var d deletionDoc
	if err := s.deletions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		if isNoDocs(err) {
			return repository.AccountDeletion{}, notFound("account deletion", id)
		}
		return repository.AccountDeletion{}, fmt.Errorf("get account deletion: %w", err)
	}
	return repository.AccountDeletion{AccountID: d.AccountID, Name: d.Name, DeletedAt: d.DeletedAt, Reason: d.Reason}, nil
}
