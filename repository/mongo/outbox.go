package mongo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// EnqueueEmail stores m unless a message with its ID is already there. It
// upserts with $setOnInsert rather than inserting, so that a repeated
// message inside a transaction does not abort the transaction with a
// duplicate key.
func (s *Store) EnqueueEmail(ctx context.Context, m repository.OutboxMessage) error {
	if m.ID == "" {
		return fmt.Errorf("enqueue email: message without id")
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now()
	}
	due := msTime(m.NextAttemptAt)
	if due.IsZero() {
		due = epoch()
	}
	doc := outboxDoc{
		ID: m.ID, AccountID: m.AccountID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
		CreatedAt: msTime(m.CreatedAt), Attempts: m.Attempts, NextAttemptAt: msTime(m.NextAttemptAt),
		LastError: m.LastError, SentAt: msTime(m.SentAt), Pending: m.SentAt.IsZero(),
		DueAt: due, LeaseUntil: epoch(),
	}
	// The upsert takes _id from the filter; $setOnInsert sets the rest.
	raw, err := bson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	var fields bson.D
	if err := bson.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	fields = slices.DeleteFunc(fields, func(e bson.E) bool { return e.Key == "_id" })
	_, err = s.outbox.UpdateOne(ctx, bson.D{{Key: "_id", Value: m.ID}},
		bson.D{{Key: "$setOnInsert", Value: fields}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !isDup(err) { // a duplicate: a concurrent upsert of the same message won
		return fmt.Errorf("enqueue email: %w", err)
	}
	return nil
}

// ClaimEmails leases up to limit due, unsent, unleased messages to the
// caller until leaseUntil, oldest due first. Each claim is one
// findOneAndUpdate whose filter re-checks that the message is free, which
// MongoDB applies atomically, so two instances never hold the same lease.
// (FerretDB applies it as read-then-write; there two claimers racing for
// one message can both get it, and the mail is sent twice at worst.)
func (s *Store) ClaimEmails(ctx context.Context, now, leaseUntil time.Time, limit int) ([]repository.OutboxMessage, error) {
	at := msTime(now)
	free := bson.D{
		{Key: "pending", Value: true},
		{Key: "dueAt", Value: bson.D{{Key: "$lte", Value: at}}},
		{Key: "leaseUntil", Value: bson.D{{Key: "$lte", Value: at}}},
	}
	var out []repository.OutboxMessage
	for len(out) < limit {
		var d outboxDoc
		err := s.outbox.FindOneAndUpdate(ctx, free,
			bson.D{{Key: "$set", Value: bson.D{{Key: "leaseUntil", Value: msTime(leaseUntil)}}}},
			options.FindOneAndUpdate().
				SetSort(bson.D{{Key: "pending", Value: 1}, {Key: "dueAt", Value: 1}}).
				SetReturnDocument(options.After)).Decode(&d)
		if isNoDocs(err) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("claim emails: %w", err)
		}
		out = append(out, d.record())
	}
	return out, nil
}

// MarkEmailSent records delivery.
func (s *Store) MarkEmailSent(ctx context.Context, accountID, id string, at time.Time) error {
	res, err := s.outbox.UpdateOne(ctx, byID(accountID, id), bson.D{{Key: "$set", Value: bson.D{
		{Key: "sentAt", Value: msTime(at)},
		{Key: "pending", Value: false},
		{Key: "leaseUntil", Value: epoch()},
	}}})
	if err != nil {
		return fmt.Errorf("mark email sent: %w", err)
	}
	if res.MatchedCount == 0 {
		return notFound("outbox message", id)
	}
	return nil
}

// MarkEmailFailed records a failed attempt, releases the lease and sets when
// to try again.
func (s *Store) MarkEmailFailed(ctx context.Context, accountID, id, reason string, next time.Time) error {
	res, err := s.outbox.UpdateOne(ctx, byID(accountID, id), bson.D{
		{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
		{Key: "$set", Value: bson.D{
			{Key: "lastError", Value: reason},
			{Key: "nextAttemptAt", Value: msTime(next)},
			{Key: "dueAt", Value: msTime(next)},
			{Key: "leaseUntil", Value: epoch()},
		}},
	})
	if err != nil {
		return fmt.Errorf("mark email failed: %w", err)
	}
	if res.MatchedCount == 0 {
		return notFound("outbox message", id)
	}
	return nil
}

// OutboxStats reports the messages not sent and the oldest one's creation
// time, across the deployment (for metrics).
func (s *Store) OutboxStats(ctx context.Context) (int, time.Time, error) {
	pending := bson.D{{Key: "pending", Value: true}}
	n, err := s.outbox.CountDocuments(ctx, pending)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox stats: %w", err)
	}
	if n == 0 {
		return 0, time.Time{}, nil
	}
	var d outboxDoc
	err = s.outbox.FindOne(ctx, pending, options.FindOne().SetSort(bson.D{{Key: "createdAt", Value: 1}})).Decode(&d)
	if err != nil && !isNoDocs(err) {
		return 0, time.Time{}, fmt.Errorf("outbox stats: %w", err)
	}
	return int(n), d.CreatedAt, nil
}
