package repository

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"reflect"
	"strings"
	"time"
)

// Moving a deployment from one store to another (roster migrate) copies
// every record verbatim: ids, versions, timestamps and hashes. A backend
// that supports it implements Exporter and Importer; both are optional,
// so a store without them still is a repository.Store.
//
// Records are transferred kind by kind (TransferKinds gives the order in
// which they depend on one another) and page by page in key order. A key
// is the record's identity across the deployment, store-neutral: the same
// record has the same key in every backend, and every backend returns a
// kind's records in ascending key order (plain byte order of the key
// string), so two stores can be compared page by page.
//
// Kinds that are not transferred, because they are transient and a
// migration done while the servers are stopped loses nothing by dropping
// them: one-time values (SAML request ids, OIDC login state: an
// interrupted login starts again), replay keys (they protect assertions
// that expire within minutes), login-failure throttles, and outbox leases
// (a message leased but not sent is sent again).

// RecordKind names one kind of record in a transfer.
type RecordKind string

// The kinds of record a transfer copies.
const (
	KindAccounts         RecordKind = "accounts"
	KindRoles            RecordKind = "roles"
	KindMembers          RecordKind = "members"
	KindGroups           RecordKind = "groups"
	KindGroupMembers     RecordKind = "group_members"
	KindSeats            RecordKind = "seats"
	KindInvitations      RecordKind = "invitations"
	KindTokens           RecordKind = "tokens"
	KindSessions         RecordKind = "sessions"
	KindSSOConnections   RecordKind = "sso_connections"
	KindIdentityLinks    RecordKind = "identity_links"
	KindSigningKeys      RecordKind = "signing_keys"
	KindAuditEvents      RecordKind = "audit_events"
	KindOutbox           RecordKind = "outbox"
	KindAccountDeletions RecordKind = "account_deletions"
)

// TransferKinds returns every transferred kind in dependency order: a
// record's account before it, members before their edges, seats, tokens
// and sessions, connections before their identity links.
func TransferKinds() []RecordKind {
	return []RecordKind{
		KindAccounts, KindRoles, KindMembers, KindGroups, KindGroupMembers, KindSeats,
		KindInvitations, KindTokens, KindSessions, KindSSOConnections, KindIdentityLinks,
		KindSigningKeys, KindAuditEvents, KindOutbox, KindAccountDeletions,
	}
}

// ParseKind returns the kind named s.
func ParseKind(s string) (RecordKind, error) {
	for _, k := range TransferKinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown record kind %q", s)
}

// GroupEdge is one group membership edge, as transferred.
type GroupEdge struct {
	AccountID string
	GroupID   string
	MemberID  string
}

// SeatHolder is one held agent seat, as transferred. How a backend
// numbers seats (MongoDB's slots) is its own business: the importer
// assigns them.
type SeatHolder struct {
	AccountID string
	MemberID  string
}

// Record is one record of a transfer: its kind, its key (see KeyOf) and
// the record itself, a value of the kind's type: Account, Role, Member,
// Group (without Members: edges are their own kind), GroupEdge,
// SeatHolder, Invitation, Token, Session, SSOConnection, IdentityLink,
// SigningKey, AuditEvent, OutboxMessage or AccountDeletion.
type Record struct {
	Kind  RecordKind
	Key   string
	Value any
}

// Exporter pages through every record of a kind, across all accounts.
type Exporter interface {
	// Export returns up to limit records of kind whose key is above after
	// ("" for the start), in ascending key order. Fewer than limit
	// records means the end.
	Export(ctx context.Context, kind RecordKind, after string, limit int) ([]Record, error)
	// Count returns how many records of kind the store holds (for
	// progress; the verification counts what Export returns).
	Count(ctx context.Context, kind RecordKind) (int, error)
}

// Importer writes records verbatim.
type Importer interface {
	// Import stores recs (all of kind) exactly as given, ids, versions and
	// timestamps included, replacing a record with the same key, so that
	// importing the same records again changes nothing. A record that
	// collides with a different record on a unique attribute (another
	// member's userName) is a *ConflictError. Records of the kinds a
	// record depends on must have been imported first.
	Import(ctx context.Context, kind RecordKind, recs []Record) error
}

// Checkpoint is how far a migration into a store got. The target keeps
// it, next to the data it describes, so that a migration killed midway
// resumes where it stopped; Import being idempotent, resuming from a
// checkpoint older than the data (killed between a batch and its
// checkpoint) only writes that batch again.
type Checkpoint struct {
	// Source is the store copied from, without credentials.
	Source string
	// Kind is the kind being copied and After its last key copied; an
	// empty Kind means nothing was copied yet.
	Kind  RecordKind
	After string
	// Done is set once every kind was copied.
	Done      bool
	StartedAt time.Time
	UpdatedAt time.Time
}

// Checkpointer keeps a store's migration checkpoint.
type Checkpointer interface {
	// LoadCheckpoint returns the checkpoint; ErrNotFound when none.
	LoadCheckpoint(ctx context.Context) (Checkpoint, error)
	// SaveCheckpoint replaces the checkpoint.
	SaveCheckpoint(ctx context.Context, c Checkpoint) error
}

// keySep joins the parts of a key. It sorts below every other byte, so
// comparing joined keys as strings compares their parts in order, the
// way a backend's (accountId, id) index does.
const keySep = "\x00"

// JoinKey joins key parts.
func JoinKey(parts ...string) string { return strings.Join(parts, keySep) }

