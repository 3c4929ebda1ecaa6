package adminapi

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// AuditEvent records one change.
type AuditEvent struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	ActorKind  string    `json:"actorKind" enum:"member,scim_token,system"`
	ActorID    string    `json:"actorId,omitempty" doc:"member id or SCIM token id"`
	Action     string    `json:"action" doc:"e.g. member.create, member.deactivate, role.update, scim_token.revoke"`
	TargetKind string    `json:"targetKind"`
	TargetID   string    `json:"targetId"`
	// Diff is the before/after difference, by field.
	Diff      json.RawMessage `json:"diff" doc:"the changed fields as {field: {before, after}}"`
	RequestID string          `json:"requestId,omitempty"`
}

func (a *API) listAudit(c *gin.Context, cl *call) (*reply, error) {
	aq := repository.AuditQuery{}
	aq.Action, _ = query(c, "action")
	aq.ActorID, _ = query(c, "actor")
	aq.TargetID, _ = query(c, "target")
	aq.Action, aq.ActorID, aq.TargetID = strings.TrimSpace(aq.Action), strings.TrimSpace(aq.ActorID), strings.TrimSpace(aq.TargetID)
	var err error
	if aq.Since, err = timeParam(c, "since"); err != nil {
		return nil, err
	}
	if aq.Until, err = timeParam(c, "until"); err != nil {
		return nil, err
	}
	if !aq.Since.IsZero() && !aq.Until.IsZero() && aq.Until.Before(aq.Since) {
		return nil, errorf(string(provisioning.CodeInvalidValue), "until", "until is before since")
	}
	if aq.Limit, err = intParam(c, "count", a.opts.DefaultCount, 1, a.opts.MaxCount); err != nil {
		return nil, err
	}
	if cur, sent := query(c, "cursor"); sent {
		if _, err := repository.DecodeCursor(cur); err != nil {
			return nil, errorf(string(provisioning.CodeInvalidValue), "cursor", "cursor is not one this API returned")
		}
		aq.Cursor = cur
	}
	page, err := a.store().ListAudit(c.Request.Context(), cl.AccountID, aq)
	if err != nil {
		return nil, err
	}
	out := Page[AuditEvent]{Items: make([]AuditEvent, 0, len(page.Items)), Total: page.Total, NextCursor: page.NextCursor}
	for _, e := range page.Items {
		diff := json.RawMessage(e.Diff)
		if len(diff) == 0 || !json.Valid(diff) {
			diff = json.RawMessage(`{}`)
		}
		out.Items = append(out.Items, AuditEvent{ID: e.ID, Time: e.Time, ActorKind: e.ActorKind, ActorID: e.ActorID,
			Action: e.Action, TargetKind: e.TargetKind, TargetID: e.TargetID, Diff: diff, RequestID: e.RequestID})
	}
	return ok(out), nil
}
