// Package mongo is Roster's production store: repository.Store on MongoDB
// (replica set or sharded cluster) through go.mongodb.org/mongo-driver/v2.
// It also runs on FerretDB, the MongoDB-wire stand-in the tests use, and
// keeps every invariant that matters there too (see "FerretDB" below).
//
// # Documents
//
// Every document carries accountId and every index starts with it, except
// the deployment-wide lookups: token, session and invitation hashes, the
// account name, SSO email domains, and the sweepers' expiry and outbox
// queue indexes. Field names are explicit camelCase bson names. Attributes
// SCIM compares ignoring case have a lowered shadow field (userNameLower,
// emails[].valueLower, rolesLower, ...) lowered in Go; comparisons,
// uniqueness and sorting use the shadow, never a collation. "Unique when
// present" attributes (externalId) use an always-present key field
// (externalIdKey: the value, or "\x00"+id when empty) under a plain unique
// index, because partial indexes are not available everywhere.
//
// Group membership lives in its own collection (group_members), one edge
// per (group, member), so adding or removing one member costs the same
// whatever the size of the group.
//
// # Consistency
//
// Writes use write concern "majority"; reads use the primary with read
// concern "majority", so a caller reads its own acknowledged writes. A URI
// that sets w, readConcernLevel or readPreference overrides these defaults.
// Updates are compare-and-swap on the record's version. InTx uses a
// session transaction on a replica set or mongos (Transactional reports
// it) and runs the function directly elsewhere.
//
// # Sharding
//
// Collections holding account data (members, groups, group_members, roles,
// seats, audit_events, sso_connections, identity_links) shard on
// {accountId: 1}: every query and every unique index of theirs starts with
// accountId (an identity link's _id starts with its account), so each
// operation goes to one shard and each unique rule (one userName, one seat
// slot, one edge per pair, one link per subject) is checked within it.
// Collections with deployment-wide unique keys (accounts, tokens, sessions,
// invitations, sso_domains, replays, one_time_values, throttles,
// signing_keys, and the outbox, whose EnqueueEmail upserts by _id alone)
// must stay unsharded or shard on that key, since MongoDB
// enforces a unique index across shards only when it is prefixed by the
// shard key.
//
// # FerretDB
//
// FerretDB (v1.24) lacks transactions, collation, TTL and partial indexes,
// rejects $elemMatch with field conditions, scans for every non-_id filter,
// and applies an update as read-then-write, so concurrent updates of one
// document can be lost there. The store detects it from buildInfo
// (IsFerretDB) and avoids what it lacks; seat reservation and replay
// protection rely only on inserts guarded by unique indexes, which are
// safe on both servers. Because FerretDB only pushes a filter on _id alone
// down to SQLite, lookups by id send {_id} there and check the account in
// Go (MongoDB gets {_id, accountId}); everything else is a scan on
// FerretDB and an index lookup on MongoDB.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/rosterhq/roster/repository"
)

// DefaultDatabase is the database used when the URI names none.
const DefaultDatabase = "roster"

// DefaultServerSelectionTimeout bounds how long Open (and every operation)
// waits for a reachable server unless the URI sets serverSelectionTimeoutMS.
const DefaultServerSelectionTimeout = 10 * time.Second

// Collection names.
const (
	collAccounts    = "accounts"
	collDeletions   = "account_deletions"
	collMembers     = "members"
	collGroups      = "groups"
	collEdges       = "group_members"
	collRoles       = "roles"
	collSeats       = "seats"
	collInvitations = "invitations"
	collTokens      = "tokens"
	collSessions    = "sessions"
	collSSO         = "sso_connections"
	collSSODomains  = "sso_domains"
	collReplays     = "replays"
	collAudit       = "audit_events"
	collOutbox      = "outbox"
	collOneTime     = "one_time_values"
	collLinks       = "identity_links"
	collSigningKeys = "signing_keys"
	collThrottles   = "throttles"
)

