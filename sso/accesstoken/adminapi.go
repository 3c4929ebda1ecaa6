package accesstoken

import (
	"context"
	"errors"
	"time"

	"github.com/rosterhq/roster/provisioning"
)

// The two methods below make an Issuer the admin API's AccessTokens
// (provisioning/adminapi), which names no type of this package.

// IssueViewAs signs a read-only "view as" token acting as memberID, with
// actorID, the admin, as its RFC 8693 actor. ttl is capped at the
// Issuer's TTL.
func (i *Issuer) IssueViewAs(ctx context.Context, accountID, memberID, actorID string, roles []string, agent bool, ttl time.Duration) (string, time.Time, error) {
	if actorID == "" {
		return "", time.Time{}, errors.New("issue view-as token: no actor")
	}
	return i.IssueFor(ctx, Claims{AccountID: accountID, MemberID: memberID, Roles: roles, Agent: agent,
		ReadOnly: true, ActorID: actorID}, ttl)
}

// VerifyAccess verifies a bearer token for the admin API. A token at
// fault is a provisioning error with CodeUnauthenticated; a store failure
// is returned as is.
func (i *Issuer) VerifyAccess(ctx context.Context, token string) (accountID, memberID, tokenID string, readOnly bool, err error) {
	c, err := i.Verify(ctx, token)
	if errors.Is(err, ErrInvalidToken) {
		return "", "", "", false, &provisioning.Error{Code: provisioning.CodeUnauthenticated,
			Message: "invalid or expired access token", Err: err}
	}
	if err != nil {
		return "", "", "", false, err
	}
	return c.AccountID, c.MemberID, c.ID, c.ReadOnly, nil
}
