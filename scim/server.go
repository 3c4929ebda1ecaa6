package scim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim/filter"
)

// Defaults of Options.
const (
	DefaultMaxPayloadBytes = 1 << 20 // 1 MiB
	DefaultMaxOperations   = 1000
	DefaultMaxResults      = 1000
	DefaultCount           = 100
	DefaultRateLimit       = 50 // requests per second per token
	DefaultRateBurst       = 100
)

// ContentType is the media type of every response.
const ContentType = "application/scim+json"

// Options configures a Server.
type Options struct {
	// BaseURL is the absolute URL the SCIM API is reached at, such as
	// https://roster.example.com/scim/v2. meta.location, Location headers
	// and $ref values start with it. Required.
	BaseURL string
	// MaxPayloadBytes caps every request body, Bulk included; it is
	// advertised as bulk.maxPayloadSize. Larger bodies get a 413.
	MaxPayloadBytes int64
	// MaxOperations caps the operations of one Bulk request (advertised
	// as bulk.maxOperations).
	MaxOperations int
	// MaxResults caps count in lists (advertised as filter.maxResults).
	MaxResults int
	// DefaultCount is the page size of a list that gives no count.
	DefaultCount int
	// RateLimit is the sustained requests per second allowed per SCIM
	// token, per Roster instance; RateBurst the burst. 0 means the
	// default; a negative RateLimit disables limiting.
	RateLimit float64
	RateBurst int
	// DocumentationURI is advertised in /ServiceProviderConfig when set.
	DocumentationURI string
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// Now replaces time.Now (rate limiting), for tests.
	Now func() time.Time
}

// Server is the SCIM 2.0 service provider. It is safe for concurrent use.
type Server struct {
	svc     *provisioning.Service
	opts    Options
	base    string
	cat     *catalogue
	users   *patcher
	groups  *patcher
	limiter *limiter
	log     *slog.Logger
}

// New returns a SCIM server over svc.
func New(svc *provisioning.Service, opts Options) (*Server, error) {
	if svc == nil {
		return nil, errors.New("scim: no provisioning service")
	}
	u, err := url.Parse(strings.TrimSpace(opts.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("scim: base URL %q must be an absolute http(s) URL such as https://roster.example.com/scim/v2", opts.BaseURL)
	}
	if opts.MaxPayloadBytes <= 0 {
		opts.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if opts.MaxOperations <= 0 {
		opts.MaxOperations = DefaultMaxOperations
	}
	if opts.MaxResults <= 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if opts.DefaultCount <= 0 {
		opts.DefaultCount = DefaultCount
	}
	opts.DefaultCount = min(opts.DefaultCount, opts.MaxResults)
	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = DefaultRateBurst
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	cat := newCatalogue()
	s := &Server{
		svc:    svc,
		opts:   opts,
		base:   strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/"),
		cat:    cat,
		users:  &patcher{rt: cat.users, paths: filter.Users},
		groups: &patcher{rt: cat.groups, paths: filter.Groups},
		log:    logger,
	}
	if opts.RateLimit > 0 {
		s.limiter = newLimiter(opts.RateLimit, opts.RateBurst, opts.Now)
	}
	return s, nil
}

// Mount serves the API under r, which is the group of the base path
// (cmd/roster mounts it at /scim/v2). One catch-all route takes every
// request, so unknown paths and methods get SCIM error bodies too.
func (s *Server) Mount(r gin.IRouter) {
	r.Any("/*path", func(c *gin.Context) {
		// The gin context rides along so writeError can leave the
		// scimType for middleware (metrics) under ErrorTypeKey.
		req := c.Request.WithContext(context.WithValue(c.Request.Context(), ginContextKey{}, c))
		s.serveHTTP(c.Writer, req, c.Param("path"))
	})
}

// ErrorTypeKey is the gin context key under which a mounted Server leaves
// the scimType of an error response ("" when the error has none).
const ErrorTypeKey = "scim.errorType"

// ginContextKey carries the *gin.Context of a mounted request.
type ginContextKey struct{}

// Handler returns the API as a plain http.Handler serving paths relative
// to the base path ("/Users", "/Groups/{id}", ...).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveHTTP(w, r, r.URL.Path)
	})
}

// store is the repository for reads that need no rule.
func (s *Server) store() repository.Store { return s.svc.Store() }

// tenant is the authenticated caller of one request.
type tenant struct {
	accountID string
	tokenID   string
	requestID string
}

// actor is how the caller appears in audit events.
func (t tenant) actor() provisioning.Actor {
	return provisioning.Actor{Kind: repository.ActorSCIMToken, ID: t.tokenID, RequestID: t.requestID}
}

// request is one SCIM operation, from HTTP or from a Bulk entry.
type request struct {
	method      string
	path        string // relative to the base, e.g. /Users/123
	query       url.Values
	body        []byte
	ifMatch     precondition
	ifNoneMatch precondition
}

// response is what an operation answers.
type response struct {
	status   int
	body     any // nil: no body
	etag     string
	location string
}