// Store is repository.Store on MongoDB. It is safe for concurrent use.
type Store struct {
	client        *mongo.Client
	db            *mongo.Database
	hosts         []string
	ferret        bool
	transactional bool

	accounts    *mongo.Collection
	deletions   *mongo.Collection
	members     *mongo.Collection
	groups      *mongo.Collection
	edges       *mongo.Collection
	roles       *mongo.Collection
	seats       *mongo.Collection
	invitations *mongo.Collection
	tokens      *mongo.Collection
	sessions    *mongo.Collection
	sso         *mongo.Collection
	ssoDomains  *mongo.Collection
	replays     *mongo.Collection
	audit       *mongo.Collection
	outbox      *mongo.Collection
	oneTime     *mongo.Collection
	links       *mongo.Collection
	signingKeys *mongo.Collection
	throttles   *mongo.Collection
}

var _ repository.Store = (*Store)(nil)

// clientOptions returns the driver options Open uses: the documented
// defaults (majority writes, majority reads from the primary, a bounded
// server selection) with whatever the URI sets on top.
func clientOptions(uri string) *options.ClientOptions {
	return options.Client().
		SetWriteConcern(writeconcern.Majority()).
		SetReadConcern(readconcern.Majority()).
		SetReadPreference(readpref.Primary()).
		SetServerSelectionTimeout(DefaultServerSelectionTimeout).
		SetConnectTimeout(DefaultServerSelectionTimeout).
		ApplyURI(uri)
}

// Open connects to the MongoDB deployment at uri, checks it answers, detects
// what kind of server it is, and creates the store's indexes (idempotently).
// The database is the URI's path, or DefaultDatabase.
func Open(ctx context.Context, uri string) (*Store, error) {
	opts := clientOptions(uri)
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("open mongo store: invalid URI: %w", err)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("open mongo store: %w", err)
	}
	s := &Store{client: client, hosts: opts.Hosts}
	if err := s.init(ctx, databaseName(uri), opts); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(dctx)
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context, dbName string, opts *options.ClientOptions) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		timeout := DefaultServerSelectionTimeout
		if opts.ServerSelectionTimeout != nil {
			timeout = *opts.ServerSelectionTimeout
		}
		return fmt.Errorf("open mongo store: cannot reach MongoDB at %s (waited up to %s): %w",
			strings.Join(s.hosts, ","), timeout, err)
	}
	if err := s.detect(ctx); err != nil {
		return fmt.Errorf("open mongo store: %w", err)
	}
	s.db = s.client.Database(dbName)
	c := s.db.Collection
	s.accounts, s.deletions = c(collAccounts), c(collDeletions)
	s.members, s.groups, s.edges, s.roles = c(collMembers), c(collGroups), c(collEdges), c(collRoles)
	s.seats, s.invitations, s.tokens, s.sessions = c(collSeats), c(collInvitations), c(collTokens), c(collSessions)
	s.sso, s.ssoDomains, s.replays = c(collSSO), c(collSSODomains), c(collReplays)
	s.audit, s.outbox = c(collAudit), c(collOutbox)
	s.oneTime, s.links, s.signingKeys, s.throttles = c(collOneTime), c(collLinks), c(collSigningKeys), c(collThrottles)
	if err := s.ensureIndexes(ctx); err != nil {
		return fmt.Errorf("open mongo store: %w", err)
	}
	return nil
}

// detect asks the server what it is. FerretDB answers buildInfo with its
// own "ferretdbVersion" field (MongoDB never sends it); a replica set member
// answers hello with "setName" and a mongos with msg "isdbgrid".
func (s *Store) detect(ctx context.Context) error {
	admin := s.client.Database("admin")
	var build bson.M
	if err := admin.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&build); err != nil {
		return fmt.Errorf("buildInfo: %w", err)
	}
	_, s.ferret = build["ferretdbVersion"]
	var hello struct {
		SetName string `bson:"setName"`
		Msg     string `bson:"msg"`
	}
	if err := admin.RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	s.transactional = !s.ferret && (hello.SetName != "" || hello.Msg == "isdbgrid")
	return nil
}

