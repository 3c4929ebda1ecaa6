// Package repository defines Roster's records, the store interfaces every
// backend implements, and the store-neutral query model that SCIM filters
// and admin-API lists compile to.
//
// Every record carries its account id and every method that reads or writes
// account data takes it: a backend must never return or change a record of
// another account, whatever the id or filter. The contract suite in
// repository/storetest holds every backend to these rules.
package repository

import (
	"context"
	"time"
)

// Store is the whole storage layer. Backends: repository/sqlite (embedded
// default) and repository/mongo (production).
type Store interface {
	AccountStore
	MemberStore
	RoleStore
	GroupStore
	SeatStore
	InvitationStore
	TokenStore
	SessionStore
	SSOConnectionStore
	ReplayCache
	OneTimeStore
	IdentityLinkStore
	SigningKeyStore
	ThrottleStore
	AuditLog
	Outbox
	UsageStore

	// InTx runs fn so that its writes through the ctx it is given commit
	// together or not at all. Calls nested inside fn join the outer
	// transaction. A backend without transactions (MongoDB standalone,
	// FerretDB) runs fn directly; Transactional reports which.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// Transactional reports whether InTx is atomic on this deployment.
	Transactional() bool

	// Ping checks the store is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// AccountStore keeps accounts.
type AccountStore interface {
	// CreateAccount stores a new account; a duplicate name (any case) is a
	// *ConflictError on "name".
	CreateAccount(ctx context.Context, a Account) (Account, error)
	GetAccount(ctx context.Context, id string) (Account, error)
	// GetAccountByName finds an account by name, ignoring case (password
	// login names its account).
	GetAccountByName(ctx context.Context, name string) (Account, error)
	// UpdateAccount applies fn to the current record and writes the result
	// if nobody changed it meanwhile (it retries fn otherwise). An error from
	// fn aborts the update and is returned as is.
	UpdateAccount(ctx context.Context, id string, fn func(Account) (Account, error)) (Account, error)
	// DeleteAccount removes the account and every record of it (members,
	// roles, groups and edges, seats, invitations, tokens, sessions, SSO
	// connections, audit events, outbox), and keeps an AccountDeletion.
	DeleteAccount(ctx context.Context, id string, reason string) error
	GetAccountDeletion(ctx context.Context, id string) (AccountDeletion, error)
}

// MemberStore keeps members.
type MemberStore interface {
	// CreateMember stores m. It fills ID when empty, and Meta. A userName
	// equal in any case to another member's, or an equal non-empty
	// externalId, is a *ConflictError naming the attribute.
	CreateMember(ctx context.Context, m Member) (Member, error)
	GetMember(ctx context.Context, accountID, id string) (Member, error)
	// GetMemberByUserName finds a member by userName, ignoring case.
	GetMemberByUserName(ctx context.Context, accountID, userName string) (Member, error)
	// UpdateMember applies fn to the current record and writes it with a
	// compare-and-swap on Version, retrying fn when another writer won.
	// fn may return ErrVersionMismatch itself to enforce an If-Match.
	UpdateMember(ctx context.Context, accountID, id string, fn func(Member) (Member, error)) (Member, error)
	// DeleteMember removes the member, its group edges, seat and sessions.
	DeleteMember(ctx context.Context, accountID, id string) error
	ListMembers(ctx context.Context, accountID string, q Query) (Page[Member], error)
	// GroupsOfMembers returns the groups of each given member (the SCIM
	// User's read-only "groups"), keyed by member id.
	GroupsOfMembers(ctx context.Context, accountID string, memberIDs []string) (map[string][]GroupRef, error)
}

// FillGroups sets the Groups of each of members (of one account) with one
// call of groupsOf, a store's GroupsOfMembers.
func FillGroups(ctx context.Context, groupsOf func(ctx context.Context, accountID string, memberIDs []string) (map[string][]GroupRef, error),
	accountID string, members []Member) error {
	if len(members) == 0 {
		return nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	groups, err := groupsOf(ctx, accountID, ids)
	if err != nil {
		return err
	}
	for i := range members {
		members[i].Groups = groups[members[i].ID]
	}
	return nil
}

// RoleStore keeps roles.
type RoleStore interface {
	CreateRole(ctx context.Context, r Role) (Role, error)
	GetRole(ctx context.Context, accountID, key string) (Role, error)
	UpdateRole(ctx context.Context, accountID, key string, fn func(Role) (Role, error)) (Role, error)
	DeleteRole(ctx context.Context, accountID, key string) error
	// ListRoles returns every role of the account ordered by key.
	ListRoles(ctx context.Context, accountID string) ([]Role, error)
}

// GroupStore keeps groups and their membership edges.
type GroupStore interface {
	// CreateGroup stores g and the edges in g.Members. A displayName equal
	// in any case to another group's, or an equal non-empty externalId, is
	// a *ConflictError naming the attribute.
	CreateGroup(ctx context.Context, g Group) (Group, error)
	// GetGroup returns the group; its Members only when withMembers.
	GetGroup(ctx context.Context, accountID, id string, withMembers bool) (Group, error)
	// UpdateGroup changes the group's own attributes (not its edges) with
	// a compare-and-swap on Version.
	UpdateGroup(ctx context.Context, accountID, id string, fn func(Group) (Group, error)) (Group, error)
	DeleteGroup(ctx context.Context, accountID, id string) error
	// ListGroups lists groups; Members are filled only when withMembers.
	ListGroups(ctx context.Context, accountID string, q Query, withMembers bool) (Page[Group], error)
	// AddGroupMembers adds edges; existing edges are left as they are.
	// Every member id must be a member of the account (ErrNotFound
	// otherwise, and nothing is added). It bumps the group's version and
	// returns how many edges were new.
	AddGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) (int, error)
	// RemoveGroupMembers removes edges; absent edges are ignored. It bumps
	// the group's version and returns how many edges were removed.
	RemoveGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) (int, error)
	// ReplaceGroupMembers makes memberIDs the group's exact membership.
	ReplaceGroupMembers(ctx context.Context, accountID, groupID string, memberIDs []string) error
	// ListGroupMembers pages through a group's members in member id order,
	// starting after the member id afterID ("" for the start).
	ListGroupMembers(ctx context.Context, accountID, groupID, afterID string, limit int) ([]GroupMember, error)
}

