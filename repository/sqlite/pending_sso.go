package sqlite

// Placeholders so the tree builds while the SSO storage is written; the
// storage helper replaces this file.

import (
	"context"
	"errors"
	"time"

	"github.com/rosterhq/roster/repository"
)

var errPending = errors.New("not implemented yet")

func (s *Store) PutOneTime(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	return errPending
}
func (s *Store) TakeOneTime(ctx context.Context, key string, now time.Time) ([]byte, error) {
	return nil, errPending
}
func (s *Store) DeleteExpiredOneTime(ctx context.Context, now time.Time) (int, error) {
	return 0, errPending
}
func (s *Store) CreateIdentityLink(ctx context.Context, l repository.IdentityLink) (repository.IdentityLink, error) {
	return l, errPending
}
func (s *Store) GetIdentityLink(ctx context.Context, accountID, connectionID, subject string) (repository.IdentityLink, error) {
	return repository.IdentityLink{}, errPending
}
func (s *Store) ListMemberIdentityLinks(ctx context.Context, accountID, memberID string) ([]repository.IdentityLink, error) {
	return nil, errPending
}
func (s *Store) DeleteIdentityLink(ctx context.Context, accountID, connectionID, subject string) error {
	return errPending
}
func (s *Store) CreateSigningKey(ctx context.Context, k repository.SigningKey) error { return errPending }
func (s *Store) ListSigningKeys(ctx context.Context, now time.Time) ([]repository.SigningKey, error) {
	return nil, errPending
}
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	return 0, errPending
}
func (s *Store) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	return 0, errPending
}
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, time.Time, error) {
	return 0, time.Time{}, errPending
}
func (s *Store) ClearFailures(ctx context.Context, key string) error { return errPending }
