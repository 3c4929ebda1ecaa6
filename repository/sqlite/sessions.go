package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster/repository"
)

var (
	qInsertSession    = sessionTable.insertSQL()
	qGetSessionByHash = "SELECT " + sessionTable.selectList("") + " FROM sessions WHERE hash = ?"
	qTouchSession     = "UPDATE sessions SET last_seen_at = ? WHERE account_id = ? AND id = ?"
	qRevokeSession    = "UPDATE sessions SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE account_id = ? AND id = ?"
	qRevokeMemberSess = "UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND member_id = ? AND revoked_at = 0"
	qListMemberSess   = "SELECT " + sessionTable.selectList("") + " FROM sessions WHERE account_id = ? AND member_id = ? ORDER BY created_at DESC, id DESC"
	// One statement deletes and returns the expired sessions, so two
	// sweepers (processes sharing the file) never both report a session.
	qDeleteExpiredSess = "DELETE FROM sessions WHERE expires_at <> 0 AND expires_at < ? RETURNING " + sessionTable.selectList("")
)

// CreateSession stores a session; a hash already stored is a conflict on
// "hash".
func (s *Store) CreateSession(ctx context.Context, sess repository.Session) (repository.Session, error) {
	if sess.ID == "" {
		sess.ID = repository.NewID()
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = s.now()
	}
	if _, err := s.writer(ctx).exec(ctx, qInsertSession, sessionTable.args(&sess)...); err != nil {
		return repository.Session{}, mapErr("create session", err)
	}
	return sess, nil
}

// GetSessionByHash finds a session of any account by its cookie hash.
func (s *Store) GetSessionByHash(ctx context.Context, hash string) (repository.Session, error) {
	var sess repository.Session
	err := s.reader(ctx).queryRow(ctx, sessionTable.dests(&sess), qGetSessionByHash, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, notFound("get session")
	}
	return sess, wrap("get session", err)
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, accountID, id string, at time.Time) error {
	return s.changeOne(ctx, "touch session", qTouchSession, toNanos(at), accountID, id)
}

// RevokeSession revokes the session; a second revocation keeps the first
// time.
func (s *Store) RevokeSession(ctx context.Context, accountID, id string, at time.Time) error {
	return s.changeOne(ctx, "revoke session", qRevokeSession, toNanos(at), accountID, id)
}

// RevokeMemberSessions revokes every live session of a member.
func (s *Store) RevokeMemberSessions(ctx context.Context, accountID, memberID string, at time.Time) error {
	_, err := s.writer(ctx).exec(ctx, qRevokeMemberSess, toNanos(at), accountID, memberID)
	return wrap("revoke member sessions", err)
}

// ListMemberSessions lists every session of the member, revoked and
// expired ones included, newest first.
func (s *Store) ListMemberSessions(ctx context.Context, accountID, memberID string) ([]repository.Session, error) {
	out, err := s.scanSessions(ctx, s.reader(ctx), qListMemberSess, accountID, memberID)
	return out, wrap("list member sessions", err)
}

// DeleteExpiredSessions removes the sessions that expired before now, in
// every account, and returns them.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) ([]repository.Session, error) {
	out, err := s.scanSessions(ctx, s.writer(ctx), qDeleteExpiredSess, toNanos(now))
	return out, wrap("delete expired sessions", err)
}

// scanSessions runs a statement returning session rows and reads them all.
func (s *Store) scanSessions(ctx context.Context, h handle, query string, args ...any) ([]repository.Session, error) {
	rows, err := h.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []repository.Session
	for rows.Next() {
		var sess repository.Session
		if err := rows.Scan(sessionTable.dests(&sess)...); err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}
