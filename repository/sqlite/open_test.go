package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func TestOpenRejectsGarbage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
	}{
		{"text file", func(t *testing.T, path string) {
			garbage := strings.Repeat("this is not a database, just some text.\n", 200)
			if err := os.WriteFile(path, []byte(garbage), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated header", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("SQLite format 3\x00\xff\xff"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"another program's database", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE notes (body TEXT)"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			tt.write(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded on a %s", path, tt.name)
			}
			if !errors.Is(err, ErrNotDatabase) {
				t.Errorf("Open error %q does not wrap ErrNotDatabase", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("Open error %q does not name the file %s", err, path)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				t.Errorf("Open changed the file it refused")
			}
		})
	}
}

func TestOpenCreatesDirectoryAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir with space?", "roster.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	a, err := s.CreateAccount(ctx, repository.Account{Name: "Acme"})
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("store file: %v", err)
	}

	// Re-opening runs no migration twice and keeps the data.
	for range 2 {
		s, err = Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		got, err := s.GetAccount(ctx, a.ID)
		if err != nil || got.Name != "Acme" {
			t.Fatalf("account after reopen: %+v, %v", got, err)
		}
		var version, latest int
		if err := s.r.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
			t.Fatal(err)
		}
		entries, _ := migrationFiles.ReadDir("migrations")
		latest = len(entries)
		if version != latest {
			t.Errorf("user_version %d, want %d", version, latest)
		}
		var mode string
		if err := s.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode %q (%v), want wal", mode, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("ping: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("opened a store with a newer schema")
	} else if !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q should name the file and say the schema is newer", err)
	}
}

// TestCheckpointerCopiesTheWAL: the background checkpointer, not the
// writer's commits, copies the WAL into the database file, and Close
// stops it.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, repository.Account{Name: "wal"})
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := size()
	// Thousands of pages: beyond SQLite's default automatic checkpoint,
	// far below the writer's backstop. Only a checkpoint writes pages
	// into the database file, so its growth is the checkpointer's work.
	for i := range 300 {
		if _, err := s.CreateMember(ctx, repository.Member{AccountID: a.ID, UserName: fmt.Sprintf("m%d@wal.example", i),
			Emails: []repository.Email{{Value: fmt.Sprintf("m%d@wal.example", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * checkpointInterval)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes: nothing was checkpointed", before)
		}
		time.Sleep(checkpointInterval / 5)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.ck.done:
	default:
		t.Fatal("checkpointer still running after Close")
	}
}
