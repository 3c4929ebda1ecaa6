package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// Export and Import (repository.Exporter, repository.Importer) move every
// record in or out verbatim, for `roster migrate`. Export pages each
// collection in key order (the fields of the record's key, see
// transferFields); Import upserts by _id with one ordered bulk write per
// call, so a repeated batch changes nothing. Seats are the exception:
// their slots are this store's own, so Import gives each holder new to
// the account the lowest free slot.

var (
	_ repository.Exporter = (*Store)(nil)
	_ repository.Importer = (*Store)(nil)
)

// transferFields are the document fields of each kind's key, in order.
var transferFields = map[repository.RecordKind][]string{
	repository.KindAccounts:         {"_id"},
	repository.KindRoles:            {"accountId", "key"},
	repository.KindMembers:          {"accountId", "_id"},
	repository.KindGroups:           {"accountId", "_id"},
	repository.KindGroupMembers:     {"accountId", "groupId", "memberId"},
	repository.KindSeats:            {"accountId", "memberId"},
	repository.KindInvitations:      {"accountId", "_id"},
	repository.KindTokens:           {"accountId", "_id"},
	repository.KindSessions:         {"accountId", "_id"},
	repository.KindSSOConnections:   {"accountId", "_id"},
	repository.KindIdentityLinks:    {"accountId", "connectionId", "subject"},
	repository.KindSigningKeys:      {"_id"},
	repository.KindAuditEvents:      {"accountId", "_id"},
	repository.KindOutbox:           {"accountId", "_id"},
	repository.KindAccountDeletions: {"_id"},
}

// collection returns the collection holding kind.
func (s *Store) collection(kind repository.RecordKind) *mongo.Collection {
	switch kind {
	case repository.KindAccounts:
		return s.accounts
	case repository.KindRoles:
		return s.roles
	case repository.KindMembers:
		return s.members
	case repository.KindGroups:
		return s.groups
	case repository.KindGroupMembers:
		return s.edges
	case repository.KindSeats:
		return s.seats
	case repository.KindInvitations:
		return s.invitations
	case repository.KindTokens:
		return s.tokens
	case repository.KindSessions:
		return s.sessions
	case repository.KindSSOConnections:
		return s.sso
	case repository.KindIdentityLinks:
		return s.links
	case repository.KindSigningKeys:
		return s.signingKeys
	case repository.KindAuditEvents:
		return s.audit
	case repository.KindOutbox:
		return s.outbox
	case repository.KindAccountDeletions:
		return s.deletions
	}
	return nil
}

// afterFilter selects documents whose key fields, compared in order, are
// above vals. The leading field's $gte gives the planner index bounds on
// the (accountId, …) indexes; the $or decides the rest.
func afterFilter(fields, vals []string) bson.D {
	empty := true
	for _, v := range vals {
		if v != "" {
			empty = false
		}
	}
	if empty {
		return bson.D{}
	}
	var or bson.A
	for i := range fields {
		d := bson.D{}
		for j := range i {
			d = append(d, bson.E{Key: fields[j], Value: vals[j]})
		}
		d = append(d, bson.E{Key: fields[i], Value: bson.D{{Key: "$gt", Value: vals[i]}}})
		or = append(or, d)
	}
	if len(fields) == 1 {
		return or[0].(bson.D)
	}
	return bson.D{
		{Key: fields[0], Value: bson.D{{Key: "$gte", Value: vals[0]}}},
		{Key: "$or", Value: or},
	}
}

