package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// Roles are addressed by (account, key ignoring case); their _id is a
// private surrogate so that a key can change without moving the document.

func roleFilter(accountID, key string) bson.D {
	return bson.D{{Key: "accountId", Value: accountID}, {Key: "keyLower", Value: fold(key)}}
}

// CreateRole stores r; its key is unique in the account ignoring case.
func (s *Store) CreateRole(ctx context.Context, r repository.Role) (repository.Role, error) {
	t := now()
	r.Meta = repository.Meta{Version: 1, CreatedAt: t, UpdatedAt: t}
	doc := roleToDoc(repository.NewID(), r)
	if _, err := s.roles.InsertOne(ctx, doc); err != nil {
		if isDup(err) {
			return repository.Role{}, fmt.Errorf("create role: %w", conflict(ctx, s.roles, "role", roleKeys, doc, err))
		}
		return repository.Role{}, fmt.Errorf("create role: %w", err)
	}
	return doc.record(), nil
}

func (s *Store) getRoleDoc(ctx context.Context, accountID, key string) (roleDoc, error) {
	var d roleDoc
	if err := s.roles.FindOne(ctx, roleFilter(accountID, key)).Decode(&d); err != nil {
		if isNoDocs(err) {
			return roleDoc{}, notFound("role", key)
		}
		return roleDoc{}, fmt.Errorf("get role: %w", err)
	}
	return d, nil
}

// GetRole returns the role with key (ignoring case).
func (s *Store) GetRole(ctx context.Context, accountID, key string) (repository.Role, error) {
	d, err := s.getRoleDoc(ctx, accountID, key)
	if err != nil {
		return repository.Role{}, err
	}
	return d.record(), nil
}

// UpdateRole applies fn with a compare-and-swap on the version.
func (s *Store) UpdateRole(ctx context.Context, accountID, key string, fn func(repository.Role) (repository.Role, error)) (repository.Role, error) {
	var docID string
	load := func(ctx context.Context) (repository.Role, error) {
		d, err := s.getRoleDoc(ctx, accountID, key)
		docID = d.ID
		return d.record(), err
	}
	write := func(ctx context.Context, cur, r repository.Role) (repository.Role, bool, error) {
		r.AccountID = accountID
		r.Meta = nextMeta(cur.Meta)
		doc := roleToDoc(docID, r)
		res, err := s.roles.ReplaceOne(ctx, byVersion(accountID, docID, cur.Version), doc)
		if err != nil {
			if isDup(err) {
				return r, false, fmt.Errorf("update role: %w", conflict(ctx, s.roles, "role", roleKeys, doc, err))
			}
			return r, false, fmt.Errorf("update role: %w", err)
		}
		return doc.record(), res.MatchedCount == 1, nil
	}
	r, err := casUpdate(ctx, load, fn, write)
	if err != nil {
		return repository.Role{}, wrapUpdate("role", err)
	}
	return r, nil
}

// DeleteRole removes the role. Members keep the key in their roles; what
// that means is the provisioning layer's business.
func (s *Store) DeleteRole(ctx context.Context, accountID, key string) error {
	res, err := s.roles.DeleteOne(ctx, roleFilter(accountID, key))
	if err != nil {
		return fmt.Errorf("delete role: %w", err)
	}
	if res.DeletedCount == 0 {
		return notFound("role", key)
	}
	return nil
}

// ListRoles returns every role of the account ordered by key.
func (s *Store) ListRoles(ctx context.Context, accountID string) ([]repository.Role, error) {
	cur, err := s.roles.Find(ctx, bson.D{{Key: "accountId", Value: accountID}},
		options.Find().SetSort(bson.D{{Key: "keyLower", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	var docs []roleDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	out := make([]repository.Role, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.record())
	}
	return out, nil
}
