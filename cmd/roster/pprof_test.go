package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
)

func TestPprofListensOnLoopbackOnly(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "example.com:6060", "no-port"} {
		stop, err := startPprof(addr, logger)
		var ue *usageError
		if !errors.As(err, &ue) {
			if stop != nil {
				stop()
			}
			t.Errorf("--pprof %s: error %v, want a usage error", addr, err)
		}
	}

	// A free loopback port: listen, note it, release it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	stop, err := startPprof(addr, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Errorf("GET /debug/pprof/: %d, %d bytes", resp.StatusCode, len(body))
	}
}