// SeatStore is the atomic agent-seat primitive. The limit is the account's
// Seats.Total; a member holds at most one seat.
type SeatStore interface {
	// ReserveSeat gives memberID a seat when fewer than the limit are held,
	// and returns ErrNoSeat otherwise. Reserving a seat already held is a
	// no-op. It never over-allocates under concurrent callers, across
	// processes sharing the store.
	ReserveSeat(ctx context.Context, accountID, memberID string) error
	// ReleaseSeat frees memberID's seat; it is a no-op without one.
	ReleaseSeat(ctx context.Context, accountID, memberID string) error
	// SeatsInUse counts the seats held.
	SeatsInUse(ctx context.Context, accountID string) (int, error)
	// HoldsSeat reports whether memberID holds a seat.
	HoldsSeat(ctx context.Context, accountID, memberID string) (bool, error)
	// SetSeatLimit changes Seats.Total; a limit below the seats held is a
	// *SeatsInUseError.
	SetSeatLimit(ctx context.Context, accountID string, total int) (Account, error)
}

// InvitationStore keeps invitations.
type InvitationStore interface {
	CreateInvitation(ctx context.Context, inv Invitation) (Invitation, error)
	GetInvitation(ctx context.Context, accountID, id string) (Invitation, error)
	// GetInvitationByTokenHash finds an invitation of any account by the
	// hash of its link token (the token identifies the account).
	GetInvitationByTokenHash(ctx context.Context, hash string) (Invitation, error)
	UpdateInvitation(ctx context.Context, accountID, id string, fn func(Invitation) (Invitation, error)) (Invitation, error)
	// ListInvitations lists invitations not accepted and not revoked,
	// newest first.
	ListInvitations(ctx context.Context, accountID string) ([]Invitation, error)
}

// TokenStore keeps SCIM and API bearer tokens (hashed).
type TokenStore interface {
	CreateToken(ctx context.Context, t Token) (Token, error)
	// GetTokenByHash finds a token of any account by its hash.
	GetTokenByHash(ctx context.Context, hash string) (Token, error)
	// ListTokens lists the account's tokens of a kind, revoked included.
	ListTokens(ctx context.Context, accountID, kind string) ([]Token, error)
	// TouchToken records a use (LastUsedAt).
	TouchToken(ctx context.Context, accountID, id string, at time.Time) error
	RevokeToken(ctx context.Context, accountID, id string, at time.Time) error
	// RevokeMemberTokens revokes every API token of a member.
	RevokeMemberTokens(ctx context.Context, accountID, memberID string, at time.Time) error
}

