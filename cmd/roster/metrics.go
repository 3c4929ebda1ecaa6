package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/metrics"
	"github.com/rosterhq/roster/repository"
)

// newMetrics builds the process's metrics registry. store is the store
// itself (not the instrumented one): state reads on scrape are not store
// traffic worth timing.
func newMetrics(cfg config.Config, store repository.Store, logger *slog.Logger) *metrics.Registry {
	return metrics.New(metrics.Options{
		Store:      store,
		PerAccount: cfg.Metrics.PerAccountEnabled(),
		Version:    buildVersion(),
		SCIMPrefix: scimPrefix,
		Logger:     logger,
	})
}

// startMetricsListener serves /metrics (and nothing else) on addr, for a
// port only the monitoring network reaches. stop shuts it down.
func startMetricsListener(addr string, reg *metrics.Registry, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "err", err)
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}
