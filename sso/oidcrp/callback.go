package oidcrp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
)

// Public messages: what the login page may show. They never echo what the
// request carried, except a well-formed OAuth error code.
const (
	publicRetry       = "The sign-in could not be completed. Please start again."
	publicState       = "This sign-in has expired or was already used. Please start again."
	publicBrowser     = "This sign-in was started in another browser or tab that is no longer valid. Please start again here."
	publicInvalid     = "Your identity provider's answer could not be verified, so the sign-in was refused. If this keeps happening, contact your administrator."
	publicUnavailable = "Your identity provider could not be reached. Please try again in a moment."
)

// Limits on callback parameters; anything longer is not ours.
const (
	maxCodeLen  = 4096
	maxIssLen   = 2048
	maxErrorLen = 256
)

// Callback completes a login from the IdP's redirect: r is the request to
// the redirect URI and browserID the caller's browser-binding cookie. The
// state is taken (single use) before anything else is trusted. Every
// failure is a *connector.LoginError.
func (rp *RP) Callback(ctx context.Context, r *http.Request, browserID string) (connector.Identity, error) {
	q, err := callbackParams(r)
	if err != nil {
		return connector.Identity{}, err
	}
	state := q.Get("state")
	errCode := q.Get("error")

	// The state is consumed even on an error response, so it cannot be
	// replayed after the IdP refused.
	var ls loginState
	var stateErr error
	if state == "" {
		stateErr = connector.Fail("state", publicState, errors.New("oidc: callback without state"))
	} else {
		ls, stateErr = rp.takeState(ctx, state, browserID)
	}
	if stateErr != nil {
		if errCode != "" {
			// The IdP refused anyway; say so rather than "expired".
			return connector.Identity{}, idpError(q, stateErr)
		}
		return connector.Identity{}, stateErr
	}

	p, err := rp.provider(ctx)
	if err != nil {
		return connector.Identity{}, err
	}
	// RFC 9207: the response names its issuer, so a response from another
	// IdP (mix-up attack) is refused — before an error response is shown.
	if iss, ok := q["iss"]; ok {
		if iss[0] != p.issuer {
			return connector.Identity{}, connector.Fail("issuer", publicInvalid,
				fmt.Errorf("oidc: iss response parameter %q, want %q", truncate(iss[0], 200), p.issuer))
		}
	} else if p.meta.IssParameterSupported {
		return connector.Identity{}, connector.Fail("issuer", publicInvalid,
			errors.New("oidc: iss response parameter missing though the provider announces it"))
	}
	if errCode != "" {
		return connector.Identity{}, idpError(q, nil)
	}

	code := q.Get("code")
	if code == "" {
		return connector.Identity{}, connector.Fail("malformed", publicRetry, errors.New("oidc: callback without code"))
	}

	cctx := context.WithValue(ctx, oauth2.HTTPClient, rp.client)
	tok, err := rp.oauth2Config(p).Exchange(cctx, code, oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		return connector.Identity{}, exchangeError(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return connector.Identity{}, connector.Fail("malformed", publicInvalid, errors.New("oidc: token response without id_token"))
	}
	claims, err := rp.verifyIDToken(ctx, p, rawID, ls.Nonce, tok.AccessToken)
	if err != nil {
		return connector.Identity{}, err
	}

	var info map[string]any
	if rp.cfg.UserInfo {
		info, err = rp.userInfo(ctx, p, tok.AccessToken, claims.subject)
		if err != nil {
			return connector.Identity{}, err
		}
	}
	id := mapClaims(rp.cfg.Claims, claims.all, info)
	id.ConnectionID = rp.conn.ID
	id.Subject = claims.subject
	id.ReturnTo = ls.ReturnTo
	return id, nil
}

// callbackParams returns the query of a callback, refusing repeated or
// oversized parameters. Only the query is read: we ask for
// response_mode=query, and a cross-site form POST would not carry the
// browser-binding cookie anyway.
func callbackParams(r *http.Request) (url.Values, error) {
	if r == nil || r.URL == nil {
		return nil, connector.Fail("malformed", publicRetry, errors.New("oidc: no callback request"))
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, connector.Fail("malformed", publicRetry, fmt.Errorf("oidc: callback query: %w", err))
	}
	for k, v := range q {
		if len(v) > 1 {
			return nil, connector.Fail("malformed", publicRetry, fmt.Errorf("oidc: callback parameter %q repeated", truncate(k, 40)))
		}
	}
	for _, l := range []struct {
		name string
		max  int
	}{{"code", maxCodeLen}, {"iss", maxIssLen}, {"error", maxErrorLen}, {"state", 64}} {
		if len(q.Get(l.name)) > l.max {
			return nil, connector.Fail("malformed", publicRetry, fmt.Errorf("oidc: callback parameter %q too long", l.name))
		}
	}
	return q, nil
}

// takeState consumes the state and checks it belongs to this connection
// and to the browser presenting it.
func (rp *RP) takeState(ctx context.Context, state, browserID string) (loginState, error) {
	if !wellFormedState(state) {
		return loginState{}, connector.Fail("state", publicState, errors.New("oidc: state is not one of ours"))
	}
	raw, err := rp.store.TakeOneTime(ctx, stateKey(state), rp.now())
	if errors.Is(err, repository.ErrNotFound) {
		return loginState{}, connector.Fail("state", publicState, errors.New("oidc: state unknown, expired or already used"))
	}
	if err != nil {
		return loginState{}, connector.Fail("store", publicUnavailableStore, fmt.Errorf("oidc: take state: %w", err))
	}
	ls, err := decodeState(raw)
	if err != nil {
		return loginState{}, connector.Fail("state", publicState, err)
	}
	if ls.ConnID != rp.conn.ID || ls.AccountID != rp.conn.AccountID {
		return loginState{}, connector.Fail("state", publicState,
			fmt.Errorf("oidc: state of connection %s presented at connection %s", ls.ConnID, rp.conn.ID))
	}
	if !sameBrowser(ls.Browser, browserID) {
		return loginState{}, connector.Fail("browser", publicBrowser, errors.New("oidc: state presented by another browser"))
	}
	return ls, nil
}

const publicUnavailableStore = "The sign-in could not be completed right now. Please try again in a moment."

// idpError turns an OAuth error response into a LoginError. Only a
// well-formed error code reaches the public message; the description,
// which anyone can put in a link, stays in the cause.
func idpError(q url.Values, stateErr error) error {
	code := q.Get("error")
	public := "Your identity provider did not complete the sign-in."
	if oauthErrorCode(code) {
		public = fmt.Sprintf("Your identity provider did not complete the sign-in (%s).", code)
	}
	cause := fmt.Errorf("oidc: identity provider error %q: %s", truncate(code, 64), truncate(q.Get("error_description"), 300))
	if stateErr != nil {
		cause = fmt.Errorf("%w (and the state was refused: %v)", cause, stateErr)
	}
	return connector.Fail("idp_error", public, cause)
}

// oauthErrorCode reports whether s looks like an RFC 6749 error code.
func oauthErrorCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// exchangeError classifies a failed code exchange.
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return connector.Fail("exchange", publicRetry,
			fmt.Errorf("oidc: token endpoint answered %d %s: %s", status, truncate(re.ErrorCode, 64), truncate(re.ErrorDescription, 300)))
	}
	return connector.Fail("exchange", publicUnavailable, fmt.Errorf("oidc: code exchange: %w", err))
}

// truncate caps s for logs.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
