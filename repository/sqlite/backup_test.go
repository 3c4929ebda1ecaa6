package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

// TestBackupDuringWritesIsConsistent takes backups while writers add
// members (each with its side rows, its counter and a group edge, in one
// transaction), then checks each backup verifies, restores, and holds
// whole transactions only: the account's member counter equals its rows,
// every member has its email, every edge its member.
func TestBackupDuringWritesIsConsistent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, err := s.CreateAccount(ctx, repository.Account{ID: repository.NewID(), Name: "Acme", Status: repository.AccountActive})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, repository.Group{AccountID: acct.ID, ID: repository.NewID(), DisplayName: "All"})
	if err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var written atomic.Int64
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				err := s.InTx(ctx, func(ctx context.Context) error {
					m, err := s.CreateMember(ctx, repository.Member{
						AccountID: acct.ID, UserName: fmt.Sprintf("w%d-%d@acme.example", w, i), Active: true,
						Emails: []repository.Email{{Value: fmt.Sprintf("w%d-%d@acme.example", w, i), Primary: true}},
					})
					if err != nil {
						return err
					}
					_, err = s.AddGroupMembers(ctx, acct.ID, g.ID, []string{m.ID})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				written.Add(1)
			}
		}()
	}
	var backups []string
	for i := range 3 {
		for written.Load() < int64(20*(i+1)) {
			if len(errs) > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		p := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		if err := s.Backup(ctx, p); err != nil {
			t.Fatalf("backup during writes: %v", err)
		}
		backups = append(backups, p)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	if err := s.Backup(ctx, backups[0]); err == nil {
		t.Errorf("a backup over an existing file succeeded")
	}

	for i, b := range backups {
		v, err := VerifyFile(ctx, b)
		if err != nil || v != SchemaVersion() {
			t.Fatalf("backup %d: version %d, %v", i, v, err)
		}
		restored := filepath.Join(dir, fmt.Sprintf("restored-%d", i), "roster.db")
		if res, err := Restore(ctx, b, restored); err != nil || res.Previous != "" {
			t.Fatalf("restore backup %d into a new path: %+v, %v", i, res, err)
		}
		r, err := Open(ctx, restored)
		if err != nil {
			t.Fatal(err)
		}
		page, err := r.ListMembers(ctx, acct.ID, repository.Query{Count: 100000})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != len(page.Items) || len(page.Items) < 20*(i+1) {
			t.Errorf("backup %d: member counter %d, rows %d (want equal, at least %d)", i, page.Total, len(page.Items), 20*(i+1))
		}
		edges, err := r.ListGroupMembers(ctx, acct.ID, g.ID, "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		if len(edges) != len(page.Items) {
			t.Errorf("backup %d: %d edges for %d members: a transaction was cut", i, len(edges), len(page.Items))
		}
		for _, m := range page.Items {
			if len(m.Emails) != 1 {
				t.Errorf("backup %d: member %s has emails %v", i, m.ID, m.Emails)
				break
			}
		}
		r.Close()
	}
}

// TestRestoreRefusesBadFiles: a file that is not a database, a corrupt
// one and a newer schema are refused, and the store is left untouched.
func TestRestoreRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	s, err := Open(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(ctx, repository.Account{ID: repository.NewID(), Name: "Keep"}); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.db")
	if err := s.Backup(ctx, good); err != nil {
		t.Fatal(err)
	}
	s.Close()

	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database at all, just some text that is long enough to look like a header"), 0o600)
	corrupt := filepath.Join(dir, "corrupt.db")
	b, _ := os.ReadFile(good)
	for i := 4096; i < len(b); i += 97 { // leave the header page, wreck the rest
		b[i] ^= 0x5a
	}
	os.WriteFile(corrupt, b, 0o600)

	for name, f := range map[string]string{"text": text, "corrupt": corrupt, "missing": filepath.Join(dir, "nope.db")} {
		if _, err := Restore(ctx, f, live); err == nil {
			t.Errorf("%s: restore succeeded", name)
		} else if name != "missing" && !errors.Is(err, ErrNotDatabase) {
			t.Errorf("%s: %v, want ErrNotDatabase", name, err)
		}
	}
	r, err := Open(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Count(ctx, repository.KindAccounts); n != 1 {
		t.Errorf("the store lost its account after refused restores: %d", n)
	}
	// A second account, written after the backup, stays in the replaced store.
	if _, err := r.CreateAccount(ctx, repository.Account{ID: repository.NewID(), Name: "Later"}); err != nil {
		t.Fatal(err)
	}
	r.Close()

	res, err := Restore(ctx, good, live)
	if err != nil || res.Previous == "" || res.Version != SchemaVersion() {
		t.Fatalf("restore over the store: %+v, %v", res, err)
	}
	for path, want := range map[string]int{live: 1, res.Previous: 2} {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Count(ctx, repository.KindAccounts); n != want {
			t.Errorf("%s holds %d accounts, want %d", filepath.Base(path), n, want)
		}
		s.Close()
	}
}
