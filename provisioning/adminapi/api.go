package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// Defaults of Options.
const (
	// DefaultMaxBodyBytes caps request bodies; larger ones get 413.
	DefaultMaxBodyBytes = 1 << 20 // 1 MiB
	// DefaultCount is the page size of a list that gives no count.
	DefaultCount = 50
	// DefaultMaxCount caps count in lists.
	DefaultMaxCount = 200
)

// Options configures an API.
type Options struct {
	// MaxBodyBytes caps every request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DefaultCount and MaxCount are the default and largest page sizes of
	// lists; 0 means DefaultCount and DefaultMaxCount.
	DefaultCount int
	MaxCount     int
	// Sessions lets browser sessions call the API once the SSO bridge
	// exists; nil accepts API tokens only.
	Sessions SessionAuthenticator
	// Connections serves /sso-connections; nil answers 503 there.
	Connections ConnectionService
	// AccessTokens lets signed access tokens (JWT) authenticate and mints
	// "view as" tokens; nil accepts API tokens and sessions only.
	AccessTokens AccessTokens
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// Now replaces time.Now (a token's expired status), for tests.
	Now func() time.Time
}

// API is the admin API. It is safe for concurrent use.
type API struct {
	svc    *provisioning.Service
	opts   Options
	log    *slog.Logger
	routes []route
	doc    []byte // the OpenAPI document, built once
}

// New returns the admin API over svc.
func New(svc *provisioning.Service, opts Options) (*API, error) {
	if svc == nil {
		return nil, errors.New("adminapi: no provisioning service")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = DefaultMaxCount
	}
	if opts.DefaultCount <= 0 {
		opts.DefaultCount = DefaultCount
	}
	opts.DefaultCount = min(opts.DefaultCount, opts.MaxCount)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &API{svc: svc, opts: opts, log: opts.Logger}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.routes = a.routeTable()
	doc, err := a.openAPI()
	if err != nil {
		return nil, fmt.Errorf("adminapi: build OpenAPI document: %w", err)
	}
	a.doc = doc
	return a, nil
}

// Mount builds the API over svc and serves it under r, the group of its
// base path (cmd/roster mounts it at /api/v1).
func Mount(r gin.IRouter, svc *provisioning.Service, opts Options) error {
	a, err := New(svc, opts)
	if err != nil {
		return err
	}
	a.Mount(r)
	return nil
}

// Mount serves the API under r, the group of its base path.
func (a *API) Mount(r gin.IRouter) {
	for _, rt := range a.routes {
		r.Handle(rt.method, rt.path, a.handle(rt))
	}
}

// store is the repository for reads that need no rule.
func (a *API) store() repository.Store { return a.svc.Store() }

// call is what a handler knows of its request beyond the gin context.
type call struct {
	Principal
	requestID string
}

// actor is how the caller appears in audit events.
func (cl *call) actor() provisioning.Actor {
	return provisioning.Actor{Kind: repository.ActorMember, ID: cl.MemberID, RequestID: cl.requestID}
}

// handler serves one route; it returns its reply or an error, which is
// written by the one error writer.
type handler func(c *gin.Context, cl *call) (*reply, error)

// reply is a successful response.
type reply struct {
	status   int
	body     any // nil: no body
	etag     string
	location string
	// noStore keeps the response out of every cache (minted secrets).
	noStore bool
}

// ok is a 200 with body.
func ok(body any) *reply { return &reply{status: http.StatusOK, body: body} }

// noContent is a 204.
func noContent() *reply { return &reply{status: http.StatusNoContent} }

// handle wraps a route's handler with everything every route shares:
// request id, authentication, permission check, error and reply writing.
func (a *API) handle(rt route) gin.HandlerFunc {
	write := rt.method != http.MethodGet && rt.method != http.MethodHead
	return func(c *gin.Context) {
		cl := &call{requestID: requestID(c)}
		defer func() {
			if v := recover(); v != nil {
				if err, isErr := v.(error); isErr && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				a.log.ErrorContext(c.Request.Context(), "adminapi: panic", "panic", fmt.Sprint(v),
					"stack", string(debug.Stack()), "request_id", cl.requestID)
				if !c.Writer.Written() {
					a.fail(c, errors.New("panic"))
				}
			}
		}()
		// Query parameters are checked before authentication on purpose:
		// they reveal nothing, and a typo is reported as such.
		if err := knownParams(c.Request.URL.Query(), rt.queryNames()...); err != nil {
			a.fail(c, err)
			return
		}
		if !rt.public {
			p, err := a.authenticate(c)
			if err != nil {
				a.fail(c, err)
				return
			}
			cl.Principal = p
			if err := a.authorize(c.Request.Context(), p, rt.perms, write); err != nil {
				a.fail(c, err)
				return
			}
		}
		r, err := rt.h(c, cl)
		if err != nil {
			a.fail(c, err)
			return
		}
		a.reply(c, r)
	}
}

// fail is the one error writer of the admin API: every failure leaves
// through here as a problem. Internal errors and store outages are logged
// with the request id; their causes never reach the caller.
func (a *API) fail(c *gin.Context, err error) {
	p, internal := toProblem(err)
	if internal || p.Status >= http.StatusInternalServerError {
		a.log.ErrorContext(c.Request.Context(), "adminapi: request failed", "error", err,
			"request_id", requestID(c), "method", c.Request.Method, "path", c.Request.URL.Path)
	}
	writeProblem(c, p)
}

// reply writes a successful response.
func (a *API) reply(c *gin.Context, r *reply) {
	h := c.Writer.Header()
	if r.etag != "" {
		h.Set("ETag", r.etag)
	}
	if r.location != "" {
		h.Set("Location", r.location)
	}
	if r.noStore {
		h.Set("Cache-Control", "no-store")
	}
	if r.body == nil {
		c.Status(r.status)
		c.Writer.WriteHeaderNow()
		return
	}
	var body []byte
	if raw, isRaw := r.body.(json.RawMessage); isRaw {
		body = raw
	} else {
		var err error
		if body, err = marshal(r.body, ""); err != nil {
			a.fail(c, fmt.Errorf("encode response: %w", err))
			return
		}
	}
	c.Data(r.status, "application/json; charset=utf-8", body)
}

// marshal encodes v as JSON without HTML escaping (the API serves no
// HTML, and "<" is clearer than "\u003c" in a document people read),
// indented by indent when it is not empty.
func marshal(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// headerRequestID carries the request id.
const headerRequestID = "X-Request-Id"

// requestID returns the request's id: the one cmd/roster's middleware put
// in the response header (so access log, problem and audit events share
// it), else the caller's when it is a sane token, else a new one, which is
// then set on the response.
func requestID(c *gin.Context) string {
	if id := c.Writer.Header().Get(headerRequestID); id != "" {
		return id
	}
	id := strings.TrimSpace(c.GetHeader(headerRequestID))
	if id == "" || len(id) > 128 || strings.IndexFunc(id, func(r rune) bool {
		return r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' '
	}) >= 0 {
		id = repository.NewID()
	}
	c.Writer.Header().Set(headerRequestID, id)
	return id
}
