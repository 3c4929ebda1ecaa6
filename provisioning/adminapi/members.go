package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim/filter"
)

// Member is the admin representation of a team member.
type Member struct {
	ID       string `json:"id"`
	UserName string `json:"userName" doc:"unique in the account, any case; usually the email address"`
	// ExternalID is the identity provider's id of the member.
	ExternalID     string        `json:"externalId,omitempty" doc:"the identity provider's id; set by SCIM only"`
	FirstName      string        `json:"firstName"`
	LastName       string        `json:"lastName"`
	DisplayName    string        `json:"displayName" doc:"the visible name of the agent"`
	Title          string        `json:"title,omitempty"`
	Emails         []Email       `json:"emails"`
	PhoneNumbers   []PhoneNumber `json:"phoneNumbers"`
	EmployeeNumber string        `json:"employeeNumber,omitempty"`
	Department     string        `json:"department,omitempty"`
	Locale         string        `json:"locale,omitempty"`
	Timezone       string        `json:"timezone,omitempty"`
	Active         bool          `json:"active" doc:"false once deactivated; change it with /deactivate and /reactivate"`
	Status         string        `json:"status" enum:"invited,active,deactivated"`
	Source         string        `json:"source" enum:"scim,admin,invitation,jit" doc:"the front door that created the member"`
	Owner          bool          `json:"owner" doc:"the account owner; change it with POST /ownership/transfer"`
	Roles          []string      `json:"roles" doc:"role keys; several at once are normal"`
	// OptionalPermissions are optional permissions granted per role.
	OptionalPermissions []RolePermission `json:"optionalPermissions"`
	ManagerID           string           `json:"managerId,omitempty" doc:"member id of the team leader"`
	// PendingManagerRef is a team leader reference an identity provider
	// sent before the leader existed.
	PendingManagerRef string         `json:"pendingManagerRef,omitempty" doc:"a team leader reference from the identity provider that does not resolve yet"`
	SupportProfile    SupportProfile `json:"supportProfile"`
	SeatStatus        string         `json:"seatStatus" enum:"assigned,queued,none" doc:"whether the member holds an agent seat"`
	// ManagedAttributes are set by the identity provider and read-only here.
	ManagedAttributes []string  `json:"managedAttributes" doc:"attributes the identity provider set (SCIM names); changing them here is refused with managed_by_idp"`
	Version           int64     `json:"version" doc:"grows with every change; the ETag is W/\"<version>\""`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

// Email is one email address of a member.
type Email struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty" doc:"work, home, other"`
	Primary bool   `json:"primary,omitempty"`
}

// PhoneNumber is one phone number of a member.
type PhoneNumber struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty" doc:"work, mobile, home, other"`
	Primary bool   `json:"primary,omitempty"`
}

// RolePermission grants one optional permission of one role.
type RolePermission struct {
	Role       string `json:"role" doc:"role key"`
	Permission string `json:"permission" doc:"one of the role's optional permissions"`
}

// SupportProfile is how the platform routes conversations to a member and
// shows the member to customers.
type SupportProfile struct {
	Expertise                 []string `json:"expertise"`
	OnlyAssignFromExpertise   bool     `json:"onlyAssignFromExpertise"`
	OnlyAssignedConversations bool     `json:"onlyAssignedConversations" doc:"can only view conversations assigned to them"`
	CanViewGroupCompanies     bool     `json:"canViewGroupCompanies"`
	ExternalSSO               bool     `json:"externalSso" doc:"signs in through SSO only, never with a password"`
	CanManageTeams            bool     `json:"canManageTeams" doc:"may be another member's team leader"`
	Channels                  []string `json:"channels" doc:"chat, email, voice, ..."`
	EmploymentStatus          string   `json:"employmentStatus,omitempty" enum:"full_time,part_time,temp"`
	StartDate                 string   `json:"startDate,omitempty" format:"date"`
	Bio                       string   `json:"bio,omitempty"`
	ImageURL                  string   `json:"imageUrl,omitempty"`
	Hometown                  string   `json:"hometown,omitempty"`
	StateOrCountry            string   `json:"stateOrCountry,omitempty"`
	ApprovalStatus            string   `json:"approvalStatus,omitempty"`
}

