package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
	"github.com/rosterhq/roster/scim"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// baseURL is the configured public base of the server under test.
const baseURL = "https://roster.test/scim/v2"

// env is a running SCIM server over a real SQLite store with two accounts.
type env struct {
	t     testing.TB
	ctx   context.Context
	store *spyStore
	svc   *provisioning.Service
	srv   *httptest.Server
	// a and b are two accounts with their SCIM tokens.
	a, b account
}

type account struct {
	id      string
	token   string
	ownerID string
}

// envOptions tweak the server of a test.
type envOptions func(*scim.Options)

func newEnv(t testing.TB, opts ...envOptions) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/r.db")
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	spy := &spyStore{Store: st}
	svc := provisioning.New(spy)
	o := scim.Options{BaseURL: baseURL, RateLimit: -1, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	for _, f := range opts {
		f(&o)
	}
	s, err := scim.New(svc, o)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	eng := gin.New()
	s.Mount(eng.Group("/scim/v2"))
	ts := httptest.NewServer(eng)
	t.Cleanup(ts.Close)
	e := &env{t: t, ctx: ctx, store: spy, svc: svc, srv: ts}
	e.a = e.newAccount("Acme")
	e.b = e.newAccount("Globex")
	return e
}

func (e *env) newAccount(name string) account {
	e.t.Helper()
	ca, err := e.svc.CreateAccount(e.ctx, provisioning.CreateAccountInput{
		Name: name, OwnerEmail: "owner@" + strings.ToLower(name) + ".example", Seats: 10, BaseURL: "https://roster.test",
	})
	if err != nil {
		e.t.Fatalf("create account: %v", err)
	}
	return account{id: ca.Account.ID, token: ca.SCIMToken, ownerID: ca.Owner.ID}
}

// result is one HTTP exchange.
type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request with acc's token; body may be a string (sent as is)
// or any value (JSON-encoded). Extra headers come in pairs.
func (e *env) do(acc account, method, path string, body any, headers ...string) result {
	e.t.Helper()
	h := []string{"Authorization", "Bearer " + acc.token}
	return e.raw(method, path, body, append(h, headers...)...)
}

// raw sends a request with exactly the given headers.
func (e *env) raw(method, path string, body any, headers ...string) result {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.srv.URL+"/scim/v2"+escapeQuery(path), rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	r := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: response is not a JSON object: %v\n%s", method, path, err, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != scim.ContentType {
			e.t.Errorf("%s %s: Content-Type %q, want %q", method, path, ct, scim.ContentType)
		}
	}
	return r
}

// escapeQuery encodes the query of a path written readably in a test
// (filter=userName eq "x").
func escapeQuery(path string) string {
	p, rawQuery, ok := strings.Cut(path, "?")
	if !ok {
		return path
	}
	var parts []string
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	return p + "?" + strings.Join(parts, "&")
}

// want fails unless the status is as expected.
func (r result) want(t testing.TB, status int) result {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.raw)
	}
	return r
}

// wantError checks a SCIM error response.
func (r result) wantError(t testing.TB, status int, scimType string) result {
	t.Helper()
	r.want(t, status)
	if got := r.str("status"); got != fmt.Sprint(status) {
		t.Errorf("error status field %q, want %q", got, fmt.Sprint(status))
	}
	schemas, _ := r.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Errorf("error schemas %v", r.body["schemas"])
	}
	if got := r.str("scimType"); got != scimType {
		t.Errorf("scimType %q, want %q; detail: %s", got, scimType, r.str("detail"))
	}
	if r.str("detail") == "" {
		t.Errorf("error without detail")
	}
	return r
}

// str returns a string at a dotted path of the body.
func (r result) str(path string) string {
	s, _ := lookup(r.body, path).(string)
	return s
}

// get returns the value at a dotted path of the body ("Resources.0.id").
func (r result) get(path string) any { return lookup(r.body, path) }

