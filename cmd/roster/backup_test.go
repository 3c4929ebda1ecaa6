package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/cluster"
)

// TestBackupRestore backs the embedded store up while a server writes to
// it, refuses to restore while the server runs, restores once it is
// stopped, and serves the restored store consistently.
func TestBackupRestore(t *testing.T) {
	bin := cluster.Build(t)
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "data", "roster.db")
	srv := cluster.Start(t, cluster.Options{Binary: bin, Store: store, Instances: 1, Args: []string{"--scim-rate-limit", "0"}})
	acct := srv.CreateAccount(t, "Acme", 500)
	base := srv.URL(0)

	// Writers create users through SCIM while the backup runs.
	var stop atomic.Bool
	var created atomic.Int64
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				code, body := send(t, http.MethodPost, base+"/scim/v2/Users", acct.SCIMToken, scimUser(fmt.Sprintf("w%d-%d@acme.example", w, i)))
				if code != http.StatusCreated {
					t.Errorf("create user: %d %v", code, body)
					return
				}
				created.Add(1)
			}
		}()
	}
	for created.Load() < 10 && !t.Failed() {
		pause()
	}
	backup := filepath.Join(dir, "backup.db")
	r := runBinary(t, nil, "backup", "--out", backup, "--store", store)
	stop.Store(true)
	wg.Wait()
	if r.code != 0 || !strings.Contains(r.stdout, "Backed up") {
		t.Fatalf("backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, nil, "backup", "--out", backup, "--store", store)
	wantOneLineFailure(t, r, 1, "already exists")

	// Restoring under a running server is refused.
	r = runBinary(t, nil, "restore", "--in", backup, "--store", store)
	wantOneLineFailure(t, r, 1, "open in another process")

	if err := srv.Instances[0].Stop(); err != nil {
		t.Fatal(err)
	}
	total := created.Load()
	r = runBinary(t, nil, "restore", "--in", backup, "--store", store)
	if r.code != 0 || !strings.Contains(r.stdout, "Restored") || !strings.Contains(r.stdout, "kept as") {
		t.Fatalf("restore: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	again := cluster.Start(t, cluster.Options{Binary: bin, Store: store, Instances: 1, Args: []string{"--scim-rate-limit", "0"}})
	code, body := send(t, http.MethodGet, again.URL(0)+"/scim/v2/Users?count=10000", acct.SCIMToken, nil)
	if code != http.StatusOK {
		t.Fatalf("list users after restore: %d %v", code, body)
	}
	res, _ := body["Resources"].([]any)
	n := int(body["totalResults"].(float64))
	if n != len(res) {
		t.Errorf("restored store: totalResults %d, %d resources", n, len(res))
	}
	// The owner plus the users created before the backup's snapshot: at
	// least the ten waited for, at most every one created.
	if n < 11 || int64(n) > total+1 {
		t.Errorf("restored store holds %d users; %d were created (+ the owner)", n, total)
	}
	t.Logf("backup taken during writes: %d of %d users", n-1, total)

	// A file that is not a backup is refused with one line.
	r = runBinary(t, nil, "restore", "--in", filepath.Join(dir, "data", "secret.key"), "--store", store)
	wantOneLineFailure(t, r, 1, "restore")
}

// pause yields while a test waits for writers.
func pause() { time.Sleep(5 * time.Millisecond) }
