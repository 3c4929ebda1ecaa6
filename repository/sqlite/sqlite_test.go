package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/storetest"
)

// newStore opens a store on a new file in a temporary directory.
func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// TestContract runs the shared store contract against SQLite.
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Config{
		New: func(t testing.TB) repository.Store { return newStore(t) },
	})
}