// SessionStore keeps platform sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) (Session, error)
	// GetSessionByHash finds a session of any account by its cookie hash.
	GetSessionByHash(ctx context.Context, hash string) (Session, error)
	TouchSession(ctx context.Context, accountID, id string, at time.Time) error
	RevokeSession(ctx context.Context, accountID, id string, at time.Time) error
	// RevokeMemberSessions revokes every session of a member.
	RevokeMemberSessions(ctx context.Context, accountID, memberID string, at time.Time) error
	// ListMemberSessions lists every session of the member, revoked and
	// expired ones included, newest first.
	ListMemberSessions(ctx context.Context, accountID, memberID string) ([]Session, error)
	// DeleteExpiredSessions removes sessions expired before now and
	// returns them, so that the caller can release what they held (a
	// concurrent-seat lease).
	DeleteExpiredSessions(ctx context.Context, now time.Time) ([]Session, error)
}

// SSOConnectionStore keeps SSO connections.
type SSOConnectionStore interface {
	// CreateSSOConnection stores c; a domain already routed to another
	// connection is a *ConflictError on "domain".
	CreateSSOConnection(ctx context.Context, c SSOConnection) (SSOConnection, error)
	GetSSOConnection(ctx context.Context, accountID, id string) (SSOConnection, error)
	// GetSSOConnectionByID finds a connection of any account by its id: the
	// SAML and OIDC endpoints carry only the id, which identifies the
	// account (ids are unique across the deployment).
	GetSSOConnectionByID(ctx context.Context, id string) (SSOConnection, error)
	// GetSSOConnectionByDomain finds the connection an email domain routes
	// to, in any account.
	GetSSOConnectionByDomain(ctx context.Context, domain string) (SSOConnection, error)
	UpdateSSOConnection(ctx context.Context, accountID, id string, fn func(SSOConnection) (SSOConnection, error)) (SSOConnection, error)
	DeleteSSOConnection(ctx context.Context, accountID, id string) error
	ListSSOConnections(ctx context.Context, accountID string) ([]SSOConnection, error)
}

// ReplayCache remembers one-time keys (SAML assertion ids, OIDC states,
// issued request ids) across every instance sharing the store.
type ReplayCache interface {
	// UseOnce records key until expiresAt. It returns ErrReplayed when the
	// key is already recorded and not expired.
	UseOnce(ctx context.Context, key string, expiresAt time.Time) error
	// DeleteExpiredReplays removes keys expired before now.
	DeleteExpiredReplays(ctx context.Context, now time.Time) (int, error)
}

// OneTimeStore keeps short-lived values that are taken exactly once: a
// SAML AuthnRequest id with its return path, an OIDC login's state with its
// PKCE verifier and nonce. Shared by every instance on the store.
type OneTimeStore interface {
	// PutOneTime stores value under key until expiresAt; a key already
	// stored is a *ConflictError on "key".
	PutOneTime(ctx context.Context, key string, value []byte, expiresAt time.Time) error
	// TakeOneTime returns the value and removes it. A key never stored,
	// already taken or expired at now is ErrNotFound. Of concurrent callers
	// taking one key, exactly one gets the value.
	TakeOneTime(ctx context.Context, key string, now time.Time) ([]byte, error)
	// DeleteExpiredOneTime removes values expired before now.
	DeleteExpiredOneTime(ctx context.Context, now time.Time) (int, error)
}

// IdentityLinkStore keeps the links from SSO identities to members.
// DeleteMember removes a member's links; DeleteSSOConnection removes the
// connection's.
type IdentityLinkStore interface {
	// CreateIdentityLink stores l; a (connection, subject) already linked
	// is a *ConflictError on "subject".
	CreateIdentityLink(ctx context.Context, l IdentityLink) (IdentityLink, error)
	// GetIdentityLink finds the link of (connection, subject) in the account.
	GetIdentityLink(ctx context.Context, accountID, connectionID, subject string) (IdentityLink, error)
	// ListMemberIdentityLinks lists a member's links.
	ListMemberIdentityLinks(ctx context.Context, accountID, memberID string) ([]IdentityLink, error)
	DeleteIdentityLink(ctx context.Context, accountID, connectionID, subject string) error
}

