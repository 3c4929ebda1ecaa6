package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/repository/sqlite"
)

// runBackup is "roster backup --out FILE": a consistent copy of the
// embedded store, taken while servers keep running.
func runBackup(ctx context.Context, c cli, args []string) (err error) {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	out := fs.String("out", "", "backup `file` to write; must not exist (required)")
	flags := config.Register(fs)
	if err := parseFlags(c, fs, args, "roster backup --out FILE [--store sqlite:PATH] [flags]"); err != nil {
		return err
	}
	if strings.TrimSpace(*out) == "" {
		return &usageError{"backup: --out is required"}
	}
	_, storeURL, err := resolveConfig(c, flags)
	if err != nil {
		return err
	}
	if storeURL.Kind != config.StoreSQLite {
		return errors.New("backup: only the embedded store is backed up by roster; back MongoDB up with mongodump or your provider's snapshots")
	}
	store, err := openStore(ctx, storeURL)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	s, ok := store.(*sqlite.Store)
	if !ok {
		return fmt.Errorf("backup: unexpected store %T", store)
	}
	if err := s.Backup(ctx, *out); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Backed up %s to %s (schema version %d).\n", storeURL.Redacted(), *out, sqlite.SchemaVersion())
	return err
}

// runRestore is "roster restore --in FILE": replace the embedded store
// with a backup, after checking the backup, while no server runs on it.
func runRestore(ctx context.Context, c cli, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	in := fs.String("in", "", "backup `file` made by roster backup (required)")
	flags := config.Register(fs)
	if err := parseFlags(c, fs, args, "roster restore --in FILE [--store sqlite:PATH] [flags]"); err != nil {
		return err
	}
	if strings.TrimSpace(*in) == "" {
		return &usageError{"restore: --in is required"}
	}
	_, storeURL, err := resolveConfig(c, flags)
	if err != nil {
		return err
	}
	if storeURL.Kind != config.StoreSQLite {
		return errors.New("restore: only the embedded store is restored by roster; restore MongoDB with mongorestore")
	}
	res, err := sqlite.Restore(ctx, *in, storeURL.Path)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(c.stdout, "Restored %s from %s (schema version %d).\n", storeURL.Redacted(), *in, res.Version); err != nil {
		return err
	}
	if res.Previous != "" {
		_, err = fmt.Fprintf(c.stdout, "The store it replaced is kept as %s.\n", res.Previous)
	}
	return err
}
