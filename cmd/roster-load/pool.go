package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// phase is one measured part of a scenario (e.g. "sync") against one target.
type phase struct {
	name     string
	t        *target
	captures *captureSet // nil when responses need not be kept
	done     atomic.Int64
	recs     []*recorder
	mu       sync.Mutex
	start    time.Time
	wall     time.Duration
	// serverCPU is the server's CPU time over the phase's runs, when its
	// target tells it; cpuErr is why it could not.
	serverCPU time.Duration
	cpuErr    error
	counters  map[string]int64
	notes     []string
}

func newPhase(name string, t *target, capture bool) *phase {
	p := &phase{name: name, t: t, counters: make(map[string]int64), start: time.Now()}
	if capture {
		p.captures = newCaptureSet()
	}
	return p
}

// worker is the per-goroutine state of a pool: its own recorder and random
// source, so workers share nothing on the hot path.
type worker struct {
	id  int
	rec *recorder
	rng *rand.Rand
	p   *phase
}

// call performs one request, records it under op, keeps the first error
// bodies and a successful sample response. A request cut short because the
// run's bound (duration, interrupt) was reached is not recorded at all: it
// is neither a success nor a server error.
func (w *worker) call(ctx context.Context, op, method, path string, body []byte, classify func(reply) int) (reply, bool) {
	started := time.Now()
	r := w.p.t.do(ctx, method, path, body)
	elapsed := time.Since(started)
	if r.err != nil && ctx.Err() != nil {
		return r, false
	}
	variant, key := variantNone, method+" "+routeOf(path)
	if classify != nil && r.err == nil && !isError(r.status) {
		variant = classify(r)
		key += variantSuffix(variant)
	}
	w.rec.observe(op, started, elapsed, r.status, len(r.body), variant)
	w.p.done.Add(1)
	if r.err != nil || isError(r.status) {
		s := errorSample{Target: w.p.t.name, Op: op, Method: method, Path: path, Status: r.status, Body: string(r.body)}
		if r.err != nil {
			s.Body = r.err.Error()
		}
		w.p.t.errs.add(s)
		key += " error"
	}
	w.p.captures.add(key, r)
	return r, true
}

// count adds n to a named phase counter (users created, users found, ...).
func (p *phase) count(name string, n int64) {
	p.mu.Lock()
	p.counters[name] += n
	p.mu.Unlock()
}

func (p *phase) note(format string, args ...any) {
	p.mu.Lock()
	p.notes = append(p.notes, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

// run starts workers goroutines that each claim job numbers 0, 1, 2, …
// until limit jobs were claimed (limit < 0: no limit) or ctx ends, calling
// fn for each job. It returns when every worker has stopped; the phase's
// wall time accumulates across runs.
func (p *phase) run(ctx context.Context, workers int, limit int64, fn func(ctx context.Context, w *worker, job int64)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	cpuBefore := p.sampleCPU()
	started := time.Now()
	for i := range workers {
		w := &worker{id: i, rec: newRecorder(), rng: rand.New(rand.NewPCG(uint64(i)+1, uint64(started.UnixNano()))), p: p}
		p.recs = append(p.recs, w.rec)
		wg.Go(func() {
			for ctx.Err() == nil {
				job := next.Add(1) - 1
				if limit >= 0 && job >= limit {
					return
				}
				fn(ctx, w, job)
			}
		})
	}
	wg.Wait()
	p.wall += time.Since(started)
	if cpuAfter := p.sampleCPU(); p.cpuErr == nil {
		p.serverCPU += cpuAfter - cpuBefore
	}
}

// sampleCPU reads the server's CPU time, if the target tells it; a
// failure is kept in cpuErr and voids the phase's figure.
func (p *phase) sampleCPU() time.Duration {
	if p.t.cpu == nil || p.cpuErr != nil {
		return 0
	}
	d, err := p.t.cpu()
	if err != nil {
		p.cpuErr = err
	}
	return d
}

// progress prints the phase's request count every interval until stop is
// closed; long runs should show they are alive.
func (p *phase) progress(out io.Writer, every time.Duration, total int64) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		last, lastAt := int64(0), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				n := p.done.Load()
				rate := float64(n-last) / now.Sub(lastAt).Seconds()
				last, lastAt = n, now
				if total > 0 {
					fmt.Fprintf(out, "  [%s %s] %d/%d requests, %.0f req/s\n", p.t.name, p.name, n, total, rate)
				} else {
					fmt.Fprintf(out, "  [%s %s] %d requests, %.0f req/s\n", p.t.name, p.name, n, rate)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// variantSuffix distinguishes captured list responses by outcome.
func variantSuffix(v int) string {
	switch v {
	case variantHit:
		return " hit"
	case variantMiss:
		return " miss"
	}
	return ""
}

// routeOf maps a request path to the route the baseline serves, e.g.
// "/Groups/abc" → "/Groups", "/Users?filter=…" → "/Users".
func routeOf(path string) string {
	for i := 0; i < len(path); i++ {
		if path[i] == '?' {
			path = path[:i]
			break
		}
	}
	if len(path) > 1 {
		for i := 1; i < len(path); i++ {
			if path[i] == '/' {
				return path[:i]
			}
		}
	}
	return path
}
