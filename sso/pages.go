package sso

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/sso/connector"
)

// The bridge's one error writer: every failure of a login or session
// route goes through fail, which maps it to a status, a public message
// and a stable reason, and writes the HTML login page or problem+json.
// Private causes go to the log only.

// pageSet holds the parsed templates.
type pageSet struct {
	login *template.Template
}

// loginPage is the data of the login page.
type loginPage struct {
	Title     string
	Message   string
	Error     bool
	Email     string
	Account   string
	ReturnTo  string
	RequestID string
}

const loginTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · Roster</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.4rem}form{margin:1.5rem 0;padding:1rem;border:1px solid #d5d9e0;border-radius:.5rem}
label{display:block;margin:.5rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:.8rem;padding:.45rem 1rem}.msg{padding:.75rem;border-radius:.4rem;background:#eef3fb}
.err{background:#fdecec}.rid{color:#6b7280;font-size:.8rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Message}}<p class="msg{{if .Error}} err{{end}}" role="{{if .Error}}alert{{else}}status{{end}}">{{.Message}}</p>{{end}}
<form method="get" action="/sso/login">
<h2>Sign in with your company's SSO</h2>
<label for="sso-email">Work email</label>
<input id="sso-email" name="email" type="email" autocomplete="username" value="{{.Email}}" required>
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<button type="submit">Continue</button>
</form>
<form method="post" action="/auth/login">
<h2>Sign in with a password</h2>
<label for="pw-account">Account</label>
<input id="pw-account" name="account" value="{{.Account}}" required>
<label for="pw-email">Email</label>
<input id="pw-email" name="email" type="email" autocomplete="username" value="{{.Email}}" required>
<label for="pw-password">Password</label>
<input id="pw-password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<button type="submit">Sign in</button>
</form>
{{if .RequestID}}<p class="rid">Request id: {{.RequestID}}</p>{{end}}
</body>
</html>
`

func newPages() (*pageSet, error) {
	t, err := template.New("login").Parse(loginTemplate)
	if err != nil {
		return nil, err
	}
	return &pageSet{login: t}, nil
}

// requestID returns the request id the server's middleware put on the
// response (X-Request-Id), or "".
func requestID(c *gin.Context) string {
	return c.Writer.Header().Get("X-Request-Id")
}

// wantsJSON reports whether the caller asked for JSON rather than a page:
// an Accept naming JSON before any HTML, or a JSON request body.
func wantsJSON(c *gin.Context) bool {
	accept := strings.ToLower(c.GetHeader("Accept"))
	j := strings.Index(accept, "json")
	h := strings.Index(accept, "text/html")
	if j >= 0 && (h < 0 || j < h) {
		return true
	}
	return h < 0 && strings.HasPrefix(strings.ToLower(c.ContentType()), "application/json")
}

// renderLogin writes the login page with status.
func (b *Bridge) renderLogin(c *gin.Context, status int, p loginPage) {
	if p.Title == "" {
		p.Title = "Sign in"
	}
	p.RequestID = requestID(c)
	var buf bytes.Buffer
	if err := b.pages.login.Execute(&buf, p); err != nil {
		b.log.ErrorContext(c.Request.Context(), "sso: render login page", "error", err)
		c.String(http.StatusInternalServerError, "The sign-in page failed to render. Request id: %s", p.RequestID)
		return
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// problem is the RFC 9457 body of JSON failures.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"requestId,omitempty"`
}

// writeProblem writes a problem+json body.
func writeProblem(c *gin.Context, status int, code, detail string) {
	body, _ := json.Marshal(problem{Type: "urn:roster:problem:" + code, Title: http.StatusText(status),
		Status: status, Detail: detail, Code: code, RequestID: requestID(c)})
	c.Header("Cache-Control", "no-store")
	c.Data(status, "application/problem+json", body)
}

// failure is what a failed request shows.
type failure struct {
	status     int
	code       string // stable, for problem+json and metrics
	public     string
	retryAfter time.Duration
	internal   bool // log at error level
}

// classify maps an error to its failure.
func classify(err error) failure {
	var le *connector.LoginError
	if errors.As(err, &le) {
		f := failure{status: http.StatusBadRequest, code: le.Reason, public: le.Public}
		switch le.Reason {
		case "connection":
			f.status = http.StatusNotFound
		case "config":
			f.status, f.internal = http.StatusInternalServerError, true
		case "store":
			f.status, f.internal = http.StatusServiceUnavailable, true
		case "discovery", "jwks", "exchange", "userinfo":
			f.status = http.StatusBadGateway
		case "idp_error", "status":
			f.status = http.StatusUnauthorized
		}
		if f.public == "" {
			f.public = "The sign-in could not be completed. Please start again."
		}
		return f
	}
	if pe := provisioning.AsError(err); pe != nil {
		f := failure{status: http.StatusBadRequest, code: string(pe.Code), public: pe.Message, retryAfter: pe.RetryAfter}
		switch pe.Code {
		case provisioning.CodeUnauthenticated:
			f.status = http.StatusUnauthorized
		case provisioning.CodeNotProvisioned, provisioning.CodeMemberInactive, provisioning.CodeSeatLimitReached,
			provisioning.CodeForbidden, provisioning.CodeSSORequired:
			f.status = http.StatusForbidden
		case provisioning.CodeRateLimited:
			f.status = http.StatusTooManyRequests
		case provisioning.CodeConflict:
			f.status = http.StatusConflict
		case provisioning.CodeNotFound:
			f.status = http.StatusNotFound
		}
		return f
	}
	return failure{status: http.StatusInternalServerError, code: "internal_error", internal: true,
		public: "The sign-in failed on our side. Please try again; if it keeps failing, quote the request id to your administrator."}
}

// fail answers a failed request: kind, when set, is the login kind
// reported to Observe. page carries what the login page should prefill.
func (b *Bridge) fail(c *gin.Context, kind string, err error, page loginPage) {
	f := classify(err)
	if kind != "" {
		b.opts.Observe(kind, "failure", f.code)
	}
	level := b.log.InfoContext
	if f.internal {
		level = b.log.ErrorContext
	}
	level(c.Request.Context(), "sso: request failed", "kind", kind, "code", f.code, "status", f.status,
		"error", err.Error(), "request_id", requestID(c))
	if f.retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((f.retryAfter+time.Second-1)/time.Second)))
	}
	if wantsJSON(c) {
		writeProblem(c, f.status, f.code, f.public)
		return
	}
	page.Title, page.Message, page.Error = "Sign-in failed", f.public, true
	b.renderLogin(c, f.status, page)
}
