package sso

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
)

// Login kinds reported to Options.Observe.
const (
	KindSAML     = "saml"
	KindOIDC     = "oidc"
	KindPassword = "password"
)

// maxEmailLen bounds the email of a domain lookup (RFC 5321 path limit).
const maxEmailLen = 254

// login serves GET /sso/login: with an email, it sends the browser to the
// connection its domain routes to; without, it shows the login page.
func (b *Bridge) login(c *gin.Context) {
	email := strings.TrimSpace(c.Query("email"))
	returnTo := b.opts.ReturnPaths.Or(c.Query("return_to"))
	page := loginPage{Email: email, ReturnTo: returnTo}
	if email == "" {
		b.renderLogin(c, http.StatusOK, page)
		return
	}
	_, domain, ok := strings.Cut(email, "@")
	domain = strings.ToLower(strings.TrimSpace(domain))
	if !ok || domain == "" || len(email) > maxEmailLen || strings.ContainsAny(domain, "@/ ") {
		b.fail(c, "", &provisioning.Error{Code: provisioning.CodeInvalidValue,
			Message: "Enter your work email address, like name@company.com."}, page)
		return
	}
	conn, err := b.store.GetSSOConnectionByDomain(c.Request.Context(), domain)
	if errors.Is(err, repository.ErrNotFound) || (err == nil && !conn.Enabled) {
		b.fail(c, "", &provisioning.Error{Code: provisioning.CodeNotFound, Err: err,
			Message: "No single sign-on is set up for " + domain + ". Sign in with your password, or ask your administrator."}, page)
		return
	}
	if err != nil {
		b.fail(c, "", err, page)
		return
	}
	target := "/sso/" + conn.Kind + "/" + url.PathEscape(conn.ID) + "/start?" + url.Values{"return_to": {returnTo}}.Encode()
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"kind": conn.Kind, "connectionId": conn.ID, "loginUrl": target})
		return
	}
	c.Redirect(http.StatusSeeOther, target)
}

