package mongo

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// The SSO bridge's state: one-time values, identity links, signing keys
// and login-failure throttles.

// maxFailures is how many failures of one key the throttle keeps: counts
// saturate there, which bounds the document an attacker hammering one key
// can grow while staying far above any backoff threshold.
const maxFailures = 100

// oneTimeDoc is a value taken once. Keys are deployment-wide (the value
// says which account it is for), so it has no accountId.
type oneTimeDoc struct {
	Key       string    `bson:"_id"`
	Value     []byte    `bson:"value"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// linkDoc is an identity link. Its _id is linkID(account, connection,
// subject): the _id index makes the triple unique (within one shard, as a
// cluster sharded on accountId routes a triple to one) and answers the
// lookup on FerretDB too.
type linkDoc struct {
	ID           string    `bson:"_id"`
	AccountID    string    `bson:"accountId"`
	ConnectionID string    `bson:"connectionId"`
	Subject      string    `bson:"subject"`
	MemberID     string    `bson:"memberId"`
	CreatedAt    time.Time `bson:"createdAt"`
}

func (d linkDoc) record() repository.IdentityLink {
	return repository.IdentityLink{
		AccountID: d.AccountID, ConnectionID: d.ConnectionID, Subject: d.Subject,
		MemberID: d.MemberID, CreatedAt: d.CreatedAt,
	}
}

// linkID joins account, connection and subject without ambiguity (each
// part escaped, so the separator cannot come from inside one).
func linkID(accountID, connectionID, subject string) string {
	return pairID(accountID, connectionID) + "/" + url.QueryEscape(subject)
}

// signingKeyDoc is a deployment-wide signing key; zero times are absent.
type signingKeyDoc struct {
	ID         string    `bson:"_id"`
	Algorithm  string    `bson:"algorithm"`
	PrivateKey []byte    `bson:"privateKey"`
	PublicKey  []byte    `bson:"publicKey"`
	CreatedAt  time.Time `bson:"createdAt"`
	RetiresAt  time.Time `bson:"retiresAt,omitempty"`
	ExpiresAt  time.Time `bson:"expiresAt,omitempty"`
}

// throttleDoc keeps a key's newest failures (at most maxFailures) and when
// the document may go: the latest failure plus the longest window asked.
type throttleDoc struct {
	Key       string      `bson:"_id"`
	Failures  []time.Time `bson:"failures"`
	ExpiresAt time.Time   `bson:"expiresAt"`
}

// after is the condition "a stored date later than t".
func after(t time.Time) bson.D {
	d, _ := ops(fieldSpec{kind: repository.KindTime}, repository.OpGt, t)
	return d
}

// PutOneTime stores value under key until expiresAt; a key already stored
// (expired or not, until swept) is a conflict on "key".
func (s *Store) PutOneTime(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	if value == nil {
		value = []byte{}
	}
	_, err := s.oneTime.InsertOne(ctx, oneTimeDoc{Key: key, Value: value, ExpiresAt: msTime(expiresAt)})
	if isDup(err) {
		return fmt.Errorf("put one-time value: %w", repository.NewConflict("one-time value", "key"))
	}
	if err != nil {
		return fmt.Errorf("put one-time value: %w", err)
	}
	return nil
}

// TakeOneTime removes and returns the value of key if it is not expired at
// now; otherwise ErrNotFound. The server deletes the document for one
// caller only: findAndModify on MongoDB; on FerretDB, whose findAndModify
// is a read then a write, the caller whose DeleteOne removed it.
func (s *Store) TakeOneTime(ctx context.Context, key string, now time.Time) ([]byte, error) {
	filter := bson.D{{Key: "_id", Value: key}, {Key: "expiresAt", Value: after(now)}}
	var d oneTimeDoc
	if !s.ferret {
		if err := s.oneTime.FindOneAndDelete(ctx, filter).Decode(&d); err != nil {
			if isNoDocs(err) {
				return nil, notFound("one-time value", key)
			}
			return nil, fmt.Errorf("take one-time value: %w", err)
		}
		return nonNil(d.Value), nil
	}
	if err := s.oneTime.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d); err != nil {
		if isNoDocs(err) {
			return nil, notFound("one-time value", key)
		}
		return nil, fmt.Errorf("take one-time value: %w", err)
	}
	if !d.ExpiresAt.After(now) {
		return nil, notFound("one-time value", key)
	}
	res, err := s.oneTime.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}})
	if err != nil {
		return nil, fmt.Errorf("take one-time value: %w", err)
	}
	if res.DeletedCount != 1 {
		return nil, notFound("one-time value", key) // another caller took it
	}
	return nonNil(d.Value), nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// DeleteExpiredOneTime removes values that expired before now. Where the
// server has TTL indexes, one_time_expiry also removes them.
func (s *Store) DeleteExpiredOneTime(ctx context.Context, now time.Time) (int, error) {
	res, err := s.oneTime.DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: before(now)}})
	if err != nil {
		return 0, fmt.Errorf("delete expired one-time values: %w", err)
	}
	return int(res.DeletedCount), nil
}

// CreateIdentityLink stores l, filling CreatedAt when zero; a (connection,
// subject) already linked in the account is a conflict on "subject".
func (s *Store) CreateIdentityLink(ctx context.Context, l repository.IdentityLink) (repository.IdentityLink, error) {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = now()
	}
	d := linkDoc{
		ID: linkID(l.AccountID, l.ConnectionID, l.Subject), AccountID: l.AccountID,
		ConnectionID: l.ConnectionID, Subject: l.Subject, MemberID: l.MemberID, CreatedAt: msTime(l.CreatedAt),
	}
	if _, err := s.links.InsertOne(ctx, d); err != nil {
		if isDup(err) {
			return repository.IdentityLink{}, fmt.Errorf("create identity link: %w", repository.NewConflict("identity link", "subject"))
		}
		return repository.IdentityLink{}, fmt.Errorf("create identity link: %w", err)
	}
	return d.record(), nil
}

// GetIdentityLink finds the link of (connection, subject) in the account.
func (s *Store) GetIdentityLink(ctx context.Context, accountID, connectionID, subject string) (repository.IdentityLink, error) {
	var d linkDoc
	ok, err := s.findOwned(ctx, s.links, accountID, linkID(accountID, connectionID, subject), &d)
	if err != nil {
		return repository.IdentityLink{}, fmt.Errorf("get identity link: %w", err)
	}
	if !ok {
		return repository.IdentityLink{}, notFound("identity link", subject)
	}
	return d.record(), nil
}

// ListMemberIdentityLinks lists a member's links, oldest first.
func (s *Store) ListMemberIdentityLinks(ctx context.Context, accountID, memberID string) ([]repository.IdentityLink, error) {
	cur, err := s.links.Find(ctx,
		bson.D{{Key: "accountId", Value: accountID}, {Key: "memberId", Value: memberID}},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "connectionId", Value: 1}, {Key: "subject", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list identity links: %w", err)
	}
	var docs []linkDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list identity links: %w", err)
	}
	out := make([]repository.IdentityLink, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.record())
	}
	return out, nil
}

// DeleteIdentityLink removes the link of (connection, subject); ErrNotFound
// when the account has none. The _id names the account, so FerretDB gets
// the _id alone (a lookup, not a scan).
func (s *Store) DeleteIdentityLink(ctx context.Context, accountID, connectionID, subject string) error {
	id := linkID(accountID, connectionID, subject)
	filter := byID(accountID, id)
	if s.ferret {
		filter = bson.D{{Key: "_id", Value: id}}
	}
	res, err := s.links.DeleteOne(ctx, filter)
	if err != nil {
		return fmt.Errorf("delete identity link: %w", err)
	}
	if res.DeletedCount == 0 {
		return notFound("identity link", subject)
	}
	return nil
}

// CreateSigningKey stores k; an ID already stored is a conflict on "id".
func (s *Store) CreateSigningKey(ctx context.Context, k repository.SigningKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now()
	}
	d := signingKeyDoc{
		ID: k.ID, Algorithm: k.Algorithm, PrivateKey: nonNil(k.PrivateKey), PublicKey: nonNil(k.PublicKey),
		CreatedAt: msTime(k.CreatedAt), RetiresAt: msTime(k.RetiresAt), ExpiresAt: msTime(k.ExpiresAt),
	}
	if _, err := s.signingKeys.InsertOne(ctx, d); err != nil {
		if isDup(err) {
			return fmt.Errorf("create signing key: %w", repository.NewConflict("signing key", "id"))
		}
		return fmt.Errorf("create signing key: %w", err)
	}
	return nil
}

// ListSigningKeys returns the keys not expired at now (a zero ExpiresAt
// never expires), newest first.
func (s *Store) ListSigningKeys(ctx context.Context, now time.Time) ([]repository.SigningKey, error) {
	filter := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "expiresAt", Value: after(now)}},
	}}}
	cur, err := s.signingKeys.Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}))
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	var docs []signingKeyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	out := make([]repository.SigningKey, 0, len(docs))
	for _, d := range docs {
		out = append(out, repository.SigningKey{
			ID: d.ID, Algorithm: d.Algorithm, PrivateKey: d.PrivateKey, PublicKey: d.PublicKey,
			CreatedAt: d.CreatedAt, RetiresAt: d.RetiresAt, ExpiresAt: d.ExpiresAt,
		})
	}
	return out, nil
}

// DeleteExpiredSigningKeys removes keys that expired before now.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	res, err := s.signingKeys.DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: before(now)}})
	if err != nil {
		return 0, fmt.Errorf("delete expired signing keys: %w", err)
	}
	return int(res.DeletedCount), nil
}

// RecordFailure adds one failure of key at at and returns how many of the
// key's kept failures are within window before at (or after it: a
// concurrent caller's). One findAndModify upsert pushes the failure (the
// array sliced to the newest maxFailures) and returns the document after
// it, so on MongoDB concurrent callers each count their own failure once.
// FerretDB applies an update as a read then a write, so there concurrent
// failures of one key can be lost (the count is then low, never high).
func (s *Store) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	at = msTime(at)
	update := bson.D{
		{Key: "$push", Value: bson.D{{Key: "failures", Value: bson.D{
			{Key: "$each", Value: bson.A{at}},
			{Key: "$slice", Value: -maxFailures},
		}}}},
		{Key: "$max", Value: bson.D{{Key: "expiresAt", Value: at.Add(window)}}},
	}
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	var d throttleDoc
	var err error
	for range 2 {
		// Two first failures of a key at once: both upserts insert, one
		// loses on the _id index (MongoDB before 4.2, FerretDB) and
		// retries as an update.
		err = s.throttles.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: key}}, update, opts).Decode(&d)
		if !isDup(err) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("record failure: %w", err)
	}
	n, _ := countSince(d.Failures, at.Add(-window))
	return n, nil
}

// Failures returns the count of key's failures within window before now
// and the time of the latest of them.
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, time.Time, error) {
	var d throttleDoc
	if err := s.throttles.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d); err != nil {
		if isNoDocs(err) {
			return 0, time.Time{}, nil
		}
		return 0, time.Time{}, fmt.Errorf("failures: %w", err)
	}
	n, latest := countSince(d.Failures, now.Add(-window))
	return n, latest, nil
}

// countSince counts the times after since and returns the latest of them.
func countSince(ts []time.Time, since time.Time) (int, time.Time) {
	n, latest := 0, time.Time{}
	for _, t := range ts {
		if t.After(since) {
			n++
			if t.After(latest) {
				latest = t
			}
		}
	}
	return n, latest
}

// ClearFailures forgets key's failures.
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	if _, err := s.throttles.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}}); err != nil {
		return fmt.Errorf("clear failures: %w", err)
	}
	return nil
}

// DeleteFailuresBefore removes the keys whose documents expired before the
// cut-off: a document's expiresAt is its latest failure plus the longest
// window asked, so no failure of it is newer. The TTL index does this too
// where the server has TTL (not FerretDB).
func (s *Store) DeleteFailuresBefore(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.throttles.DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: before(cutoff)}})
	if err != nil {
		return 0, fmt.Errorf("delete failures before: %w", err)
	}
	return int(res.DeletedCount), nil
}