// SplitKey splits key into n parts; "" gives n empty parts.
func SplitKey(key string, n int) ([]string, error) {
	if key == "" {
		return make([]string, n), nil
	}
	parts := strings.Split(key, keySep)
	if len(parts) != n {
		return nil, fmt.Errorf("malformed key %q: %d parts, want %d", key, len(parts), n)
	}
	return parts, nil
}

// KeyParts returns how many parts a key of kind has.
func KeyParts(kind RecordKind) int {
	switch kind {
	case KindAccounts, KindSigningKeys, KindAccountDeletions:
		return 1
	case KindGroupMembers, KindIdentityLinks:
		return 3
	}
	return 2
}

// NewRecord wraps v, a record of kind, with its key.
func NewRecord(kind RecordKind, v any) (Record, error) {
	key, err := KeyOf(kind, v)
	if err != nil {
		return Record{}, err
	}
	return Record{Kind: kind, Key: key, Value: v}, nil
}

// KeyOf returns the key of v, a record of kind.
func KeyOf(kind RecordKind, v any) (string, error) {
	bad := func() (string, error) { return "", fmt.Errorf("key of %s: unexpected %T", kind, v) }
	switch kind {
	case KindAccounts:
		r, ok := v.(Account)
		if !ok {
			return bad()
		}
		return r.ID, nil
	case KindRoles:
		r, ok := v.(Role)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.Key), nil
	case KindMembers:
		r, ok := v.(Member)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ID), nil
	case KindGroups:
		r, ok := v.(Group)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ID), nil
	case KindGroupMembers:
		r, ok := v.(GroupEdge)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.GroupID, r.MemberID), nil
	case KindSeats:
		r, ok := v.(SeatHolder)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.MemberID), nil
	case KindInvitations:
		r, ok := v.(Invitation)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ID), nil
	case KindTokens:
		r, ok := v.(Token)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ID), nil
	case KindSessions:
		r, ok := v.(Session)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ID), nil
	case KindSSOConnections:
		r, ok := v.(SSOConnection)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ID), nil
	case KindIdentityLinks:
		r, ok := v.(IdentityLink)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ConnectionID, r.Subject), nil
	case KindSigningKeys:
		r, ok := v.(SigningKey)
		if !ok {
			return bad()
		}
		return r.ID, nil
	case KindAuditEvents:
		r, ok := v.(AuditEvent)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ID), nil
	case KindOutbox:
		r, ok := v.(OutboxMessage)
		if !ok {
			return bad()
		}
		return JoinKey(r.AccountID, r.ID), nil
	case KindAccountDeletions:
		r, ok := v.(AccountDeletion)
		if !ok {
			return bad()
		}
		return r.AccountID, nil
	}
	return "", fmt.Errorf("key of unknown kind %q", kind)
}

// TransferPrecision is the precision at which transferred times are
// compared: a BSON date keeps milliseconds, so a record moved from the
// embedded store (nanoseconds) to MongoDB keeps its times to the
// millisecond, which is also what SCIM's meta timestamps show.
const TransferPrecision = time.Millisecond

// Canonical returns a copy of v normalised for comparison across
// backends: times in UTC truncated to TransferPrecision, empty slices as
// nil, and a Group's Members dropped (edges are their own kind).
func Canonical(v any) any {
	if g, ok := v.(Group); ok {
		g.Members = nil
		v = g
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return v
	}
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	normalize(cp)
	return cp.Interface()
}

var timeType = reflect.TypeFor[time.Time]()

// normalize rewrites v (settable) in place; slices are copied before any
// element is changed so the caller's record is never touched.
func normalize(v reflect.Value) {
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		if !t.IsZero() {
			v.Set(reflect.ValueOf(t.UTC().Truncate(TransferPrecision)))
		} else {
			v.Set(reflect.ValueOf(time.Time{}))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				normalize(f)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			normalize(cp.Index(i))
		}
		v.Set(cp)
	}
}

// CanonicalJSON is the canonical encoding of a record for checksums: the
// kind, the key and the Canonical value as JSON.
func CanonicalJSON(r Record) ([]byte, error) {
	b, err := json.Marshal(struct {
		Kind  RecordKind `json:"kind"`
		Key   string     `json:"key"`
		Value any        `json:"value"`
	}{r.Kind, r.Key, Canonical(r.Value)})
	if err != nil {
		return nil, fmt.Errorf("canonical json of %s %q: %w", r.Kind, r.Key, err)
	}
	return b, nil
}

// Checksum accumulates the count and SHA-256 of a kind's records in key
// order (each record's CanonicalJSON followed by a newline).
type Checksum struct {
	Count int
	h     hash.Hash
	last  string
}

// Add adds r, which must come after every record added before.
func (c *Checksum) Add(r Record) error {
	if c.h == nil {
		c.h = sha256.New()
	}
	if c.Count > 0 && r.Key <= c.last {
		return fmt.Errorf("checksum of %s: key %q is not after %q", r.Kind, r.Key, c.last)
	}
	b, err := CanonicalJSON(r)
	if err != nil {
		return err
	}
	c.h.Write(b)
	c.h.Write([]byte{'\n'})
	c.Count++
	c.last = r.Key
	return nil
}

// Sum returns the hex SHA-256 so far.
func (c *Checksum) Sum() string {
	if c.h == nil {
		c.h = sha256.New()
	}
	return fmt.Sprintf("%x", c.h.Sum(nil))
}
