package adminapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/repository"
)

// faultyStore fails chosen reads, to reach the internal-error paths.
type faultyStore struct {
	repository.Store
	listMembers, getTokenByHash error
}

func (s *faultyStore) ListMembers(ctx context.Context, accountID string, q repository.Query) (repository.Page[repository.Member], error) {
	if s.listMembers != nil {
		return repository.Page[repository.Member]{}, s.listMembers
	}
	return s.Store.ListMembers(ctx, accountID, q)
}

func (s *faultyStore) GetTokenByHash(ctx context.Context, hash string) (repository.Token, error) {
	if s.getTokenByHash != nil {
		return repository.Token{}, s.getTokenByHash
	}
	return s.Store.GetTokenByHash(ctx, hash)
}

func TestInternalErrorsShowNoDetails(t *testing.T) {
	faulty := &faultyStore{}
	e := newEnv(t, withStore(func(s repository.Store) repository.Store { faulty.Store = s; return faulty }))
	faulty.listMembers = errors.New("disk /var/lib/roster/r.db on fire")
	rec := e.do(req{method: http.MethodGet, path: "/members", token: e.owner, header: map[string]string{"X-Request-Id": "rid-500"}})
	p := wantProblem(t, rec, http.StatusInternalServerError, "internal_error", "")
	if strings.Contains(rec.Body.String(), "disk") || strings.Contains(rec.Body.String(), "/var/lib") {
		t.Errorf("the cause leaked: %s", rec.Body)
	}
	if p.RequestID != "rid-500" {
		t.Errorf("requestId = %q", p.RequestID)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "on fire") || !strings.Contains(logs, `"request_id":"rid-500"`) {
		t.Errorf("the cause and request id are not logged: %s", logs)
	}
	faulty.listMembers = nil

	// A token not used yet: one the service authenticated a moment ago
	// is trusted from its cache for a second, without a store read.
	fresh := e.tokenFor(e.ownerID)
	faulty.getTokenByHash = errors.New("connection refused")
	rec = e.as(fresh, http.MethodGet, "/seats", nil)
	wantProblem(t, rec, http.StatusServiceUnavailable, "unavailable", "")
	if strings.Contains(rec.Body.String(), "refused") {
		t.Errorf("the cause leaked: %s", rec.Body)
	}
}

// TestRequestIDFromMiddleware: the id cmd/roster's middleware set on the
// response is the one in problems and audit events.
func TestRequestIDFromMiddleware(t *testing.T) {
	e := newEnv(t)
	engine := gin.New()
	engine.Use(func(c *gin.Context) { c.Header("X-Request-Id", "mw-7"); c.Next() })
	api, err := New(e.svc, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(engine.Group("/api/v1"))
	send := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/api/v1"+path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+e.owner)
		r.Header.Set("X-Request-Id", "caller-chosen")
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, r)
		return rec
	}
	m := decodeAs[Member](t, send(http.MethodPost, "/members", `{"userName":"rid@acme.example","roles":["reporter"]}`), http.StatusCreated)
	page, err := e.store.ListAudit(e.ctx, e.acct.Account.ID, repository.AuditQuery{TargetID: m.ID, Limit: 5})
	if err != nil || page.Total != 1 {
		t.Fatalf("audit: %+v, %v", page, err)
	}
	if ev := page.Items[0]; ev.RequestID != "mw-7" || ev.ActorKind != repository.ActorMember || ev.ActorID != e.ownerID || ev.Action != "member.create" {
		t.Errorf("audit event = %+v", ev)
	}
	p := wantProblem(t, send(http.MethodGet, "/members/nope", ""), http.StatusNotFound, "not_found", "")
	if p.RequestID != "mw-7" || p.Instance != "/api/v1/members/nope" {
		t.Errorf("problem = %+v", p)
	}
}