// databaseName returns the database named in a mongodb:// or mongodb+srv://
// URI's path, or DefaultDatabase.
func databaseName(uri string) string {
	rest := uri
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return DefaultDatabase
	}
	name, err := url.PathUnescape(rest[i+1:])
	if err != nil || name == "" {
		return DefaultDatabase
	}
	return name
}

// IsFerretDB reports whether the server identified itself as FerretDB.
func (s *Store) IsFerretDB() bool { return s.ferret }

// Transactional reports whether InTx is atomic: true on a replica set or
// mongos that is not FerretDB.
func (s *Store) Transactional() bool { return s.transactional }

// Database returns the database the store uses (for operators and tests).
func (s *Store) Database() *mongo.Database { return s.db }

// Ping checks the primary answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("ping mongo at %s: %w", strings.Join(s.hosts, ","), err)
	}
	return nil
}

// Close disconnects from the deployment.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("close mongo store: %w", err)
	}
	return nil
}

// InTx runs fn in a session transaction carried by the ctx it receives, so
// every store call made with that ctx joins it; a call nested in fn joins
// the outer transaction. The driver retries fn when the server reports a
// transient conflict, so fn must be safe to run again. Without transaction
// support fn runs directly.
//
// A write error inside a MongoDB transaction (a duplicate key, say) aborts
// the whole transaction, so fn should return such errors rather than carry
// on after them.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if !s.transactional || inTransaction(ctx) {
		return fn(ctx)
	}
	return s.client.UseSession(ctx, func(sctx context.Context) error {
		sess := mongo.SessionFromContext(sctx)
		_, err := sess.WithTransaction(sctx, func(tctx context.Context) (any, error) {
			return nil, fn(tctx)
		})
		return err
	})
}

// inTransaction reports whether ctx carries a session with a running
// transaction.
func inTransaction(ctx context.Context) bool {
	sess := mongo.SessionFromContext(ctx)
	return sess != nil && sess.TransactionRunning()
}

// transientError marks an error as a transient transaction error so that
// Session.WithTransaction runs the whole transaction again. Inside a
// transaction the server aborts on a duplicate key, so the retry loops that
// handle lost insert races (seats) cannot retry in place; they ask for a
// fresh transaction instead.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// HasErrorLabel implements mongo.LabeledError.
func (e transientError) HasErrorLabel(label string) bool {
	return label == "TransientTransactionError"
}

// now is the store's clock, at the millisecond precision BSON dates keep.
func now() time.Time { return msTime(time.Now()) }

// msTime truncates t to what a BSON date stores (UTC milliseconds), so a
// record read back compares equal to the one returned at write time.
func msTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// notFound wraps repository.ErrNotFound with what was looked up.
func notFound(kind, id string) error {
	return fmt.Errorf("%s %q: %w", kind, id, repository.ErrNotFound)
}

// isNoDocs reports the driver's "no document" result.
func isNoDocs(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

// maxUpdateAttempts bounds compare-and-swap retries before an update gives
// up with repository.ErrVersionMismatch.
const maxUpdateAttempts = 16

// casUpdate is the read-apply-write loop of every UpdateX: load reads the
// current record, fn changes it, write stores the result only if the
// stored version is still cur's, returning what it stored and whether the
// version matched. fn's own errors are returned as they are.
func casUpdate[R any](
	ctx context.Context,
	load func(ctx context.Context) (R, error),
	fn func(R) (R, error),
	write func(ctx context.Context, cur, next R) (R, bool, error),
) (R, error) {
	var zero R
	for range maxUpdateAttempts {
		cur, err := load(ctx)
		if err != nil {
			return zero, err
		}
		// fn gets a copy of the struct, so cur's Meta stays what was read.
		next, err := fn(cur)
		if err != nil {
			return zero, err
		}
		stored, ok, err := write(ctx, cur, next)
		if err != nil {
			return zero, err
		}
		if ok {
			return stored, nil
		}
		if err := ctx.Err(); err != nil {
			return zero, err
		}
	}
	return zero, repository.ErrVersionMismatch
}
