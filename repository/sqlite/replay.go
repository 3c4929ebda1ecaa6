package sqlite

import (
	"context"
	"time"

	"github.com/rosterhq/roster/repository"
)

var (
	// The upsert replaces only an expired key; a live one changes nothing,
	// which the row count reports.
	qUseOnce = `INSERT INTO replays (replay_key, expires_at) VALUES (?, ?)
		ON CONFLICT (replay_key) DO UPDATE SET expires_at = excluded.expires_at WHERE replays.expires_at <= ?`
	qDeleteExpiredReplays = "DELETE FROM replays WHERE expires_at < ?"
)

// UseOnce records key until expiresAt in one statement; a key recorded and
// not yet expired is ErrReplayed.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt time.Time) error {
	n, err := affected(s.writer(ctx).exec(ctx, qUseOnce, key, toNanos(expiresAt), toNanos(s.now())))
	if err != nil {
		return wrap("use once", err)
	}
	if n == 0 {
		return wrap("use once", repository.ErrReplayed)
	}
	return nil
}

// DeleteExpiredReplays removes keys that expired before now.
func (s *Store) DeleteExpiredReplays(ctx context.Context, now time.Time) (int, error) {
	n, err := affected(s.writer(ctx).exec(ctx, qDeleteExpiredReplays, toNanos(now)))
	return int(n), wrap("delete expired replays", err)
}