// serveHTTP is the whole HTTP front: request id, authentication, rate
// limit, body limits, dispatch, and the one place responses and errors
// are written.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request, path string) {
	requestID := requestIDOf(w, r)
	w.Header().Set("X-Request-Id", requestID)
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(r.Context(), "scim: panic", "panic", p, "request_id", requestID, "path", path)
			s.writeError(w, r, errors.New("panic"), requestID)
		}
	}()

	t, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err, requestID)
		return
	}
	t.requestID = requestID
	if ok, wait := s.limiter.allow(t.tokenID); !ok {
		s.writeError(w, r, &Error{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Detail: fmt.Sprintf("too many requests with this token; retry after %d seconds", wait)}, requestID)
		return
	}

	req := request{
		method:      r.Method,
		path:        path,
		query:       r.URL.Query(),
		ifMatch:     parseETags(r.Header.Get("If-Match")),
		ifNoneMatch: parseETags(r.Header.Get("If-None-Match")),
	}
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodDelete && r.Method != http.MethodHead {
		if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
			s.writeError(w, r, err, requestID)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxPayloadBytes))
		if err != nil {
			s.writeError(w, r, err, requestID)
			return
		}
		req.body = body
	}
	resp, err := s.serve(r.Context(), t, req)
	if err != nil {
		s.writeError(w, r, err, requestID)
		return
	}
	s.writeResponse(w, resp)
}

// requestIDOf returns the request id: the one a middleware in front
// already put in the response (cmd/roster's does, so access log and audit
// events share it), else the caller's X-Request-Id when it is a sane
// token, else a new id.
func requestIDOf(w http.ResponseWriter, r *http.Request) string {
	if id := w.Header().Get("X-Request-Id"); id != "" {
		return id
	}
	id := strings.TrimSpace(r.Header.Get("X-Request-Id"))
	if id != "" && len(id) <= 128 && strings.IndexFunc(id, func(c rune) bool {
		return c > unicode.MaxASCII || !unicode.IsPrint(c) || c == ' '
	}) < 0 {
		return id
	}
	return repository.NewID()
}

// checkContentType accepts JSON bodies: application/scim+json (the SCIM
// type), application/json (what many clients send), any other +json type,
// or no type at all.
func checkContentType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || mt == ContentType || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return errorf(http.StatusUnsupportedMediaType, "", "Content-Type %q is not supported: send application/scim+json or application/json", ct)
}

// authenticate resolves the bearer token to its account.
func (s *Server) authenticate(r *http.Request) (tenant, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return tenant{}, errorf(http.StatusUnauthorized, "", "authentication required: send the account's SCIM token as \"Authorization: Bearer <token>\"")
	}
	tok, err := s.svc.Authenticate(r.Context(), token, repository.TokenSCIM)
	if err != nil {
		if provisioning.AsError(err) != nil {
			return tenant{}, errorf(http.StatusUnauthorized, "", "invalid, expired or revoked SCIM token")
		}
		s.log.ErrorContext(r.Context(), "scim: authenticate", "error", err)
		return tenant{}, errorf(http.StatusServiceUnavailable, "", "the service is unavailable; try again later")
	}
	return tenant{accountID: tok.AccountID, tokenID: tok.ID}, nil
}

// writeResponse writes a successful response.
func (s *Server) writeResponse(w http.ResponseWriter, resp *response) {
	h := w.Header()
	if resp.etag != "" {
		h.Set("ETag", resp.etag)
	}
	if resp.location != "" {
		h.Set("Location", resp.location)
	}
	if resp.body == nil {
		w.WriteHeader(resp.status)
		return
	}
	b, err := marshal(resp.body)
	if err != nil {
		s.log.Error("scim: encode response", "error", err)
		s.writeErrorBody(w, errorf(http.StatusInternalServerError, "", "internal server error"))
		return
	}
	h.Set("Content-Type", ContentType)
	w.WriteHeader(resp.status)
	_, _ = w.Write(b)
}

// writeError is the one error writer of the SCIM API: every failure,
// whatever its source, leaves through here as a SCIM error body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, requestID string) {
	e, internal := toSCIMError(err)
	if c, ok := r.Context().Value(ginContextKey{}).(*gin.Context); ok {
		c.Set(ErrorTypeKey, e.ScimType)
	}
	if internal {
		s.log.ErrorContext(r.Context(), "scim: internal error", "error", err, "request_id", requestID,
			"method", r.Method, "path", r.URL.Path)
	}
	s.writeErrorBody(w, e)
}

// writeErrorBody writes e with its headers.
func (s *Server) writeErrorBody(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Del("ETag")
	h.Del("Location")
	switch e.Status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="roster-scim"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if e.RetryAfter > 0 {
			h.Set("Retry-After", fmt.Sprint(e.RetryAfter))
		}
	}
	b, _ := marshal(e.body())
	h.Set("Content-Type", ContentType)
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// marshal encodes JSON without HTML escaping (an email stays readable);
// see appendJSON.
func marshal(v any) ([]byte, error) {
	return appendJSON(make([]byte, 0, 1024), v)
}

// endpoint is what a path addresses.
type endpoint int

