package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// The driver's HTTP loop runs against the bare gin baseline: a real HTTP
// server on loopback, not a stand-in for Roster.
func startTestBaseline(t *testing.T) *baseline {
	t.Helper()
	b, err := startBaseline()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return b
}

func testConfig(url string) config {
	return config{
		URL: url, Scenario: "lookup", Concurrency: 4, Users: 200, Prefix: "load", Domain: "contoso.example",
		Groups: 3, GroupMembers: 25, Batch: 10, BigGroup: 40, BigGroupAdds: 5,
		ShowErrors: 3, Timeout: time.Minute, RequestTimeout: 10 * time.Second,
	}
}

func testDriver(t *testing.T, cfg config) *driver {
	t.Helper()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	tg := newTarget("test", cfg.URL, "tok", cfg.Concurrency, cfg.RequestTimeout, cfg.ShowErrors)
	t.Cleanup(tg.close)
	return &driver{cfg: cfg, pop: population{prefix: cfg.Prefix, domain: cfg.Domain}, t: tg, log: io.Discard, capture: true, runTag: "t"}
}

func onlyPhase(t *testing.T, d *driver, phases []*phase) PhaseSummary {
	t.Helper()
	s := summarizePhases(d.t, phases)
	if len(s) != 1 {
		t.Fatalf("phases = %d, want 1", len(s))
	}
	return s[0]
}

func TestLookupStopsAtRequestBound(t *testing.T) {
	b := startTestBaseline(t)
	for _, n := range []int{1, 3, 4, 5, 257} {
		cfg := testConfig(b.url)
		cfg.Requests, cfg.Duration = n, time.Minute
		d := testDriver(t, cfg)
		s := onlyPhase(t, d, d.scenario(context.Background()))
		if s.Requests != n || s.Errors != 0 || len(s.Ops) != 1 {
			t.Fatalf("requests %d: got %d requests, %d errors, %d ops", n, s.Requests, s.Errors, len(s.Ops))
		}
		op := s.Ops[0]
		if op.Op != opFindUser || op.Hits != n || op.Misses != 0 {
			t.Errorf("requests %d: op %q hits/misses %d/%d", n, op.Op, op.Hits, op.Misses)
		}
		if want := len(defaultResponses(true)["GET /Users"].Body); op.AvgResponseBytes != int64(want) {
			t.Errorf("response bytes = %d, want %d", op.AvgResponseBytes, want)
		}
		if op.LatencyMs.P50 <= 0 || op.LatencyMs.P50 > op.LatencyMs.P99 || op.LatencyMs.P99 > op.LatencyMs.Max {
			t.Errorf("latency not ordered: %+v", op.LatencyMs)
		}
	}
}

func TestLookupStopsAtDuration(t *testing.T) {
	b := startTestBaseline(t)
	cfg := testConfig(b.url)
	cfg.Duration = 300 * time.Millisecond
	d := testDriver(t, cfg)
	started := time.Now()
	s := onlyPhase(t, d, d.scenario(context.Background()))
	// A bound check, not a speed check: the run must end on its own,
	// shortly after the duration, with no request counted as an error
	// because the deadline cut it.
	if took := time.Since(started); took > 10*time.Second {
		t.Fatalf("lookup of 300ms took %v", took)
	}
	if s.Requests == 0 || s.Errors != 0 || s.Ops[0].Hits != s.Requests {
		t.Errorf("requests %d errors %d hits %d", s.Requests, s.Errors, s.Ops[0].Hits)
	}
}

