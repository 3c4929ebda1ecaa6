package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// usageAccountDoc is the part of an account UsageTotals reads.
type usageAccountDoc struct {
	ID    string `bson:"_id"`
	Seats struct {
		Total int `bson:"total"`
	} `bson:"seats"`
}

// UsageTotals counts accounts, members and seats across the deployment.
//
// It walks the accounts and counts each one's members, seats and queued
// members with filters that start with accountId, so every count is a
// range of an account-leading index (member_id, seat_slot,
// member_seatStatus; on a sharded cluster each goes to one shard) rather
// than a scan of the whole members collection. The counts of different
// accounts are not one snapshot; metrics do not need one.
func (s *Store) UsageTotals(ctx context.Context, byAccount bool) (repository.Usage, error) {
	var u repository.Usage
	cur, err := s.accounts.Find(ctx, bson.D{}, options.Find().
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "seats.total", Value: 1}}).
		SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return repository.Usage{}, fmt.Errorf("usage totals: list accounts: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d usageAccountDoc
		if err := cur.Decode(&d); err != nil {
			return repository.Usage{}, fmt.Errorf("usage totals: decode account: %w", err)
		}
		a := repository.AccountUsage{AccountID: d.ID, SeatsTotal: d.Seats.Total}
		counts := []struct {
			what  string
			dst   *int
			count func() (int64, error)
		}{
			{"members", &a.Members, func() (int64, error) {
				return s.members.CountDocuments(ctx, bson.D{{Key: "accountId", Value: d.ID}})
			}},
			{"seats", &a.SeatsInUse, func() (int64, error) {
				return s.seats.CountDocuments(ctx, bson.D{{Key: "accountId", Value: d.ID}})
			}},
			{"queued members", &a.SeatsQueued, func() (int64, error) {
				return s.members.CountDocuments(ctx, bson.D{
					{Key: "accountId", Value: d.ID},
					{Key: "seatStatusLower", Value: fold(repository.SeatQueued)},
				})
			}},
		}
		for _, c := range counts {
			n, err := c.count()
			if err != nil {
				return repository.Usage{}, fmt.Errorf("usage totals: count %s of account %s: %w", c.what, d.ID, err)
			}
			*c.dst = int(n)
		}
		u.Accounts++
		u.Members += a.Members
		u.SeatsTotal += a.SeatsTotal
		u.SeatsInUse += a.SeatsInUse
		u.SeatsQueued += a.SeatsQueued
		if byAccount {
			u.ByAccount = append(u.ByAccount, a)
		}
	}
	if err := cur.Err(); err != nil {
		return repository.Usage{}, fmt.Errorf("usage totals: list accounts: %w", err)
	}
	return u, nil
}
