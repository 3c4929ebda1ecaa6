package main

import (
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func seq(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", durations(7), 50, 7 * time.Millisecond},
		{"single p99", durations(7), 99, 7 * time.Millisecond},
		{"1..100 p50", seq(100), 50, 50 * time.Millisecond},
		{"1..100 p90", seq(100), 90, 90 * time.Millisecond},
		{"1..100 p99", seq(100), 99, 99 * time.Millisecond},
		{"1..100 p100", seq(100), 100, 100 * time.Millisecond},
		{"1..100 p0", seq(100), 0, 1 * time.Millisecond},
		{"1..1000 p99", seq(1000), 99, 990 * time.Millisecond},
		{"1..1000 p99.9", seq(1000), 99.9, 999 * time.Millisecond},
		{"two p50 is the lower", durations(1, 2), 50, 1 * time.Millisecond},
		{"two p51 is the upper", durations(1, 2), 51, 2 * time.Millisecond},
		{"ten p90", seq(10), 90, 9 * time.Millisecond},
		{"ten p91 rounds up", seq(10), 91, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	a, b := newRecorder(), newRecorder()
	// Unsorted samples across two workers; 1..100 ms overall.
	for i := 100; i >= 1; i-- {
		rec, status := a, 200
		if i%2 == 0 {
			rec = b
		}
		switch i {
		case 10, 20:
			status = 409
		case 30:
			status = 0
		}
		variant := variantHit
		if i <= 25 {
			variant = variantMiss
		}
		rec.observe("GET /Users", base.Add(time.Duration(i)*time.Millisecond), time.Duration(i)*time.Millisecond, status, 100, variant)
	}
	all := newRecorder()
	all.merge(a)
	all.merge(b)
	s := summarize("GET /Users", all.ops["GET /Users"], time.Hour)

	if s.Requests != 100 || s.Errors != 3 {
		t.Fatalf("requests/errors = %d/%d, want 100/3", s.Requests, s.Errors)
	}
	if s.ErrorsByStatus["409"] != 2 || s.ErrorsByStatus["transport"] != 1 || len(s.ErrorsByStatus) != 2 {
		t.Errorf("errorsByStatus = %v, want 409×2 transport×1", s.ErrorsByStatus)
	}
	want := Latency{P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}
	if s.LatencyMs != want {
		t.Errorf("latency = %+v, want %+v", s.LatencyMs, want)
	}
	if s.Hits != 75 || s.Misses != 25 {
		t.Errorf("hits/misses = %d/%d, want 75/25", s.Hits, s.Misses)
	}
	if s.AvgResponseBytes != 100 {
		t.Errorf("avg bytes = %d, want 100", s.AvgResponseBytes)
	}
	// In flight from base+1ms to base+200ms: the rate uses that span, not
	// the hour-long phase.
	if got, want := s.RequestsPerSecond, 100/0.199; got < want-0.01 || got > want+0.01 {
		t.Errorf("req/s = %v, want %v", got, want)
	}
}

func TestSummarizeEmpty(t *testing.T) {
	s := summarize("x", &opStats{byStatus: map[int]int{}}, time.Second)
	if s.Requests != 0 || s.Errors != 0 || s.LatencyMs != (Latency{}) || s.RequestsPerSecond != 0 {
		t.Errorf("empty summary = %+v", s)
	}
}
