package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// importFixture is a store file with one account and a CSV to import.
type importFixture struct {
	db, file, accountID string
}

func newImportFixture(t *testing.T, rows int) importFixture {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "roster.db")
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	created, err := provisioning.New(store).CreateAccount(context.Background(), provisioning.CreateAccountInput{
		Name: "Acme", OwnerEmail: "owner@acme.example", Seats: 2, BaseURL: "https://roster.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("email,firstName,lastName,roles,invite\n")
	for i := range rows {
		fmt.Fprintf(&b, "m%d@acme.example,M%d,Member,reporter,%v\n", i, i, i == 0)
	}
	b.WriteString("broken,No,Email,reporter,false\n")
	file := filepath.Join(dir, "team.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return importFixture{db: db, file: file, accountID: created.Account.ID}
}

// members counts the account's members in the fixture's store.
func (f importFixture) members(t *testing.T) int {
	t.Helper()
	store, err := sqlite.Open(context.Background(), f.db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	page, err := store.ListMembers(context.Background(), f.accountID, repository.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, func(string) (string, bool) { return "", false })
	return code, stdout.String(), stderr.String()
}

func TestMembersImport(t *testing.T) {
	f := newImportFixture(t, 25)
	store := "sqlite:" + f.db

	code, out, errOut := runCLI("members", "import", f.file, "--account-id", f.accountID, "--store", store, "--dry-run")
	if code != 1 || !strings.Contains(errOut, "1 of 26 rows failed") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("dry run: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "row 2 ") || !strings.Contains(out, "invited") || !strings.Contains(out, "row 27 ") ||
		!strings.Contains(out, "email: email \"broken\" is not a valid email address") || !strings.Contains(out, "dry run: nothing was written") {
		t.Errorf("dry run output:\n%s", out)
	}
	if n := f.members(t); n != 1 {
		t.Errorf("dry run wrote: %d members", n)
	}

	// The file may come after the flags, and the output may be JSON.
	code, out, _ = runCLI("members", "import", "--account-id", f.accountID, "--store", store,
		"--base-url", "https://roster.example.com", "--output", "json", f.file)
	if code != 1 {
		t.Errorf("import: exit %d", code)
	}
	var res struct {
		Committed                bool
		Created, Invited, Failed int
		Rows                     []importRowJSON
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("JSON output %q: %v", out, err)
	}
	if !res.Committed || res.Created != 24 || res.Invited != 1 || res.Failed != 1 || len(res.Rows) != 26 ||
		res.Rows[25].Row != 27 || res.Rows[25].Field != "email" {
		t.Errorf("result = %+v", res)
	}
	if n := f.members(t); n != 26 {
		t.Errorf("%d members after the import, want 26", n)
	}

	code, _, errOut = runCLI("members", "import", f.file, "--account-id", f.accountID, "--store", store, "--atomic")
	if code != 1 || !strings.Contains(errOut, "nothing was imported") {
		t.Errorf("atomic re-import: exit %d, %q", code, errOut)
	}
}

func TestMembersImportUsage(t *testing.T) {
	f := newImportFixture(t, 1)
	store := "sqlite:" + f.db
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"members", "import", "--account-id", "x"}, 2, "the FILE to import is required"},
		{[]string{"members", "import", f.file}, 2, "--account-id is required"},
		{[]string{"members", "import", f.file, "other.csv", "--account-id", "x"}, 2, `unexpected argument "other.csv"`},
		{[]string{"members", "import", f.file, "--account-id", "x", "--output", "yaml"}, 2, "--output"},
		{[]string{"members", "import", f.file, "--acount-id", "x"}, 2, "acount-id"},
		{[]string{"members", "import", filepath.Join(t.TempDir(), "none.csv"), "--account-id", "x", "--store", store}, 1, "no such file"},
		{[]string{"members", "import", f.file, "--account-id", "nope", "--store", store}, 1, `no account has the id "nope"`},
	} {
		code, _, errOut := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	code, out, _ := runCLI("members", "import", "--help")
	if code != 0 || !strings.Contains(out, "roster members import FILE") || !strings.Contains(out, "-dry-run") {
		t.Errorf("help: %d %s", code, out)
	}
}

// TestServerServesInvitationPages: the engine cmd/roster builds mounts
// the pages invitation links open, and the owner's link works on it.
func TestServerServesInvitationPages(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg, _, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	svc := provisioning.New(store, provisioning.WithBaseURL(cfg.BaseURL))
	h, err := newServer(serverDeps{Config: cfg, Store: store, Service: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	created, err := svc.CreateAccount(context.Background(), provisioning.CreateAccountInput{
		Name: "Acme", OwnerEmail: "owner@acme.example", Seats: 1, BaseURL: cfg.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(created.OwnerInvitationURL)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.Path, nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Join Acme") || rec.Header().Get("X-Request-Id") == "" {
		t.Fatalf("owner link: %d %s", rec.Code, rec.Body)
	}
	r := httptest.NewRequest(http.MethodPost, u.Path+"/accept", strings.NewReader(`{"password":"a long pass phrase"}`))
	r.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("accept: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.Path, nil))
	if rec.Code != http.StatusGone {
		t.Errorf("used link: %d", rec.Code)
	}
}