// samlMetadata serves the SP metadata of a SAML connection.
func (b *Bridge) samlMetadata(c *gin.Context) {
	conn, err := b.connection(c.Request.Context(), c.Param("id"), repository.SSOSAML)
	if err != nil {
		b.fail(c, "", err, loginPage{})
		return
	}
	sp, _, err := b.sp(conn)
	if err != nil {
		b.fail(c, "", err, loginPage{})
		return
	}
	md, err := sp.Metadata()
	if err != nil {
		b.fail(c, "", err, loginPage{})
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/samlmetadata+xml", md)
}

// newBrowserID makes the login-binding value and sets its cookies: the
// Lax one always, the SameSite=None one (for the SAML ACS POST) only over
// HTTPS.
func (b *Bridge) newBrowserID(c *gin.Context, withPost bool) (string, error) {
	id, err := randomValue()
	if err != nil {
		return "", err
	}
	maxAge := int(browserCookieTTL / time.Second)
	b.setCookie(c.Writer, browserCookie, id, "/sso/", maxAge, http.SameSiteLaxMode)
	if withPost && b.secure {
		b.setCookie(c.Writer, browserPostCookie, id, "/sso/", maxAge, http.SameSiteNoneMode)
	}
	return id, nil
}

// clearBrowserID removes the login-binding cookies once a login ended.
func (b *Bridge) clearBrowserID(c *gin.Context) {
	b.setCookie(c.Writer, browserCookie, "", "/sso/", -1, http.SameSiteLaxMode)
	if b.secure {
		b.setCookie(c.Writer, browserPostCookie, "", "/sso/", -1, http.SameSiteNoneMode)
	}
}

// samlStart begins an SP-initiated SAML login.
func (b *Bridge) samlStart(c *gin.Context) {
	returnTo := b.opts.ReturnPaths.Or(c.Query("return_to"))
	conn, err := b.connection(c.Request.Context(), c.Param("id"), repository.SSOSAML)
	if err != nil {
		b.fail(c, KindSAML, err, loginPage{ReturnTo: returnTo})
		return
	}
	sp, _, _, err := b.samlSP(c.Request.Context(), conn)
	if err != nil {
		b.fail(c, KindSAML, err, loginPage{ReturnTo: returnTo})
		return
	}
	bid, err := b.newBrowserID(c, true)
	if err != nil {
		b.fail(c, KindSAML, err, loginPage{ReturnTo: returnTo})
		return
	}
	target, err := sp.StartLogin(c.Request.Context(), returnTo, bid)
	if err != nil {
		b.fail(c, KindSAML, err, loginPage{ReturnTo: returnTo})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, target)
}

// samlACS consumes the IdP's response.
func (b *Bridge) samlACS(c *gin.Context) {
	conn, err := b.connection(c.Request.Context(), c.Param("id"), repository.SSOSAML)
	if err != nil {
		b.fail(c, KindSAML, err, loginPage{})
		return
	}
	sp, cfg, conn, err := b.samlSP(c.Request.Context(), conn)
	if err != nil {
		b.fail(c, KindSAML, err, loginPage{})
		return
	}
	// The IdP's POST is cross-site: only the SameSite=None cookie comes
	// with it (over HTTPS); the Lax one only when the IdP is same-site.
	// Without either the samlsp request-id check still binds the response
	// to a request this deployment issued.
	bid := cookie(c.Request, browserPostCookie)
	if bid == "" {
		bid = cookie(c.Request, browserCookie)
	}
	id, err := sp.ACS(c.Request.Context(), c.Request, bid)
	if connector.ReasonOf(err) == "signature" {
		// Perhaps a key the IdP rolled over to since the metadata was
		// fetched: refresh (rate-limited) and, when the document changed,
		// validate this response once more (see protocols.go).
		if sp2, cfg2, conn2, ok := b.samlRetrySP(c.Request.Context(), conn, cfg); ok {
			conn, cfg = conn2, cfg2
			id, err = sp2.ACS(c.Request.Context(), c.Request, bid)
		}
	}
	if err != nil {
		b.fail(c, KindSAML, err, loginPage{})
		return
	}
	b.finishLogin(c, KindSAML, conn, cfg.Provisioning.JIT, id)
}

// oidcStart begins an OIDC login.
func (b *Bridge) oidcStart(c *gin.Context) {
	returnTo := b.opts.ReturnPaths.Or(c.Query("return_to"))
	conn, err := b.connection(c.Request.Context(), c.Param("id"), repository.SSOOIDC)
	if err != nil {
		b.fail(c, KindOIDC, err, loginPage{ReturnTo: returnTo})
		return
	}
	rp, _, err := b.rp(c.Request.Context(), conn)
	if err != nil {
		b.fail(c, KindOIDC, err, loginPage{ReturnTo: returnTo})
		return
	}
	bid, err := b.newBrowserID(c, false)
	if err != nil {
		b.fail(c, KindOIDC, err, loginPage{ReturnTo: returnTo})
		return
	}
	target, err := rp.StartLogin(c.Request.Context(), returnTo, bid)
	if err != nil {
		b.fail(c, KindOIDC, err, loginPage{ReturnTo: returnTo})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, target)
}

// oidcCallback completes an OIDC login.
func (b *Bridge) oidcCallback(c *gin.Context) {
	conn, err := b.connection(c.Request.Context(), c.Param("id"), repository.SSOOIDC)
	if err != nil {
		b.fail(c, KindOIDC, err, loginPage{})
		return
	}
	rp, cfg, err := b.rp(c.Request.Context(), conn)
	if err != nil {
		b.fail(c, KindOIDC, err, loginPage{})
		return
	}
	id, err := rp.Callback(c.Request.Context(), c.Request, cookie(c.Request, browserCookie))
	if err != nil {
		b.fail(c, KindOIDC, err, loginPage{})
		return
	}
	b.finishLogin(c, KindOIDC, conn, cfg.Provisioning.JIT, id)
}

// finishLogin resolves an asserted identity to a member, opens its
// session and sends the browser back where it asked to go.
func (b *Bridge) finishLogin(c *gin.Context, kind string, conn repository.SSOConnection, jit bool, id connector.Identity) {
	b.clearBrowserID(c)
	m, err := b.svc.ResolveLogin(c.Request.Context(), conn, provisioning.ExternalIdentity{
		Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified,
		GivenName: id.GivenName, FamilyName: id.FamilyName, DisplayName: id.DisplayName,
		Groups: id.Groups, RequestID: requestID(c),
	}, jit)
	if err != nil {
		b.fail(c, kind, err, loginPage{Email: id.Email})
		return
	}
	secret, sess, err := b.svc.StartSession(c.Request.Context(), m, conn.ID, id.SessionNotOnOrAfter)
	if err != nil {
		b.fail(c, kind, err, loginPage{Email: id.Email})
		return
	}
	b.opts.Observe(kind, "success", "")
	b.setSessionCookie(c.Writer, secret, sess.ExpiresAt)
	c.Header("Cache-Control", "no-store")
	// ReturnTo was checked when the login started; checking again costs
	// nothing and keeps a protocol half's slip from becoming a redirect.
	c.Redirect(http.StatusSeeOther, b.opts.ReturnPaths.Or(id.ReturnTo))
}

// passwordRequest is the body of POST /auth/login.
type passwordRequest struct {
	Account  string `json:"account" form:"account"`
	Email    string `json:"email" form:"email"`
	Password string `json:"password" form:"password"`
	ReturnTo string `json:"returnTo" form:"return_to"`
}

// maxLoginBody caps a login request body.
const maxLoginBody = 16 << 10

// passwordLogin serves POST /auth/login.
func (b *Bridge) passwordLogin(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxLoginBody)
	var req passwordRequest
	var err error
	if strings.HasPrefix(strings.ToLower(c.ContentType()), "application/json") {
		err = c.ShouldBindJSON(&req)
	} else {
		err = c.ShouldBind(&req)
	}
	page := loginPage{Email: req.Email, Account: req.Account, ReturnTo: b.opts.ReturnPaths.Or(req.ReturnTo)}
	if err != nil {
		b.fail(c, KindPassword, &provisioning.Error{Code: provisioning.CodeInvalidValue,
			Message: "send account, email and password as JSON or as a form", Err: err}, page)
		return
	}
	// A browser form from another site must not log someone in (login
	// CSRF): a foreign Origin is refused.
	if o := c.GetHeader("Origin"); o != "" && o != b.origin {
		b.fail(c, KindPassword, &provisioning.Error{Code: provisioning.CodeForbidden,
			Message: "this sign-in comes from another site and was refused"}, page)
		return
	}
	m, err := b.svc.PasswordLogin(c.Request.Context(), req.Account, req.Email, req.Password, c.ClientIP())
	if err != nil {
		b.fail(c, KindPassword, err, page)
		return
	}
	secret, sess, err := b.svc.StartSession(c.Request.Context(), m, "", time.Time{})
	if err != nil {
		b.fail(c, KindPassword, err, page)
		return
	}
	b.opts.Observe(KindPassword, "success", "")
	b.setSessionCookie(c.Writer, secret, sess.ExpiresAt)
	c.Header("Cache-Control", "no-store")
	if wantsJSON(c) {
		view, err := b.sessionView(c.Request.Context(), sess, m)
		if err != nil {
			b.fail(c, "", err, page)
			return
		}
		c.JSON(http.StatusOK, view)
		return
	}
	c.Redirect(http.StatusSeeOther, page.ReturnTo)
}

