package adminapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// DeletionRequested says where the confirmation code went.
type DeletionRequested struct {
	SentTo    string    `json:"sentTo" doc:"the owner's address the 6-digit code was emailed to"`
	ExpiresAt time.Time `json:"expiresAt" doc:"the code works until then (15 minutes), for at most 5 attempts"`
}

// DeletionConfirmation confirms deleting the account.
type DeletionConfirmation struct {
	Code   string `json:"code" api:"required" doc:"the 6-digit code emailed to the owner"`
	Reason string `json:"reason,omitempty" doc:"why the account is deleted; kept in the deletion record"`
}

// AccountDeleted is what remains of a deleted account.
type AccountDeleted struct {
	AccountID string    `json:"accountId"`
	Name      string    `json:"name"`
	DeletedAt time.Time `json:"deletedAt"`
	Reason    string    `json:"reason,omitempty"`
}

func (a *API) requestAccountDeletion(c *gin.Context, cl *call) (*reply, error) {
	req, err := a.svc.RequestAccountDeletion(c.Request.Context(), cl.actor(), cl.AccountID)
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusAccepted, body: DeletionRequested{SentTo: req.SentTo, ExpiresAt: req.ExpiresAt}}, nil
}

func (a *API) confirmAccountDeletion(c *gin.Context, cl *call) (*reply, error) {
	var in DeletionConfirmation
	if _, err := a.decode(c, &in, nil); err != nil {
		return nil, err
	}
	del, err := a.svc.ConfirmAccountDeletion(c.Request.Context(), cl.actor(), cl.AccountID, in.Code, in.Reason)
	if err != nil {
		return nil, err
	}
	return ok(AccountDeleted{AccountID: del.AccountID, Name: del.Name, DeletedAt: del.DeletedAt, Reason: del.Reason}), nil
}