// MemberInput creates a member.
type MemberInput struct {
	UserName       string        `json:"userName" api:"required"`
	FirstName      string        `json:"firstName,omitempty"`
	LastName       string        `json:"lastName,omitempty"`
	DisplayName    string        `json:"displayName,omitempty" doc:"defaults to first and last name"`
	Title          string        `json:"title,omitempty"`
	Emails         []Email       `json:"emails,omitempty"`
	PhoneNumbers   []PhoneNumber `json:"phoneNumbers,omitempty"`
	EmployeeNumber string        `json:"employeeNumber,omitempty"`
	Department     string        `json:"department,omitempty"`
	Locale         string        `json:"locale,omitempty"`
	Timezone       string        `json:"timezone,omitempty"`
	Roles          []string      `json:"roles,omitempty" doc:"role keys; the account's default role when empty"`
	// OptionalPermissions are optional permissions granted per role.
	OptionalPermissions []RolePermission `json:"optionalPermissions,omitempty"`
	ManagerID           string           `json:"managerId,omitempty" doc:"member id of the team leader, in this account"`
	SupportProfile      *SupportProfile  `json:"supportProfile,omitempty"`
	// TemporaryPassword, when set, must be changed at the first login.
	TemporaryPassword string `json:"temporaryPassword,omitempty" doc:"must be changed at the first login; never returned"`
	// SendActivationEmail emails the member a link to choose a password.
	SendActivationEmail bool `json:"sendActivationEmail,omitempty" doc:"email the member a single-use activation link where they choose a password (not with temporaryPassword)"`
}

// MemberPatch changes a member as a JSON merge patch (RFC 7396): a field
// left out stays, null clears it, a value replaces it (arrays whole).
type MemberPatch struct {
	UserName       *string        `json:"userName,omitempty"`
	FirstName      *string        `json:"firstName,omitempty"`
	LastName       *string        `json:"lastName,omitempty"`
	DisplayName    *string        `json:"displayName,omitempty"`
	Title          *string        `json:"title,omitempty"`
	Emails         *[]Email       `json:"emails,omitempty"`
	PhoneNumbers   *[]PhoneNumber `json:"phoneNumbers,omitempty"`
	EmployeeNumber *string        `json:"employeeNumber,omitempty"`
	Department     *string        `json:"department,omitempty"`
	Locale         *string        `json:"locale,omitempty"`
	Timezone       *string        `json:"timezone,omitempty"`
	Roles          *[]string      `json:"roles,omitempty" doc:"role keys; replaces the member's roles"`
	// OptionalPermissions replaces the member's optional permissions.
	OptionalPermissions *[]RolePermission `json:"optionalPermissions,omitempty"`
	ManagerID           *string           `json:"managerId,omitempty" doc:"member id of the team leader, in this account; null clears"`
	// SupportProfile is merged field by field.
	SupportProfile *SupportProfilePatch `json:"supportProfile,omitempty" doc:"merged field by field; null clears the whole profile"`
}