func TestLookupCountsServerErrors(t *testing.T) {
	b := startTestBaseline(t)
	body := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"bad token"}`)
	m := defaultResponses(true)
	m["GET /Users"] = capturedResponse{Status: 401, ContentType: scimContentType, Body: body}
	b.install(m)
	cfg := testConfig(b.url)
	cfg.Requests, cfg.Duration = 10, time.Minute
	d := testDriver(t, cfg)
	s := onlyPhase(t, d, d.scenario(context.Background()))
	if s.Requests != 10 || s.Errors != 10 || s.Ops[0].ErrorsByStatus["401"] != 10 {
		t.Fatalf("requests %d errors %v", s.Requests, s.Ops[0].ErrorsByStatus)
	}
	kept := d.t.errs.samples()
	if len(kept) != cfg.ShowErrors || kept[0].Status != 401 || kept[0].Body != string(body) {
		t.Errorf("kept errors = %+v", kept)
	}
}

func TestSyncCreatesMissingUsers(t *testing.T) {
	b := startTestBaseline(t)
	b.install(defaultResponses(false))
	cfg := testConfig(b.url)
	cfg.Scenario, cfg.Users = "sync", 53
	d := testDriver(t, cfg)
	s := onlyPhase(t, d, d.scenario(context.Background()))
	if s.Requests != 106 || s.Errors != 0 || s.Counters[counterCreated] != 53 || s.Counters[counterFound] != 0 {
		t.Fatalf("sync: %d requests, %d errors, counters %v", s.Requests, s.Errors, s.Counters)
	}
	if s.Ops[0].Op != opFindUser || s.Ops[0].Misses != 53 || s.Ops[1].Op != opCreateUser || s.Ops[1].Requests != 53 {
		t.Errorf("ops = %+v", s.Ops)
	}
	if s.UsersPerSecond <= 0 {
		t.Errorf("users/s = %v", s.UsersPerSecond)
	}
}

func TestGroupsScenarioRequestCounts(t *testing.T) {
	b := startTestBaseline(t)
	// Users exist (hit); groups do not (the default GET /Groups is a miss).
	cfg := testConfig(b.url)
	cfg.Scenario = "groups"
	d := testDriver(t, cfg)
	phases := summarizePhases(d.t, d.scenario(context.Background()))
	if len(phases) != 3 {
		t.Fatalf("phases = %d, want prepare, groups, big-group", len(phases))
	}
	ops := map[string]OpSummary{}
	for _, p := range phases {
		if p.Errors != 0 {
			t.Errorf("phase %s: %d errors", p.Name, p.Errors)
		}
		for _, o := range p.Ops {
			ops[p.Name+"|"+o.Op] = o
		}
	}
	want := map[string]int{
		phasePrepare + "|" + opFindUser:     200,
		phaseGroups + "|" + opFindGroup:     3,
		phaseGroups + "|" + opCreateGroup:   3,
		phaseGroups + "|" + opAddMembers:    3 * 3, // 25 members in batches of 10
		phaseBigGroup + "|" + opCreateGroup: 2,
		phaseBigGroup + "|" + opFillSmall:   1,
		phaseBigGroup + "|" + opFillBig:     4, // 40 members in batches of 10
		phaseBigGroup + "|" + opAddOneBig:   5,
		phaseBigGroup + "|" + opAddOneSmall: 5,
	}
	for k, n := range want {
		if ops[k].Requests != n {
			t.Errorf("%s: %d requests, want %d", k, ops[k].Requests, n)
		}
	}
	if _, ok := ops[phasePrepare+"|"+opCreateUser]; ok {
		t.Errorf("prepare created users although all were found")
	}
	if got := phases[1].Counters["membersAdded"]; got != 75 {
		t.Errorf("membersAdded = %d, want 75", got)
	}
}

func TestRunComparesWithBaseline(t *testing.T) {
	b := startTestBaseline(t)
	cfg := testConfig(b.url)
	cfg.Scenario, cfg.Users, cfg.Requests, cfg.Duration, cfg.JSON, cfg.Baseline = "all", 60, 40, time.Minute, true, true
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), cfg, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	t.Log(stderr.String())
	var sum Summary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, stdout.String())
	}
	names := func(ps []PhaseSummary) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return strings.Join(out, ",")
	}
	if got, want := names(sum.Roster), "sync,groups,big-group,lookup"; got != want {
		t.Errorf("roster phases = %s, want %s", got, want)
	}
	if names(sum.Bare) != names(sum.Roster) {
		t.Errorf("bare phases = %s, roster phases = %s", names(sum.Bare), names(sum.Roster))
	}
	last := sum.Bare[len(sum.Bare)-1]
	if last.Requests != 40 {
		t.Errorf("bare lookup replayed %d requests, want the 40 the first target answered", last.Requests)
	}
	var lookupCompared bool
	for _, c := range sum.Comparison {
		if c.Phase == phaseLookup && c.Op == opFindUser {
			lookupCompared = c.P50Ratio > 0 && c.ThroughputRatio > 0 && c.ResponseBytes == c.BareBytes
		}
	}
	if !lookupCompared {
		t.Errorf("no usable lookup comparison in %+v", sum.Comparison)
	}
	if !strings.Contains(stderr.String(), "roster vs bare gin") {
		t.Errorf("text report missing from stderr:\n%s", stderr.String())
	}
}

func TestConfigValidate(t *testing.T) {
	ok := testConfig("http://127.0.0.1:8080/scim/v2")
	tests := []struct {
		name    string
		mutate  func(*config)
		wantErr string
	}{
		{"valid", func(*config) {}, ""},
		{"localhost", func(c *config) { c.URL = "http://localhost:1/scim/v2" }, ""},
		{"ipv6 loopback", func(c *config) { c.URL = "http://[::1]:1/scim/v2" }, ""},
		{"remote refused", func(c *config) { c.URL = "https://roster.example.com/scim/v2" }, "loopback"},
		{"remote allowed", func(c *config) { c.URL, c.AllowRemote = "https://roster.example.com/scim/v2", true }, ""},
		{"no url", func(c *config) { c.URL = "" }, "required"},
		{"bad scheme", func(c *config) { c.URL = "ftp://127.0.0.1/" }, "scheme"},
		{"bad scenario", func(c *config) { c.Scenario = "chaos" }, "scenario"},
		{"unbounded lookup", func(c *config) { c.Duration, c.Requests = 0, 0 }, "bound"},
		{"zero batch", func(c *config) { c.Batch = 0 }, "batch"},
		{"zero concurrency", func(c *config) { c.Concurrency = 0 }, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.Duration = time.Second
			tt.mutate(&c)
			err := c.validate()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestBaselineReplaysTheCommonOutcome(t *testing.T) {
	b := startTestBaseline(t)
	ok := reply{status: 200, contentType: scimContentType, body: []byte(`{"totalResults":1}`)}
	refused := reply{status: 401, contentType: scimContentType, body: []byte(`{"status":"401"}`)}
	created := reply{status: 201, contentType: "application/json", body: []byte(`{"id":"x"}`)}
	p := newPhase("p", nil, true)
	p.captures.add("GET /Users hit", ok)
	for range 3 {
		p.captures.add("GET /Users error", refused)
	}
	p.captures.add("POST /Users", created)
	p.captures.add("POST /Groups", reply{err: io.ErrUnexpectedEOF}) // nothing to replay
	b.installFrom(p)

	tg := newTarget("t", b.url, "", 1, 5*time.Second, 0)
	defer tg.close()
	tests := []struct {
		method, path string
		want         capturedResponse
	}{
		{"GET", "/Users?filter=x", capturedResponse{Status: 401, ContentType: scimContentType, Body: refused.body}},
		{"POST", "/Users", capturedResponse{Status: 201, ContentType: "application/json", Body: created.body}},
		{"POST", "/Groups", defaultResponses(true)["POST /Groups"]},
	}
	for _, tt := range tests {
		r := tg.do(context.Background(), tt.method, tt.path, []byte(`{}`))
		if r.err != nil || r.status != tt.want.Status || r.contentType != tt.want.ContentType || !bytes.Equal(r.body, tt.want.Body) {
			t.Errorf("%s %s = %d %q %s (%v), want %d %q %s", tt.method, tt.path, r.status, r.contentType, r.body, r.err,
				tt.want.Status, tt.want.ContentType, tt.want.Body)
		}
	}
}
