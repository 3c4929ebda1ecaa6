package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/mongo"
	"github.com/rosterhq/roster/repository/sqlite"
)

// openStoreTimeout bounds connecting to MongoDB at startup, so an
// unreachable server fails the start with a clear line instead of hanging.
// The embedded store has no such bound: opening it may migrate the file's
// schema, which at a million members takes tens of seconds of local work
// that must not be cut off (only a signal stops it, and rolls it back).
const openStoreTimeout = 20 * time.Second

// openStore opens the backend u names. Its errors start with
// "open store LOCATION" (credentials redacted) and fit on one line.
func openStore(ctx context.Context, u config.StoreURL) (repository.Store, error) {
	switch u.Kind {
	case config.StoreSQLite:
		// The default store lives in ./data, which does not exist on a
		// fresh checkout.
		if dir := filepath.Dir(u.Path); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("open store %s: %w", u.Redacted(), err)
			}
		}
		s, err := sqlite.Open(ctx, u.Path)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", u.Redacted(), err)
		}
		return s, nil
	case config.StoreMongoDB:
		ctx, cancel := context.WithTimeout(ctx, openStoreTimeout)
		defer cancel()
		s, err := mongo.Open(ctx, u.URI)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", u.Redacted(), err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("open store: unknown store kind %q", u.Kind)
}

// resolveConfig resolves a command's configuration (defaults, file,
// environment, flags) and parses its store URL.
func resolveConfig(c cli, flags *config.Flags) (config.Config, config.StoreURL, error) {
	cfg, err := flags.Resolve(c.lookupEnv)
	if err != nil {
		return config.Config{}, config.StoreURL{}, err
	}
	storeURL, err := cfg.StoreURL()
	if err != nil {
		return config.Config{}, config.StoreURL{}, fmt.Errorf("config: store: %w", err)
	}
	if storeURL.Kind == config.StoreMongoDB {
		// The pool keys travel as URI options, which the URI may also set
		// itself (and then wins).
		storeURL.URI = cfg.MongoDB.ApplyToURI(storeURL.URI)
	}
	return cfg, storeURL, nil
}