// SupportProfilePatch changes a support profile as a JSON merge patch.
type SupportProfilePatch struct {
	Expertise                 *[]string `json:"expertise,omitempty"`
	OnlyAssignFromExpertise   *bool     `json:"onlyAssignFromExpertise,omitempty"`
	OnlyAssignedConversations *bool     `json:"onlyAssignedConversations,omitempty"`
	CanViewGroupCompanies     *bool     `json:"canViewGroupCompanies,omitempty"`
	ExternalSSO               *bool     `json:"externalSso,omitempty"`
	CanManageTeams            *bool     `json:"canManageTeams,omitempty"`
	Channels                  *[]string `json:"channels,omitempty"`
	EmploymentStatus          *string   `json:"employmentStatus,omitempty" enum:"full_time,part_time,temp"`
	StartDate                 *string   `json:"startDate,omitempty" format:"date"`
	Bio                       *string   `json:"bio,omitempty"`
	ImageURL                  *string   `json:"imageUrl,omitempty"`
	Hometown                  *string   `json:"hometown,omitempty"`
	StateOrCountry            *string   `json:"stateOrCountry,omitempty"`
	ApprovalStatus            *string   `json:"approvalStatus,omitempty"`
}

// EffectivePermissions is what a member may do now ("view as").
type EffectivePermissions struct {
	MemberID    string   `json:"memberId"`
	Roles       []string `json:"roles" doc:"role keys held directly or through group role mappings"`
	Permissions []string `json:"permissions" doc:"the union of the roles' permissions and the optional ones granted"`
	Agent       bool     `json:"agent" doc:"holds the agent capability now (a seat or a seat lease)"`
	SeatStatus  string   `json:"seatStatus" enum:"assigned,queued,none"`
}

// Reports are the members a team leader leads.
type Reports struct {
	Direct   []Member `json:"direct"`
	Indirect []Member `json:"indirect" doc:"reports of reports, at any depth"`
}

// toMember renders a member; ownerID is the account's owner.
func toMember(m repository.Member, ownerID string) Member {
	out := Member{
		ID: m.ID, UserName: m.UserName, ExternalID: m.ExternalID,
		FirstName: m.Name.GivenName, LastName: m.Name.FamilyName, DisplayName: m.DisplayName,
		Title: m.Title, EmployeeNumber: m.EmployeeNumber, Department: m.Department,
		Locale: m.Locale, Timezone: m.Timezone,
		Active: m.Active, Status: m.Status, Source: m.Source, Owner: m.ID == ownerID,
		Roles:               nonNil(m.Roles),
		OptionalPermissions: []RolePermission{},
		ManagerID:           m.ManagerID, PendingManagerRef: m.PendingManagerRef,
		SupportProfile:    toProfile(m.Profile),
		SeatStatus:        m.SeatStatus,
		ManagedAttributes: nonNil(m.ManagedAttributes),
		Version:           m.Version, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Emails: []Email{}, PhoneNumbers: []PhoneNumber{},
	}
	if out.SeatStatus == "" {
		out.SeatStatus = repository.SeatNone
	}
	for _, e := range m.Emails {
		out.Emails = append(out.Emails, Email{Value: e.Value, Type: e.Type, Primary: e.Primary})
	}
	for _, p := range m.PhoneNumbers {
		out.PhoneNumbers = append(out.PhoneNumbers, PhoneNumber{Value: p.Value, Type: p.Type, Primary: p.Primary})
	}
	for _, rp := range m.OptionalPermissions {
		out.OptionalPermissions = append(out.OptionalPermissions, RolePermission{Role: rp.Role, Permission: rp.Permission})
	}
	return out
}

func toProfile(p repository.SupportProfile) SupportProfile {
	return SupportProfile{
		Expertise: nonNil(p.Expertise), OnlyAssignFromExpertise: p.OnlyAssignFromExpertise,
		OnlyAssignedConversations: p.OnlyAssignedConversations, CanViewGroupCompanies: p.CanViewGroupCompanies,
		ExternalSSO: p.ExternalSSO, CanManageTeams: p.CanManageTeams, Channels: nonNil(p.Channels),
		EmploymentStatus: p.EmploymentStatus, StartDate: p.StartDate, Bio: p.Bio, ImageURL: p.ImageURL,
		Hometown: p.Hometown, StateOrCountry: p.StateOrCountry, ApprovalStatus: p.ApprovalStatus,
	}
}

