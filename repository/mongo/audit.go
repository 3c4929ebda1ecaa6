package mongo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// Audit pages default to and are capped at these sizes.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// AppendAudit stores an event, filling ID and Time when empty.
func (s *Store) AppendAudit(ctx context.Context, e repository.AuditEvent) (repository.AuditEvent, error) {
	if e.ID == "" {
		e.ID = repository.NewID()
	}
	if e.Time.IsZero() {
		e.Time = now()
	}
	doc := auditToDoc(e)
	if _, err := s.audit.InsertOne(ctx, doc); err != nil {
		if isDup(err) {
			return repository.AuditEvent{}, fmt.Errorf("append audit event: %w", repository.NewConflict("auditEvent", "id"))
		}
		return repository.AuditEvent{}, fmt.Errorf("append audit event: %w", err)
	}
	return doc.record(), nil
}

// ListAudit lists the account's events newest first (time, then id, both
// descending), with keyset paging on (time, id). Since is inclusive, Until
// exclusive.
func (s *Store) ListAudit(ctx context.Context, accountID string, q repository.AuditQuery) (repository.Page[repository.AuditEvent], error) {
	var conds []bson.D
	if q.Action != "" {
		conds = append(conds, bson.D{{Key: "action", Value: q.Action}})
	}
	if q.ActorID != "" {
		conds = append(conds, bson.D{{Key: "actorId", Value: q.ActorID}})
	}
	if q.TargetID != "" {
		conds = append(conds, bson.D{{Key: "targetId", Value: q.TargetID}})
	}
	if !q.Since.IsZero() {
		d, _ := ops(fieldSpec{kind: repository.KindTime}, repository.OpGe, q.Since)
		conds = append(conds, bson.D{{Key: "time", Value: d}})
	}
	if !q.Until.IsZero() {
		conds = append(conds, bson.D{{Key: "time", Value: before(q.Until)}})
	}
	filter := withAccount(accountID, conds...)
	total, err := s.audit.CountDocuments(ctx, filter)
	if err != nil {
		return repository.Page[repository.AuditEvent]{}, fmt.Errorf("count audit events: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	page := filter
	if q.Cursor != "" {
		c, err := repository.DecodeCursor(q.Cursor)
		if err != nil {
			return repository.Page[repository.AuditEvent]{}, err
		}
		ms, err := strconv.ParseInt(c.Key, 10, 64)
		if err != nil {
			return repository.Page[repository.AuditEvent]{}, repository.InvalidQueryf("malformed cursor")
		}
		at := time.UnixMilli(ms).UTC()
		page = withAccount(accountID, append(conds, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "time", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "time", Value: at}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: c.ID}}}},
		}}})...)
	}
	cur, err := s.audit.Find(ctx, page, options.Find().
		SetSort(bson.D{{Key: "time", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(limit)+1))
	if err != nil {
		return repository.Page[repository.AuditEvent]{}, fmt.Errorf("list audit events: %w", err)
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return repository.Page[repository.AuditEvent]{}, fmt.Errorf("list audit events: %w", err)
	}
	out := repository.Page[repository.AuditEvent]{Total: int(total), Items: make([]repository.AuditEvent, 0, len(docs))}
	if len(docs) > limit {
		docs = docs[:limit]
		last := docs[len(docs)-1]
		out.NextCursor = repository.Cursor{Key: strconv.FormatInt(last.Time.UnixMilli(), 10), ID: last.ID}.Encode()
	}
	for _, d := range docs {
		out.Items = append(out.Items, d.record())
	}
	return out, nil
}