// SigningKeyStore keeps the deployment's access-token signing keys.
type SigningKeyStore interface {
	// CreateSigningKey stores k; an ID already stored is a *ConflictError
	// on "id".
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns the keys not expired at now, newest first.
	ListSigningKeys(ctx context.Context, now time.Time) ([]SigningKey, error)
	// DeleteExpiredSigningKeys removes keys expired before now.
	DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error)
}

// ThrottleStore counts failed attempts per key (an account and email, an
// IP address) across every instance, for login backoff.
type ThrottleStore interface {
	// RecordFailure counts one failure of key at at. Failures older than
	// window before at are forgotten first. It returns the count within
	// the window, this one included.
	RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int, error)
	// Failures returns the count of key's failures within window before
	// now and the time of the latest (zero count and time when none).
	Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, time.Time, error)
	// ClearFailures forgets key's failures (after a successful login).
	ClearFailures(ctx context.Context, key string) error
	// DeleteFailuresBefore is the sweeper's: it forgets every key whose
	// latest failure is before the given time (a backend may also drop
	// older failures of keys that failed since), so keys that stop failing
	// do not pile up. It returns how many keys or failures it removed.
	DeleteFailuresBefore(ctx context.Context, before time.Time) (int, error)
}

// AuditQuery selects audit events; empty fields do not filter.
type AuditQuery struct {
	Action   string
	ActorID  string
	TargetID string
	Since    time.Time
	Until    time.Time
	// Limit caps the page; Cursor continues after a previous page.
	Limit  int
	Cursor string
}

// AuditLog keeps audit events.
type AuditLog interface {
	AppendAudit(ctx context.Context, e AuditEvent) (AuditEvent, error)
	// ListAudit lists the account's events newest first.
	ListAudit(ctx context.Context, accountID string, q AuditQuery) (Page[AuditEvent], error)
}

// Outbox keeps emails until they are sent.
type Outbox interface {
	// EnqueueEmail stores m; an ID already enqueued is ignored (the ID is
	// the idempotency key), so a retried change sends one email. Callers
	// make IDs unique across the deployment (they embed a record id): the
	// MongoDB store keys messages by ID alone, the SQLite store by account
	// and ID.
	EnqueueEmail(ctx context.Context, m OutboxMessage) error
	// ClaimEmails leases up to limit messages due at now and not sent to
	// the caller until leaseUntil; a message is leased to one caller at a
	// time, across instances.
	ClaimEmails(ctx context.Context, now, leaseUntil time.Time, limit int) ([]OutboxMessage, error)
	// MarkEmailSent records delivery.
	MarkEmailSent(ctx context.Context, accountID, id string, at time.Time) error
	// MarkEmailFailed records a failed attempt and when to try again.
	MarkEmailFailed(ctx context.Context, accountID, id, reason string, next time.Time) error
	// OutboxStats reports messages not sent and the oldest one's creation.
	OutboxStats(ctx context.Context) (pending int, oldest time.Time, err error)
}

// Usage is what the deployment holds, for metrics: totals across every
// account and, when asked for, one line per account.
type Usage struct {
	Accounts    int
	Members     int
	SeatsTotal  int // seats bought (sum of Seats.Total)
	SeatsInUse  int // seats held
	SeatsQueued int // members waiting for a seat (SeatQueued)
	// ByAccount is filled only when UsageTotals is asked for it, ordered
	// by account id.
	ByAccount []AccountUsage
}

// AccountUsage is one account's line of Usage.
type AccountUsage struct {
	AccountID   string
	Members     int
	SeatsTotal  int
	SeatsInUse  int
	SeatsQueued int
}

// UsageStore reports deployment-wide usage. It is the one cross-account
// read besides the ones by secret hash; callers (metrics) never show its
// per-account lines to an account.
type UsageStore interface {
	// UsageTotals counts accounts, members and seats across the
	// deployment; ByAccount is filled when byAccount is true. Every count
	// is by account id, so each uses the account-leading indexes.
	UsageTotals(ctx context.Context, byAccount bool) (Usage, error)
}