func fromProfile(p SupportProfile) repository.SupportProfile {
	return repository.SupportProfile{
		Expertise: p.Expertise, OnlyAssignFromExpertise: p.OnlyAssignFromExpertise,
		OnlyAssignedConversations: p.OnlyAssignedConversations, CanViewGroupCompanies: p.CanViewGroupCompanies,
		ExternalSSO: p.ExternalSSO, CanManageTeams: p.CanManageTeams, Channels: p.Channels,
		EmploymentStatus: p.EmploymentStatus, StartDate: p.StartDate, Bio: p.Bio, ImageURL: p.ImageURL,
		Hometown: p.Hometown, StateOrCountry: p.StateOrCountry, ApprovalStatus: p.ApprovalStatus,
	}
}

func fromEmails(es []Email) []repository.Email {
	var out []repository.Email
	for _, e := range es {
		out = append(out, repository.Email{Value: e.Value, Type: e.Type, Primary: e.Primary})
	}
	return out
}

func fromPhones(ps []PhoneNumber) []repository.PhoneNumber {
	var out []repository.PhoneNumber
	for _, p := range ps {
		out = append(out, repository.PhoneNumber{Value: p.Value, Type: p.Type, Primary: p.Primary})
	}
	return out
}

func fromRolePermissions(rps []RolePermission) []repository.RolePermission {
	var out []repository.RolePermission
	for _, rp := range rps {
		out = append(out, repository.RolePermission{Role: strings.TrimSpace(rp.Role), Permission: strings.TrimSpace(rp.Permission)})
	}
	return out
}

// nonNil returns vs, or an empty slice for nil, so lists render as [].
func nonNil[T any](vs []T) []T {
	if vs == nil {
		return []T{}
	}
	return vs
}

// ownerID returns the id of the account's owner.
func (a *API) ownerID(c *gin.Context, accountID string) (string, error) {
	acct, err := a.store().GetAccount(c.Request.Context(), accountID)
	if err != nil {
		return "", err
	}
	return acct.OwnerMemberID, nil
}

// memberReply renders one member with its ETag.
func (a *API) memberReply(c *gin.Context, cl *call, status int, m repository.Member) (*reply, error) {
	owner, err := a.ownerID(c, cl.AccountID)
	if err != nil {
		return nil, err
	}
	return &reply{status: status, body: toMember(m, owner), etag: etag(m.Version)}, nil
}

// notFound rewrites a "not found" failure into a precise 404 naming the
// kind and id the caller asked for; other errors pass through. A record of
// another account is "not found" like one that does not exist, so its
// existence never leaks.
func notFound(err error, kind, id string) error {
	if err == nil {
		return nil
	}
	if pe := provisioning.AsError(err); pe != nil && pe.Code == provisioning.CodeNotFound {
		return &apiError{code: string(provisioning.CodeNotFound), detail: "no " + kind + " with id " + quote(id), cause: err}
	}
	return err
}

// quote quotes s for a message.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func (a *API) listMembers(c *gin.Context, cl *call) (*reply, error) {
	q, err := a.listQuery(c, filter.Users)
	if err != nil {
		return nil, err
	}
	page, err := a.store().ListMembers(c.Request.Context(), cl.AccountID, q)
	if err != nil {
		return nil, err
	}
	owner, err := a.ownerID(c, cl.AccountID)
	if err != nil {
		return nil, err
	}
	out := Page[Member]{Items: make([]Member, 0, len(page.Items)), Total: page.Total, NextCursor: page.NextCursor}
	for _, m := range page.Items {
		out.Items = append(out.Items, toMember(m, owner))
	}
	return ok(out), nil
}

func (a *API) getMember(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	m, err := a.store().GetMember(c.Request.Context(), cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "member", id)
	}
	return a.memberReply(c, cl, http.StatusOK, m)
}

