package mongo

import (
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/repository"
)

// This file maps records to documents and back. Documents name every field
// explicitly; shadow fields (…Lower, …Key) exist only for the store's own
// comparisons and never reach a record. Empty values are left out of the
// document (an empty slice reads back as nil): documents stay small, and,
// as with SQL's NULL, no comparison but ne matches an empty value and it
// sorts first. Booleans that queries compare are always stored. Times are
// stored at millisecond precision, so a record read back equals the one a
// write returned. Slices keep their nil-ness and
// times are stored at millisecond precision, so a record read back equals
// the one a write returned.

// fold lowers a case-insensitive value for its shadow field.
func fold(s string) string { return strings.ToLower(s) }

// foldNonEmpty lowers the non-empty values for a shadow array.
func foldNonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, fold(s))
		}
	}
	return out
}

// foldAll lowers each value, keeping nil as nil.
func foldAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fold(s)
	}
	return out
}

// presentKey is the always-present key of a "unique when present" value:
// the value itself, or a per-document placeholder no real value can equal.
func presentKey(value, id string) string {
	if value != "" {
		return value
	}
	return "\x00" + id
}

// pairID joins two ids into one _id without ambiguity (ids are escaped, so
// the separator cannot come from inside one); UUIDs pass unchanged.
func pairID(a, b string) string {
	return url.QueryEscape(a) + "/" + url.QueryEscape(b)
}

// cloneStrings copies a slice, keeping nil as nil.
func cloneStrings(ss []string) []string {
	if ss == nil {
		return nil
	}
	return append([]string{}, ss...)
}

