package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// CreateToken stores t (its hash only); the hash is unique across the
// deployment.
func (s *Store) CreateToken(ctx context.Context, t repository.Token) (repository.Token, error) {
	if t.ID == "" {
		t.ID = repository.NewID()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	doc := tokenToDoc(t)
	if _, err := s.tokens.InsertOne(ctx, doc); err != nil {
		if isDup(err) {
			return repository.Token{}, fmt.Errorf("create token: %w", conflict(ctx, s.tokens, "token", tokenKeys, doc, err))
		}
		return repository.Token{}, fmt.Errorf("create token: %w", err)
	}
	return doc.record(), nil
}

// GetTokenByHash finds a token of any account by its hash.
func (s *Store) GetTokenByHash(ctx context.Context, hash string) (repository.Token, error) {
	var d tokenDoc
	if hash == "" {
		return repository.Token{}, notFound("token", "with empty hash")
	}
	if err := s.tokens.FindOne(ctx, bson.D{{Key: "hashKey", Value: hash}}).Decode(&d); err != nil {
		if isNoDocs(err) {
			return repository.Token{}, notFound("token", "with that hash")
		}
		return repository.Token{}, fmt.Errorf("get token: %w", err)
	}
	return d.record(), nil
}

// ListTokens lists the account's tokens of a kind (every kind when empty),
// revoked included, oldest first.
func (s *Store) ListTokens(ctx context.Context, accountID, kind string) ([]repository.Token, error) {
	filter := bson.D{{Key: "accountId", Value: accountID}}
	if kind != "" {
		filter = append(filter, bson.E{Key: "kind", Value: kind})
	}
	cur, err := s.tokens.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]repository.Token, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.record())
	}
	return out, nil
}

// TouchToken records a use.
func (s *Store) TouchToken(ctx context.Context, accountID, id string, at time.Time) error {
	res, err := s.tokens.UpdateOne(ctx, byID(accountID, id),
		bson.D{{Key: "$set", Value: bson.D{{Key: "lastUsedAt", Value: msTime(at)}}}})
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	if res.MatchedCount == 0 {
		return notFound("token", id)
	}
	return nil
}

// RevokeToken revokes a token; revoking it again keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, accountID, id string, at time.Time) error {
	n, err := revokeOnce(ctx, s.tokens, byID(accountID, id), at)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n == 0 {
		return notFound("token", id)
	}
	return nil
}

// RevokeMemberTokens revokes every API token of a member.
func (s *Store) RevokeMemberTokens(ctx context.Context, accountID, memberID string, at time.Time) error {
	filter := bson.D{{Key: "accountId", Value: accountID}, {Key: "memberId", Value: memberID}}
	if _, err := revokeOnce(ctx, s.tokens, filter, at); err != nil {
		return fmt.Errorf("revoke member tokens: %w", err)
	}
	return nil
}

// revokeOnce sets revokedAt on the documents matching filter that are not
// revoked yet, and reports whether filter matches any document at all.
func revokeOnce(ctx context.Context, coll *mongo.Collection, filter bson.D, at time.Time) (int64, error) {
	open := append(append(bson.D{}, filter...), bson.E{Key: "revokedAt", Value: bson.D{{Key: "$exists", Value: false}}})
	if _, err := coll.UpdateMany(ctx, open, bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: msTime(at)}}}}); err != nil {
		return 0, err
	}
	return coll.CountDocuments(ctx, filter, options.Count().SetLimit(1))
}
