package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// utime 250 and stime 50 ticks: 3 s. The command name holds a space
	// and parentheses, as a process may name itself.
	stat := "4242 (roster (a) b) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 2000000 500 18446744073709551615\n"
	if d, err := parseProcStat([]byte(stat)); err != nil || d != 3*time.Second {
		t.Errorf("parse = %v, %v; want 3s", d, err)
	}
	for _, bad := range []string{"", "4242 roster S 1", "4242 (roster) S 1 2 3", "4242 (roster) S 1 4242 4242 0 -1 4194560 1000 0 0 0 x 50 0"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
}

// TestPhaseReportsServerCPU: with a CPU source, a phase reports the
// server's CPU over its runs, per request, in the summary and the text;
// a source that fails voids the figure with a note, never a wrong one.
func TestPhaseReportsServerCPU(t *testing.T) {
	b := startTestBaseline(t)
	cfg := testConfig(b.url)
	cfg.Requests, cfg.Duration = 200, time.Minute
	d := testDriver(t, cfg)
	var calls int
	d.t.cpu = func() (time.Duration, error) { // 0.5 s more at every read
		calls++
		return time.Duration(calls) * 500 * time.Millisecond, nil
	}
	s := onlyPhase(t, d, d.scenario(context.Background()))
	if s.ServerCPUSeconds != 0.5 || s.ServerCPUPerRequestMs != 2.5 {
		t.Errorf("server CPU %v s, %v ms/request; want 0.5 and 2.5", s.ServerCPUSeconds, s.ServerCPUPerRequestMs)
	}
	var text bytes.Buffer
	writePhase(&text, s)
	if !strings.Contains(text.String(), "server CPU 0.50s = 2.500 ms/request") {
		t.Errorf("text report: %q", text.String())
	}

	d = testDriver(t, cfg)
	d.t.cpu = func() (time.Duration, error) { return 0, errors.New("process gone") }
	s = onlyPhase(t, d, d.scenario(context.Background()))
	if s.ServerCPUSeconds != 0 || s.ServerCPUPerRequestMs != 0 || len(s.Notes) == 0 || !strings.Contains(s.Notes[0], "process gone") {
		t.Errorf("failed source: %v s, %v ms/request, notes %q", s.ServerCPUSeconds, s.ServerCPUPerRequestMs, s.Notes)
	}
}
