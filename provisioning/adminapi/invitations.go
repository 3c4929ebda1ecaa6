package adminapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// Invitation statuses as the API shows them.
const (
	invitationPending = "pending"
	invitationExpired = "expired"
)

// InvitationInput invites a person by email.
type InvitationInput struct {
	Email          string        `json:"email" api:"required" doc:"the person's address; it becomes the userName"`
	FirstName      string        `json:"firstName" api:"required"`
	LastName       string        `json:"lastName" api:"required"`
	DisplayName    string        `json:"displayName,omitempty" doc:"the visible name of the agent; defaults to first and last name"`
	Title          string        `json:"title,omitempty"`
	PhoneNumbers   []PhoneNumber `json:"phoneNumbers,omitempty"`
	EmployeeNumber string        `json:"employeeNumber,omitempty"`
	Department     string        `json:"department,omitempty"`
	Locale         string        `json:"locale,omitempty"`
	Timezone       string        `json:"timezone,omitempty"`
	Roles          []string      `json:"roles,omitempty" doc:"role keys; the account's default role when empty. You may only grant roles whose permissions you hold."`
	// OptionalPermissions are optional permissions granted per role.
	OptionalPermissions []RolePermission `json:"optionalPermissions,omitempty"`
	ManagerID           string           `json:"managerId,omitempty" doc:"member id of the team leader, in this account"`
	SupportProfile      *SupportProfile  `json:"supportProfile,omitempty"`
}

// Invitation is a pending invitation (or activation link) and its member.
type Invitation struct {
	ID     string `json:"id"`
	Kind   string `json:"kind" enum:"invitation,activation" doc:"invitation: an invited member; activation: a member created directly who sets a password"`
	Status string `json:"status" enum:"pending,expired" doc:"expired links come back to life with a resend or a fresh link"`
	Email  string `json:"email" doc:"where the link is emailed"`
	// InvitedBy is the member id of the inviter; absent for the system.
	InvitedBy string     `json:"invitedBy,omitempty" doc:"member id of the inviter; absent when the system invited (the owner of a new account)"`
	ExpiresAt time.Time  `json:"expiresAt"`
	SentAt    *time.Time `json:"sentAt,omitempty" doc:"when the link was last emailed; absent when it never was"`
	SendCount int        `json:"sendCount" doc:"emails sent in the current 24-hour window; at most 5"`
	CreatedAt time.Time  `json:"createdAt"`
	Member    Member     `json:"member"`
}

// InvitationLink is a fresh invitation link, shown once.
type InvitationLink struct {
	// URL is the single-use link; the previous one no longer works.
	URL        string     `json:"url" doc:"the single-use link, shown once; the previous link no longer works"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	Invitation Invitation `json:"invitation"`
}

// toInvitation renders a pending invitation.
func toInvitation(info provisioning.InvitationInfo, ownerID string, now time.Time) Invitation {
	inv := info.Invitation
	status := invitationPending
	if !now.Before(inv.ExpiresAt) {
		status = invitationExpired
	}
	kind := inv.Kind
	if kind == "" {
		kind = repository.InvitationInvite
	}
	count := inv.SendCount
	if !inv.SendCountSince.IsZero() && now.Sub(inv.SendCountSince) >= 24*time.Hour {
		count = 0
	}
	return Invitation{
		ID: inv.ID, Kind: kind, Status: status, Email: info.Email, InvitedBy: inv.InvitedBy,
		ExpiresAt: inv.ExpiresAt, SentAt: timePtr(inv.SentAt), SendCount: count, CreatedAt: inv.CreatedAt,
		Member: toMember(info.Member, ownerID),
	}
}

func (a *API) listInvitations(c *gin.Context, cl *call) (*reply, error) {
	infos, err := a.svc.PendingInvitations(c.Request.Context(), cl.AccountID)
	if err != nil {
		return nil, err
	}
	owner, err := a.ownerID(c, cl.AccountID)
	if err != nil {
		return nil, err
	}
	now := a.opts.Now()
	out := List[Invitation]{Items: make([]Invitation, 0, len(infos))}
	for _, info := range infos {
		out.Items = append(out.Items, toInvitation(info, owner, now))
	}
	return ok(out), nil
}

func (a *API) getInvitation(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	info, err := a.svc.GetInvitation(c.Request.Context(), cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "invitation", id)
	}
	return a.invitationReply(c, cl, http.StatusOK, info)
}

// invitationReply renders one invitation.
func (a *API) invitationReply(c *gin.Context, cl *call, status int, info provisioning.InvitationInfo) (*reply, error) {
	owner, err := a.ownerID(c, cl.AccountID)
	if err != nil {
		return nil, err
	}
	return &reply{status: status, body: toInvitation(info, owner, a.opts.Now())}, nil
}

func (a *API) createInvitation(c *gin.Context, cl *call) (*reply, error) {
	var in InvitationInput
	if _, err := a.decode(c, &in, Invitation{}); err != nil {
		return nil, err
	}
	if err := a.checkManager(c, cl, in.ManagerID, ""); err != nil {
		return nil, err
	}
	m := repository.Member{
		AccountID:           cl.AccountID,
		UserName:            in.Email,
		Name:                repository.Name{GivenName: in.FirstName, FamilyName: in.LastName},
		DisplayName:         in.DisplayName,
		Title:               in.Title,
		PhoneNumbers:        fromPhones(in.PhoneNumbers),
		EmployeeNumber:      in.EmployeeNumber,
		Department:          in.Department,
		Locale:              in.Locale,
		Timezone:            in.Timezone,
		Roles:               in.Roles,
		OptionalPermissions: fromRolePermissions(in.OptionalPermissions),
		ManagerID:           strings.TrimSpace(in.ManagerID),
	}
	fillNames(&m)
	if in.SupportProfile != nil {
		m.Profile = fromProfile(*in.SupportProfile)
	}
	invited, err := a.svc.Invite(c.Request.Context(), cl.actor(), m)
	if err != nil {
		return nil, renameAttr(err, "userName", "email")
	}
	r, err := a.invitationReply(c, cl, http.StatusCreated, provisioning.InvitationInfo{
		Invitation: invited.Invitation, Member: invited.Member, Email: strings.TrimSpace(in.Email)})
	if err != nil {
		return nil, err
	}
	r.location = c.Request.URL.Path + "/" + invited.Invitation.ID
	return r, nil
}

func (a *API) resendInvitation(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	info, err := a.svc.ResendInvitation(c.Request.Context(), cl.actor(), cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "invitation", id)
	}
	return a.invitationReply(c, cl, http.StatusOK, info)
}

func (a *API) invitationLink(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	link, info, err := a.svc.FreshInvitationLink(c.Request.Context(), cl.actor(), cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "invitation", id)
	}
	owner, err := a.ownerID(c, cl.AccountID)
	if err != nil {
		return nil, err
	}
	inv := toInvitation(info, owner, a.opts.Now())
	return &reply{status: http.StatusOK, noStore: true,
		body: InvitationLink{URL: link, ExpiresAt: inv.ExpiresAt, Invitation: inv}}, nil
}

func (a *API) revokeInvitation(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	if err := a.svc.RevokeInvitation(c.Request.Context(), cl.actor(), cl.AccountID, id); err != nil {
		return nil, notFound(err, "invitation", id)
	}
	return noContent(), nil
}
