package adminapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
)

// Seats is the account's agent-seat licence and its use.
type Seats struct {
	Policy     string `json:"policy" enum:"named,concurrent" doc:"named: every agent holds a seat; concurrent: agents lease one while signed in"`
	Exhaustion string `json:"exhaustion" enum:"queue,reject" doc:"what happens to a new agent when no seat is free (named policy)"`
	Total      int    `json:"total" doc:"seats bought"`
	Used       int    `json:"used" doc:"seats held"`
	Queued     int    `json:"queued" doc:"agents waiting for a seat, first come first served"`
	Available  int    `json:"available" doc:"seats free"`
}

// SeatsInput changes the seat licence; fields left out stay.
type SeatsInput struct {
	Total      *int    `json:"total,omitempty" doc:"seats bought; cannot go below the seats held"`
	Policy     *string `json:"policy,omitempty" enum:"named,concurrent"`
	Exhaustion *string `json:"exhaustion,omitempty" enum:"queue,reject"`
}

// OwnershipTransfer names the new owner.
type OwnershipTransfer struct {
	MemberID string `json:"memberId" api:"required" doc:"an active administrator of the account"`
}

// Ownership is the account's owner after a transfer.
type Ownership struct {
	OwnerMemberID         string `json:"ownerMemberId"`
	PreviousOwnerMemberID string `json:"previousOwnerMemberId" doc:"stays an administrator"`
}

func toSeats(s provisioning.SeatSummary) Seats {
	return Seats{Policy: s.Policy, Exhaustion: s.Exhaustion, Total: s.Total, Used: s.Used, Queued: s.Queued, Available: s.Available}
}

func (a *API) getSeats(c *gin.Context, cl *call) (*reply, error) {
	s, err := a.svc.Seats(c.Request.Context(), cl.AccountID)
	if err != nil {
		return nil, err
	}
	return ok(toSeats(s)), nil
}

func (a *API) putSeats(c *gin.Context, cl *call) (*reply, error) {
	var in SeatsInput
	if _, err := a.decode(c, &in, Seats{}); err != nil {
		return nil, err
	}
	ch := provisioning.SeatChange{Total: in.Total}
	if in.Policy != nil {
		p := strings.TrimSpace(*in.Policy)
		ch.Policy = &p
	}
	if in.Exhaustion != nil {
		e := strings.TrimSpace(*in.Exhaustion)
		ch.Exhaustion = &e
	}
	s, err := a.svc.ChangeSeats(c.Request.Context(), cl.actor(), cl.AccountID, ch)
	if err != nil {
		return nil, err
	}
	return ok(toSeats(s)), nil
}

func (a *API) transferOwnership(c *gin.Context, cl *call) (*reply, error) {
	var in OwnershipTransfer
	if _, err := a.decode(c, &in, nil); err != nil {
		return nil, err
	}
	ctx := c.Request.Context()
	before, err := a.ownerID(c, cl.AccountID)
	if err != nil {
		return nil, err
	}
	acct, err := a.svc.TransferOwnership(ctx, cl.actor(), cl.AccountID, strings.TrimSpace(in.MemberID))
	if err != nil {
		return nil, renameAttr(renameAttr(err, "member", "memberId"), "toMemberId", "memberId")
	}
	return &reply{status: http.StatusOK, body: Ownership{OwnerMemberID: acct.OwnerMemberID, PreviousOwnerMemberID: before}}, nil
}
