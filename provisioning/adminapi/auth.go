package adminapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// Principal is the authenticated caller of a request: a member of an
// account, and the credential it came with.
type Principal struct {
	AccountID string
	MemberID  string
	// CredentialKind is "api_token", "session" or "access_token".
	CredentialKind string
	// CredentialID is the token or session id, for logs.
	CredentialID string
	// ReadOnly marks a "view as" session: it may read but never change.
	ReadOnly bool
}

// Credential kinds of a Principal.
const (
	CredentialAPIToken = "api_token"
	CredentialSession  = "session"
	// CredentialAccessToken is a signed short-lived access token (JWT) of
	// the SSO bridge, a "view as" token among them.
	CredentialAccessToken = "access_token"
)

// SessionAuthenticator is the hook through which the SSO bridge (package
// sso, still to come) lets browser sessions call the API. It resolves the
// request's platform session to a principal; ok is false when the request
// carries no session at all. An error that provisioning.AsError maps to
// CodeUnauthenticated answers 401; any other error answers 503.
//
// The authenticator owns what a cookie credential needs beyond lookup:
// it must refuse unsafe methods (POST, PATCH, PUT, DELETE) without a
// valid CSRF proof, and set ReadOnly for "view as" sessions.
type SessionAuthenticator func(r *http.Request) (p Principal, ok bool, err error)

// errNoCredential is the 401 of a request without credentials.
var errNoCredential = errorf(string(provisioning.CodeUnauthenticated), "",
	`authentication required: send a personal API token as "Authorization: Bearer rst_api_..."`)

// errBadCredential is the 401 of a credential that does not work. One
// message for every reason, so a caller cannot probe which tokens exist.
var errBadCredential = errorf(string(provisioning.CodeUnauthenticated), "",
	"invalid, expired or revoked token")

// authenticate resolves the request's credential to an active member: a
// bearer API token first, else a session through the hook.
func (a *API) authenticate(c *gin.Context) (Principal, error) {
	ctx := c.Request.Context()
	var p Principal
	if h := strings.TrimSpace(c.GetHeader("Authorization")); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return p, errNoCredential
		}
		if a.opts.AccessTokens != nil && isJWT(token) {
			acct, member, id, readOnly, err := a.opts.AccessTokens.VerifyAccess(ctx, token)
			if err != nil {
				return p, credentialFailure(err)
			}
			p = Principal{AccountID: acct, MemberID: member, CredentialKind: CredentialAccessToken,
				CredentialID: id, ReadOnly: readOnly}
		} else {
			tok, err := a.svc.Authenticate(ctx, token, repository.TokenAPI)
			if err != nil {
				return p, credentialFailure(err)
			}
			p = Principal{AccountID: tok.AccountID, MemberID: tok.MemberID,
				CredentialKind: CredentialAPIToken, CredentialID: tok.ID}
		}
	} else {
		if a.opts.Sessions == nil {
			return p, errNoCredential
		}
		sp, ok, err := a.opts.Sessions(c.Request)
		if err != nil {
			return p, credentialFailure(err)
		}
		if !ok {
			return p, errNoCredential
		}
		p = sp
		p.CredentialKind = CredentialSession
	}
	if p.AccountID == "" || p.MemberID == "" {
		// A credential that belongs to no member (a SCIM token stored as an
		// API token by mistake) reaches nothing.
		return p, errBadCredential
	}
	m, err := a.store().GetMember(ctx, p.AccountID, p.MemberID)
	if errors.Is(err, repository.ErrNotFound) {
		return p, errBadCredential
	}
	if err != nil {
		return p, &apiError{code: CodeUnavailable, detail: "the service is unavailable; try again later", cause: err}
	}
	if !m.Active {
		return p, errBadCredential
	}
	return p, nil
}

// credentialFailure maps a failed credential check: a refusal is 401, a
// valid credential refused for this request (a cookie write without its
// CSRF proof) is 403 with the reason, a store failure is 503 (the
// credential may be fine).
func credentialFailure(err error) error {
	if pe := provisioning.AsError(err); pe != nil && pe.Code == provisioning.CodeForbidden {
		return &apiError{code: string(provisioning.CodeForbidden), detail: pe.Message, cause: err}
	}
	if pe := provisioning.AsError(err); pe != nil {
		return &apiError{code: errBadCredential.code, detail: errBadCredential.detail, cause: err}
	}
	return &apiError{code: CodeUnavailable, detail: "the service is unavailable; try again later", cause: err}
}

// authorize checks that the caller holds at least one of perms (a route
// lists several when each of them is enough, such as reading roles with
// either roles.manage or team.manage).
func (a *API) authorize(ctx context.Context, p Principal, perms []string, write bool) error {
	if write && p.ReadOnly {
		return errorf(string(provisioning.CodeForbidden), "", "this session views the app as another member and cannot change anything")
	}
	for _, perm := range perms {
		err := a.svc.Authorize(ctx, p.AccountID, p.MemberID, perm)
		if err == nil {
			return nil
		}
		if pe := provisioning.AsError(err); pe == nil || pe.Code != provisioning.CodeForbidden {
			return err
		}
	}
	if len(perms) == 1 {
		return errorf(string(provisioning.CodeForbidden), "", "this needs the %s permission", perms[0])
	}
	return errorf(string(provisioning.CodeForbidden), "", "this needs one of the permissions %s", strings.Join(perms, ", "))
}

// isJWT tells a signed access token (three base64url parts) from an API
// token, which starts with rst_ and has no dots.
func isJWT(token string) bool {
	return !strings.HasPrefix(token, "rst_") && strings.Count(token, ".") == 2
}
