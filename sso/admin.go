package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/adminapi"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/accesstoken"
)

// AdminSessions lets browser sessions call the admin API: it matches
// adminapi.SessionAuthenticator. ok is false without a session cookie.
// Unsafe methods (POST, PUT, PATCH, DELETE) need the session's CSRF token
// in X-CSRF-Token and no foreign Origin; a refusal is a provisioning
// CodeForbidden error, which the admin API answers with 403.
func (b *Bridge) AdminSessions(r *http.Request) (adminapi.Principal, bool, error) {
	secret := cookie(r, SessionCookie)
	if secret == "" {
		return adminapi.Principal{}, false, nil
	}
	sess, m, err := b.svc.AuthenticateSession(r.Context(), secret)
	if err != nil {
		return adminapi.Principal{}, true, err
	}
	if err := provisioning.SessionMayAct(m); err != nil {
		return adminapi.Principal{}, true, err
	}
	if unsafeMethod(r.Method) {
		if err := b.checkCSRF(r, sess.ID); err != nil {
			return adminapi.Principal{}, true, err
		}
	}
	return adminapi.Principal{AccountID: sess.AccountID, MemberID: sess.MemberID,
		CredentialKind: adminapi.CredentialSession, CredentialID: sess.ID}, true, nil
}

// LoginURL is the invitation pages' hook (invitepage.SSOAcceptor): where
// an invited external-SSO member signs in; its first login accepts the
// invitation. ok is false when no enabled connection of the member's
// account serves its email domain.
func (b *Bridge) LoginURL(ctx context.Context, inv provisioning.InvitationDetails) (string, bool, error) {
	_, domain, ok := strings.Cut(inv.Email, "@")
	if !ok || domain == "" {
		return "", false, nil
	}
	conn, err := b.store.GetSSOConnectionByDomain(ctx, strings.ToLower(domain))
	if errors.Is(err, repository.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("sso login URL: %w", err)
	}
	// A connection of another account is no way into this one.
	if !conn.Enabled || conn.AccountID != inv.AccountID {
		return "", false, nil
	}
	return b.opts.BaseURL + "/sso/" + conn.Kind + "/" + url.PathEscape(conn.ID) + "/start?" +
		url.Values{"return_to": {b.opts.ReturnPaths.Or("")}}.Encode(), true, nil
}

// accesstokenClaims are the claims of a session's access token.
func accesstokenClaims(sess repository.Session, m repository.Member, roles []string, agent bool) accesstoken.Claims {
	return accesstoken.Claims{AccountID: sess.AccountID, MemberID: m.ID, SessionID: sess.ID,
		Roles: roles, Agent: agent}
}
