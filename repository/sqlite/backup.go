package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Backups of the embedded store.
//
// Backup copies the database with VACUUM INTO on a connection of its own:
// the copy is one read transaction's snapshot, so it is consistent (every
// transaction committed before it is in, none after it), and WAL readers
// do not block writers, so servers keep serving while it runs. Restore
// replaces a store file with a verified backup, and refuses while any
// process has the store open.

// ErrInUse means a process (a running server) has the store open.
var ErrInUse = errors.New("the store is open in another process: stop every server using it first")

// SchemaVersion returns the schema version this program writes: a store
// file's PRAGMA user_version once Open has migrated it.
func SchemaVersion() int {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return 0
	}
	latest := 0
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		if v, err := strconv.Atoi(num); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}

// Backup writes a consistent copy of the store to path, which must not
// exist yet. The copy is written beside path and renamed into place once
// complete and verified, so path never holds a partial backup.
func (s *Store) Backup(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("backup: %s already exists", abs)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	tmp, err := tempName(abs)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer removeDB(tmp)

	db, err := sql.Open("sqlite", dsn(s.path, []string{fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())}))
	if err != nil {
		return fmt.Errorf("backup %s: %w", s.path, err)
	}
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", tmp)
	cerr := db.Close()
	if err != nil {
		return fmt.Errorf("backup %s: %w", s.path, err)
	}
	if cerr != nil {
		return fmt.Errorf("backup %s: %w", s.path, cerr)
	}
	if _, err := VerifyFile(ctx, tmp); err != nil {
		return fmt.Errorf("backup: the copy does not verify: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Link(tmp, abs); err != nil { // fails if abs appeared meanwhile
		return fmt.Errorf("backup: %w", err)
	}
	return syncDir(filepath.Dir(abs))
}

// VerifyFile checks that path is a sound Roster store file: SQLite's
// integrity_check passes and its schema version is one this program
// knows. It returns the schema version. Nothing is written to the file.
func VerifyFile(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", dsn(abs, []string{"query_only(1)"}))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, openError(abs, err)
	}
	latest := SchemaVersion()
	switch {
	case version == 0:
		return 0, fmt.Errorf("%s: %w: no Roster schema version", abs, ErrNotDatabase)
	case version > latest:
		return version, fmt.Errorf("%s: schema version %d is newer than this program knows (%d)", abs, version, latest)
	}
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return version, openError(abs, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return version, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return version, openError(abs, err)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], "…")
		}
		return version, fmt.Errorf("%s: %w: integrity check: %s", abs, ErrNotDatabase, strings.Join(problems, "; "))
	}
	var accounts int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'accounts'").Scan(&accounts); err != nil || accounts != 1 {
		return version, fmt.Errorf("%s: %w: no accounts table", abs, ErrNotDatabase)
	}
	return version, nil
}

// Restored is what Restore did.
type Restored struct {
	// Version is the schema version of the restored file.
	Version int
	// Previous is where the store that was replaced was kept (with its
	// write-ahead log, if it had one); empty when there was none.
	Previous string
}

// Restore replaces the store file at path with the backup at from. It
// copies the backup beside path, verifies the copy, takes the store's
// lock (failing with ErrInUse while any process has it open, and keeping
// new ones out meanwhile), moves the old store and its write-ahead log
// aside (path.before-restore-TIME) and renames the copy into place. A
// store of an older schema version is migrated by the next Open.
func Restore(ctx context.Context, from, path string) (Restored, error) {
	var res Restored
	if _, err := VerifyFile(ctx, from); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	tmp, err := tempName(abs)
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	defer removeDB(tmp)
	if err := copyFile(from, tmp); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if res.Version, err = VerifyFile(ctx, tmp); err != nil {
		return res, fmt.Errorf("restore: the copy does not verify: %w", err)
	}
	unlock, err := lockStore(abs)
	if err != nil {
		return res, fmt.Errorf("restore %s: %w", abs, err)
	}
	defer unlock()
	// Keep the store being replaced, with its log (commits not yet
	// checkpointed into the file): the old log must not be replayed onto
	// the restored file anyway.
	if _, err := os.Stat(abs); err == nil {
		prev := abs + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Link(abs, prev); err != nil {
			return res, fmt.Errorf("restore: keep the current store: %w", err)
		}
		if err := os.Rename(abs+"-wal", prev+"-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("restore: keep the current store's log: %w", err)
		}
		res.Previous = prev
	}
	if err := os.Remove(abs + "-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := os.Remove(abs + "-shm"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("restore: %w", err)
	}
	return res, syncDir(filepath.Dir(abs))
}

// tempName returns an unused name beside path.
func tempName(path string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return path + ".tmp-" + hex.EncodeToString(b[:]), nil
}

// removeDB removes a database file and its sidecars, if present.
func removeDB(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		_ = os.Remove(p)
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
