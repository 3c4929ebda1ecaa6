package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

func init() {
	// gin's debug mode prints every route; the mode is process-wide and
	// this test binary only ever wants it quiet.
	gin.SetMode(gin.ReleaseMode)
}

// testClock is a settable clock shared by provisioning and the API.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a log sink safe for concurrent handlers.
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

// env is the admin API over a real SQLite store, with two accounts.
type env struct {
	t       *testing.T
	store   repository.Store
	svc     *provisioning.Service
	clock   *testClock
	engine  *gin.Engine
	logs    *syncBuffer
	acct    provisioning.CreatedAccount // the account under test
	other   provisioning.CreatedAccount // another tenant
	owner   string                      // the owner's API token
	ownerID string
	ctx     context.Context
}

// envOption changes how newEnv builds the environment.
type envOption func(*envConfig)

type envConfig struct {
	wrap func(repository.Store) repository.Store
}

// withStore wraps the store the service uses (fault injection).
func withStore(wrap func(repository.Store) repository.Store) envOption {
	return func(c *envConfig) { c.wrap = wrap }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	var cfg envConfig
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &testClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	var s repository.Store = store
	if cfg.wrap != nil {
		s = cfg.wrap(store)
	}
	svc := provisioning.New(s, provisioning.WithClock(clock.Now))
	logs := &syncBuffer{}
	api, err := New(svc, Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Now:    clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	api.Mount(engine.Group("/api/v1"))
	e := &env{t: t, store: store, svc: svc, clock: clock, engine: engine, logs: logs, ctx: ctx}
	e.acct = e.newAccount("Acme", 3)
	e.other = e.newAccount("Globex", 3)
	e.owner = e.acct.APIToken
	e.ownerID = e.acct.Owner.ID
	return e
}

// newAccount creates an account with seats agent seats.
func (e *env) newAccount(name string, seats int) provisioning.CreatedAccount {
	e.t.Helper()
	created, err := e.svc.CreateAccount(e.ctx, provisioning.CreateAccountInput{
		Name: name, OwnerEmail: "owner@" + strings.ToLower(name) + ".example",
		OwnerGivenName: "Olive", OwnerFamilyName: name,
		Seats: seats, BaseURL: "https://roster.example.com",
	})
	if err != nil {
		e.t.Fatalf("create account %s: %v", name, err)
	}
	return created
}

// system is the actor of test set-up writes.
var system = provisioning.Actor{Kind: repository.ActorSystem}

// member creates a member of the account under test through provisioning.
func (e *env) member(userName string, roles ...string) repository.Member {
	e.t.Helper()
	return e.memberIn(e.acct.Account.ID, userName, roles...)
}

// memberIn creates a member of any account through provisioning.
func (e *env) memberIn(accountID, userName string, roles ...string) repository.Member {
	e.t.Helper()
	if roles == nil {
		roles = []string{provisioning.RoleReporter} // uses no seat
	}
	m, err := e.svc.CreateMember(e.ctx, system, repository.Member{
		AccountID: accountID, UserName: userName, DisplayName: userName, Active: true, Roles: roles,
		Emails: []repository.Email{{Value: userName, Type: "work", Primary: true}},
	})
	if err != nil {
		e.t.Fatalf("create member %s: %v", userName, err)
	}
	return m
}

// tokenFor mints an API token for a member of the account under test.
func (e *env) tokenFor(memberID string) string {
	e.t.Helper()
	plain, _, err := e.svc.MintToken(e.ctx, e.acct.Account.ID, repository.TokenAPI, "test", memberID)
	if err != nil {
		e.t.Fatal(err)
	}
	return plain
}

// getMember reads a member straight from the store.
func (e *env) getMember(id string) repository.Member {
	e.t.Helper()
	m, err := e.store.GetMember(e.ctx, e.acct.Account.ID, id)
	if err != nil {
		e.t.Fatalf("get member %s: %v", id, err)
	}
	return m
}

// memberCount counts the members of an account.
func (e *env) memberCount(accountID string) int {
	e.t.Helper()
	page, err := e.store.ListMembers(e.ctx, accountID, repository.Query{})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Total
}

// auditCount counts the audit events of the account under test.
func (e *env) auditCount() int {
	e.t.Helper()
	page, err := e.store.ListAudit(e.ctx, e.acct.Account.ID, repository.AuditQuery{Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Total
}

// req is one request to the API.
type req struct {
	method, path string
	token        string // "" sends no Authorization
	body         any    // string and []byte are sent as is; anything else as JSON
	header       map[string]string
}

// do sends r and returns the response.
func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	hr := httptest.NewRequest(r.method, "/api/v1"+r.path, body)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.engine.ServeHTTP(rec, hr)
	return rec
}

// as sends a request with the owner's token.
func (e *env) as(token, method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(req{method: method, path: path, token: token, body: body})
}

// expect fails unless the response has status; it returns the body.
func expect(t *testing.T, rec *httptest.ResponseRecorder, status int) []byte {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body: %.500s", rec.Code, status, rec.Body)
	}
	return rec.Body.Bytes()
}

// decodeAs parses a JSON response into T.
func decodeAs[T any](t *testing.T, rec *httptest.ResponseRecorder, status int) T {
	t.Helper()
	var v T
	body := expect(t, rec, status)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %T from %.300s: %v", v, body, err)
	}
	return v
}

// wantProblem checks a problem response: status, code and attribute (""
// for none), and the parts every problem has.
func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, code, attribute string) Problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != ProblemContentType {
		t.Fatalf("Content-Type %q, want %s", ct, ProblemContentType)
	}
	var p Problem
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %s: %v", rec.Body, err)
	}
	if p.Code != code || p.Attribute != attribute {
		t.Fatalf("problem code %q attribute %q, want %q %q; detail: %s", p.Code, p.Attribute, code, attribute, p.Detail)
	}
	if p.Status != status || p.Type != problemTypePrefix+code || p.Title == "" || p.Detail == "" {
		t.Errorf("problem %+v: want status %d, type %s, a title and a detail", p, status, problemTypePrefix+code)
	}
	if p.RequestID == "" || p.RequestID != rec.Header().Get("X-Request-Id") {
		t.Errorf("problem requestId %q, header %q", p.RequestID, rec.Header().Get("X-Request-Id"))
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer ") {
		t.Errorf("401 without a Bearer challenge: %q", rec.Header().Get("WWW-Authenticate"))
	}
	return p
}