func (a *API) createMember(c *gin.Context, cl *call) (*reply, error) {
	var in MemberInput
	if _, err := a.decode(c, &in, Member{}); err != nil {
		return nil, err
	}
	if err := a.checkManager(c, cl, in.ManagerID, ""); err != nil {
		return nil, err
	}
	m := repository.Member{
		AccountID:           cl.AccountID,
		UserName:            in.UserName,
		Name:                repository.Name{GivenName: in.FirstName, FamilyName: in.LastName},
		DisplayName:         in.DisplayName,
		Title:               in.Title,
		Emails:              fromEmails(in.Emails),
		PhoneNumbers:        fromPhones(in.PhoneNumbers),
		EmployeeNumber:      in.EmployeeNumber,
		Department:          in.Department,
		Locale:              in.Locale,
		Timezone:            in.Timezone,
		Active:              true,
		Roles:               in.Roles,
		OptionalPermissions: fromRolePermissions(in.OptionalPermissions),
		ManagerID:           strings.TrimSpace(in.ManagerID),
	}
	fillNames(&m)
	if in.SupportProfile != nil {
		m.Profile = fromProfile(*in.SupportProfile)
	}
	ctx := c.Request.Context()
	var created repository.Member
	switch {
	case in.SendActivationEmail && in.TemporaryPassword != "":
		return nil, errorf(string(provisioning.CodeInvalidValue), "sendActivationEmail",
			"give either temporaryPassword or sendActivationEmail: the activation link is where the member chooses a password")
	case in.SendActivationEmail:
		invited, err := a.svc.CreateMemberWithActivation(ctx, cl.actor(), m)
		if err != nil {
			return nil, err
		}
		created = invited.Member
	default:
		if in.TemporaryPassword != "" {
			hash, err := provisioning.HashPassword(in.TemporaryPassword)
			if err != nil {
				return nil, renameAttr(err, "password", "temporaryPassword")
			}
			m.PasswordHash, m.MustChangePassword = hash, true
		}
		var err error
		if created, err = a.svc.CreateMember(ctx, cl.actor(), m); err != nil {
			return nil, err
		}
	}
	r, err := a.memberReply(c, cl, http.StatusCreated, created)
	if err != nil {
		return nil, err
	}
	r.location = c.Request.URL.Path + "/" + created.ID
	return r, nil
}

// fillNames derives what a person means when giving only first and last
// name: the formatted name and, when absent, the display name.
func fillNames(m *repository.Member) {
	m.Name.GivenName = strings.TrimSpace(m.Name.GivenName)
	m.Name.FamilyName = strings.TrimSpace(m.Name.FamilyName)
	m.Name.Formatted = strings.TrimSpace(m.Name.GivenName + " " + m.Name.FamilyName)
	if strings.TrimSpace(m.DisplayName) == "" {
		m.DisplayName = m.Name.Formatted
	}
}

// checkManager checks a team leader reference: the admin API speaks member
// ids of the caller's account only. (provisioning would also take an
// externalId, or keep an unknown reference pending for an identity
// provider that sends the leader later; an admin naming a member that does
// not exist made a mistake and is told so.) current is the member's
// leader now, which is always acceptable.
func (a *API) checkManager(c *gin.Context, cl *call, ref, current string) error {
	ref = strings.TrimSpace(ref)
	if ref == "" || ref == current {
		return nil
	}
	_, err := a.store().GetMember(c.Request.Context(), cl.AccountID, ref)
	if errors.Is(err, repository.ErrNotFound) {
		return errorf(string(provisioning.CodeInvalidValue), "managerId", "no member of this account has the id %s", quote(ref))
	}
	return err
}

// renameAttr renames the attribute of a provisioning error to this API's
// field name, where one provisioning name stands for a field this door
// calls differently.
func renameAttr(err error, from, to string) error {
	var pe *provisioning.Error
	if errors.As(err, &pe) && pe.Attribute == from {
		c := *pe
		c.Attribute = to
		c.Message = strings.ReplaceAll(c.Message, from, to)
		return &c
	}
	return err
}

