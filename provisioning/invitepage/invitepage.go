// Package invitepage serves the public side of invitations: the page an
// invitation link opens and the form that accepts it.
//
//	GET  /invite/{token}         who invites whom to which account
//	POST /invite/{token}/accept  choose a password and activate the member
//
// Browsers get small HTML pages; a client sending "Accept:
// application/json" (or posting JSON) gets JSON, errors as RFC 9457
// problems. The token in the path is the only credential: it is 256
// random bits, single use, and stored only as a hash. A link that expired,
// was revoked, was used or was replaced by a newer one answers 410 Gone
// telling the person to ask an admin for a new one.
//
// Members flagged external SSO cannot set a password: the page tells them
// to sign in through their company's SSO, and links to it when the SSO
// bridge (Options.SSO) offers a login for them; the bridge then accepts
// the invitation at that first login (provisioning.AcceptInvitationBySSO).
package invitepage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
)

// SSOAcceptor is the hook through which the SSO bridge takes over the
// invitations of external-SSO members. LoginURL returns where such a
// member signs in through its company's identity provider; ok is false
// when no SSO connection serves it. After that login the bridge calls
// provisioning.AcceptInvitationBySSO, which activates the member.
type SSOAcceptor interface {
	LoginURL(ctx context.Context, inv provisioning.InvitationDetails) (url string, ok bool, err error)
}

// Options configures the pages.
type Options struct {
	// SSO offers external-SSO members a sign-in link; nil shows the advice
	// without a link.
	SSO SSOAcceptor
	// LoginURL is where a member who accepted signs in; empty shows no
	// link.
	LoginURL string
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
}

// maxFormBytes caps the accept form: a password and its confirmation.
const maxFormBytes = 16 << 10

// Pages serves the invitation pages. It is safe for concurrent use.
type Pages struct {
	svc  *provisioning.Service
	opts Options
	log  *slog.Logger
}