// findPage decodes a page of coll in key order.
func findPage[D any](ctx context.Context, coll *mongo.Collection, fields, vals []string, limit int) ([]D, error) {
	sort := bson.D{}
	for _, f := range fields {
		sort = append(sort, bson.E{Key: f, Value: 1})
	}
	cur, err := coll.Find(ctx, afterFilter(fields, vals), options.Find().SetSort(sort).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return docs, nil
}

// Export returns up to limit records of kind after the key after.
func (s *Store) Export(ctx context.Context, kind repository.RecordKind, after string, limit int) ([]repository.Record, error) {
	fields, ok := transferFields[kind]
	if !ok {
		return nil, fmt.Errorf("export: unknown kind %q", kind)
	}
	if limit <= 0 {
		return nil, fmt.Errorf("export %s: limit %d is not positive", kind, limit)
	}
	vals, err := repository.SplitKey(after, len(fields))
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", kind, err)
	}
	coll := s.collection(kind)
	var values []any
	switch kind {
	case repository.KindAccounts:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d accountDoc) any { return d.record() })
	case repository.KindRoles:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d roleDoc) any { return d.record() })
	case repository.KindMembers:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d memberDoc) any { return d.record() })
	case repository.KindGroups:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d groupDoc) any { return d.record() })
	case repository.KindGroupMembers:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d edgeDoc) any {
			return repository.GroupEdge{AccountID: d.AccountID, GroupID: d.GroupID, MemberID: d.MemberID}
		})
	case repository.KindSeats:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d seatDoc) any {
			return repository.SeatHolder{AccountID: d.AccountID, MemberID: d.MemberID}
		})
	case repository.KindInvitations:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d invitationDoc) any { return d.record() })
	case repository.KindTokens:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d tokenDoc) any { return d.record() })
	case repository.KindSessions:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d sessionDoc) any { return d.record() })
	case repository.KindSSOConnections:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d ssoDoc) any { return d.record() })
	case repository.KindIdentityLinks:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d linkDoc) any { return d.record() })
	case repository.KindSigningKeys:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d signingKeyDoc) any {
			return repository.SigningKey{
				ID: d.ID, Algorithm: d.Algorithm, PrivateKey: d.PrivateKey, PublicKey: d.PublicKey,
				CreatedAt: d.CreatedAt, RetiresAt: d.RetiresAt, ExpiresAt: d.ExpiresAt,
			}
		})
	case repository.KindAuditEvents:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d auditDoc) any { return d.record() })
	case repository.KindOutbox:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d outboxDoc) any { return d.record() })
	case repository.KindAccountDeletions:
		values, err = exportAs(ctx, coll, fields, vals, limit, func(d deletionDoc) any {
			return repository.AccountDeletion{AccountID: d.AccountID, Name: d.Name, DeletedAt: d.DeletedAt, Reason: d.Reason}
		})
	}
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", kind, err)
	}
	out := make([]repository.Record, 0, len(values))
	for _, v := range values {
		r, err := repository.NewRecord(kind, v)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", kind, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func exportAs[D any](ctx context.Context, coll *mongo.Collection, fields, vals []string, limit int, conv func(D) any) ([]any, error) {
	docs, err := findPage[D](ctx, coll, fields, vals, limit)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(docs))
	for i, d := range docs {
		out[i] = conv(d)
	}
	return out, nil
}

// replacement is one document to upsert by _id, and how a collision on
// another unique index is named.
type replacement struct {
	id   any
	doc  any
	kind string
	keys []uniqueKey
}

// Import writes recs verbatim.
func (s *Store) Import(ctx context.Context, kind repository.RecordKind, recs []repository.Record) error {
	coll := s.collection(kind)
	if coll == nil {
		return fmt.Errorf("import: unknown kind %q", kind)
	}
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if r.Kind != kind {
			return fmt.Errorf("import %s: record %q is of kind %s", kind, r.Key, r.Kind)
		}
	}
	var err error
	switch kind {
	case repository.KindSeats:
		err = s.importSeats(ctx, recs)
	case repository.KindRoles:
		err = s.importRoles(ctx, recs)
	case repository.KindSSOConnections:
		err = s.importSSO(ctx, recs)
	default:
		var reps []replacement
		for _, r := range recs {
			rep, rerr := toReplacement(kind, r.Value)
			if rerr != nil {
				return fmt.Errorf("import %s: record %q: %w", kind, r.Key, rerr)
			}
			reps = append(reps, rep)
		}
		err = s.replaceAll(ctx, coll, reps)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", kind, err)
	}
	return nil
}

