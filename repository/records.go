package repository

import "time"

// Meta is carried by every mutable record: when it was made, last changed,
// and its optimistic version. Version starts at 1 and grows by one with every
// successful update; backends compare it when writing (compare-and-swap).
type Meta struct {
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Seat policies of an account.
const (
	SeatPolicyNamed      = "named"      // every agent holds a seat
	SeatPolicyConcurrent = "concurrent" // agents lease a seat while logged in
)

// Seat exhaustion behaviours under the named policy.
const (
	SeatExhaustionQueue  = "queue"  // create the member with a queued seat
	SeatExhaustionReject = "reject" // refuse the change
)

// Account statuses.
const (
	AccountActive = "active"
)

// Account is a tenant: a customer of the platform with its team members.
type Account struct {
	ID            string
	Name          string // unique across the deployment, case-insensitive
	OwnerMemberID string
	Status        string
	Seats         SeatSettings
	Settings      AccountSettings
	// Deletion is the pending confirmation of the account's deletion, if
	// the owner asked for one.
	Deletion DeletionChallenge
	Meta
}

// DeletionChallenge is the code emailed to an account's owner to confirm
// deleting the account. Only a hash of the code is stored. The zero value
// means no deletion is pending.
type DeletionChallenge struct {
	CodeHash  string
	ExpiresAt time.Time
	// Attempts counts the wrong codes entered against this code.
	Attempts int
}

// SeatSettings is an account's agent-seat licence. The number of seats held
// is not stored here: it is counted by the store's seat primitive.
type SeatSettings struct {
	Policy     string // SeatPolicyNamed or SeatPolicyConcurrent
	Total      int    // seats bought
	Exhaustion string // SeatExhaustionQueue or SeatExhaustionReject
}

// AccountSettings holds the per-account knobs of DESIGN.md.
type AccountSettings struct {
	InvitationTTL     time.Duration
	DefaultRoleKey    string // role for just-in-time created members
	ProfileGuidelines string
	AllowEmailLinking bool // link an SSO login to a member by verified email
}

// Member lifecycle statuses.
const (
	StatusInvited     = "invited"
	StatusActive      = "active"
	StatusDeactivated = "deactivated"
)

// Member sources: which front door created the member.
const (
	SourceSCIM       = "scim"
	SourceAdmin      = "admin"
	SourceInvitation = "invitation"
	SourceJIT        = "jit"
)

// Seat statuses of a member.
const (
	SeatNone     = "none"
	SeatAssigned = "assigned"
	SeatQueued   = "queued"
)

// Member is a team member of an account (a SCIM User).
type Member struct {
	AccountID  string
	ID         string
	UserName   string // unique per account, case-insensitive
	ExternalID string // unique per account when not empty, case-sensitive

	Name              Name
	DisplayName       string
	NickName          string
	ProfileURL        string
	Title             string
	UserType          string
	PreferredLanguage string
	Locale            string
	Timezone          string
	Active            bool
	Status            string // StatusInvited, StatusActive or StatusDeactivated
	Source            string

	Emails       []Email
	PhoneNumbers []PhoneNumber
	Addresses    []Address

	// Enterprise extension.
	EmployeeNumber string
	CostCenter     string
	Organization   string
	Division       string
	Department     string
	// ManagerID is the team leader's member id once resolved.
	ManagerID string
	// PendingManagerRef keeps a manager reference (id or externalId as the
	// IdP sent it) that did not resolve yet.
	PendingManagerRef string

	// Roles are role keys of the account; several at once are normal.
	Roles []string
	// OptionalPermissions are permissions granted per (role, permission).
	OptionalPermissions []RolePermission

	Profile    SupportProfile
	SeatStatus string // SeatNone, SeatAssigned or SeatQueued
	// SeatQueuedAt orders the seat queue, first come first served.
	SeatQueuedAt time.Time

	// ManagedAttributes names the attributes an IdP has set; the admin API
	// treats them as read-only.
	ManagedAttributes []string

	// Groups are the member's groups, ordered by display name then id. It
	// is not stored with the member (membership is group edges): only
	// ListMembers with Query.WithGroups fills it, and writes ignore it.
	Groups []GroupRef `json:"-"`

	PasswordHash       string
	MustChangePassword bool

	Meta
}

// Name is the structured name of a member.
type Name struct {
	Formatted       string
	FamilyName      string
	GivenName       string
	MiddleName      string
	HonorificPrefix string
	HonorificSuffix string
}

// Email is one of a member's email addresses.
type Email struct {
	Value   string
	Type    string
	Display string
	Primary bool
}

// PhoneNumber is one of a member's phone numbers.
type PhoneNumber struct {
	Value   string
	Type    string
	Display string
	Primary bool
}

// Address is one of a member's postal addresses.
type Address struct {
	Formatted     string
	StreetAddress string
	Locality      string
	Region        string
	PostalCode    string
	Country       string
	Type          string
	Primary       bool
}

// RolePermission grants one optional permission of one role.
type RolePermission struct {
	Role       string
	Permission string
}

// SupportProfile is the Roster extension of a member: how the platform
// routes conversations to them and shows them to customers.
type SupportProfile struct {
	Expertise                 []string
	OnlyAssignFromExpertise   bool
	OnlyAssignedConversations bool
	CanViewGroupCompanies     bool
	ExternalSSO               bool
	CanManageTeams            bool
	Channels                  []string
	EmploymentStatus          string // full_time, part_time, temp
	StartDate                 string // YYYY-MM-DD
	Bio                       string
	ImageURL                  string
	Hometown                  string
	StateOrCountry            string
	ApprovalStatus            string
}

// Role is a named set of permissions in an account.
type Role struct {
	AccountID           string
	Key                 string // unique per account, case-insensitive
	DisplayName         string
	Description         string
	Permissions         []string
	OptionalPermissions []string
	ConsumesSeat        bool // grants the agent capability
	BuiltIn             bool
	Meta
}

// Group is an agent group, department or team (a SCIM Group). Its members
// are stored as separate edges, never inside the group record.
type Group struct {
	AccountID   string
	ID          string
	DisplayName string // unique per account, case-insensitive
	ExternalID  string
	// RoleKey, when set, is the role its members hold while in the group.
	RoleKey string
	// Source is the front door that created it; SCIM-managed groups are
	// read-only in the admin API.
	Source string
	// Members is filled only when a read asks for members.
	Members []GroupMember
	Meta
}

// GroupMember is one membership edge seen from the group.
type GroupMember struct {
	MemberID    string
	DisplayName string // the member's display name, when requested
}

// GroupRef is one membership edge seen from the member.
type GroupRef struct {
	GroupID     string
	DisplayName string
}

// Invitation kinds: what the link's email asked the person to do.
const (
	// InvitationInvite asks an invited member to join and set a password
	// (the empty kind means the same).
	InvitationInvite = "invitation"
	// InvitationActivation asks a member an admin created directly to
	// activate the account by setting a password.
	InvitationActivation = "activation"
)

// Invitation is a pending single-use invitation of a member.
type Invitation struct {
	AccountID  string
	ID         string
	MemberID   string
	TokenHash  string // hash of the secret link token; never the token
	InvitedBy  string // member id of the inviter
	Kind       string // InvitationInvite (or empty) or InvitationActivation
	ExpiresAt  time.Time
	SentAt     time.Time // last email sent with a link; zero when none was
	AcceptedAt time.Time
	RevokedAt  time.Time
	// SendCount counts the emails sent since SendCountSince, for the
	// resend rate limit.
	SendCount      int
	SendCountSince time.Time
	Meta
}

// Token kinds.
const (
	TokenSCIM = "scim" // authenticates an IdP's SCIM client for an account
	TokenAPI  = "api"  // a member's personal admin-API token
)

// Token is a bearer credential. Only its hash is stored.
type Token struct {
	AccountID  string
	ID         string
	Kind       string
	Name       string
	MemberID   string // owner of an API token; empty for SCIM tokens
	Hash       string // unique across the deployment
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Session is a server-side platform session of a member.
type Session struct {
	AccountID    string
	ID           string
	MemberID     string
	Hash         string // hash of the cookie secret, unique
	ConnectionID string // SSO connection used, empty for password logins
	AgentSeat    bool   // holds a concurrent-seat lease
	// NoSeatReason says why a session of an agent was issued without the
	// agent capability (every concurrent seat taken); empty otherwise.
	NoSeatReason string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastSeenAt   time.Time
	RevokedAt    time.Time
}

// SSO connection kinds.
const (
	SSOSAML = "saml"
	SSOOIDC = "oidc"
)

// SSOConnection is an account's SAML or OIDC identity provider.
type SSOConnection struct {
	AccountID string
	ID        string
	Kind      string
	Name      string
	// Domains are email domains routed to this connection; a domain
	// belongs to one connection across the deployment.
	Domains []string
	Enabled bool
	// Config is the protocol configuration as JSON; secrets in it are
	// encrypted by the sso package before they reach the store.
	Config []byte
	Meta
}

// IdentityLink ties a subject asserted by one SSO connection to a member.
// (ConnectionID, Subject) is unique: one IdP identity reaches one member.
type IdentityLink struct {
	AccountID    string
	ConnectionID string
	Subject      string // SAML NameID or OIDC "sub", as the IdP sent it
	MemberID     string
	CreatedAt    time.Time
}

// SigningKey is a deployment-wide key that signs access tokens. Every
// instance signs with the newest key not retired and publishes every key
// not expired in the JWKS.
type SigningKey struct {
	ID         string // the JWS "kid"
	Algorithm  string // "ES256"
	PrivateKey []byte // PKCS#8, sealed (encrypted) by the sso package
	PublicKey  []byte // PKIX DER
	CreatedAt  time.Time
	RetiresAt  time.Time // no longer signs after this
	ExpiresAt  time.Time // no longer published after this
}

// Audit actor kinds.
const (
	ActorSCIMToken = "scim_token"
	ActorMember    = "member"
	ActorSystem    = "system"
)

// AuditEvent records one change.
type AuditEvent struct {
	AccountID  string
	ID         string
	Time       time.Time
	ActorKind  string
	ActorID    string
	Action     string // e.g. "member.create"
	TargetKind string
	TargetID   string
	// Diff is the before/after difference as JSON.
	Diff      []byte
	RequestID string
}

// OutboxMessage is an email waiting to be sent. Its ID is the idempotency
// key of the message.
type OutboxMessage struct {
	AccountID     string
	ID            string
	To            string
	Subject       string
	Text          string
	HTML          string
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	SentAt        time.Time
}

// AccountDeletion is what remains of a deleted account.
type AccountDeletion struct {
	AccountID string
	Name      string
	DeletedAt time.Time
	Reason    string
}
