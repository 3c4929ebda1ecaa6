package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Summary is the whole result of a run; --json prints it.
type Summary struct {
	Scenario     string         `json:"scenario"`
	Concurrency  int            `json:"concurrency"`
	Users        int            `json:"users"`
	Machine      Machine        `json:"machine"`
	Interrupted  bool           `json:"interrupted,omitempty"`
	Roster       []PhaseSummary `json:"roster"`
	RosterErrors []errorSample  `json:"rosterErrors,omitempty"`
	Bare         []PhaseSummary `json:"bare,omitempty"`
	Comparison   []OpComparison `json:"comparison,omitempty"`
}

// Machine says where the numbers were taken; the driver shares it with the
// server unless they run on different hosts.
type Machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	NumCPU    int    `json:"numCPU"`
	GoVersion string `json:"goVersion"`
}

// PhaseSummary is one phase against one target.
type PhaseSummary struct {
	Name           string  `json:"name"`
	Target         string  `json:"target"`
	WallSeconds    float64 `json:"wallSeconds"`
	Requests       int     `json:"requests"`
	Errors         int     `json:"errors"`
	UsersPerSecond float64 `json:"usersPerSecond,omitempty"`
	// Server CPU (--server-pid): seconds over the phase, and per request
	// and per user in milliseconds.
	ServerCPUSeconds      float64          `json:"serverCpuSeconds,omitempty"`
	ServerCPUPerRequestMs float64          `json:"serverCpuPerRequestMs,omitempty"`
	ServerCPUPerUserMs    float64          `json:"serverCpuPerUserMs,omitempty"`
	Counters              map[string]int64 `json:"counters,omitempty"`
	Ops                   []OpSummary      `json:"ops"`
	Notes                 []string         `json:"notes,omitempty"`
}

// OpComparison puts one operation of one phase side by side on both
// targets. Ratios are Roster divided by bare: for latency, how many times
// slower Roster answers; for throughput, which fraction of the bare rate
// Roster reaches.
type OpComparison struct {
	Phase           string  `json:"phase"`
	Op              string  `json:"op"`
	RosterRPS       float64 `json:"rosterRequestsPerSecond"`
	BareRPS         float64 `json:"bareRequestsPerSecond"`
	ThroughputRatio float64 `json:"throughputRatio"`
	RosterP50       float64 `json:"rosterP50Ms"`
	BareP50         float64 `json:"bareP50Ms"`
	P50Ratio        float64 `json:"p50Ratio"`
	RosterP99       float64 `json:"rosterP99Ms"`
	BareP99         float64 `json:"bareP99Ms"`
	P99Ratio        float64 `json:"p99Ratio"`
	ResponseBytes   int64   `json:"responseBytes"`
	BareBytes       int64   `json:"bareResponseBytes"`
}

func summarizePhases(t *target, phases []*phase) []PhaseSummary {
	out := make([]PhaseSummary, 0, len(phases))
	for _, p := range phases {
		all := newRecorder()
		for _, r := range p.recs {
			all.merge(r)
		}
		ps := PhaseSummary{
			Name:        p.name,
			Target:      t.name,
			WallSeconds: roundTo(p.wall.Seconds(), 3),
			Notes:       p.notes,
		}
		if len(p.counters) > 0 {
			ps.Counters = maps.Clone(p.counters)
		}
		for _, name := range all.order {
			s := summarize(name, all.ops[name], p.wall)
			ps.Requests += s.Requests
			ps.Errors += s.Errors
			ps.Ops = append(ps.Ops, s)
		}
		users := phaseUsers(p)
		if users > 0 && p.wall > 0 {
			ps.UsersPerSecond = roundTo(float64(users)/p.wall.Seconds(), 1)
		}
		switch {
		case p.cpuErr != nil:
			ps.Notes = append(slices.Clip(ps.Notes), fmt.Sprintf("server CPU unknown: %v", p.cpuErr))
		case p.t.cpu != nil && ps.Requests > 0:
			ms := float64(p.serverCPU) / float64(time.Millisecond)
			ps.ServerCPUSeconds = roundTo(p.serverCPU.Seconds(), 2)
			ps.ServerCPUPerRequestMs = roundTo(ms/float64(ps.Requests), 3)
			if users > 0 {
				ps.ServerCPUPerUserMs = roundTo(ms/float64(users), 3)
			}
		}
		out = append(out, ps)
	}
	return out
}

func compare(roster, bare []PhaseSummary) []OpComparison {
	var out []OpComparison
	for _, rp := range roster {
		i := slices.IndexFunc(bare, func(b PhaseSummary) bool { return b.Name == rp.Name })
		if i < 0 {
			continue
		}
		for _, ro := range rp.Ops {
			j := slices.IndexFunc(bare[i].Ops, func(b OpSummary) bool { return b.Op == ro.Op })
			if j < 0 {
				continue
			}
			bo := bare[i].Ops[j]
			out = append(out, OpComparison{
				Phase: rp.Name, Op: ro.Op,
				RosterRPS: roundTo(ro.RequestsPerSecond, 1), BareRPS: roundTo(bo.RequestsPerSecond, 1),
				ThroughputRatio: ratio(ro.RequestsPerSecond, bo.RequestsPerSecond),
				RosterP50:       ro.LatencyMs.P50, BareP50: bo.LatencyMs.P50,
				P50Ratio:  ratio(ro.LatencyMs.P50, bo.LatencyMs.P50),
				RosterP99: ro.LatencyMs.P99, BareP99: bo.LatencyMs.P99,
				P99Ratio:      ratio(ro.LatencyMs.P99, bo.LatencyMs.P99),
				ResponseBytes: ro.AvgResponseBytes, BareBytes: bo.AvgResponseBytes,
			})
		}
	}
	return out
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return roundTo(a/b, 3)
}