func (a *API) patchMember(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	var p MemberPatch
	fields, err := a.decode(c, &p, Member{})
	if err != nil {
		return nil, err
	}
	var profileFields bodyFields
	if p.SupportProfile != nil {
		// The decode above checked the shape; this only tells null from absent.
		if err := json.Unmarshal(fields["supportProfile"], &profileFields); err != nil {
			return nil, errorf(CodeInvalidType, "supportProfile", "supportProfile must be an object")
		}
	}
	ctx := c.Request.Context()
	cur, err := a.store().GetMember(ctx, cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "member", id)
	}
	if p.ManagerID != nil {
		if err := a.checkManager(c, cl, *p.ManagerID, cur.ManagerID); err != nil {
			return nil, err
		}
	}
	updated, err := a.svc.UpdateMember(ctx, cl.actor(), cl.AccountID, id, ifMatch(c),
		func(m repository.Member) (repository.Member, error) {
			applyMemberPatch(&m, p, fields, profileFields)
			return m, nil
		})
	if err != nil {
		return nil, notFound(nameAttr(err, p), "member", id)
	}
	return a.memberReply(c, cl, http.StatusOK, updated)
}

// nameAttr names the field of a managed-attribute refusal on the SCIM
// "name" attribute after the field the patch set (firstName or lastName).
func nameAttr(err error, p MemberPatch) error {
	if p.FirstName == nil && p.LastName != nil {
		return renameAttr(err, "name", "lastName")
	}
	return renameAttr(err, "name", "firstName")
}

// applyMemberPatch merges p into m. fields and profileFields are the
// bodies as sent, which tell a null (clear) from an absent field (keep).
func applyMemberPatch(m *repository.Member, p MemberPatch, fields, profileFields bodyFields) {
	setStr := func(dst *string, v *string, name string) {
		if v != nil {
			*dst = *v
		} else if fields.null(name) {
			*dst = ""
		}
	}
	setStr(&m.UserName, p.UserName, "userName")
	names := p.FirstName != nil || p.LastName != nil || fields.null("firstName") || fields.null("lastName")
	setStr(&m.Name.GivenName, p.FirstName, "firstName")
	setStr(&m.Name.FamilyName, p.LastName, "lastName")
	if names {
		m.Name.Formatted = strings.TrimSpace(strings.TrimSpace(m.Name.GivenName) + " " + strings.TrimSpace(m.Name.FamilyName))
	}
	setStr(&m.DisplayName, p.DisplayName, "displayName")
	setStr(&m.Title, p.Title, "title")
	setStr(&m.EmployeeNumber, p.EmployeeNumber, "employeeNumber")
	setStr(&m.Department, p.Department, "department")
	setStr(&m.Locale, p.Locale, "locale")
	setStr(&m.Timezone, p.Timezone, "timezone")
	if p.Emails != nil || fields.null("emails") {
		m.Emails = fromEmails(deref(p.Emails))
	}
	if p.PhoneNumbers != nil || fields.null("phoneNumbers") {
		m.PhoneNumbers = fromPhones(deref(p.PhoneNumbers))
	}
	if p.Roles != nil || fields.null("roles") {
		m.Roles = slices.Clone(deref(p.Roles))
	}
	if p.OptionalPermissions != nil || fields.null("optionalPermissions") {
		m.OptionalPermissions = fromRolePermissions(deref(p.OptionalPermissions))
	}
	switch {
	case p.ManagerID != nil || fields.null("managerId"):
		if p.ManagerID != nil {
			m.ManagerID = strings.TrimSpace(*p.ManagerID)
		} else {
			m.ManagerID = ""
		}
		m.PendingManagerRef = ""
	case m.ManagerID == "" && m.PendingManagerRef != "":
		// provisioning takes the leader as a reference; handing the pending
		// one back keeps it pending instead of dropping it.
		m.ManagerID = m.PendingManagerRef
	}
	if fields.null("supportProfile") {
		m.Profile = repository.SupportProfile{}
	}
	if sp := p.SupportProfile; sp != nil {
		pr := &m.Profile
		setList := func(dst *[]string, v *[]string, name string) {
			if v != nil || profileFields.null(name) {
				*dst = slices.Clone(deref(v))
			}
		}
		setBool := func(dst *bool, v *bool, name string) {
			if v != nil {
				*dst = *v
			} else if profileFields.null(name) {
				*dst = false
			}
		}
		setPStr := func(dst *string, v *string, name string) {
			if v != nil {
				*dst = *v
			} else if profileFields.null(name) {
				*dst = ""
			}
		}
		setList(&pr.Expertise, sp.Expertise, "expertise")
		setBool(&pr.OnlyAssignFromExpertise, sp.OnlyAssignFromExpertise, "onlyAssignFromExpertise")
		setBool(&pr.OnlyAssignedConversations, sp.OnlyAssignedConversations, "onlyAssignedConversations")
		setBool(&pr.CanViewGroupCompanies, sp.CanViewGroupCompanies, "canViewGroupCompanies")
		setBool(&pr.ExternalSSO, sp.ExternalSSO, "externalSso")
		setBool(&pr.CanManageTeams, sp.CanManageTeams, "canManageTeams")
		setList(&pr.Channels, sp.Channels, "channels")
		setPStr(&pr.EmploymentStatus, sp.EmploymentStatus, "employmentStatus")
		setPStr(&pr.StartDate, sp.StartDate, "startDate")
		setPStr(&pr.Bio, sp.Bio, "bio")
		setPStr(&pr.ImageURL, sp.ImageURL, "imageUrl")
		setPStr(&pr.Hometown, sp.Hometown, "hometown")
		setPStr(&pr.StateOrCountry, sp.StateOrCountry, "stateOrCountry")
		setPStr(&pr.ApprovalStatus, sp.ApprovalStatus, "approvalStatus")
	}
}

