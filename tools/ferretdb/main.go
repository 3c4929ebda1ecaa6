// Command roster-ferretdb runs an embedded FerretDB (v1.24.0, SQLite
// handler) that speaks the MongoDB wire protocol. It exists only so that the
// contract tests of the main module can be run against a real wire-protocol
// server in CI (see .ci/mongo-wire.sh) without Docker or a MongoDB install.
//
// It lives in its own Go module so that FerretDB's dependencies stay out of
// the main module's go.mod.
//
// Usage:
//
//	roster-ferretdb -listen 127.0.0.1:0 -dir /tmp/state -port-file /tmp/state/port
//
// Once listening it prints "ferretdb listening on HOST:PORT" to stderr and,
// if -port-file is set, atomically writes "HOST:PORT" to that file. It shuts
// down gracefully on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "roster-ferretdb: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on (port 0 picks a free port)")
	dir := flag.String("dir", "", "state directory for the SQLite handler (required)")
	portFile := flag.String("port-file", "", "if set, write the actual HOST:PORT to this file once listening")
	logLevel := flag.String("log-level", "warn", "FerretDB log level: debug, info, warn or error")
	flag.Parse()

	if *dir == "" {
		return errors.New("-dir is required")
	}
	if flag.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("bad -log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		return err
	}

	// The SQLite handler wants a "file:" URI naming a directory, with a
	// trailing slash (e.g. "file:/tmp/state/").
	sqliteURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(absDir) + "/", OmitHost: true}).String()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	// ferretdb.New already opened the TCP listener (clientconn.Listen), so
	// MongoDBURI reports the real port even when -listen used port 0.
	u, err := url.Parse(f.MongoDBURI())
	if err != nil {
		return fmt.Errorf("parse FerretDB URI: %w", err)
	}
	addr := u.Host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("unexpected FerretDB address %q: %w", addr, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	if *portFile != "" {
		if err := writeFileAtomic(*portFile, []byte(addr+"\n")); err != nil {
			stop()
			<-done
			return fmt.Errorf("write port file: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "ferretdb listening on %s\n", addr)

	err = <-done
	fmt.Fprintln(os.Stderr, "ferretdb stopped")
	return err
}

// writeFileAtomic writes data to a temporary file in the same directory and
// renames it over path, so readers never observe a partial file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