func roundTo(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

func writeJSON(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write json summary: %w", err)
	}
	return nil
}

// writeText prints the human report. Write errors to a terminal are not
// actionable, so they are ignored.
func writeText(w io.Writer, s Summary) {
	fmt.Fprintf(w, "\nroster-load: scenario %s, concurrency %d, %d users; %s/%s, %d CPUs (shared by driver and server when both run here), %s\n",
		s.Scenario, s.Concurrency, s.Users, s.Machine.GOOS, s.Machine.GOARCH, s.Machine.NumCPU, s.Machine.GoVersion)
	if s.Interrupted {
		fmt.Fprintln(w, "run interrupted (signal or --timeout): figures cover the part that ran")
	}
	for _, group := range [][]PhaseSummary{s.Roster, s.Bare} {
		for _, p := range group {
			writePhase(w, p)
		}
	}
	if len(s.RosterErrors) > 0 {
		fmt.Fprintf(w, "\nfirst %d roster error responses:\n", len(s.RosterErrors))
		for _, e := range s.RosterErrors {
			fmt.Fprintf(w, "  [%s] %s %s → %s\n      %s\n", e.Op, e.Method, e.Path, statusLabel(e.Status), strings.TrimSpace(e.Body))
		}
	}
	if rateLimited(s.Roster) {
		fmt.Fprintln(w, "\nnote: Roster answered 429 Too Many Requests: its per-token SCIM rate limit shaped this run."+
			" For a load test turn it off (roster serve --scim-rate-limit 0, or ROSTER_SCIM_RATE_LIMIT=0).")
	}
	if len(s.Comparison) > 0 {
		fmt.Fprintln(w, "\nroster vs bare gin (same client, same load; throughput = roster/bare rate, latency = roster/bare):")
		pw, ow := len("phase"), len("op")
		for _, c := range s.Comparison {
			pw, ow = max(pw, utf8.RuneCountInString(c.Phase)), max(ow, utf8.RuneCountInString(c.Op))
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-*s\t%-*s\troster req/s\tbare req/s\tthroughput\troster p50\tbare p50\tp50 ×\troster p99\tbare p99\tp99 ×\tbytes\t\n", pw, "phase", ow, "op")
		for _, c := range s.Comparison {
			fmt.Fprintf(tw, "%-*s\t%-*s\t%.1f\t%.1f\t%.3f\t%.3fms\t%.3fms\t%.1f\t%.3fms\t%.3fms\t%.1f\t%d/%d\t\n",
				pw, c.Phase, ow, c.Op, c.RosterRPS, c.BareRPS, c.ThroughputRatio, c.RosterP50, c.BareP50, c.P50Ratio,
				c.RosterP99, c.BareP99, c.P99Ratio, c.ResponseBytes, c.BareBytes)
		}
		tw.Flush()
	}
}

func rateLimited(phases []PhaseSummary) bool {
	for _, p := range phases {
		for _, o := range p.Ops {
			if o.ErrorsByStatus["429"] > 0 {
				return true
			}
		}
	}
	return false
}

func writePhase(w io.Writer, p PhaseSummary) {
	fmt.Fprintf(w, "\n== %s: %s == wall %.2fs, %d requests, %d errors", p.Target, p.Name, p.WallSeconds, p.Requests, p.Errors)
	if p.UsersPerSecond > 0 {
		fmt.Fprintf(w, ", %.1f users/s", p.UsersPerSecond)
	}
	if p.ServerCPUPerRequestMs > 0 {
		fmt.Fprintf(w, ", server CPU %.2fs = %.3f ms/request", p.ServerCPUSeconds, p.ServerCPUPerRequestMs)
		if p.ServerCPUPerUserMs > 0 {
			fmt.Fprintf(w, " (%.3f ms/user)", p.ServerCPUPerUserMs)
		}
	}
	fmt.Fprintln(w)
	if len(p.Counters) > 0 {
		keys := slices.Sorted(maps.Keys(p.Counters))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, p.Counters[k])
		}
		fmt.Fprintf(w, "   %s\n", strings.Join(parts, " "))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "   note: %s\n", n)
	}
	if len(p.Ops) == 0 {
		return
	}
	// Names are padded here so they read left-aligned in a right-aligned table.
	width := 0
	for _, o := range p.Ops {
		width = max(width, utf8.RuneCountInString(o.Op))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\trequests\terrors\treq/s\tp50\tp90\tp99\tmax\tbytes\thit/miss\t\n", width, "op")
	for _, o := range p.Ops {
		hm := ""
		if o.Hits+o.Misses > 0 {
			hm = fmt.Sprintf("%d/%d", o.Hits, o.Misses)
		}
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%.1f\t%.3fms\t%.3fms\t%.3fms\t%.3fms\t%d\t%s\t\n",
			width, o.Op, o.Requests, o.Errors, o.RequestsPerSecond, o.LatencyMs.P50, o.LatencyMs.P90, o.LatencyMs.P99, o.LatencyMs.Max,
			o.AvgResponseBytes, hm)
	}
	tw.Flush()
	for _, o := range p.Ops {
		if o.Errors > 0 {
			keys := slices.Sorted(maps.Keys(o.ErrorsByStatus))
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s×%d", k, o.ErrorsByStatus[k])
			}
			fmt.Fprintf(w, "   errors %s: %s\n", o.Op, strings.Join(parts, " "))
		}
	}
}
