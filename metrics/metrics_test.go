package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rosterhq/roster/repository"
)

func newEngine(r *Registry) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(r.Middleware())
	e.GET("/api/v1/members/:id", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	e.Any("/scim/v2/*path", func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodPost:
			c.Set(SCIMErrorTypeKey, "uniqueness")
			c.String(http.StatusConflict, "dup")
		case http.MethodDelete:
			c.Set(SCIMErrorTypeKey, "made-up")
			c.String(http.StatusBadRequest, "bad")
		default:
			c.String(http.StatusOK, "ok")
		}
	})
	return e
}

func do(t *testing.T, h http.Handler, method, path, ua string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	h.ServeHTTP(httptest.NewRecorder(), req)
}

func TestMiddlewareLabelsByTemplate(t *testing.T) {
	r := New(Options{})
	e := newEngine(r)
	do(t, e, http.MethodGet, "/api/v1/members/abc", "curl/8")
	do(t, e, http.MethodGet, "/api/v1/members/def", "curl/8")
	do(t, e, http.MethodGet, "/no/such/path/a1b2", "")
	do(t, e, http.MethodPost, "/scim/v2/Users", "Okta SCIM Client 1.0.0")
	do(t, e, http.MethodGet, "/scim/v2/Users/0f1e2d", "Microsoft Azure AD SCIM provisioning 1.0")
	do(t, e, http.MethodDelete, "/scim/v2/Groups/77", "")

	tests := []struct {
		route, method, code, client string
		want                        float64
	}{
		{"/api/v1/members/:id", "GET", "200", "other", 2},
		{unmatchedRoute, "GET", "404", "other", 1},
		{"/scim/v2/Users", "POST", "409", "okta", 1},
		{"/scim/v2/Users/:id", "GET", "200", "entra", 1},
		{"/scim/v2/Groups/:id", "DELETE", "400", "other", 1},
	}
	for _, tt := range tests {
		got := testutil.ToFloat64(r.httpRequests.WithLabelValues(tt.route, tt.method, tt.code, tt.client))
		if got != tt.want {
			t.Errorf("requests{%s %s %s %s} = %v, want %v", tt.route, tt.method, tt.code, tt.client, got, tt.want)
		}
	}
	// Raw paths never become labels.
	if n := testutil.CollectAndCount(r.httpRequests); n != len(tests) {
		t.Errorf("%d request series, want %d", n, len(tests))
	}
	if got := testutil.ToFloat64(r.scimOps.WithLabelValues("create", "User", "error")); got != 1 {
		t.Errorf("scim create User error = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.scimOps.WithLabelValues("get", "User", "ok")); got != 1 {
		t.Errorf("scim get User ok = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.scimErrors.WithLabelValues("uniqueness", "409")); got != 1 {
		t.Errorf("scim errors uniqueness 409 = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.scimErrors.WithLabelValues("other", "400")); got != 1 {
		t.Errorf("unknown scimType not bounded to other: %v", got)
	}
	if n := testutil.CollectAndCount(r.httpDuration); n != 5 {
		t.Errorf("%d duration series, want 5", n)
	}
}

func TestClassifySCIM(t *testing.T) {
	tests := []struct {
		method, path string
		want         scimOp
	}{
		{"GET", "/Users", scimOp{"list", "User", "/Users"}},
		{"POST", "/Users", scimOp{"create", "User", "/Users"}},
		{"GET", "/Users/1", scimOp{"get", "User", "/Users/:id"}},
		{"PUT", "/Users/1", scimOp{"replace", "User", "/Users/:id"}},
		{"PATCH", "/Groups/1", scimOp{"patch", "Group", "/Groups/:id"}},
		{"DELETE", "/groups/1", scimOp{"delete", "Group", "/Groups/:id"}},
		{"POST", "/Users/.search", scimOp{"search", "User", "/Users/.search"}},
		{"POST", "/.search", scimOp{"search", "any", "/.search"}},
		{"POST", "/Bulk", scimOp{"bulk", "Bulk", "/Bulk"}},
		{"GET", "/ServiceProviderConfig", scimOp{"discovery", "ServiceProviderConfig", "/ServiceProviderConfig"}},
		{"GET", "/Schemas/urn:x", scimOp{"discovery", "Schema", "/Schemas/:id"}},
		{"GET", "/ResourceTypes", scimOp{"discovery", "ResourceType", "/ResourceTypes"}},
		{"GET", "/Users/1/extra", scimOp{"other", "other", "/*path"}},
		{"GET", "/Whatever", scimOp{"other", "other", "/*path"}},
	}
	for _, tt := range tests {
		if got := classifySCIM(tt.method, tt.path); got != tt.want {
			t.Errorf("classifySCIM(%s %s) = %+v, want %+v", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestClientOf(t *testing.T) {
	tests := map[string]string{
		"Okta SCIM Client 1.0.0":                   "okta",
		"Microsoft Azure AD SCIM provisioning 1.0": "entra",
		"Microsoft.AAD.Provisioning/1.0":           "entra",
		"curl/8.5.0":                               "other",
		"":                                         "other",
	}
	for ua, want := range tests {
		if got := clientOf(ua); got != want {
			t.Errorf("clientOf(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestObserveLoginBoundsLabels(t *testing.T) {
	r := New(Options{})
	r.ObserveLogin("saml", "success", "")
	r.ObserveLogin("oidc", "failure", "nonce")
	r.ObserveLogin("oidc", "failure", "something a user typed <script>")
	r.ObserveLogin("kerberos", "weird", "replayed")
	for _, tt := range []struct{ kind, outcome, reason string }{
		{"saml", "success", "none"},
		{"oidc", "failure", "nonce"},
		{"oidc", "failure", "other"},
		{"other", "other", "replayed"},
	} {
		if got := testutil.ToFloat64(r.ssoLogins.WithLabelValues(tt.kind, tt.outcome, tt.reason)); got != 1 {
			t.Errorf("logins{%s,%s,%s} = %v, want 1", tt.kind, tt.outcome, tt.reason, got)
		}
	}
}

// fakeStore answers the state reads and a few calls; the rest panic
// through the nil embedded interface, which no test reaches.
type fakeStore struct {
	repository.Store
	usageCalls atomic.Int32
	fail       atomic.Bool
}

func (f *fakeStore) UsageTotals(ctx context.Context, byAccount bool) (repository.Usage, error) {
	f.usageCalls.Add(1)
	if f.fail.Load() {
		return repository.Usage{}, errors.New("store down")
	}
	u := repository.Usage{Accounts: 2, Members: 30, SeatsTotal: 20, SeatsInUse: 12, SeatsQueued: 3}
	if byAccount {
		u.ByAccount = []repository.AccountUsage{
			{AccountID: "a1", Members: 10, SeatsTotal: 10, SeatsInUse: 10, SeatsQueued: 3},
			{AccountID: "a2", Members: 20, SeatsTotal: 10, SeatsInUse: 2},
		}
	}
	return u, nil
}

func (f *fakeStore) OutboxStats(ctx context.Context) (int, time.Time, error) {
	return 4, time.Now().Add(-90 * time.Second), nil
}

func (f *fakeStore) GetMember(ctx context.Context, accountID, id string) (repository.Member, error) {
	if id == "missing" {
		return repository.Member{}, fmt.Errorf("get member: %w", repository.ErrNotFound)
	}
	return repository.Member{ID: id, AccountID: accountID}, nil
}

func (f *fakeStore) Transactional() bool { return true }

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestStateSeries(t *testing.T) {
	for _, perAccount := range []bool{false, true} {
		t.Run(fmt.Sprint("perAccount=", perAccount), func(t *testing.T) {
			fs := &fakeStore{}
			r := New(Options{Store: fs, PerAccount: perAccount, StateTTL: time.Hour, Version: "v1.2.3"})
			body := scrape(t, r)
			for _, want := range []string{
				"roster_state_up 1", "roster_accounts 2", "roster_members 30", "roster_seats_total 20",
				"roster_seats_in_use 12", "roster_seats_queued 3", "roster_outbox_pending 4",
				`roster_build_info{version="v1.2.3"} 1`, "go_goroutines",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("scrape lacks %q", want)
				}
			}
			if !strings.Contains(body, "roster_outbox_oldest_age_seconds 89.9") && !strings.Contains(body, "roster_outbox_oldest_age_seconds 90") {
				t.Errorf("oldest age not about 90 s:\n%s", grep(body, "oldest"))
			}
			hasAccount := strings.Contains(body, `roster_account_seats_in_use{account_id="a1"} 10`)
			if hasAccount != perAccount {
				t.Errorf("per-account series present = %v, want %v", hasAccount, perAccount)
			}
			scrape(t, r)
			if n := fs.usageCalls.Load(); n != 1 {
				t.Errorf("store read %d times for two scrapes within the TTL, want 1", n)
			}
		})
	}
}

func TestStateReadFailure(t *testing.T) {
	fs := &fakeStore{}
	fs.fail.Store(true)
	r := New(Options{Store: fs, Logger: discardLogger()})
	body := scrape(t, r)
	if !strings.Contains(body, "roster_state_up 0") || strings.Contains(body, "roster_seats_in_use") {
		t.Errorf("failed read: want state_up 0 and no state series:\n%s", grep(body, "roster_"))
	}
}

func TestInstrumentStore(t *testing.T) {
	r := New(Options{})
	fs := &fakeStore{}
	s := InstrumentStore(fs, r)
	if _, err := s.GetMember(t.Context(), "a", "m1"); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetMember(t.Context(), "a", "missing")
	if !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("error not passed through: %v", err)
	}
	if !s.Transactional() {
		t.Errorf("Transactional not delegated")
	}
	if got := testutil.ToFloat64(r.storeErrors.WithLabelValues("GetMember", "not_found")); got != 1 {
		t.Errorf("store errors GetMember not_found = %v, want 1", got)
	}
	body := scrape(t, r)
	if !strings.Contains(body, `roster_store_call_duration_seconds_count{operation="GetMember"} 2`) {
		t.Errorf("GetMember not timed twice:\n%s", grep(body, "GetMember"))
	}
}

// TestEveryStoreMethodIsTimed checks the generated decorator against the
// compiled interface: every method returning an error is timed.
func TestEveryStoreMethodIsTimed(t *testing.T) {
	st := reflect.TypeFor[repository.Store]()
	errType := reflect.TypeFor[error]()
	for i := range st.NumMethod() {
		m := st.Method(i)
		n := m.Type.NumOut()
		if n > 0 && m.Type.Out(n-1) == errType && !slices.Contains(instrumentedMethods, m.Name) {
			t.Errorf("Store.%s is not timed: run `go generate ./metrics`", m.Name)
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
