package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

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

// DeleteExpiredSessions removes sessions that expired before now, across
// the deployment (through the session_expiry index).
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.sessions.DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: before(now)}})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return int(res.DeletedCount), nil
}
