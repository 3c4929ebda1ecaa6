package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/internal/cluster"
	"github.com/rosterhq/roster/metrics"
	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository/sqlite"
)

// TestMetricsEndpoint wires the registry as serve does and checks the
// series a scrape shows after real requests: route templates, SCIM
// operations and scimTypes, store calls, seat totals.
func TestMetricsEndpoint(t *testing.T) {
	raw, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	cfg, _, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := newMetrics(cfg, raw, logger)
	store := metrics.InstrumentStore(raw, reg)
	svc := provisioning.New(store)
	h, err := newServer(serverDeps{Config: cfg, Store: store, Service: svc, Logger: logger, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	created, err := svc.CreateAccount(context.Background(), provisioning.CreateAccountInput{
		Name: "Acme", OwnerEmail: "owner@acme.test", Seats: 3, BaseURL: "http://localhost:8080",
	})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, token, ua string) int {
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("User-Agent", ua)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	okta := "Okta SCIM Client 1.0.0"
	if code := do(http.MethodGet, `/scim/v2/Users?filter=userName%20eq%20%22owner@acme.test%22`, created.SCIMToken, okta); code != 200 {
		t.Fatalf("SCIM list: %d", code)
	}
	if code := do(http.MethodGet, `/scim/v2/Users?filter=userName%20zz%20%22x%22`, created.SCIMToken, okta); code != 400 {
		t.Fatalf("SCIM bad filter: %d, want 400", code)
	}
	if code := do(http.MethodGet, "/scim/v2/Users/0123-not-there", "rst_scim_wrong", ""); code != 401 {
		t.Fatalf("SCIM wrong token: %d, want 401", code)
	}
	do(http.MethodGet, "/healthz", "", "kube-probe/1.30")
	do(http.MethodGet, "/some/random/path/42", "", "")

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`roster_http_requests_total{client="okta",code="200",method="GET",route="/scim/v2/Users"} 1`,
		`roster_http_requests_total{client="other",code="401",method="GET",route="/scim/v2/Users/:id"} 1`,
		`roster_http_requests_total{client="other",code="200",method="GET",route="/healthz"} 1`,
		`roster_http_requests_total{client="other",code="404",method="GET",route="(unmatched)"} 1`,
		`roster_scim_operations_total{operation="list",outcome="ok",resource="User"} 1`,
		`roster_scim_operations_total{operation="list",outcome="error",resource="User"} 1`,
		`roster_scim_errors_total{scim_type="invalidFilter",status="400"} 1`,
		`roster_scim_errors_total{scim_type="none",status="401"} 1`,
		`roster_store_call_duration_seconds_count{operation="GetTokenByHash"}`,
		`roster_store_call_duration_seconds_count{operation="ListMembers"}`,
		"roster_accounts 1",
		"roster_members 1",
		"roster_seats_total 3",
		"roster_state_up 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "0123-not-there") || strings.Contains(body, "/some/random") {
		t.Error("/metrics shows a raw request path")
	}
	if strings.Contains(body, "account_id=") {
		t.Error("per-account series without metrics.per_account")
	}
}

// TestMetricsListenerAndHealthcheck runs the real binary with
// --metrics-listen: /metrics moves to its own port, and `roster
// healthcheck` reports the server ready (exit 0) or not (exit 1).
func TestMetricsListenerAndHealthcheck(t *testing.T) {
	c := cluster.Start(t, cluster.Options{
		Binary:    cluster.Build(t),
		Instances: 1,
		Store:     "sqlite:" + filepath.Join(t.TempDir(), "roster.db"),
		Args:      []string{"--metrics-listen", "127.0.0.1:0"},
	})
	base := c.URL(0)

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("main listener /metrics = %d, want 404 with metrics.listen set", resp.StatusCode)
	}
	m := regexp.MustCompile(`"msg":"metrics listening","addr":"([^"]+)"`).FindStringSubmatch(c.Instances[0].Logs())
	if m == nil {
		t.Fatalf("no metrics listener in the log:\n%s", c.Instances[0].Logs())
	}
	resp, err = http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "roster_build_info") {
		t.Errorf("metrics listener /metrics = %d, body without roster_build_info", resp.StatusCode)
	}

	port := base[strings.LastIndex(base, ":")+1:]
	r := runBinary(t, nil, "healthcheck", "--url", base+"/readyz")
	if r.code != 0 || !strings.Contains(r.stdout, "ready") {
		t.Errorf("healthcheck --url: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, []string{"ROSTER_LISTEN=:" + port}, "healthcheck")
	if r.code != 0 {
		t.Errorf("healthcheck from ROSTER_LISTEN: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := c.Instances[0].Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	r = runBinary(t, nil, "healthcheck", "--url", base+"/readyz", "--timeout", "2s")
	wantOneLineFailure(t, r, 1, "healthcheck: "+base+"/readyz")
}

func TestReadyzURL(t *testing.T) {
	tests := []struct{ listen, want, err string }{
		{":8080", "http://127.0.0.1:8080/readyz", ""},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/readyz", ""},
		{"[::]:8080", "http://127.0.0.1:8080/readyz", ""},
		{"10.0.0.5:8080", "http://10.0.0.5:8080/readyz", ""},
		{"[::1]:8080", "http://[::1]:8080/readyz", ""},
		{"127.0.0.1:0", "", "port 0"},
	}
	for _, tt := range tests {
		got, err := readyzURL(tt.listen)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("readyzURL(%q): err %v, want %q", tt.listen, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("readyzURL(%q) = %q, %v; want %q", tt.listen, got, err, tt.want)
		}
	}
}
