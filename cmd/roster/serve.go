package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/metrics"
	"github.com/rosterhq/roster/provisioning"
)

// shutdownTimeout is how long requests in flight get to finish after
// SIGTERM; orchestrators usually wait 30 s before killing.
const shutdownTimeout = 20 * time.Second

// slowOpen is how long opening the store may take before the log says
// why it is taking long.
const slowOpen = 3 * time.Second

// serveGCPercent is the garbage collector's target for "roster serve"
// when GOGC does not set one. A request allocates a few tens of KB that
// die with it and the live heap is small, so collecting at +100 % (Go's
// default) spent 12 % of the server's CPU on GC in the load runs (README,
// "Performance"); at +400 % the heap still stays within tens of MB, and
// GOMEMLIMIT, when set, caps it anyway.
const serveGCPercent = 400

// tuneGC sets the collector's target to serveGCPercent unless the
// operator chose one with GOGC.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

// runServe is "roster serve": open the store, serve HTTP until SIGINT or
// SIGTERM, drain, close the store.
func runServe(ctx context.Context, c cli, args []string) (err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags := config.Register(fs)
	pprofAddr := fs.String("pprof", "", "serve Go profiles (net/http/pprof) on this loopback `address`, e.g. 127.0.0.1:6060 (default: off)")
	if err := parseFlags(c, fs, args, "roster serve [flags]"); err != nil {
		return err
	}
	cfg, storeURL, err := resolveConfig(c, flags)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, c.stderr)
	tuneGC(os.Getenv)

	// Stop on the first signal; stop() below restores the default
	// handling, so a second signal kills a shutdown that hangs.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// Opening the embedded store may first migrate its schema, which
	// takes about a minute at a million members: a slow open says why,
	// so that it does not look like a hang.
	opening := time.Now()
	why := "still connecting to MongoDB"
	if storeURL.Kind == config.StoreSQLite {
		why = "still opening the store: migrating a file written by an older version"
	}
	slow := time.AfterFunc(slowOpen, func() { logger.Info(why, "store", storeURL.Redacted()) })
	store, err := openStore(ctx, storeURL)
	if err != nil {
		slow.Stop()
		return err
	}
	if !slow.Stop() {
		logger.Info("store open", "took", time.Since(opening).Round(time.Millisecond).String())
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()

	// The metrics registry reads the deployment's state from the store
	// itself; everything else gets the instrumented store, whose calls
	// are timed.
	reg := newMetrics(cfg, store, logger)
	store = metrics.InstrumentStore(store, reg)
	if cfg.Metrics.Listen != "" {
		stopMetrics, err := startMetricsListener(cfg.Metrics.Listen, reg, logger)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	// The mail sender delivers the outbox until shutdown; it is stopped
	// (its message in flight recorded) before the store closes.
	transport, err := mail.NewTransport(cfg, logger)
	if err != nil {
		return err
	}
	stopMail := startMailSender(ctx, mail.NewSender(store, transport, logger, mail.SenderOptions{}))
	defer stopMail()

	if *pprofAddr != "" {
		stopPprof, err := startPprof(*pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	secretKey, err := resolveSecretKey(cfg, storeURL)
	if err != nil {
		return err
	}
	handler, err := newServer(serverDeps{
		Config: cfg, Store: store, Logger: logger, SecretKey: secretKey, Context: ctx,
		Service: provisioning.New(store, provisioning.WithBaseURL(cfg.BaseURL),
			provisioning.WithSessionTTL(cfg.SSO.SessionTTLDuration())),
		Metrics: reg,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("roster listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL,
		"store", storeURL.Redacted(), "transactional_store", store.Transactional(),
		"mail_transport", cfg.Mail.Transport)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop()
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	stopMail()
	logger.Info("stopped")
	return nil
}

// startMailSender runs s until ctx ends or the returned stop is called;
// stop waits for s to finish its message in flight and may be called
// more than once.
func startMailSender(ctx context.Context, s *mail.Sender) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// newLogger returns the process logger: text or JSON lines on w.
func newLogger(l config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