// SessionView is the JSON of GET /auth/session.
type SessionView struct {
	SessionID string         `json:"sessionId"`
	Account   AccountView    `json:"account"`
	Member    MemberView     `json:"member"`
	Roles     []string       `json:"roles"`
	Agent     AgentView      `json:"agent"`
	CSRFToken string         `json:"csrfToken"`
	ExpiresAt time.Time      `json:"expiresAt"`
	Via       map[string]any `json:"via,omitempty"`
}

// AccountView names the session's account.
type AccountView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MemberView is the session's member, as the app shows it.
type MemberView struct {
	ID                 string `json:"id"`
	UserName           string `json:"userName"`
	DisplayName        string `json:"displayName,omitempty"`
	GivenName          string `json:"givenName,omitempty"`
	FamilyName         string `json:"familyName,omitempty"`
	ExternalSSO        bool   `json:"externalSso"`
	MustChangePassword bool   `json:"mustChangePassword,omitempty"`
}

// AgentView tells whether the session may answer conversations.
type AgentView struct {
	// Capable: the member holds an agent seat now (a named seat or this
	// session's concurrent lease).
	Capable bool `json:"capable"`
	// NoSeatReason says why an agent works without the capability.
	NoSeatReason string `json:"noSeatReason,omitempty"`
}