// mapSlice converts a slice element-wise, keeping nil as nil.
func mapSlice[A, B any](in []A, f func(A) B) []B {
	if in == nil {
		return nil
	}
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

// metaDoc holds repository.Meta inline in a document.
type metaDoc struct {
	Version   int64     `bson:"version"`
	CreatedAt time.Time `bson:"createdAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

func toMeta(m repository.Meta) metaDoc {
	return metaDoc{Version: m.Version, CreatedAt: msTime(m.CreatedAt), UpdatedAt: msTime(m.UpdatedAt)}
}

func (d metaDoc) meta() repository.Meta {
	return repository.Meta{Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

// --- accounts ---

type accountDoc struct {
	ID            string          `bson:"_id"`
	AccountID     string          `bson:"accountId"`
	Name          string          `bson:"name"`
	NameLower     string          `bson:"nameLower,omitempty"`
	OwnerMemberID string          `bson:"ownerMemberId"`
	Status        string          `bson:"status"`
	Seats         seatSettingsDoc `bson:"seats"`
	Settings      settingsDoc     `bson:"settings"`
	Deletion      deletionCodeDoc `bson:"deletion,omitempty"`
	Meta          metaDoc         `bson:",inline"`
}

// deletionCodeDoc is the pending account deletion confirmation.
type deletionCodeDoc struct {
	CodeHash  string    `bson:"codeHash,omitempty"`
	ExpiresAt time.Time `bson:"expiresAt,omitempty"`
	Attempts  int       `bson:"attempts,omitempty"`
}

type seatSettingsDoc struct {
	Policy     string `bson:"policy"`
	Total      int    `bson:"total"`
	Exhaustion string `bson:"exhaustion"`
}

type settingsDoc struct {
	InvitationTTL     time.Duration `bson:"invitationTtlNs"`
	DefaultRoleKey    string        `bson:"defaultRoleKey"`
	ProfileGuidelines string        `bson:"profileGuidelines"`
	AllowEmailLinking bool          `bson:"allowEmailLinking"`
}

func accountToDoc(a repository.Account) accountDoc {
	return accountDoc{
		ID: a.ID, AccountID: a.ID, Name: a.Name, NameLower: fold(a.Name),
		OwnerMemberID: a.OwnerMemberID, Status: a.Status,
		Seats: seatSettingsDoc{Policy: a.Seats.Policy, Total: a.Seats.Total, Exhaustion: a.Seats.Exhaustion},
		Settings: settingsDoc{
			InvitationTTL: a.Settings.InvitationTTL, DefaultRoleKey: a.Settings.DefaultRoleKey,
			ProfileGuidelines: a.Settings.ProfileGuidelines, AllowEmailLinking: a.Settings.AllowEmailLinking,
		},
		Deletion: deletionCodeDoc{
			CodeHash: a.Deletion.CodeHash, ExpiresAt: msTime(a.Deletion.ExpiresAt), Attempts: a.Deletion.Attempts,
		},
		Meta: toMeta(a.Meta),
	}
}

func (d accountDoc) record() repository.Account {
	return repository.Account{
		ID: d.ID, Name: d.Name, OwnerMemberID: d.OwnerMemberID, Status: d.Status,
		Seats: repository.SeatSettings{Policy: d.Seats.Policy, Total: d.Seats.Total, Exhaustion: d.Seats.Exhaustion},
		Settings: repository.AccountSettings{
			InvitationTTL: d.Settings.InvitationTTL, DefaultRoleKey: d.Settings.DefaultRoleKey,
			ProfileGuidelines: d.Settings.ProfileGuidelines, AllowEmailLinking: d.Settings.AllowEmailLinking,
		},
		Deletion: repository.DeletionChallenge{
			CodeHash: d.Deletion.CodeHash, ExpiresAt: d.Deletion.ExpiresAt, Attempts: d.Deletion.Attempts,
		},
		Meta: d.Meta.meta(),
	}
}

type deletionDoc struct {
	ID        string    `bson:"_id"`
	AccountID string    `bson:"accountId"`
	Name      string    `bson:"name"`
	DeletedAt time.Time `bson:"deletedAt"`
	Reason    string    `bson:"reason"`
}

// --- members ---

type memberDoc struct {
	ID            string `bson:"_id"`
	AccountID     string `bson:"accountId"`
	UserName      string `bson:"userName,omitempty"`
	UserNameLower string `bson:"userNameLower,omitempty"`
	ExternalID    string `bson:"externalId,omitempty"`
	ExternalIDKey string `bson:"externalIdKey"`

	Name                   nameDoc `bson:"name"`
	DisplayName            string  `bson:"displayName,omitempty"`
	DisplayNameLower       string  `bson:"displayNameLower,omitempty"`
	NickName               string  `bson:"nickName,omitempty"`
	NickNameLower          string  `bson:"nickNameLower,omitempty"`
	ProfileURL             string  `bson:"profileUrl,omitempty"`
	Title                  string  `bson:"title,omitempty"`
	TitleLower             string  `bson:"titleLower,omitempty"`
	UserType               string  `bson:"userType,omitempty"`
	UserTypeLower          string  `bson:"userTypeLower,omitempty"`
	PreferredLanguage      string  `bson:"preferredLanguage,omitempty"`
	PreferredLanguageLower string  `bson:"preferredLanguageLower,omitempty"`
	Locale                 string  `bson:"locale,omitempty"`
	LocaleLower            string  `bson:"localeLower,omitempty"`
	Timezone               string  `bson:"timezone,omitempty"`
	TimezoneLower          string  `bson:"timezoneLower,omitempty"`
	Active                 bool    `bson:"active"`
	Status                 string  `bson:"status,omitempty"`
	StatusLower            string  `bson:"statusLower,omitempty"`
	Source                 string  `bson:"source,omitempty"`
	SourceLower            string  `bson:"sourceLower,omitempty"`

	Emails       []emailDoc   `bson:"emails,omitempty"`
	PhoneNumbers []phoneDoc   `bson:"phoneNumbers,omitempty"`
	Addresses    []addressDoc `bson:"addresses,omitempty"`

	EmployeeNumber      string `bson:"employeeNumber,omitempty"`
	EmployeeNumberLower string `bson:"employeeNumberLower,omitempty"`
	CostCenter          string `bson:"costCenter,omitempty"`
	CostCenterLower     string `bson:"costCenterLower,omitempty"`
	Organization        string `bson:"organization,omitempty"`
	OrganizationLower   string `bson:"organizationLower,omitempty"`
	Division            string `bson:"division,omitempty"`
	DivisionLower       string `bson:"divisionLower,omitempty"`
	Department          string `bson:"department,omitempty"`
	DepartmentLower     string `bson:"departmentLower,omitempty"`
	ManagerID           string `bson:"managerId,omitempty"`
	PendingManagerRef   string `bson:"pendingManagerRef,omitempty"`

	Roles               []string            `bson:"roles,omitempty"`
	RolesLower          []string            `bson:"rolesLower,omitempty"`
	OptionalPermissions []rolePermissionDoc `bson:"optionalPermissions,omitempty"`

	Profile         profileDoc `bson:"profile"`
	SeatStatus      string     `bson:"seatStatus,omitempty"`
	SeatStatusLower string     `bson:"seatStatusLower,omitempty"`
	SeatQueuedAt    time.Time  `bson:"seatQueuedAt,omitempty"`

	ManagedAttributes  []string `bson:"managedAttributes,omitempty"`
	PasswordHash       string   `bson:"passwordHash,omitempty"`
	MustChangePassword bool     `bson:"mustChangePassword,omitempty"`

	Meta metaDoc `bson:",inline"`
}

type nameDoc struct {
	Formatted       string `bson:"formatted,omitempty"`
	FormattedLower  string `bson:"formattedLower,omitempty"`
	FamilyName      string `bson:"familyName,omitempty"`
	FamilyNameLower string `bson:"familyNameLower,omitempty"`
	GivenName       string `bson:"givenName,omitempty"`
	GivenNameLower  string `bson:"givenNameLower,omitempty"`
	MiddleName      string `bson:"middleName,omitempty"`
	HonorificPrefix string `bson:"honorificPrefix,omitempty"`
	HonorificSuffix string `bson:"honorificSuffix,omitempty"`
}

type emailDoc struct {
	Value      string `bson:"value,omitempty"`
	ValueLower string `bson:"valueLower,omitempty"`
	Type       string `bson:"type,omitempty"`
	TypeLower  string `bson:"typeLower,omitempty"`
	Display    string `bson:"display,omitempty"`
	Primary    bool   `bson:"primary"`
}

type phoneDoc struct {
	Value      string `bson:"value,omitempty"`
	ValueLower string `bson:"valueLower,omitempty"`
	Type       string `bson:"type,omitempty"`
	TypeLower  string `bson:"typeLower,omitempty"`
	Display    string `bson:"display,omitempty"`
	Primary    bool   `bson:"primary"`
}

type addressDoc struct {
	Formatted     string `bson:"formatted,omitempty"`
	StreetAddress string `bson:"streetAddress,omitempty"`
	Locality      string `bson:"locality,omitempty"`
	Region        string `bson:"region,omitempty"`
	PostalCode    string `bson:"postalCode,omitempty"`
	Country       string `bson:"country,omitempty"`
	Type          string `bson:"type,omitempty"`
	Primary       bool   `bson:"primary"`
}

type rolePermissionDoc struct {
	Role       string `bson:"role,omitempty"`
	Permission string `bson:"permission,omitempty"`
}

type profileDoc struct {
	Expertise                 []string `bson:"expertise,omitempty"`
	ExpertiseLower            []string `bson:"expertiseLower,omitempty"`
	OnlyAssignFromExpertise   bool     `bson:"onlyAssignFromExpertise,omitempty"`
	OnlyAssignedConversations bool     `bson:"onlyAssignedConversations,omitempty"`
	CanViewGroupCompanies     bool     `bson:"canViewGroupCompanies,omitempty"`
	ExternalSSO               bool     `bson:"externalSso"`
	CanManageTeams            bool     `bson:"canManageTeams"`
	Channels                  []string `bson:"channels,omitempty"`
	ChannelsLower             []string `bson:"channelsLower,omitempty"`
	EmploymentStatus          string   `bson:"employmentStatus,omitempty"`
	EmploymentStatusLower     string   `bson:"employmentStatusLower,omitempty"`
	StartDate                 string   `bson:"startDate,omitempty"`
	Bio                       string   `bson:"bio,omitempty"`
	ImageURL                  string   `bson:"imageUrl,omitempty"`
	Hometown                  string   `bson:"hometown,omitempty"`
	StateOrCountry            string   `bson:"stateOrCountry,omitempty"`
	ApprovalStatus            string   `bson:"approvalStatus,omitempty"`
}

func memberToDoc(m repository.Member) memberDoc {
	p := m.Profile
	return memberDoc{
		ID: m.ID, AccountID: m.AccountID,
		UserName: m.UserName, UserNameLower: fold(m.UserName),
		ExternalID: m.ExternalID, ExternalIDKey: presentKey(m.ExternalID, m.ID),
		Name: nameDoc{
			Formatted: m.Name.Formatted, FormattedLower: fold(m.Name.Formatted),
			FamilyName: m.Name.FamilyName, FamilyNameLower: fold(m.Name.FamilyName),
			GivenName: m.Name.GivenName, GivenNameLower: fold(m.Name.GivenName),
			MiddleName: m.Name.MiddleName, HonorificPrefix: m.Name.HonorificPrefix,
			HonorificSuffix: m.Name.HonorificSuffix,
		},
		DisplayName: m.DisplayName, DisplayNameLower: fold(m.DisplayName),
		NickName: m.NickName, NickNameLower: fold(m.NickName),
		ProfileURL: m.ProfileURL,
		Title:      m.Title, TitleLower: fold(m.Title),
		UserType: m.UserType, UserTypeLower: fold(m.UserType),
		PreferredLanguage: m.PreferredLanguage, PreferredLanguageLower: fold(m.PreferredLanguage),
		Locale: m.Locale, LocaleLower: fold(m.Locale),
		Timezone: m.Timezone, TimezoneLower: fold(m.Timezone),
		Active: m.Active,
		Status: m.Status, StatusLower: fold(m.Status),
		Source: m.Source, SourceLower: fold(m.Source),
		Emails: mapSlice(m.Emails, func(e repository.Email) emailDoc {
			return emailDoc{Value: e.Value, ValueLower: fold(e.Value), Type: e.Type, TypeLower: fold(e.Type), Display: e.Display, Primary: e.Primary}
		}),
		PhoneNumbers: mapSlice(m.PhoneNumbers, func(e repository.PhoneNumber) phoneDoc {
			return phoneDoc{Value: e.Value, ValueLower: fold(e.Value), Type: e.Type, TypeLower: fold(e.Type), Display: e.Display, Primary: e.Primary}
		}),
		Addresses: mapSlice(m.Addresses, func(a repository.Address) addressDoc {
			return addressDoc(a)
		}),
		EmployeeNumber: m.EmployeeNumber, EmployeeNumberLower: fold(m.EmployeeNumber),
		CostCenter: m.CostCenter, CostCenterLower: fold(m.CostCenter),
		Organization: m.Organization, OrganizationLower: fold(m.Organization),
		Division: m.Division, DivisionLower: fold(m.Division),
		Department: m.Department, DepartmentLower: fold(m.Department),
		ManagerID: m.ManagerID, PendingManagerRef: m.PendingManagerRef,
		Roles: cloneStrings(m.Roles), RolesLower: foldNonEmpty(m.Roles),
		OptionalPermissions: mapSlice(m.OptionalPermissions, func(r repository.RolePermission) rolePermissionDoc {
			return rolePermissionDoc(r)
		}),
		Profile: profileDoc{
			Expertise: cloneStrings(p.Expertise), ExpertiseLower: foldNonEmpty(p.Expertise),
			OnlyAssignFromExpertise: p.OnlyAssignFromExpertise, OnlyAssignedConversations: p.OnlyAssignedConversations,
			CanViewGroupCompanies: p.CanViewGroupCompanies, ExternalSSO: p.ExternalSSO, CanManageTeams: p.CanManageTeams,
			Channels: cloneStrings(p.Channels), ChannelsLower: foldNonEmpty(p.Channels),
			EmploymentStatus: p.EmploymentStatus, EmploymentStatusLower: fold(p.EmploymentStatus),
			StartDate: p.StartDate, Bio: p.Bio, ImageURL: p.ImageURL, Hometown: p.Hometown,
			StateOrCountry: p.StateOrCountry, ApprovalStatus: p.ApprovalStatus,
		},
		SeatStatus: m.SeatStatus, SeatStatusLower: fold(m.SeatStatus),
		SeatQueuedAt:       msTime(m.SeatQueuedAt),
		ManagedAttributes:  cloneStrings(m.ManagedAttributes),
		PasswordHash:       m.PasswordHash,
		MustChangePassword: m.MustChangePassword,
		Meta:               toMeta(m.Meta),
	}
}

func (d memberDoc) record() repository.Member {
	p := d.Profile
	return repository.Member{
		AccountID: d.AccountID, ID: d.ID, UserName: d.UserName, ExternalID: d.ExternalID,
		Name: repository.Name{
			Formatted: d.Name.Formatted, FamilyName: d.Name.FamilyName, GivenName: d.Name.GivenName,
			MiddleName: d.Name.MiddleName, HonorificPrefix: d.Name.HonorificPrefix, HonorificSuffix: d.Name.HonorificSuffix,
		},
		DisplayName: d.DisplayName, NickName: d.NickName, ProfileURL: d.ProfileURL, Title: d.Title,
		UserType: d.UserType, PreferredLanguage: d.PreferredLanguage, Locale: d.Locale, Timezone: d.Timezone,
		Active: d.Active, Status: d.Status, Source: d.Source,
		Emails: mapSlice(d.Emails, func(e emailDoc) repository.Email {
			return repository.Email{Value: e.Value, Type: e.Type, Display: e.Display, Primary: e.Primary}
		}),
		PhoneNumbers: mapSlice(d.PhoneNumbers, func(e phoneDoc) repository.PhoneNumber {
			return repository.PhoneNumber{Value: e.Value, Type: e.Type, Display: e.Display, Primary: e.Primary}
		}),
		Addresses: mapSlice(d.Addresses, func(a addressDoc) repository.Address {
			return repository.Address(a)
		}),
		EmployeeNumber: d.EmployeeNumber, CostCenter: d.CostCenter, Organization: d.Organization,
		Division: d.Division, Department: d.Department, ManagerID: d.ManagerID, PendingManagerRef: d.PendingManagerRef,
		Roles: cloneStrings(d.Roles),
		OptionalPermissions: mapSlice(d.OptionalPermissions, func(r rolePermissionDoc) repository.RolePermission {
			return repository.RolePermission(r)
		}),
		Profile: repository.SupportProfile{
			Expertise: cloneStrings(p.Expertise), OnlyAssignFromExpertise: p.OnlyAssignFromExpertise,
			OnlyAssignedConversations: p.OnlyAssignedConversations, CanViewGroupCompanies: p.CanViewGroupCompanies,
			ExternalSSO: p.ExternalSSO, CanManageTeams: p.CanManageTeams, Channels: cloneStrings(p.Channels),
			EmploymentStatus: p.EmploymentStatus, StartDate: p.StartDate, Bio: p.Bio, ImageURL: p.ImageURL,
			Hometown: p.Hometown, StateOrCountry: p.StateOrCountry, ApprovalStatus: p.ApprovalStatus,
		},
		SeatStatus: d.SeatStatus, SeatQueuedAt: d.SeatQueuedAt,
		ManagedAttributes: cloneStrings(d.ManagedAttributes),
		PasswordHash:      d.PasswordHash, MustChangePassword: d.MustChangePassword,
		Meta: d.Meta.meta(),
	}
}

// --- roles ---

type roleDoc struct {
	ID                  string   `bson:"_id"`
	AccountID           string   `bson:"accountId"`
	Key                 string   `bson:"key,omitempty"`
	KeyLower            string   `bson:"keyLower,omitempty"`
	DisplayName         string   `bson:"displayName,omitempty"`
	Description         string   `bson:"description,omitempty"`
	Permissions         []string `bson:"permissions,omitempty"`
	OptionalPermissions []string `bson:"optionalPermissions,omitempty"`
	ConsumesSeat        bool     `bson:"consumesSeat"`
	BuiltIn             bool     `bson:"builtIn"`
	Meta                metaDoc  `bson:",inline"`
}

func roleToDoc(id string, r repository.Role) roleDoc {
	return roleDoc{
		ID: id, AccountID: r.AccountID, Key: r.Key, KeyLower: fold(r.Key),
		DisplayName: r.DisplayName, Description: r.Description,
		Permissions: cloneStrings(r.Permissions), OptionalPermissions: cloneStrings(r.OptionalPermissions),
		ConsumesSeat: r.ConsumesSeat, BuiltIn: r.BuiltIn, Meta: toMeta(r.Meta),
	}
}

func (d roleDoc) record() repository.Role {
	return repository.Role{
		AccountID: d.AccountID, Key: d.Key, DisplayName: d.DisplayName, Description: d.Description,
		Permissions: cloneStrings(d.Permissions), OptionalPermissions: cloneStrings(d.OptionalPermissions),
		ConsumesSeat: d.ConsumesSeat, BuiltIn: d.BuiltIn, Meta: d.Meta.meta(),
	}
}

// --- groups ---

type groupDoc struct {
	ID               string  `bson:"_id"`
	AccountID        string  `bson:"accountId"`
	DisplayName      string  `bson:"displayName,omitempty"`
	DisplayNameLower string  `bson:"displayNameLower,omitempty"`
	ExternalID       string  `bson:"externalId,omitempty"`
	ExternalIDKey    string  `bson:"externalIdKey"`
	RoleKey          string  `bson:"roleKey,omitempty"`
	RoleKeyLower     string  `bson:"roleKeyLower,omitempty"`
	Source           string  `bson:"source,omitempty"`
	Meta             metaDoc `bson:",inline"`
}

func groupToDoc(g repository.Group) groupDoc {
	return groupDoc{
		ID: g.ID, AccountID: g.AccountID, DisplayName: g.DisplayName, DisplayNameLower: fold(g.DisplayName),
		ExternalID: g.ExternalID, ExternalIDKey: presentKey(g.ExternalID, g.ID),
		RoleKey: g.RoleKey, RoleKeyLower: fold(g.RoleKey), Source: g.Source, Meta: toMeta(g.Meta),
	}
}

func (d groupDoc) record() repository.Group {
	return repository.Group{
		AccountID: d.AccountID, ID: d.ID, DisplayName: d.DisplayName, ExternalID: d.ExternalID,
		RoleKey: d.RoleKey, Source: d.Source, Meta: d.Meta.meta(),
	}
}

// edgeDoc is one group membership edge.
type edgeDoc struct {
	ID        string `bson:"_id"`
	AccountID string `bson:"accountId"`
	GroupID   string `bson:"groupId"`
	MemberID  string `bson:"memberId"`
}

// seatDoc is one held agent seat: the holder and the slot it occupies.
type seatDoc struct {
	ID        string `bson:"_id"`
	AccountID string `bson:"accountId"`
	MemberID  string `bson:"memberId"`
	Slot      int    `bson:"slot"`
}

// --- invitations, tokens, sessions ---

type invitationDoc struct {
	ID           string    `bson:"_id"`
	AccountID    string    `bson:"accountId"`
	MemberID     string    `bson:"memberId"`
	TokenHash    string    `bson:"tokenHash"`
	TokenHashKey string    `bson:"tokenHashKey"`
	InvitedBy    string    `bson:"invitedBy"`
	Kind         string    `bson:"kind,omitempty"`
	ExpiresAt    time.Time `bson:"expiresAt,omitempty"`
	SentAt       time.Time `bson:"sentAt,omitempty"`
	AcceptedAt   time.Time `bson:"acceptedAt,omitempty"`
	RevokedAt    time.Time `bson:"revokedAt,omitempty"`
	// SendCount and SendCountSince drive the resend rate limit.
	SendCount      int       `bson:"sendCount,omitempty"`
	SendCountSince time.Time `bson:"sendCountSince,omitempty"`
	// Open is true until the invitation is accepted or revoked.
	Open bool    `bson:"open"`
	Meta metaDoc `bson:",inline"`
}

func invitationToDoc(i repository.Invitation) invitationDoc {
	return invitationDoc{
		ID: i.ID, AccountID: i.AccountID, MemberID: i.MemberID,
		TokenHash: i.TokenHash, TokenHashKey: presentKey(i.TokenHash, i.ID), InvitedBy: i.InvitedBy, Kind: i.Kind,
		ExpiresAt: msTime(i.ExpiresAt), SentAt: msTime(i.SentAt),
		AcceptedAt: msTime(i.AcceptedAt), RevokedAt: msTime(i.RevokedAt),
		SendCount: i.SendCount, SendCountSince: msTime(i.SendCountSince),
		Open: i.AcceptedAt.IsZero() && i.RevokedAt.IsZero(),
		Meta: toMeta(i.Meta),
	}
}

func (d invitationDoc) record() repository.Invitation {
	return repository.Invitation{
		AccountID: d.AccountID, ID: d.ID, MemberID: d.MemberID, TokenHash: d.TokenHash, InvitedBy: d.InvitedBy,
		Kind: d.Kind, ExpiresAt: d.ExpiresAt, SentAt: d.SentAt, AcceptedAt: d.AcceptedAt, RevokedAt: d.RevokedAt,
		SendCount: d.SendCount, SendCountSince: d.SendCountSince,
		Meta: d.Meta.meta(),
	}
}

type tokenDoc struct {
	ID         string    `bson:"_id"`
	AccountID  string    `bson:"accountId"`
	Kind       string    `bson:"kind"`
	Name       string    `bson:"name"`
	MemberID   string    `bson:"memberId"`
	Hash       string    `bson:"hash"`
	HashKey    string    `bson:"hashKey"`
	CreatedAt  time.Time `bson:"createdAt"`
	ExpiresAt  time.Time `bson:"expiresAt,omitempty"`
	LastUsedAt time.Time `bson:"lastUsedAt,omitempty"`
	RevokedAt  time.Time `bson:"revokedAt,omitempty"`
}

func tokenToDoc(t repository.Token) tokenDoc {
	return tokenDoc{
		ID: t.ID, AccountID: t.AccountID, Kind: t.Kind, Name: t.Name, MemberID: t.MemberID,
		Hash: t.Hash, HashKey: presentKey(t.Hash, t.ID), CreatedAt: msTime(t.CreatedAt),
		ExpiresAt: msTime(t.ExpiresAt), LastUsedAt: msTime(t.LastUsedAt), RevokedAt: msTime(t.RevokedAt),
	}
}

func (d tokenDoc) record() repository.Token {
	return repository.Token{
		AccountID: d.AccountID, ID: d.ID, Kind: d.Kind, Name: d.Name, MemberID: d.MemberID, Hash: d.Hash,
		CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt, LastUsedAt: d.LastUsedAt, RevokedAt: d.RevokedAt,
	}
}

type sessionDoc struct {
	ID           string    `bson:"_id"`
	AccountID    string    `bson:"accountId"`
	MemberID     string    `bson:"memberId"`
	Hash         string    `bson:"hash"`
	HashKey      string    `bson:"hashKey"`
	ConnectionID string    `bson:"connectionId"`
	AgentSeat    bool      `bson:"agentSeat"`
	NoSeatReason string    `bson:"noSeatReason,omitempty"`
	CreatedAt    time.Time `bson:"createdAt"`
	ExpiresAt    time.Time `bson:"expiresAt,omitempty"`
	LastSeenAt   time.Time `bson:"lastSeenAt,omitempty"`
	RevokedAt    time.Time `bson:"revokedAt,omitempty"`
}

func sessionToDoc(s repository.Session) sessionDoc {
	return sessionDoc{
		ID: s.ID, AccountID: s.AccountID, MemberID: s.MemberID, Hash: s.Hash, HashKey: presentKey(s.Hash, s.ID),
		ConnectionID: s.ConnectionID, AgentSeat: s.AgentSeat, NoSeatReason: s.NoSeatReason, CreatedAt: msTime(s.CreatedAt),
		ExpiresAt: msTime(s.ExpiresAt), LastSeenAt: msTime(s.LastSeenAt), RevokedAt: msTime(s.RevokedAt),
	}
}

func (d sessionDoc) record() repository.Session {
	return repository.Session{
		AccountID: d.AccountID, ID: d.ID, MemberID: d.MemberID, Hash: d.Hash, ConnectionID: d.ConnectionID,
		AgentSeat: d.AgentSeat, NoSeatReason: d.NoSeatReason, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt, LastSeenAt: d.LastSeenAt,
		RevokedAt: d.RevokedAt,
	}
}

// --- SSO ---

type ssoDoc struct {
	ID        string   `bson:"_id"`
	AccountID string   `bson:"accountId"`
	Kind      string   `bson:"kind"`
	Name      string   `bson:"name"`
	Domains   []string `bson:"domains"`
	Enabled   bool     `bson:"enabled"`
	Config    []byte   `bson:"config"`
	Meta      metaDoc  `bson:",inline"`
}

func ssoToDoc(c repository.SSOConnection) ssoDoc {
	var cfg []byte
	if c.Config != nil {
		cfg = append([]byte{}, c.Config...)
	}
	return ssoDoc{
		ID: c.ID, AccountID: c.AccountID, Kind: c.Kind, Name: c.Name, Domains: cloneStrings(c.Domains),
		Enabled: c.Enabled, Config: cfg, Meta: toMeta(c.Meta),
	}
}

func (d ssoDoc) record() repository.SSOConnection {
	return repository.SSOConnection{
		AccountID: d.AccountID, ID: d.ID, Kind: d.Kind, Name: d.Name, Domains: cloneStrings(d.Domains),
		Enabled: d.Enabled, Config: d.Config, Meta: d.Meta.meta(),
	}
}

// ssoDomainDoc routes one email domain (lowered, the _id) to a connection;
// its _id makes a domain belong to one connection across the deployment.
type ssoDomainDoc struct {
	Domain       string `bson:"_id"`
	AccountID    string `bson:"accountId"`
	ConnectionID string `bson:"connectionId"`
}

// --- audit, outbox ---

type auditDoc struct {
	ID         string    `bson:"_id"`
	AccountID  string    `bson:"accountId"`
	Time       time.Time `bson:"time"`
	ActorKind  string    `bson:"actorKind"`
	ActorID    string    `bson:"actorId"`
	Action     string    `bson:"action"`
	TargetKind string    `bson:"targetKind"`
	TargetID   string    `bson:"targetId"`
	Diff       []byte    `bson:"diff"`
	RequestID  string    `bson:"requestId"`
}

func auditToDoc(e repository.AuditEvent) auditDoc {
	var diff []byte
	if e.Diff != nil {
		diff = append([]byte{}, e.Diff...)
	}
	return auditDoc{
		ID: e.ID, AccountID: e.AccountID, Time: msTime(e.Time), ActorKind: e.ActorKind, ActorID: e.ActorID,
		Action: e.Action, TargetKind: e.TargetKind, TargetID: e.TargetID, Diff: diff, RequestID: e.RequestID,
	}
}

func (d auditDoc) record() repository.AuditEvent {
	return repository.AuditEvent{
		AccountID: d.AccountID, ID: d.ID, Time: d.Time, ActorKind: d.ActorKind, ActorID: d.ActorID,
		Action: d.Action, TargetKind: d.TargetKind, TargetID: d.TargetID, Diff: d.Diff, RequestID: d.RequestID,
	}
}

type outboxDoc struct {
	ID            string    `bson:"_id"`
	AccountID     string    `bson:"accountId"`
	To            string    `bson:"to"`
	Subject       string    `bson:"subject"`
	Text          string    `bson:"text"`
	HTML          string    `bson:"html"`
	CreatedAt     time.Time `bson:"createdAt"`
	Attempts      int       `bson:"attempts"`
	NextAttemptAt time.Time `bson:"nextAttemptAt,omitempty"`
	LastError     string    `bson:"lastError"`
	SentAt        time.Time `bson:"sentAt,omitempty"`
	// Pending is true until the message is sent.
	Pending bool `bson:"pending"`
	// DueAt is when the message may be sent next (NextAttemptAt, or the
	// epoch when none was given), and LeaseUntil until when a sender holds
	// it (the epoch when free); both always present so one range filter
	// finds what can be claimed.
	DueAt      time.Time `bson:"dueAt"`
	LeaseUntil time.Time `bson:"leaseUntil"`
}

func (d outboxDoc) record() repository.OutboxMessage {
	return repository.OutboxMessage{
		AccountID: d.AccountID, ID: d.ID, To: d.To, Subject: d.Subject, Text: d.Text, HTML: d.HTML,
		CreatedAt: d.CreatedAt, Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, LastError: d.LastError,
		SentAt: d.SentAt,
	}
}

// epoch is the "long ago" value of DueAt and LeaseUntil.
func epoch() time.Time { return time.Unix(0, 0).UTC() }
