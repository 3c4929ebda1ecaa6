package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/metrics"
	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/adminapi"
	"github.com/rosterhq/roster/provisioning/invitepage"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim"
	"github.com/rosterhq/roster/sso"
	"github.com/rosterhq/roster/sso/connections"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/seal"
)

// readyTimeout bounds the store ping of /readyz: a load balancer's probe
// must get an answer before its own timeout.
const readyTimeout = 2 * time.Second

// serverDeps is everything the HTTP server is built from.
type serverDeps struct {
	Config  config.Config
	Store   repository.Store
	Service *provisioning.Service
	Logger  *slog.Logger
	// Metrics, when set, counts requests and serves /metrics on this
	// engine (unless metrics.listen gives it a listener of its own).
	Metrics *metrics.Registry
	// SecretKey is the deployment's 32-byte secret key (resolveSecretKey);
	// nil makes an ephemeral one, for tests: sealed SSO secrets and CSRF
	// tokens then do not survive the process.
	SecretKey []byte
	// Context, when set, runs the background sweeper of expired sessions
	// until it ends.
	Context context.Context
}

// newServer builds the one gin engine that serves every front door.
func newServer(d serverDeps) (http.Handler, error) {
	// Release mode keeps gin from printing routes and warnings to stdout;
	// it is a process-wide setting of gin's, set to the same value each time.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// Answer 405 (with Allow) for a known path and wrong method, rather
	// than 404.
	e.HandleMethodNotAllowed = true
	// gin's trailing-slash redirect answers with an HTML body; a wrong path
	// gets the JSON 404 instead.
	e.RedirectTrailingSlash = false
	// Handlers use c.Request.Context(); with fallback a *gin.Context also
	// works as a context.Context that carries the request's values.
	e.ContextWithFallback = true
	// Take the client address from the connection, not from forwarding
	// headers anyone can send — except from the configured load balancers
	// (trusted_proxies, validated by config.Load): behind one, every
	// request would otherwise share its address, and the per-IP login
	// backoff would lock everyone out together.
	if err := e.SetTrustedProxies(d.Config.TrustedProxyList()); err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}

	e.Use(requestID(d.Logger))
	if d.Metrics != nil {
		// Outside recovery, so a panic is counted as the 500 it becomes.
		e.Use(d.Metrics.Middleware())
	}
	e.Use(accessLog(), recovery())
	e.NoRoute(func(c *gin.Context) {
		writeProblem(c, http.StatusNotFound, "not_found",
			fmt.Sprintf("no resource at %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		writeProblem(c, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})

	health := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }
	e.GET("/healthz", health)
	e.HEAD("/healthz", health)
	ready := readiness(d.Store)
	e.GET("/readyz", ready)
	e.HEAD("/readyz", ready)
	if d.Metrics != nil && d.Config.Metrics.Listen == "" {
		e.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	}

	if err := mountFrontDoors(e, d); err != nil {
		return nil, err
	}
	return e, nil
}

// mountFrontDoors attaches the front doors to the engine, each from its
// own package: /scim/v2 (scim), /sso, /auth and /.well-known (sso),
// /api/v1 (provisioning/adminapi) and /invite (provisioning/invitepage).
func mountFrontDoors(e *gin.Engine, d serverDeps) error {
	if d.SecretKey == nil {
		// The bridge and the connections service must seal with one key,
		// so the ephemeral key (tests) is made once, here.
		d.SecretKey = make([]byte, 32)
		if _, err := rand.Read(d.SecretKey); err != nil {
			return fmt.Errorf("sso: ephemeral secret key: %w", err)
		}
	}
	// One client for every call to an identity provider: the URLs are
	// typed in by account admins, so it stays off the internal network
	// unless sso.allow_private_networks.
	idpClient := connector.HTTPClient(d.Config.SSO.PrivateNetworksAllowed())
	bridge, err := newBridge(d, idpClient)
	if err != nil {
		return err
	}
	bridge.Mount(e)
	sealer, err := seal.New(d.SecretKey)
	if err != nil {
		return fmt.Errorf("sso: secret key: %w", err)
	}
	ssoConns, err := connections.New(d.Store, connections.Options{BaseURL: d.Config.BaseURL, Sealer: sealer, HTTPClient: idpClient})
	if err != nil {
		return fmt.Errorf("sso connections: %w", err)
	}
	limit := d.Config.SCIM.RateLimitPerSecond()
	if limit == 0 {
		limit = -1 // scim.Options: negative turns limiting off
	}
	scimServer, err := scim.New(d.Service, scim.Options{
		BaseURL:   d.Config.BaseURL + scimPrefix,
		RateLimit: limit,
		Logger:    d.Logger,
	})
	if err != nil {
		return fmt.Errorf("scim: %w", err)
	}
	// SCIM writes SCIM error bodies under its prefix, 404s included.
	scimServer.Mount(e.Group(scimPrefix))
	if err := adminapi.Mount(e.Group("/api/v1"), d.Service, adminapi.Options{Logger: d.Logger, Sessions: bridge.AdminSessions,
		Connections: ssoConns, AccessTokens: bridge.Issuer()}); err != nil {
		return fmt.Errorf("admin api: %w", err)
	}
	// The pages invitation links open (BASE_URL/invite/TOKEN).
	if err := invitepage.Mount(e, d.Service, invitepage.Options{Logger: d.Logger, SSO: bridge, LoginURL: "/sso/login"}); err != nil {
		return fmt.Errorf("invitation pages: %w", err)
	}
	return nil
}

// scimPrefix is where SCIM 2.0 is served.
const scimPrefix = "/scim/v2"

// newBridge builds the SSO bridge (/sso, /auth, /.well-known/jwks.json)
// and starts its sweeper of expired sessions when d.Context is set.
func newBridge(d serverDeps, idpClient *http.Client) (*sso.Bridge, error) {
	var observe func(kind, outcome, reason string)
	if d.Metrics != nil {
		observe = d.Metrics.ObserveLogin
	}
	bridge, err := sso.New(d.Service, sso.Options{
		BaseURL:     d.Config.BaseURL,
		SecretKey:   d.SecretKey,
		ReturnPaths: connector.ReturnPaths{Prefixes: d.Config.SSO.ReturnPathList()},
		HTTPClient:  idpClient,
		Logger:      d.Logger,
		Observe:     observe,
	})
	if err != nil {
		return nil, fmt.Errorf("sso: %w", err)
	}
	if d.Context != nil {
		go bridge.RunSweeper(d.Context, time.Minute)
	}
	return bridge, nil
}

// resolveSecretKey returns the deployment's secret key: sso.secret_key
// when configured; else, with the embedded store, the key kept next to
// its database (generated at the first start); with MongoDB, where
// several instances must share one key, it must be configured.
func resolveSecretKey(cfg config.Config, store config.StoreURL) ([]byte, error) {
	if cfg.SSO.SecretKey != "" {
		key, err := config.DecodeSecretKey(cfg.SSO.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("config: sso.secret_key: %w", err)
		}
		return key, nil
	}
	if store.Kind != config.StoreSQLite {
		return nil, errors.New("config: sso.secret_key (ROSTER_SSO_SECRET_KEY) is required with MongoDB: " +
			"every instance must share it; make one with `openssl rand -base64 32`")
	}
	key, err := sso.LoadOrCreateSecretKey(filepath.Join(filepath.Dir(store.Path), sso.SecretKeyFile))
	if err != nil {
		return nil, fmt.Errorf("sso secret key: %w", err)
	}
	return key, nil
}

// readiness answers whether this instance can serve: the store must answer
// a ping quickly.
func readiness(store repository.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			// The cause (hosts, paths) goes to the log, not to the
			// unauthenticated caller.
			loggerFrom(c.Request.Context()).Warn("readiness: store ping failed", "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "store unreachable"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	}
}

// Request ids.

// headerRequestID carries the request id in and out.
const headerRequestID = "X-Request-Id"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
)

// requestID gives every request an id: a sane one from the caller (a load
// balancer or an IdP's trace), else a new one. It is echoed in the
// response, stored in the request context and attached to the request's
// logger, so one id links the client's error, the access log and the
// audit events.
func requestID(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(headerRequestID)
		if !saneRequestID(id) {
			id = uuid.Must(uuid.NewV7()).String()
		}
		c.Header(headerRequestID, id)
		ctx := context.WithValue(c.Request.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, loggerKey, logger.With("request_id", id))
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// saneRequestID accepts ids of 1 to 128 letters, digits and ._:- so a
// caller cannot inject log lines or huge values.
func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '.', r == '_', r == ':', r == '-':
		default:
			return false
		}
	}
	return true
}