// toReplacement maps a record to its document.
func toReplacement(kind repository.RecordKind, v any) (replacement, error) {
	bad := fmt.Errorf("value of type %T", v)
	switch kind {
	case repository.KindAccounts:
		a, ok := v.(repository.Account)
		if !ok {
			return replacement{}, bad
		}
		return replacement{a.ID, accountToDoc(a), "account", accountKeys}, nil
	case repository.KindMembers:
		m, ok := v.(repository.Member)
		if !ok {
			return replacement{}, bad
		}
		return replacement{m.ID, memberToDoc(m), "member", memberKeys}, nil
	case repository.KindGroups:
		g, ok := v.(repository.Group)
		if !ok {
			return replacement{}, bad
		}
		return replacement{g.ID, groupToDoc(g), "group", groupKeys}, nil
	case repository.KindGroupMembers:
		e, ok := v.(repository.GroupEdge)
		if !ok {
			return replacement{}, bad
		}
		id := pairID(e.GroupID, e.MemberID)
		return replacement{id, edgeDoc{ID: id, AccountID: e.AccountID, GroupID: e.GroupID, MemberID: e.MemberID}, "group member", nil}, nil
	case repository.KindInvitations:
		i, ok := v.(repository.Invitation)
		if !ok {
			return replacement{}, bad
		}
		return replacement{i.ID, invitationToDoc(i), "invitation", invitationKeys}, nil
	case repository.KindTokens:
		t, ok := v.(repository.Token)
		if !ok {
			return replacement{}, bad
		}
		return replacement{t.ID, tokenToDoc(t), "token", tokenKeys}, nil
	case repository.KindSessions:
		ss, ok := v.(repository.Session)
		if !ok {
			return replacement{}, bad
		}
		return replacement{ss.ID, sessionToDoc(ss), "session", sessionKeys}, nil
	case repository.KindIdentityLinks:
		l, ok := v.(repository.IdentityLink)
		if !ok {
			return replacement{}, bad
		}
		id := linkID(l.AccountID, l.ConnectionID, l.Subject)
		return replacement{id, linkDoc{
			ID: id, AccountID: l.AccountID, ConnectionID: l.ConnectionID, Subject: l.Subject,
			MemberID: l.MemberID, CreatedAt: msTime(l.CreatedAt),
		}, "identity link", nil}, nil
	case repository.KindSigningKeys:
		k, ok := v.(repository.SigningKey)
		if !ok {
			return replacement{}, bad
		}
		return replacement{k.ID, signingKeyDoc{
			ID: k.ID, Algorithm: k.Algorithm, PrivateKey: nonNil(k.PrivateKey), PublicKey: nonNil(k.PublicKey),
			CreatedAt: msTime(k.CreatedAt), RetiresAt: msTime(k.RetiresAt), ExpiresAt: msTime(k.ExpiresAt),
		}, "signing key", nil}, nil
	case repository.KindAuditEvents:
		e, ok := v.(repository.AuditEvent)
		if !ok {
			return replacement{}, bad
		}
		return replacement{e.ID, auditToDoc(e), "audit event", nil}, nil
	case repository.KindOutbox:
		m, ok := v.(repository.OutboxMessage)
		if !ok {
			return replacement{}, bad
		}
		due := msTime(m.NextAttemptAt)
		if due.IsZero() {
			due = epoch()
		}
		// A lease is not transferred: an unsent message is free to claim.
		return replacement{m.ID, outboxDoc{
			ID: m.ID, AccountID: m.AccountID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
			CreatedAt: msTime(m.CreatedAt), Attempts: m.Attempts, NextAttemptAt: msTime(m.NextAttemptAt),
			LastError: m.LastError, SentAt: msTime(m.SentAt), Pending: m.SentAt.IsZero(),
			DueAt: due, LeaseUntil: epoch(),
		}, "outbox message", nil}, nil
	case repository.KindAccountDeletions:
		d, ok := v.(repository.AccountDeletion)
		if !ok {
			return replacement{}, bad
		}
		return replacement{d.AccountID, deletionDoc{
			ID: d.AccountID, AccountID: d.AccountID, Name: d.Name, DeletedAt: msTime(d.DeletedAt), Reason: d.Reason,
		}, "account deletion", nil}, nil
	}
	return replacement{}, fmt.Errorf("kind %q has no document mapping", kind)
}

