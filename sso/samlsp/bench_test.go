package samlsp

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchBodies makes n signed responses, each answering its own
// AuthnRequest (StartLogin stores the request id), as ACS form bodies.
func benchBodies(b *testing.B, f *fixture, n int) []string {
	b.Helper()
	out := make([]string, n)
	for i := range out {
		s := f.spec(f.start(f.sp, "/app", testBrowser))
		out[i] = url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(build(b, s))}}.Encode()
	}
	return out
}

func benchRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, testACS, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// BenchmarkACS is one valid SP-initiated login end to end through ACS:
// form, XML checks, signature, replay cache (UseOnce) and request id
// (TakeOneTime) on SQLite. Responses are signed outside the timer, in
// batches so none outlives the IdP's 90 s IssueInstant window.
func BenchmarkACS(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	const batch = 500
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		b.StopTimer()
		bodies := benchBodies(b, f, n)
		b.StartTimer()
		for _, body := range bodies {
			if _, err := f.sp.ACS(ctx, benchRequest(body), testBrowser); err != nil {
				b.Fatal(err)
			}
		}
		done += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkACSParallel is BenchmarkACS from GOMAXPROCS goroutines at once,
// the throughput of one instance on this machine.
func BenchmarkACSParallel(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	bodies := benchBodies(b, f, b.N)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[next.Add(1)-1]
			if _, err := f.sp.ACS(ctx, benchRequest(body), testBrowser); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// timedStore measures the time ACS spends in the store.
type timedStore struct {
	Store
	ns atomic.Int64
}

func (s *timedStore) UseOnce(ctx context.Context, key string, exp time.Time) error {
	t0 := time.Now()
	defer func() { s.ns.Add(int64(time.Since(t0))) }()
	return s.Store.UseOnce(ctx, key, exp)
}

func (s *timedStore) TakeOneTime(ctx context.Context, key string, now time.Time) ([]byte, error) {
	t0 := time.Now()
	defer func() { s.ns.Add(int64(time.Since(t0))) }()
	return s.Store.TakeOneTime(ctx, key, now)
}

// BenchmarkACSStoreShare is BenchmarkACS reporting how much of each login
// is spent in the two store calls (store-ns/op).
func BenchmarkACSStoreShare(b *testing.B) {
	f := newFixture(b, nil)
	ts := &timedStore{Store: f.store}
	f.opts.Store = ts
	f.sp = f.newSP()
	ctx := context.Background()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(500, b.N-done)
		b.StopTimer()
		bodies := benchBodies(b, f, n)
		b.StartTimer()
		for _, body := range bodies {
			if _, err := f.sp.ACS(ctx, benchRequest(body), testBrowser); err != nil {
				b.Fatal(err)
			}
		}
		done += n
	}
	b.ReportMetric(float64(ts.ns.Load())/float64(b.N), "store-ns/op")
}