const (
	epUnknown endpoint = iota
	epRootSearch
	epResources // /Users, /Groups
	epResource  // /Users/{id}
	epSearch    // /Users/.search
	epBulk
	epMe
	epServiceProviderConfig
	epResourceTypes
	epResourceType
	epSchemas
	epSchema
)

// route parses a path relative to the base. Endpoint names match in any
// case (/users works too).
func (s *Server) route(path string) (ep endpoint, rt *resourceType, id string) {
	// path is already unescaped (gin and net/http give URL.Path).
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) == 0 || len(parts) > 2 || parts[0] == "" {
		return epUnknown, nil, ""
	}
	head := strings.ToLower(parts[0])
	if len(parts) == 1 {
		switch head {
		case ".search":
			return epRootSearch, nil, ""
		case "bulk":
			return epBulk, nil, ""
		case "me":
			return epMe, nil, ""
		case "serviceproviderconfig", "serviceproviderconfigs":
			return epServiceProviderConfig, nil, ""
		case "resourcetypes":
			return epResourceTypes, nil, ""
		case "schemas":
			return epSchemas, nil, ""
		}
	}
	for _, t := range s.cat.resourceTypes() {
		if head != strings.ToLower(strings.TrimPrefix(t.endpoint, "/")) {
			continue
		}
		switch {
		case len(parts) == 1:
			return epResources, t, ""
		case parts[1] == ".search":
			return epSearch, t, ""
		case parts[1] != "":
			return epResource, t, parts[1]
		}
	}
	if len(parts) == 2 && parts[1] != "" {
		switch head {
		case "me":
			return epMe, nil, ""
		case "resourcetypes":
			return epResourceType, nil, parts[1]
		case "schemas":
			return epSchema, nil, parts[1]
		}
	}
	return epUnknown, nil, ""
}

// serve dispatches one operation. HTTP requests and Bulk operations both
// come through here, so they behave the same.
func (s *Server) serve(ctx context.Context, t tenant, r request) (*response, error) {
	ep, rt, id := s.route(r.path)
	allow := func(methods ...string) error {
		for _, m := range methods {
			if r.method == m {
				return nil
			}
		}
		return errorf(http.StatusMethodNotAllowed, "", "%s is not allowed on %s; allowed: %s", r.method, r.path, strings.Join(methods, ", "))
	}
	switch ep {
	case epResources:
		if err := allow(http.MethodGet, http.MethodPost); err != nil {
			return nil, err
		}
		if r.method == http.MethodPost {
			if rt == s.cat.users {
				return s.createUser(ctx, t, r)
			}
			return s.createGroup(ctx, t, r)
		}
		lp, err := s.listParamsFromQuery(r.query)
		if err != nil {
			return nil, err
		}
		return s.list(ctx, t, rt, lp)
	case epSearch, epRootSearch:
		if err := allow(http.MethodPost); err != nil {
			return nil, err
		}
		lp, err := s.listParamsFromSearch(r.body)
		if err != nil {
			return nil, err
		}
		if ep == epRootSearch {
			lr, err := s.searchAll(ctx, t, lp)
			if err != nil {
				return nil, err
			}
			return &response{status: http.StatusOK, body: lr}, nil
		}
		return s.list(ctx, t, rt, lp)
	case epResource:
		if err := allow(http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete); err != nil {
			return nil, err
		}
		if rt == s.cat.users {
			switch r.method {
			case http.MethodGet:
				return s.getUser(ctx, t, id, r)
			case http.MethodPut:
				return s.replaceUser(ctx, t, id, r)
			case http.MethodPatch:
				return s.patchUser(ctx, t, id, r)
			default:
				return s.deleteUser(ctx, t, id, r)
			}
		}
		switch r.method {
		case http.MethodGet:
			return s.getGroup(ctx, t, id, r)
		case http.MethodPut:
			return s.replaceGroup(ctx, t, id, r)
		case http.MethodPatch:
			return s.patchGroup(ctx, t, id, r)
		default:
			return s.deleteGroup(ctx, t, id, r)
		}
	case epBulk:
		if err := allow(http.MethodPost); err != nil {
			return nil, err
		}
		return s.bulk(ctx, t, r)
	case epMe:
		return nil, errorf(http.StatusNotImplemented, "", "/Me is not supported: a SCIM token acts for an account, not for a user")
	case epServiceProviderConfig, epResourceTypes, epResourceType, epSchemas, epSchema:
		if err := allow(http.MethodGet); err != nil {
			return nil, err
		}
		return s.discovery(ep, id, r)
	}
	return nil, errorf(http.StatusNotFound, "", "no SCIM endpoint at %q", r.path)
}

// list answers a list or search of one resource type.
func (s *Server) list(ctx context.Context, t tenant, rt *resourceType, lp listParams) (*response, error) {
	var lr *listResponse
	var err error
	if rt == s.cat.users {
		lr, err = s.listUsers(ctx, t, lp)
	} else {
		lr, err = s.listGroups(ctx, t, lp)
	}
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusOK, body: lr}, nil
}