// replaceAll writes every document by _id: it inserts, in one insertMany,
// the documents whose _id is not there yet (a first migration: all of
// them), and upserts the rest. Inserting is far cheaper than upserting
// (FerretDB upserts about twenty times slower). A document inserted
// meanwhile by someone else sends the whole batch through the upserts.
func (s *Store) replaceAll(ctx context.Context, coll *mongo.Collection, reps []replacement) error {
	ids := make(bson.A, len(reps))
	for i, r := range reps {
		ids[i] = r.id
	}
	cur, err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return err
	}
	var found []struct {
		ID any `bson:"_id"`
	}
	if err := cur.All(ctx, &found); err != nil {
		return err
	}
	exists := make(map[any]bool, len(found))
	for _, f := range found {
		exists[f.ID] = true
	}
	var fresh []any
	var existing []replacement
	for _, r := range reps {
		if exists[r.id] {
			existing = append(existing, r)
		} else {
			fresh = append(fresh, r.doc)
		}
	}
	if len(fresh) > 0 {
		if _, err := coll.InsertMany(ctx, fresh); err != nil {
			if !isDup(err) {
				return err
			}
			return s.upsertAll(ctx, coll, reps)
		}
	}
	if len(existing) == 0 {
		return nil
	}
	return s.upsertAll(ctx, coll, existing)
}

// upsertAll upserts every document by _id in one ordered bulk write. A
// unique-index collision is a *repository.ConflictError naming the
// attribute of the first document that failed.
func (s *Store) upsertAll(ctx context.Context, coll *mongo.Collection, reps []replacement) error {
	models := make([]mongo.WriteModel, len(reps))
	for i, r := range reps {
		models[i] = mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: r.id}}).
			SetReplacement(r.doc).SetUpsert(true)
	}
	_, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
	if err == nil {
		return nil
	}
	if !isDup(err) {
		return err
	}
	failed := reps[0]
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 {
		if i := bwe.WriteErrors[0].Index; i >= 0 && i < len(reps) {
			failed = reps[i]
		}
	}
	return fmt.Errorf("%w (%v)", conflict(ctx, coll, failed.kind, failed.keys, failed.doc, err), err)
}

// importRoles upserts roles by (account, key ignoring case), keeping the
// _id of a role already there.
func (s *Store) importRoles(ctx context.Context, recs []repository.Record) error {
	var reps []replacement
	for _, rec := range recs {
		r, ok := rec.Value.(repository.Role)
		if !ok {
			return fmt.Errorf("record %q: value of type %T", rec.Key, rec.Value)
		}
		id := repository.NewID()
		existing, err := s.getRoleDoc(ctx, r.AccountID, r.Key)
		switch {
		case err == nil:
			id = existing.ID
		case !errors.Is(err, repository.ErrNotFound):
			return err
		}
		reps = append(reps, replacement{id, roleToDoc(id, r), "role", roleKeys})
	}
	return s.replaceAll(ctx, s.roles, reps)
}

// importSSO upserts connections and routes their domains to them; a
// domain routed to another connection is a conflict on "domain".
func (s *Store) importSSO(ctx context.Context, recs []repository.Record) error {
	var reps []replacement
	for _, rec := range recs {
		c, ok := rec.Value.(repository.SSOConnection)
		if !ok {
			return fmt.Errorf("record %q: value of type %T", rec.Key, rec.Value)
		}
		reps = append(reps, replacement{c.ID, ssoToDoc(c), "ssoConnection", nil})
	}
	if err := s.replaceAll(ctx, s.sso, reps); err != nil {
		return err
	}
	for _, rec := range recs {
		c := rec.Value.(repository.SSOConnection)
		domains := domainSet(c.Domains)
		for _, d := range domains {
			_, err := s.ssoDomains.ReplaceOne(ctx,
				bson.D{{Key: "_id", Value: d}, {Key: "accountId", Value: c.AccountID}, {Key: "connectionId", Value: c.ID}},
				ssoDomainDoc{Domain: d, AccountID: c.AccountID, ConnectionID: c.ID}, options.Replace().SetUpsert(true))
			if isDup(err) {
				return fmt.Errorf("record %q: %w", rec.Key, repository.NewConflict("ssoConnection", "domain"))
			}
			if err != nil {
				return fmt.Errorf("record %q: route domain: %w", rec.Key, err)
			}
		}
		stale := bson.D{{Key: "accountId", Value: c.AccountID}, {Key: "connectionId", Value: c.ID}}
		if len(domains) > 0 {
			stale = append(stale, bson.E{Key: "_id", Value: bson.D{{Key: "$nin", Value: domains}}})
		}
		if _, err := s.ssoDomains.DeleteMany(ctx, stale); err != nil {
			return fmt.Errorf("record %q: remove stale domains: %w", rec.Key, err)
		}
	}
	return nil
}

