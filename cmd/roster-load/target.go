package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// target is one SCIM endpoint under load: the real server or the bare
// baseline. Each target has its own connection pool so the two never share
// keep-alive connections.
type target struct {
	name   string
	base   string // ends without a slash, e.g. http://127.0.0.1:8080/scim/v2
	token  string
	client *http.Client
	errs   *errorLog
	// cpu, when set, returns the CPU time the server has used so far
	// (--server-pid); phases report its growth.
	cpu func() (time.Duration, error)
}

func newTarget(name, base, token string, concurrency int, timeout time.Duration, keepErrors int) *target {
	transport := &http.Transport{
		// Never route loopback load through an environment proxy.
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		// Idle pool at least as large as the worker count, or connections
		// get closed and re-dialled on every burst and the run measures TCP
		// handshakes and TIME_WAIT instead of the server.
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		IdleConnTimeout:     90 * time.Second,
	}
	return &target{
		name:   name,
		base:   strings.TrimRight(base, "/"),
		token:  token,
		client: &http.Client{Transport: transport, Timeout: timeout},
		errs:   &errorLog{max: keepErrors},
	}
}

func (t *target) close() {
	t.client.CloseIdleConnections()
}

// reply is one HTTP exchange as seen by the driver.
type reply struct {
	status      int // 0 on transport error
	body        []byte
	contentType string
	err         error
}

// do sends one SCIM request and reads the whole response body, so the
// connection goes back to the pool.
func (t *target) do(ctx context.Context, method, path string, body []byte) reply {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return reply{err: fmt.Errorf("build %s %s: %w", method, path, err)}
	}
	req.Header.Set("Accept", scimContentType)
	if body != nil {
		req.Header.Set("Content-Type", scimContentType)
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return reply{err: fmt.Errorf("%s %s: %w", method, path, err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{err: fmt.Errorf("read %s %s: %w", method, path, err)}
	}
	return reply{status: resp.StatusCode, body: b, contentType: resp.Header.Get("Content-Type")}
}

// errorSample is one failed request kept for the report.
type errorSample struct {
	Target string `json:"target"`
	Op     string `json:"op"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// errorLog keeps the first few failures of a target, so SCIM error details
// are visible without flooding the output.
type errorLog struct {
	max   int
	count atomic.Int64
	mu    sync.Mutex
	kept  []errorSample
}

const maxErrorBody = 1024

func (l *errorLog) add(s errorSample) {
	if l.count.Add(1) > int64(l.max) {
		return
	}
	if len(s.Body) > maxErrorBody {
		s.Body = s.Body[:maxErrorBody] + "…"
	}
	l.mu.Lock()
	l.kept = append(l.kept, s)
	l.mu.Unlock()
}

func (l *errorLog) samples() []errorSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]errorSample(nil), l.kept...)
}

// capturedResponse is a real response kept so the baseline can answer with
// a body of the same size and content type.
type capturedResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// captureSet keeps one response per route and outcome (e.g. "GET
// /Users hit", "POST /Users error") seen during a phase, and how often each
// outcome occurred. Error responses are kept too: when Roster refuses a
// request, the baseline must refuse it the same way for the load to match.
type captureSet struct {
	mu     sync.Mutex
	seen   map[string]capturedResponse
	counts map[string]int
	bytes  map[string]int // total body bytes per key
}

func newCaptureSet() *captureSet {
	return &captureSet{seen: make(map[string]capturedResponse), counts: make(map[string]int), bytes: make(map[string]int)}
}

func (c *captureSet) add(key string, r reply) {
	if c == nil || r.err != nil {
		return // a transport error has no response to replay
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[key]++
	c.bytes[key] += len(r.body)
	// Keep the response whose size is closest to the mean so far, so the
	// baseline's bodies match Roster's average size, not just the first.
	mean := c.bytes[key] / c.counts[key]
	if kept, ok := c.seen[key]; ok && abs(len(kept.Body)-mean) <= abs(len(r.body)-mean) {
		return
	}
	c.seen[key] = capturedResponse{Status: r.status, ContentType: r.contentType, Body: bytes.Clone(r.body)}
}

// count is how many successful responses had this key.
func (c *captureSet) count(key string) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key]
}

func (c *captureSet) get(key string) (capturedResponse, bool) {
	if c == nil {
		return capturedResponse{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.seen[key]
	return r, ok
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