// sessionView builds the JSON of a session.
func (b *Bridge) sessionView(ctx context.Context, sess repository.Session, m repository.Member) (SessionView, error) {
	acct, err := b.store.GetAccount(ctx, sess.AccountID)
	if err != nil {
		return SessionView{}, err
	}
	perms, err := b.svc.EffectivePermissions(ctx, sess.AccountID, m.ID)
	if err != nil {
		return SessionView{}, err
	}
	agent := AgentView{Capable: perms.Agent, NoSeatReason: sess.NoSeatReason}
	if acct.Seats.Policy == repository.SeatPolicyConcurrent {
		// The lease is the member's, shared by its sessions; a session
		// issued without one stays without until the next login.
		agent.Capable = perms.Agent && sess.AgentSeat
	} else if !perms.Agent && perms.SeatStatus == repository.SeatQueued {
		agent.NoSeatReason = "waiting for an agent seat: every seat of the account is in use; you get one as soon as one is free"
	}
	if agent.Capable {
		agent.NoSeatReason = ""
	}
	roles := perms.Roles
	if roles == nil {
		roles = []string{}
	}
	v := SessionView{
		SessionID: sess.ID,
		Account:   AccountView{ID: acct.ID, Name: acct.Name},
		Member: MemberView{ID: m.ID, UserName: m.UserName, DisplayName: m.DisplayName,
			GivenName: m.Name.GivenName, FamilyName: m.Name.FamilyName,
			ExternalSSO: m.Profile.ExternalSSO, MustChangePassword: m.MustChangePassword},
		Roles:     slices.Clone(roles),
		Agent:     agent,
		CSRFToken: b.csrfToken(sess.ID),
		ExpiresAt: sess.ExpiresAt,
	}
	if sess.ConnectionID != "" {
		v.Via = map[string]any{"connectionId": sess.ConnectionID}
	}
	return v, nil
}

// authenticated returns the request's live session, or an error that
// classifies as 401.
func (b *Bridge) authenticated(c *gin.Context) (repository.Session, repository.Member, error) {
	secret := cookie(c.Request, SessionCookie)
	if secret == "" {
		return repository.Session{}, repository.Member{}, &provisioning.Error{Code: provisioning.CodeUnauthenticated,
			Message: "not signed in: sign in first"}
	}
	sess, m, err := b.svc.AuthenticateSession(c.Request.Context(), secret)
	if pe := provisioning.AsError(err); pe != nil && pe.Code == provisioning.CodeUnauthenticated {
		b.clearSessionCookie(c.Writer)
	}
	return sess, m, err
}

// session serves GET /auth/session: always JSON.
func (b *Bridge) session(c *gin.Context) {
	sess, m, err := b.authenticated(c)
	if err == nil {
		var v SessionView
		if v, err = b.sessionView(c.Request.Context(), sess, m); err == nil {
			c.Header("Cache-Control", "no-store")
			c.JSON(http.StatusOK, v)
			return
		}
	}
	b.writeError(c, "sso: session", err)
}