// importSeats gives each holder not holding a seat yet the lowest free
// slot of its account. The account's limit is not checked: the records
// come from a store that enforced it.
func (s *Store) importSeats(ctx context.Context, recs []repository.Record) error {
	byAccount := map[string][]string{}
	var order []string
	for _, rec := range recs {
		h, ok := rec.Value.(repository.SeatHolder)
		if !ok {
			return fmt.Errorf("record %q: value of type %T", rec.Key, rec.Value)
		}
		if _, seen := byAccount[h.AccountID]; !seen {
			order = append(order, h.AccountID)
		}
		byAccount[h.AccountID] = append(byAccount[h.AccountID], h.MemberID)
	}
	for _, acct := range order {
		cur, err := s.seats.Find(ctx, bson.D{{Key: "accountId", Value: acct}})
		if err != nil {
			return err
		}
		var held []seatDoc
		if err := cur.All(ctx, &held); err != nil {
			return err
		}
		used := map[int]bool{}
		holds := map[string]bool{}
		for _, d := range held {
			used[d.Slot] = true
			holds[d.MemberID] = true
		}
		slot := 0
		var docs []any
		for _, m := range byAccount[acct] {
			if holds[m] {
				continue
			}
			holds[m] = true
			for slot++; used[slot]; slot++ {
			}
			docs = append(docs, seatDoc{ID: seatID(acct, m), AccountID: acct, MemberID: m, Slot: slot})
		}
		if len(docs) == 0 {
			continue
		}
		if _, err := s.seats.InsertMany(ctx, docs); err != nil {
			return fmt.Errorf("seats of account %s: %w", acct, err)
		}
	}
	return nil
}

// Count returns how many records of kind the store holds.
func (s *Store) Count(ctx context.Context, kind repository.RecordKind) (int, error) {
	coll := s.collection(kind)
	if coll == nil {
		return 0, fmt.Errorf("count: unknown kind %q", kind)
	}
	n, err := coll.CountDocuments(ctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", kind, err)
	}
	return int(n), nil
}

// collMigration keeps the migration checkpoint: one document, written by
// `roster migrate`, never read by the server.
const collMigration = "_migration"

// checkpointDoc is the checkpoint document.
type checkpointDoc struct {
	ID        string    `bson:"_id"`
	Source    string    `bson:"source"`
	Kind      string    `bson:"kind"`
	After     string    `bson:"after"`
	Done      bool      `bson:"done"`
	StartedAt time.Time `bson:"startedAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

var _ repository.Checkpointer = (*Store)(nil)

// LoadCheckpoint returns the migration checkpoint kept in the database.
func (s *Store) LoadCheckpoint(ctx context.Context) (repository.Checkpoint, error) {
	var d checkpointDoc
	err := s.db.Collection(collMigration).FindOne(ctx, bson.D{{Key: "_id", Value: "checkpoint"}}).Decode(&d)
	if isNoDocs(err) {
		return repository.Checkpoint{}, notFound("migration checkpoint", "checkpoint")
	}
	if err != nil {
		return repository.Checkpoint{}, fmt.Errorf("load migration checkpoint: %w", err)
	}
	return repository.Checkpoint{
		Source: d.Source, Kind: repository.RecordKind(d.Kind), After: d.After, Done: d.Done,
		StartedAt: d.StartedAt, UpdatedAt: d.UpdatedAt,
	}, nil
}

// SaveCheckpoint replaces the migration checkpoint.
func (s *Store) SaveCheckpoint(ctx context.Context, c repository.Checkpoint) error {
	d := checkpointDoc{
		ID: "checkpoint", Source: c.Source, Kind: string(c.Kind), After: c.After, Done: c.Done,
		StartedAt: msTime(c.StartedAt), UpdatedAt: msTime(c.UpdatedAt),
	}
	_, err := s.db.Collection(collMigration).ReplaceOne(ctx, bson.D{{Key: "_id", Value: "checkpoint"}}, d, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save migration checkpoint: %w", err)
	}
	return nil
}
