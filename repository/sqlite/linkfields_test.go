package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster/repository/storetest"
)

func TestLinkFields(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.CheckLinkFields(t, s)
}