// deref returns *p, or nil.
func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

// setActive deactivates or reactivates a member.
func (a *API) setActive(active bool) handler {
	return func(c *gin.Context, cl *call) (*reply, error) {
		id := c.Param("id")
		updated, err := a.svc.UpdateMember(c.Request.Context(), cl.actor(), cl.AccountID, id, ifMatch(c),
			func(m repository.Member) (repository.Member, error) {
				m.Active = active
				return m, nil
			})
		if err != nil {
			return nil, notFound(err, "member", id)
		}
		return a.memberReply(c, cl, http.StatusOK, updated)
	}
}

func (a *API) deleteMember(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	if err := a.svc.DeleteMember(c.Request.Context(), cl.actor(), cl.AccountID, id, ifMatch(c)); err != nil {
		return nil, notFound(err, "member", id)
	}
	return noContent(), nil
}

func (a *API) memberPermissions(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	ep, err := a.svc.EffectivePermissions(c.Request.Context(), cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "member", id)
	}
	return ok(EffectivePermissions{
		MemberID: ep.MemberID, Roles: nonNil(ep.Roles), Permissions: nonNil(ep.Permissions),
		Agent: ep.Agent, SeatStatus: ep.SeatStatus,
	}), nil
}

func (a *API) memberReports(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	direct, indirect, err := a.svc.Reports(c.Request.Context(), cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "member", id)
	}
	owner, err := a.ownerID(c, cl.AccountID)
	if err != nil {
		return nil, err
	}
	out := Reports{Direct: make([]Member, 0, len(direct)), Indirect: make([]Member, 0, len(indirect))}
	for _, m := range direct {
		out.Direct = append(out.Direct, toMember(m, owner))
	}
	for _, m := range indirect {
		out.Indirect = append(out.Indirect, toMember(m, owner))
	}
	return ok(out), nil
}