// requestIDFrom returns the request id of ctx, or "".
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// loggerFrom returns the request's logger (with its request id), or the
// default logger outside a request.
func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// accessLog logs one line per request once it is answered. Health probes
// log at debug level: a load balancer polls them every few seconds.
func accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/readyz":
			level = slog.LevelDebug
		}
		// The query string is left out: SCIM filters carry email addresses.
		loggerFrom(c.Request.Context()).LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("duration", time.Since(start)),
			slog.String("client", c.ClientIP()),
		)
	}
}

// recovery turns a panic in a handler into a logged error and a JSON 500
// that shows no internals.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // net/http's way to drop a connection on purpose
			}
			loggerFrom(c.Request.Context()).Error("panic serving request",
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if c.Writer.Written() {
				c.Abort()
				return
			}
			writeProblem(c, http.StatusInternalServerError, "internal_error",
				"the server failed to answer; quote the request id when reporting it")
		}()
		c.Next()
	}
}

// problem is an RFC 9457 problem details body, the shape of every error the
// server writes outside the SCIM prefix.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"requestId,omitempty"`
}

// writeProblem answers with a problem+json body and stops the chain.
func writeProblem(c *gin.Context, status int, code, detail string) {
	body, err := json.Marshal(problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Code: code, RequestID: requestIDFrom(c.Request.Context()),
	})
	if err != nil { // cannot happen with these field types
		body = []byte(`{"status":500,"code":"internal_error"}`)
	}
	c.Abort()
	c.Data(status, "application/problem+json", body)
}