// writeError answers err as problem JSON, logging it when it is internal
// (op names the handler in the log).
func (b *Bridge) writeError(c *gin.Context, op string, err error) {
	f := classify(err)
	if f.internal {
		b.log.ErrorContext(c.Request.Context(), op, "error", err, "request_id", requestID(c))
	}
	writeProblem(c, f.status, f.code, f.public)
}

// logout serves POST /auth/logout. A browser form of ours carries our
// Origin; scripts send the CSRF token. Without a live session it still
// clears the cookie and succeeds.
func (b *Bridge) logout(c *gin.Context) {
	secret := cookie(c.Request, SessionCookie)
	if secret != "" {
		sess, _, err := b.svc.AuthenticateSession(c.Request.Context(), secret)
		if err == nil {
			if o := c.GetHeader("Origin"); o != b.origin {
				// No Origin of ours: only the CSRF token proves the
				// request is the app's.
				if err := b.checkCSRF(c.Request, sess.ID); err != nil {
					b.fail(c, "", err, loginPage{})
					return
				}
			}
			if err := b.svc.EndSessionRecord(c.Request.Context(), sess); err != nil {
				b.fail(c, "", err, loginPage{})
				return
			}
		} else if provisioning.AsError(err) == nil {
			b.fail(c, "", err, loginPage{})
			return
		}
	}
	b.clearSessionCookie(c.Writer)
	c.Header("Cache-Control", "no-store")
	if wantsJSON(c) || c.GetHeader(headerCSRF) != "" {
		c.Status(http.StatusNoContent)
		return
	}
	c.Redirect(http.StatusSeeOther, "/sso/login")
}

// tokenResponse is the JSON of POST /auth/token.
type tokenResponse struct {
	AccessToken string    `json:"accessToken"`
	TokenType   string    `json:"tokenType"`
	ExpiresIn   int       `json:"expiresIn"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// token serves POST /auth/token: a short-lived access token for the
// session, never outliving it. It needs the CSRF token.
func (b *Bridge) token(c *gin.Context) {
	sess, m, err := b.authenticated(c)
	if err == nil {
		err = b.checkCSRF(c.Request, sess.ID)
	}
	if err == nil {
		err = provisioning.SessionMayAct(m)
	}
	var view SessionView
	if err == nil {
		view, err = b.sessionView(c.Request.Context(), sess, m)
	}
	if err != nil {
		b.writeError(c, "sso: token", err)
		return
	}
	ttl := sess.ExpiresAt.Sub(b.opts.Now())
	tok, exp, err := b.issuer.IssueFor(c.Request.Context(), accesstokenClaims(sess, m, view.Roles, view.Agent.Capable), ttl)
	if err != nil {
		b.log.ErrorContext(c.Request.Context(), "sso: issue access token", "error", err, "request_id", requestID(c))
		writeProblem(c, http.StatusServiceUnavailable, "unavailable", "no access token can be issued now; try again later")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer",
		ExpiresIn: int(exp.Sub(b.opts.Now()) / time.Second), ExpiresAt: exp})
}

// passwordChange is the body of POST /auth/password.
type passwordChange struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// changePassword serves POST /auth/password: the signed-in member sets a
// new password (JSON, CSRF token required); 204 on success.
func (b *Bridge) changePassword(c *gin.Context) {
	sess, m, err := b.authenticated(c)
	if err == nil {
		err = b.checkCSRF(c.Request, sess.ID)
	}
	var req passwordChange
	if err == nil {
		if jerr := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 4096)).Decode(&req); jerr != nil {
			err = &provisioning.Error{Code: provisioning.CodeInvalidValue,
				Message: `the body must be JSON {"currentPassword": "…", "newPassword": "…"}`}
		}
	}
	if err == nil {
		err = b.svc.ChangePassword(c.Request.Context(), m.AccountID, m.ID, req.CurrentPassword, req.NewPassword, requestID(c))
	}
	if err != nil {
		b.writeError(c, "sso: change password", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusNoContent)
}
