package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster/repository"
)

var (
	qInsertToken       = tokenTable.insertSQL()
	qTokenCols         = tokenTable.selectList("")
	qGetTokenByHash    = "SELECT " + qTokenCols + " FROM tokens WHERE hash = ?"
	qListTokens        = "SELECT " + qTokenCols + " FROM tokens WHERE account_id = ? AND kind = ? ORDER BY created_at, id"
	qListAllTokens     = "SELECT " + qTokenCols + " FROM tokens WHERE account_id = ? ORDER BY created_at, id"
	qTouchToken        = "UPDATE tokens SET last_used_at = ? WHERE account_id = ? AND id = ?"
	qRevokeToken       = "UPDATE tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE account_id = ? AND id = ?"
	qRevokeMemberAPITk = "UPDATE tokens SET revoked_at = ? WHERE account_id = ? AND member_id = ? AND kind = 'api' AND revoked_at = 0"
)

// CreateToken stores t; a hash already stored is a conflict on "hash".
func (s *Store) CreateToken(ctx context.Context, t repository.Token) (repository.Token, error) {
	if t.ID == "" {
		t.ID = repository.NewID()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	if _, err := s.writer(ctx).exec(ctx, qInsertToken, tokenTable.args(&t)...); err != nil {
		return repository.Token{}, mapErr("create token", err)
	}
	return t, nil
}

// GetTokenByHash finds a token of any account by its hash.
func (s *Store) GetTokenByHash(ctx context.Context, hash string) (repository.Token, error) {
	var t repository.Token
	err := s.reader(ctx).queryRow(ctx, tokenTable.dests(&t), qGetTokenByHash, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("get token")
	}
	return t, wrap("get token", err)
}

// ListTokens lists the account's tokens of kind (every kind when empty),
// revoked ones included, oldest first.
func (s *Store) ListTokens(ctx context.Context, accountID, kind string) ([]repository.Token, error) {
	query, args := qListTokens, []any{accountID, kind}
	if kind == "" {
		query, args = qListAllTokens, []any{accountID}
	}
	rows, err := s.reader(ctx).query(ctx, query, args...)
	if err != nil {
		return nil, wrap("list tokens", err)
	}
	defer rows.Close()
	var out []repository.Token
	for rows.Next() {
		var t repository.Token
		if err := rows.Scan(tokenTable.dests(&t)...); err != nil {
			return nil, wrap("list tokens", err)
		}
		out = append(out, t)
	}
	return out, wrap("list tokens", rows.Err())
}

// TouchToken records a use.
func (s *Store) TouchToken(ctx context.Context, accountID, id string, at time.Time) error {
	return s.changeOne(ctx, "touch token", qTouchToken, toNanos(at), accountID, id)
}

// RevokeToken revokes the token; a second revocation keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, accountID, id string, at time.Time) error {
	return s.changeOne(ctx, "revoke token", qRevokeToken, toNanos(at), accountID, id)
}

// RevokeMemberTokens revokes every API token of a member.
func (s *Store) RevokeMemberTokens(ctx context.Context, accountID, memberID string, at time.Time) error {
	_, err := s.writer(ctx).exec(ctx, qRevokeMemberAPITk, toNanos(at), accountID, memberID)
	return wrap("revoke member tokens", err)
}

// changeOne runs a single-row UPDATE, reporting ErrNotFound when no row
// matched.
func (s *Store) changeOne(ctx context.Context, op, query string, args ...any) error {
	n, err := affected(s.writer(ctx).exec(ctx, query, args...))
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}
