package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is the real engine over a real SQLite store.
type testServer struct {
	handler http.Handler
	store   repository.Store
	logs    *syncBuffer
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	return newTestServerEnv(t, nil)
}

// newTestServerEnv is newTestServer configured by ROSTER_* variables.
func newTestServerEnv(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg, _, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	h, err := newServer(serverDeps{Config: cfg, Store: store, Service: provisioning.New(store), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{handler: h, store: store, logs: logs}
}

// do sends one request and returns the recorded response.
func (s *testServer) do(method, path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

// decodeJSON parses a response body as a JSON object.
func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	return m
}

func TestHealthz(t *testing.T) {
	s := newTestServer(t)
	rec := s.do(http.MethodGet, "/healthz", nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /healthz = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if body := decodeJSON(t, rec); body["status"] != "ok" {
		t.Errorf("body = %v", body)
	}
	if rec := s.do(http.MethodHead, "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("HEAD /healthz = %d", rec.Code)
	}
}

func TestReadyz(t *testing.T) {
	s := newTestServer(t)
	rec := s.do(http.MethodGet, "/readyz", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /readyz = %d %s", rec.Code, rec.Body)
	}
	if body := decodeJSON(t, rec); body["status"] != "ok" {
		t.Errorf("body = %v", body)
	}

	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	rec = s.do(http.MethodGet, "/readyz", nil)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz with the store closed = %d %s", rec.Code, rec.Body)
	}
	body := decodeJSON(t, rec)
	if body["status"] != "unavailable" || body["reason"] != "store unreachable" {
		t.Errorf("body = %v", body)
	}
	if !strings.Contains(s.logs.String(), "readiness: store ping failed") {
		t.Errorf("the ping failure was not logged: %s", s.logs)
	}
	// Liveness does not depend on the store.
	if rec := s.do(http.MethodGet, "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("GET /healthz with the store closed = %d", rec.Code)
	}
}

func TestErrorsAreJSON(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/sso/nope", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/auth/session", http.StatusUnauthorized, "unauthenticated"}, // the SSO bridge is mounted
		{http.MethodGet, "/healthz/", http.StatusNotFound, "not_found"},               // no HTML redirect
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodDelete, "/readyz", http.StatusMethodNotAllowed, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := s.do(tc.method, tc.path, nil)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			body := decodeJSON(t, rec)
			if body["code"] != tc.code || body["status"] != float64(tc.status) || body["title"] != http.StatusText(tc.status) {
				t.Errorf("body = %v", body)
			}
			if body["requestId"] == "" || body["requestId"] != rec.Header().Get("X-Request-Id") {
				t.Errorf("body requestId %v, header %q", body["requestId"], rec.Header().Get("X-Request-Id"))
			}
			if tc.status == http.StatusMethodNotAllowed && !strings.Contains(rec.Header().Get("Allow"), http.MethodGet) {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name, incoming string
		echoed         bool
	}{
		{"sane id echoed", "lb-7f3a.91:abc_DEF", true},
		{"uuid echoed", "0b8e1b47-2f5a-4b83-9d0a-5b9d3c7f1e22", true},
		{"absent", "", false},
		{"spaces replaced", "id with spaces", false},
		{"log injection replaced", "a\nlevel=ERROR", false},
		{"oversized replaced", strings.Repeat("a", 129), false},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.incoming != "" {
				h.Set("X-Request-Id", tc.incoming)
			}
			rec := s.do(http.MethodGet, "/healthz", h)
			got := rec.Header().Get("X-Request-Id")
			if tc.echoed && got != tc.incoming {
				t.Errorf("X-Request-Id = %q, want %q", got, tc.incoming)
			}
			if !tc.echoed && (got == "" || got == tc.incoming || !saneRequestID(got)) {
				t.Errorf("X-Request-Id = %q, want a new id", got)
			}
			if seen[got] && !tc.echoed {
				t.Errorf("generated id %q twice", got)
			}
			seen[got] = true
			if !strings.Contains(s.logs.String(), `"request_id":"`+got+`"`) {
				t.Errorf("access log has no request_id %q", got)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	s := newTestServer(t)
	s.do(http.MethodGet, "/nope?filter=userName+eq+%22secret%40example.com%22", http.Header{"X-Request-Id": {"req-1"}})
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		if strings.Contains(l, `"request_id":"req-1"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line["msg"] != "request" || line["method"] != "GET" || line["path"] != "/nope" || line["status"] != float64(404) {
		t.Errorf("access log line = %v", line)
	}
	if strings.Contains(s.logs.String(), "secret") {
		t.Error("the query string (SCIM filters carry emails) reached the log")
	}
}

// TestTrustedProxies: X-Forwarded-For names the client only when the
// request comes from a configured load balancer; anyone else's header is
// ignored (per-IP login backoff and logs key on this address).
func TestTrustedProxies(t *testing.T) {
	clientOf := func(s *testServer, id string) any {
		for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
			var line map[string]any
			if json.Unmarshal([]byte(l), &line) == nil && line["request_id"] == id && line["msg"] == "request" {
				return line["client"]
			}
		}
		return nil
	}
	// httptest requests come from 192.0.2.1.
	hdr := func(id string) http.Header {
		return http.Header{"X-Request-Id": {id}, "X-Forwarded-For": {"203.0.113.9"}}
	}
	plain := newTestServer(t)
	plain.do(http.MethodGet, "/healthz", hdr("p1"))
	if got := clientOf(plain, "p1"); got != "192.0.2.1" {
		t.Errorf("without trusted proxies the client is %v, want the connection's 192.0.2.1", got)
	}
	behind := newTestServerEnv(t, map[string]string{"ROSTER_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"})
	behind.do(http.MethodGet, "/healthz", hdr("b1"))
	if got := clientOf(behind, "b1"); got != "203.0.113.9" {
		t.Errorf("behind a trusted proxy the client is %v, want 203.0.113.9", got)
	}
	if _, _, err := config.Load(nil, func(k string) (string, bool) {
		return "192.0.2.300", k == "ROSTER_TRUSTED_PROXIES"
	}); err == nil || !strings.Contains(err.Error(), "trusted_proxies") {
		t.Errorf("a bad trusted_proxies value: %v", err)
	}
}

func TestPanicRecovery(t *testing.T) {
	s := newTestServer(t)
	s.handler.(*gin.Engine).GET("/boom", func(*gin.Context) { panic("database password is hunter2") })
	rec := s.do(http.MethodGet, "/boom", http.Header{"X-Request-Id": {"boom-1"}})
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("GET /boom = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := decodeJSON(t, rec)
	if body["code"] != "internal_error" || body["requestId"] != "boom-1" {
		t.Errorf("body = %v", body)
	}
	if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("the response leaks internals: %s", rec.Body)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "panic serving request") || !strings.Contains(logs, "hunter2") {
		t.Errorf("the panic was not logged: %s", logs)
	}
	// The server keeps serving.
	if rec := s.do(http.MethodGet, "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("GET /healthz after a panic = %d", rec.Code)
	}
}

// TestSCIMMounted proves the SCIM door is wired: the token printed by
// account creation lists the owner, and a wrong token gets a SCIM 401.
func TestSCIMMounted(t *testing.T) {
	s := newTestServer(t)
	created, err := provisioning.New(s.store).CreateAccount(context.Background(), provisioning.CreateAccountInput{
		Name: "Acme", OwnerEmail: "owner@acme.test", Seats: 3, BaseURL: "http://localhost:8080",
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := s.do(http.MethodGet, `/scim/v2/Users?filter=userName%20eq%20%22OWNER@acme.test%22`,
		http.Header{"Authorization": {"Bearer " + created.SCIMToken}})
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /scim/v2/Users = %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type = %q, want application/scim+json", ct)
	}
	if body := decodeJSON(t, rec); body["totalResults"] != float64(1) {
		t.Errorf("totalResults = %v, want 1: %s", body["totalResults"], rec.Body)
	}

	rec = s.do(http.MethodGet, "/scim/v2/Users", http.Header{"Authorization": {"Bearer rst_scim_wrong"}})
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong token: status %d, want 401", rec.Code)
	}
	if body := decodeJSON(t, rec); body["status"] != "401" {
		t.Errorf("wrong token body = %s, want a SCIM error with status 401", rec.Body)
	}
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("wrong token: no WWW-Authenticate header")
	}
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		gogc string
		want int
	}{
		{"", serveGCPercent},
		{"150", 150}, // the operator's GOGC (applied by the runtime) stays
		{"off", -1},
	} {
		switch tc.gogc {
		case "":
			debug.SetGCPercent(100)
		case "off":
			debug.SetGCPercent(-1)
		default:
			debug.SetGCPercent(150)
		}
		tuneGC(func(k string) string {
			if k == "GOGC" {
				return tc.gogc
			}
			return ""
		})
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("GOGC=%q: gc percent %d, want %d", tc.gogc, got, tc.want)
		}
	}
}