// lookup walks a dotted path through decoded JSON. Schema URNs count as
// one segment when quoted in brackets: `["urn:...:User"].department`.
func lookup(v any, path string) any {
	for _, seg := range splitPath(path) {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			var i int
			if _, err := fmt.Sscanf(seg, "%d", &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func splitPath(p string) []string {
	var out []string
	for p != "" {
		if strings.HasPrefix(p, `["`) {
			end := strings.Index(p, `"]`)
			out = append(out, p[2:end])
			p = strings.TrimPrefix(p[end+2:], ".")
			continue
		}
		seg, rest, _ := strings.Cut(p, ".")
		out = append(out, seg)
		p = rest
	}
	return out
}

// createUser posts a user and returns its id.
func (e *env) createUser(acc account, body map[string]any) string {
	e.t.Helper()
	if _, ok := body["schemas"]; !ok {
		body["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
	}
	r := e.do(acc, "POST", "/Users", body).want(e.t, http.StatusCreated)
	return r.str("id")
}

// user is a minimal user body.
func user(userName string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Given", "familyName": "Family"},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":   true,
	}
}

// createGroup posts a group with members and returns its id.
func (e *env) createGroup(acc account, name string, members ...string) string {
	e.t.Helper()
	list := []any{}
	for _, m := range members {
		list = append(list, map[string]any{"value": m})
	}
	r := e.do(acc, "POST", "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name,
		"members":     list,
	}).want(e.t, http.StatusCreated)
	return r.str("id")
}

// member reads a member straight from the store.
func (e *env) member(acc account, id string) repository.Member {
	e.t.Helper()
	m, err := e.store.Store.GetMember(e.ctx, acc.id, id)
	if err != nil {
		e.t.Fatalf("get member %s: %v", id, err)
	}
	return m
}

// patch is a PatchOp body of the given operations.
func patch(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

// op builds one PATCH operation; path "" is left out.
func op(kind, path string, value any) map[string]any {
	o := map[string]any{"op": kind}
	if path != "" {
		o["path"] = path
	}
	if value != nil {
		o["value"] = value
	}
	return o
}

// spyStore records how groups are read, to prove that members are not
// loaded when they are not needed.
type spyStore struct {
	repository.Store
	mu    sync.Mutex
	calls []string
}

func (s *spyStore) record(call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
}

// reset forgets the recorded calls.
func (s *spyStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// recorded returns the calls recorded since the last reset.
func (s *spyStore) recorded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *spyStore) GetGroup(ctx context.Context, accountID, id string, withMembers bool) (repository.Group, error) {
	s.record(fmt.Sprintf("GetGroup(withMembers=%v)", withMembers))
	return s.Store.GetGroup(ctx, accountID, id, withMembers)
}

func (s *spyStore) ListGroups(ctx context.Context, accountID string, q repository.Query, withMembers bool) (repository.Page[repository.Group], error) {
	s.record(fmt.Sprintf("ListGroups(withMembers=%v)", withMembers))
	return s.Store.ListGroups(ctx, accountID, q, withMembers)
}

func (s *spyStore) ListGroupMembers(ctx context.Context, accountID, groupID, afterID string, limit int) ([]repository.GroupMember, error) {
	s.record("ListGroupMembers")
	return s.Store.ListGroupMembers(ctx, accountID, groupID, afterID, limit)
}

func (s *spyStore) ListMembers(ctx context.Context, accountID string, q repository.Query) (repository.Page[repository.Member], error) {
	s.record(fmt.Sprintf("ListMembers(count=%d)", q.Count))
	return s.Store.ListMembers(ctx, accountID, q)
}

// scimOptions is the server configuration a test may tweak.
type scimOptions = scim.Options

// memberT is the member record.
type memberT = repository.Member

// adminActor is an account admin acting outside SCIM.
func adminActor(acc account) provisioning.Actor {
	return provisioning.Actor{Kind: repository.ActorMember, ID: acc.ownerID, RequestID: "test"}
}

// checkPassword verifies a stored hash.
func checkPassword(hash, plain string) bool { return provisioning.CheckPassword(hash, plain) }

// testWriter sends the server's logs to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// with returns a copy of e reporting failures to t.
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}
