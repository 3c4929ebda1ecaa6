package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// CreateSession stores a session (its cookie hash only); the hash is unique
// across the deployment.
func (s *Store) CreateSession(ctx context.Context, sess repository.Session) (repository.Session, error) {
	if sess.ID == "" {
		sess.ID = repository.NewID()
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now()
	}
	doc := sessionToDoc(sess)
	if _, err := s.sessions.InsertOne(ctx, doc); err != nil {
		if isDup(err) {
			return repository.Session{}, fmt.Errorf("create session: %w", conflict(ctx, s.sessions, "session", sessionKeys, doc, err))
		}
		return repository.Session{}, fmt.Errorf("create session: %w", err)
	}
	return doc.record(), nil
}

// GetSessionByHash finds a session of any account by its cookie hash.
func (s *Store) GetSessionByHash(ctx context.Context, hash string) (repository.Session, error) {
	if hash == "" {
		return repository.Session{}, notFound("session", "with empty hash")
	}
	var d sessionDoc
	if err := s.sessions.FindOne(ctx, bson.D{{Key: "hashKey", Value: hash}}).Decode(&d); err != nil {
		if isNoDocs(err) {
			return repository.Session{}, notFound("session", "with that hash")
		}
		return repository.Session{}, fmt.Errorf("get session: %w", err)
	}
	return d.record(), nil
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, accountID, id string, at time.Time) error {
	res, err := s.sessions.UpdateOne(ctx, byID(accountID, id),
		bson.D{{Key: "$set", Value: bson.D{{Key: "lastSeenAt", Value: msTime(at)}}}})
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	if res.MatchedCount == 0 {
		return notFound("session", id)
	}
	return nil
}

// RevokeSession revokes a session; revoking it again keeps the first time.
func (s *Store) RevokeSession(ctx context.Context, accountID, id string, at time.Time) error {
	n, err := revokeOnce(ctx, s.sessions, byID(accountID, id), at)
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if n == 0 {
		return notFound("session", id)
	}
	return nil
}

// RevokeMemberSessions revokes every session of a member.
func (s *Store) RevokeMemberSessions(ctx context.Context, accountID, memberID string, at time.Time) error {
	filter := bson.D{{Key: "accountId", Value: accountID}, {Key: "memberId", Value: memberID}}
	if _, err := revokeOnce(ctx, s.sessions, filter, at); err != nil {
		return fmt.Errorf("revoke member sessions: %w", err)
	}
	return nil
}

// ListMemberSessions lists every session of the member, revoked and
// expired ones included, newest first (through the session_member index).
func (s *Store) ListMemberSessions(ctx context.Context, accountID, memberID string) ([]repository.Session, error) {
	cur, err := s.sessions.Find(ctx,
		bson.D{{Key: "accountId", Value: accountID}, {Key: "memberId", Value: memberID}},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}))
	if err != nil {
		return nil, fmt.Errorf("list member sessions: %w", err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list member sessions: %w", err)
	}
	out := make([]repository.Session, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.record())
	}
	return out, nil
}

// DeleteExpiredSessions removes sessions that expired before now, across
// the deployment (found through the session_expiry index), and returns
// the ones this call deleted. Each is deleted on its own by _id and
// reported only when the delete removed it, so of two sweepers running at
// once (two instances) only one reports a session: the caller releases
// what the session held once.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) ([]repository.Session, error) {
	cur, err := s.sessions.Find(ctx, bson.D{{Key: "expiresAt", Value: before(now)}})
	if err != nil {
		return nil, fmt.Errorf("delete expired sessions: %w", err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("delete expired sessions: %w", err)
	}
	var out []repository.Session
	for _, d := range docs {
		res, err := s.sessions.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}})
		if err != nil {
			return out, fmt.Errorf("delete expired sessions: %w", err)
		}
		if res.DeletedCount == 1 {
			out = append(out, d.record())
		}
	}
	return out, nil
}
