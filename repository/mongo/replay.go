package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/rosterhq/roster/repository"
)

// replayDoc is one used one-time key. Keys are deployment-wide (an
// assertion id does not belong to an account), so it has no accountId.
type replayDoc struct {
	Key       string    `bson:"_id"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// UseOnce records key until expiresAt; an unexpired key already recorded is
// repository.ErrReplayed. The insert on the _id index decides, which is
// atomic on every server and across instances; an expired record in the
// way is deleted (only if it is still that record) and the insert tried
// once more. Where the server has TTL indexes, replay_expiry also removes
// expired keys in the background.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt time.Time) error {
	doc := replayDoc{Key: key, ExpiresAt: msTime(expiresAt)}
	for attempt := 0; ; attempt++ {
		_, err := s.replays.InsertOne(ctx, doc)
		if err == nil {
			return nil
		}
		if !isDup(err) {
			return fmt.Errorf("use one-time key: %w", err)
		}
		if attempt > 0 || inTransaction(ctx) {
			return fmt.Errorf("use one-time key: %w", repository.ErrReplayed)
		}
		var old replayDoc
		if err := s.replays.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&old); err != nil {
			if isNoDocs(err) {
				continue // swept meanwhile
			}
			return fmt.Errorf("use one-time key: %w", err)
		}
		if !old.ExpiresAt.Before(time.Now()) {
			return fmt.Errorf("use one-time key: %w", repository.ErrReplayed)
		}
		if _, err := s.replays.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "expiresAt", Value: old.ExpiresAt}}); err != nil {
			return fmt.Errorf("use one-time key: %w", err)
		}
	}
}

// DeleteExpiredReplays removes keys that expired before now.
func (s *Store) DeleteExpiredReplays(ctx context.Context, now time.Time) (int, error) {
	res, err := s.replays.DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: before(now)}})
	if err != nil {
		return 0, fmt.Errorf("delete expired one-time keys: %w", err)
	}
	return int(res.DeletedCount), nil
}
