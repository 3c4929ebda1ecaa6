package main

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Outcome variants of a SCIM list request, so a replayed baseline can answer
// the way the real server answered most often.
const (
	variantNone = iota
	variantHit
	variantMiss
)

// opStats accumulates one operation kind (for example "POST /Users") within
// one phase. Latencies are kept as raw samples: exact percentiles from the
// sorted samples cost 8 bytes per request, which is fine up to a few million.
type opStats struct {
	latencies []time.Duration
	byStatus  map[int]int // 0 means a transport error
	bytes     int64
	hits      int
	misses    int
	// first and last bound the time this operation was in flight, so its
	// rate is not diluted by other work of the same phase.
	first, last time.Time
}

// recorder is owned by one worker; phases merge the recorders of all their
// workers once the workers have stopped, so the hot path takes no lock.
type recorder struct {
	ops   map[string]*opStats
	order []string
}

func newRecorder() *recorder {
	return &recorder{ops: make(map[string]*opStats)}
}

func (r *recorder) op(name string) *opStats {
	s, ok := r.ops[name]
	if !ok {
		s = &opStats{byStatus: make(map[int]int)}
		r.ops[name] = s
		r.order = append(r.order, name)
	}
	return s
}

// observe records one finished request. status 0 stands for a transport
// error (connection refused, reset, client timeout).
func (r *recorder) observe(name string, started time.Time, d time.Duration, status, bytes, variant int) {
	s := r.op(name)
	if s.first.IsZero() || started.Before(s.first) {
		s.first = started
	}
	if end := started.Add(d); end.After(s.last) {
		s.last = end
	}
	s.latencies = append(s.latencies, d)
	s.byStatus[status]++
	s.bytes += int64(bytes)
	switch variant {
	case variantHit:
		s.hits++
	case variantMiss:
		s.misses++
	}
}

// merge folds other into r, keeping the first-seen order of operations.
func (r *recorder) merge(other *recorder) {
	for _, name := range other.order {
		src := other.ops[name]
		dst := r.op(name)
		dst.latencies = append(dst.latencies, src.latencies...)
		for st, n := range src.byStatus {
			dst.byStatus[st] += n
		}
		dst.bytes += src.bytes
		dst.hits += src.hits
		dst.misses += src.misses
		if !src.first.IsZero() && (dst.first.IsZero() || src.first.Before(dst.first)) {
			dst.first = src.first
		}
		if src.last.After(dst.last) {
			dst.last = src.last
		}
	}
}

// isError reports whether a status counts as a failed request.
func isError(status int) bool {
	return status == 0 || status >= 400
}

// Latency is a latency summary in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// OpSummary is the result of one operation kind within a phase.
type OpSummary struct {
	Op                string         `json:"op"`
	Requests          int            `json:"requests"`
	Errors            int            `json:"errors"`
	ErrorsByStatus    map[string]int `json:"errorsByStatus,omitempty"`
	RequestsPerSecond float64        `json:"requestsPerSecond"`
	LatencyMs         Latency        `json:"latencyMs"`
	AvgResponseBytes  int64          `json:"avgResponseBytes"`
	Hits              int            `json:"hits,omitempty"`
	Misses            int            `json:"misses,omitempty"`
}

// summarize turns the samples of one operation into a summary. The request
// rate is over the span the operation was in flight (first start to last
// end), falling back to wall, the phase's wall-clock time.
func summarize(name string, s *opStats, wall time.Duration) OpSummary {
	if span := s.last.Sub(s.first); span > 0 {
		wall = span
	}
	sorted := slices.Clone(s.latencies)
	slices.Sort(sorted)
	out := OpSummary{
		Op:       name,
		Requests: len(sorted),
		Hits:     s.hits,
		Misses:   s.misses,
	}
	var total time.Duration
	for _, d := range sorted {
		total += d
	}
	if n := len(sorted); n > 0 {
		out.LatencyMs = Latency{
			P50:  ms(percentile(sorted, 50)),
			P90:  ms(percentile(sorted, 90)),
			P99:  ms(percentile(sorted, 99)),
			Max:  ms(sorted[n-1]),
			Mean: ms(total / time.Duration(n)),
		}
		out.AvgResponseBytes = s.bytes / int64(n)
	}
	if wall > 0 {
		out.RequestsPerSecond = float64(out.Requests) / wall.Seconds()
	}
	statuses := make([]int, 0, len(s.byStatus))
	for st := range s.byStatus {
		statuses = append(statuses, st)
	}
	sort.Ints(statuses)
	for _, st := range statuses {
		if !isError(st) {
			continue
		}
		if out.ErrorsByStatus == nil {
			out.ErrorsByStatus = make(map[string]int)
		}
		out.Errors += s.byStatus[st]
		out.ErrorsByStatus[statusLabel(st)] = s.byStatus[st]
	}
	return out
}

func statusLabel(st int) string {
	if st == 0 {
		return "transport"
	}
	return strconv.Itoa(st)
}

// percentile returns the nearest-rank p-th percentile of sorted samples:
// the smallest sample such that at least p percent of all samples are less
// than or equal to it. It returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	// The epsilon keeps float error (99.9/100*1000 = 999.0000000000001)
	// from bumping an exact rank to the next sample.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
