package scim_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	plainAPI, _, err := e.svc.MintToken(e.ctx, e.a.id, repository.TokenAPI, "api", e.a.ownerID)
	if err != nil {
		t.Fatal(err)
	}
	revoked, tok, err := e.svc.MintToken(e.ctx, e.a.id, repository.TokenSCIM, "old", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeToken(e.ctx, e.a.id, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		headers []string
	}{
		{"no header", nil},
		{"empty bearer", []string{"Authorization", "Bearer "}},
		{"basic", []string{"Authorization", "Basic YTpi"}},
		{"unknown token", []string{"Authorization", "Bearer rst_scim_notarealtoken"}},
		{"API token", []string{"Authorization", "Bearer " + plainAPI}},
		{"revoked token", []string{"Authorization", "Bearer " + revoked}},
	}
	for _, tc := range tests {
		for _, path := range []string{"/Users", "/Groups", "/ServiceProviderConfig", "/Schemas", "/Bulk", "/nothing"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				r := e.raw("GET", path, nil, tc.headers...).wantError(t, http.StatusUnauthorized, "")
				if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="roster-scim"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
			})
		}
	}
	// The scheme is case-insensitive.
	e.raw("GET", "/Users?count=0", nil, "Authorization", "bearer "+e.a.token).want(t, http.StatusOK)
}

func TestBodyErrors(t *testing.T) {
	e := newEnv(t, func(o *scimOptions) { o.MaxPayloadBytes = 2048 })
	big := map[string]any{"userName": "big@acme.example", "title": strings.Repeat("x", 4096)}
	e.do(e.a, "POST", "/Users", big).wantError(t, http.StatusRequestEntityTooLarge, "")
	e.do(e.a, "POST", "/Users", `{"userName":"x@acme.example"}`, "Content-Type", "text/plain").
		wantError(t, http.StatusUnsupportedMediaType, "")
	// application/json and no Content-Type at all are accepted.
	e.do(e.a, "POST", "/Users", `{"userName":"json@acme.example"}`, "Content-Type", "application/json; charset=utf-8").want(t, http.StatusCreated)
	e.do(e.a, "POST", "/Users", `{"userName":"none@acme.example"}`, "Content-Type", "").want(t, http.StatusCreated)
	e.do(e.a, "POST", "/Users", `{"userName":"x@acme.example"} {"again":1}`).wantError(t, http.StatusBadRequest, "invalidSyntax")
	e.do(e.a, "PATCH", "/Users/whatever", `{"Operations": "no"}`).wantError(t, http.StatusBadRequest, "invalidSyntax")
	// Nothing the server says is HTML or a stack trace.
	for _, r := range []result{
		e.do(e.a, "GET", "/Users/%25zz", nil),
		e.do(e.a, "POST", "/Users", "\x00\x01"),
	} {
		if strings.Contains(string(r.raw), "<html") || strings.Contains(string(r.raw), "goroutine") {
			t.Errorf("response: %s", r.raw)
		}
	}
}

func TestRateLimit(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	e := newEnv(t, func(o *scimOptions) { o.RateLimit = 0.5; o.RateBurst = 3; o.Now = clock })
	for i := range 3 {
		e.do(e.a, "GET", "/Users?count=0", nil).want(t, http.StatusOK)
		_ = i
	}
	r := e.do(e.a, "GET", "/Users?count=0", nil).wantError(t, http.StatusTooManyRequests, "")
	if got := r.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, want 2", got)
	}
	// The limit is per token: the other account is not affected.
	e.do(e.b, "GET", "/Users?count=0", nil).want(t, http.StatusOK)
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	e.do(e.a, "GET", "/Users?count=0", nil).want(t, http.StatusOK)
	e.do(e.a, "GET", "/Users?count=0", nil).wantError(t, http.StatusTooManyRequests, "")
}

// failingStore fails every member listing, to check internal errors.
type failingStore struct{ repository.Store }

func (failingStore) ListMembers(context.Context, string, repository.Query) (repository.Page[repository.Member], error) {
	return repository.Page[repository.Member]{}, errFailing
}

type failure string

func (f failure) Error() string { return string(f) }

const errFailing = failure("disk on fire at /var/lib/secret")

func TestInternalErrorIsOpaque(t *testing.T) {
	e := newEnv(t)
	e.store.Store = failingStore{e.store.Store}
	r := e.do(e.a, "GET", "/Users", nil).wantError(t, http.StatusInternalServerError, "")
	if strings.Contains(string(r.raw), "disk on fire") || strings.Contains(string(r.raw), "/var/lib") {
		t.Errorf("the cause leaks: %s", r.raw)
	}
}

func TestAuditOfSCIMChanges(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.a, "POST", "/Users", user("audited@acme.example"), "X-Request-Id", "okta-req-42").want(t, http.StatusCreated)
	if got := r.header.Get("X-Request-Id"); got != "okta-req-42" {
		t.Errorf("X-Request-Id %q", got)
	}
	id := r.str("id")
	e.do(e.a, "PATCH", "/Users/"+id, patch(op("replace", "active", false)), "X-Request-Id", "okta-req-43").want(t, http.StatusOK)
	gid := e.createGroup(e.a, "Audited", id)
	e.do(e.a, "PATCH", "/Groups/"+gid, patch(op("remove", "members", nil))).want(t, http.StatusNoContent)

	events, err := e.store.ListAudit(e.ctx, e.a.id, repository.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]repository.AuditEvent{}
	for _, ev := range events.Items {
		if ev.ActorKind == repository.ActorSCIMToken {
			seen[ev.Action] = ev
			if ev.ActorID == "" || ev.RequestID == "" || len(ev.Diff) == 0 {
				t.Errorf("event %+v", ev)
			}
		}
	}
	for _, action := range []string{"member.create", "member.deactivate", "group.create", "group.members.replace"} {
		if _, ok := seen[action]; !ok {
			t.Errorf("no %s event; have %v", action, seen)
		}
	}
	if ev := seen["member.deactivate"]; ev.RequestID != "okta-req-43" || ev.TargetID != id || !strings.Contains(string(ev.Diff), `"Active"`) {
		t.Errorf("deactivation event %+v diff %s", ev, ev.Diff)
	}
}