// New returns the pages over svc.
func New(svc *provisioning.Service, opts Options) (*Pages, error) {
	if svc == nil {
		return nil, errors.New("invitepage: no provisioning service")
	}
	p := &Pages{svc: svc, opts: opts, log: opts.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p, nil
}

// Mount serves the pages on r at /invite.
func (p *Pages) Mount(r gin.IRouter) {
	r.GET("/invite/:token", p.show)
	r.POST("/invite/:token/accept", p.accept)
}

// Mount builds the pages over svc and serves them on r.
func Mount(r gin.IRouter, svc *provisioning.Service, opts Options) error {
	p, err := New(svc, opts)
	if err != nil {
		return err
	}
	p.Mount(r)
	return nil
}

// Invitation is the JSON form of an invitation page.
type Invitation struct {
	AccountName string    `json:"accountName"`
	InviterName string    `json:"inviterName,omitempty"`
	Email       string    `json:"email"`
	UserName    string    `json:"userName"`
	Name        string    `json:"name,omitempty"`
	Kind        string    `json:"kind"`
	ExternalSSO bool      `json:"externalSso"`
	ExpiresAt   time.Time `json:"expiresAt"`
	// AcceptURL takes {"password": "..."}; absent for external-SSO members.
	AcceptURL string `json:"acceptUrl,omitempty"`
	// SSOLoginURL is where an external-SSO member signs in to accept.
	SSOLoginURL string `json:"ssoLoginUrl,omitempty"`
	// Message says what to do next, in words.
	Message string `json:"message"`
}

// Accepted is the JSON answer of a successful accept.
type Accepted struct {
	Status    string `json:"status"`
	AccountID string `json:"accountId"`
	MemberID  string `json:"memberId"`
	UserName  string `json:"userName"`
	LoginURL  string `json:"loginUrl,omitempty"`
	Message   string `json:"message"`
}

// acceptRequest is the JSON body of an accept.
type acceptRequest struct {
	Password        string `json:"password"`
	PasswordConfirm string `json:"passwordConfirm,omitempty"`
}

// show serves GET /invite/:token.
func (p *Pages) show(c *gin.Context) {
	ctx := c.Request.Context()
	token := c.Param("token")
	d, err := p.svc.LookupInvitation(ctx, token)
	if err != nil {
		p.fail(c, err, nil)
		return
	}
	view := p.view(ctx, c, d, token)
	if wantsJSON(c) {
		writeJSON(c, http.StatusOK, view)
		return
	}
	p.html(c, http.StatusOK, pageInvitation, pageData{Title: "Join " + d.AccountName, Invitation: &view, Details: &d})
}

// view builds what the page shows.
func (p *Pages) view(ctx context.Context, c *gin.Context, d provisioning.InvitationDetails, token string) Invitation {
	v := Invitation{AccountName: d.AccountName, InviterName: d.InviterName, Email: d.Email, UserName: d.UserName,
		Name: d.Name, Kind: d.Kind, ExternalSSO: d.ExternalSSO, ExpiresAt: d.ExpiresAt}
	if d.ExternalSSO {
		v.Message = "Your account signs in through your company's single sign-on (SSO), so you do not set a password: sign in with your company's SSO to accept the invitation."
		if p.opts.SSO != nil {
			u, ok, err := p.opts.SSO.LoginURL(ctx, d)
			if err != nil {
				p.log.WarnContext(ctx, "invitepage: SSO login URL", "error", err, "request_id", requestID(c))
			} else if ok {
				v.SSOLoginURL = u
			}
		}
		return v
	}
	v.AcceptURL = "/invite/" + token + "/accept"
	v.Message = "Choose a password to accept the invitation."
	return v
}

// accept serves POST /invite/:token/accept.
func (p *Pages) accept(c *gin.Context) {
	ctx := c.Request.Context()
	token := c.Param("token")
	password, confirm, hasConfirm, err := readPassword(c)
	if err != nil {
		p.fail(c, err, p.formAgain(ctx, c, token))
		return
	}
	if hasConfirm && confirm != password {
		p.fail(c, &provisioning.Error{Code: provisioning.CodeInvalidValue, Attribute: "passwordConfirm",
			Message: "the two passwords differ: type the same password twice"}, p.formAgain(ctx, c, token))
		return
	}
	m, err := p.svc.AcceptInvitation(ctx, token, password, requestID(c))
	if err != nil {
		p.fail(c, err, p.formAgain(ctx, c, token))
		return
	}
	res := Accepted{Status: "accepted", AccountID: m.AccountID, MemberID: m.ID, UserName: m.UserName,
		LoginURL: p.opts.LoginURL, Message: "Your password is set and your account is active: sign in with " + m.UserName + "."}
	if wantsJSON(c) {
		writeJSON(c, http.StatusOK, res)
		return
	}
	p.html(c, http.StatusOK, pageAccepted, pageData{Title: "Welcome", Accepted: &res})
}

// formAgain returns the page to show again with an error on a failed
// accept, when the invitation still works.
func (p *Pages) formAgain(ctx context.Context, c *gin.Context, token string) func() *pageData {
	return func() *pageData {
		d, err := p.svc.LookupInvitation(ctx, token)
		if err != nil {
			return nil
		}
		view := p.view(ctx, c, d, token)
		return &pageData{Title: "Join " + d.AccountName, Invitation: &view, Details: &d}
	}
}

// readPassword reads the password of an accept from a JSON body or a
// form post.
func readPassword(c *gin.Context) (password, confirm string, hasConfirm bool, err error) {
	ct := c.GetHeader("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		b, err := io.ReadAll(body)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", "", false, err
		}
		if err != nil {
			return "", "", false, badRequest("the request body could not be read")
		}
		var req acceptRequest
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return "", "", false, badRequest(`the body must be {"password": "..."}`)
		}
		return req.Password, req.PasswordConfirm, req.PasswordConfirm != "", nil
	case mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data":
		c.Request.Body = body
		if err := c.Request.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", "", false, err
			}
			return "", "", false, badRequest("the form could not be read")
		}
		_, has := c.Request.PostForm["passwordConfirm"]
		return c.Request.PostForm.Get("password"), c.Request.PostForm.Get("passwordConfirm"), has, nil
	}
	return "", "", false, &provisioning.Error{Code: "unsupported_media_type",
		Message: `send the password as a form (password=...) or as JSON {"password": "..."}`}
}

// badRequest is a malformed accept request.
func badRequest(msg string) error {
	return &provisioning.Error{Code: provisioning.CodeInvalidValue, Attribute: "password", Message: msg}
}

// statusOf maps a provisioning code to the pages' status.
func statusOf(code provisioning.Code) (int, string) {
	switch code {
	case provisioning.CodeInvitationGone, provisioning.CodeNotFound:
		return http.StatusGone, "Invitation no longer valid"
	case provisioning.CodeInvalidValue:
		return http.StatusBadRequest, "Invalid value"
	case provisioning.CodeSSORequired:
		return http.StatusForbidden, "Single sign-on required"
	case "unsupported_media_type":
		return http.StatusUnsupportedMediaType, "Unsupported media type"
	}
	return http.StatusBadRequest, "Request refused"
}

// problem is the JSON error body (RFC 9457).
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Attribute string `json:"attribute,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// fail is the pages' one error writer: a problem for JSON clients, a page
// for browsers. again, when set, returns the form to show again with the
// error (a bad password), or nil when the invitation no longer works.
func (p *Pages) fail(c *gin.Context, err error, again func() *pageData) {
	status, title, code, detail, attr := http.StatusInternalServerError, "Internal server error", "internal_error",
		"The server failed to answer. Try again in a moment; if it keeps failing, quote the request id to your administrator.", ""
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		status, title, code, detail = http.StatusRequestEntityTooLarge, "Request too large", "payload_too_large", "the request is too large"
	} else if pe := provisioning.AsError(err); pe != nil {
		status, title = statusOf(pe.Code)
		code, detail, attr = string(pe.Code), pe.Message, pe.Attribute
	} else {
		p.log.ErrorContext(c.Request.Context(), "invitepage: request failed", "error", err,
			"request_id", requestID(c), "method", c.Request.Method)
	}
	if wantsJSON(c) {
		c.Header("Cache-Control", "no-store")
		b, _ := json.Marshal(problem{Type: "urn:roster:problem:" + code, Title: title, Status: status, Detail: detail,
			Code: code, Attribute: attr, RequestID: requestID(c)})
		c.Abort()
		c.Data(status, "application/problem+json", b)
		return
	}
	data := pageData{Title: title, Error: detail, RequestID: requestID(c)}
	page := pageError
	if again != nil && status == http.StatusBadRequest {
		if d := again(); d != nil {
			d.Error = detail
			data, page = *d, pageInvitation
		}
	}
	p.html(c, status, page, data)
}

// wantsJSON reports whether the client asked for JSON rather than a page:
// an Accept naming application/json before any HTML, or a JSON body.
func wantsJSON(c *gin.Context) bool {
	accept := strings.ToLower(c.GetHeader("Accept"))
	j := strings.Index(accept, "application/json")
	if j < 0 {
		j = strings.Index(accept, "+json")
	}
	h := strings.Index(accept, "text/html")
	switch {
	case j >= 0 && (h < 0 || j < h):
		return true
	case h >= 0:
		return false
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	return mt == "application/json"
}

// writeJSON writes v; the pages' answers are never cached (they stand for
// a secret link).
func writeJSON(c *gin.Context, status int, v any) {
	c.Header("Cache-Control", "no-store")
	b, err := json.Marshal(v)
	if err != nil {
		c.Data(http.StatusInternalServerError, "application/problem+json", []byte(`{"status":500,"code":"internal_error"}`))
		return
	}
	c.Data(status, "application/json; charset=utf-8", b)
}

// requestID returns the request id cmd/roster's middleware set.
func requestID(c *gin.Context) string {
	return c.Writer.Header().Get("X-Request-Id")
}

// html renders a page with the headers that keep the link secret: no
// Referer leaves the page (the token is in its URL), nothing is cached,
// and the page cannot be framed or run scripts.
func (p *Pages) html(c *gin.Context, status int, page string, data pageData) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, page, data); err != nil {
		p.log.ErrorContext(c.Request.Context(), "invitepage: render", "error", err, "page", page, "request_id", requestID(c))
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("The page could not be shown.\n"))
		return
	}
	c.Abort()
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
