package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	mongoopts "go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/internal/cluster"
	"github.com/rosterhq/roster/repository"
)

// testMongoURI returns a fresh database on the MongoDB-wire server named
// by ROSTER_TEST_MONGODB_URI, dropped when the test ends. In CI the
// server is required: the test fails rather than skips without it.
func testMongoURI(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ROSTER_TEST_MONGODB_URI")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but ROSTER_TEST_MONGODB_URI is unset: start the MongoDB-wire server (.ci/mongo-wire.sh start)")
		}
		t.Skip("needs real MongoDB (or the MongoDB-wire server): set ROSTER_TEST_MONGODB_URI, see .ci/mongo-wire.sh")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("ROSTER_TEST_MONGODB_URI: %v", err)
	}
	db := "roster_migrate_" + strings.ReplaceAll(strings.ToLower(repository.NewID()), "-", "")
	u.Path = "/" + db
	t.Cleanup(func() { dropDatabase(t, base, db) })
	return u.String()
}

// runCmd runs one command line in-process and returns its exit code and
// output.
func runCmd(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr, func(string) (string, bool) { return "", false })
	return code, stdout.String(), stderr.String()
}

// scimSnapshot is every User and Group an account's SCIM token reads,
// by id, plus each User's ETag header.
type scimSnapshot struct {
	users, groups map[string]map[string]any
	etags         map[string]string
	apiStatus     int
}

func snapshot(t *testing.T, base string, acct cluster.Account) scimSnapshot {
	t.Helper()
	s := scimSnapshot{users: map[string]map[string]any{}, groups: map[string]map[string]any{}, etags: map[string]string{}}
	for _, kind := range []string{"Users", "Groups"} {
		code, body := send(t, http.MethodGet, base+"/scim/v2/"+kind+"?count=1000", acct.SCIMToken, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %v", kind, code, body)
		}
		res, _ := body["Resources"].([]any)
		if tr, _ := body["totalResults"].(float64); int(tr) != len(res) {
			t.Errorf("GET %s: totalResults %v but %d resources", kind, body["totalResults"], len(res))
		}
		for _, r := range res {
			m := normalizeResource(r.(map[string]any), base)
			id, _ := m["id"].(string)
			if kind == "Users" {
				s.users[id] = m
			} else {
				s.groups[id] = m
			}
		}
	}
	for id := range s.users {
		req, _ := http.NewRequest(http.MethodGet, base+"/scim/v2/Users/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+acct.SCIMToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		s.etags[id] = resp.Header.Get("ETag")
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/members", nil)
	req.Header.Set("Authorization", "Bearer "+acct.APIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.apiStatus = resp.StatusCode
	return s
}

// normalizeResource drops what legitimately differs between two servers
// (the base URL in locations) and keeps meta times at the millisecond,
// the precision a BSON date holds.
func normalizeResource(m map[string]any, base string) map[string]any {
	b, _ := json.Marshal(m)
	s := strings.ReplaceAll(string(b), base, "BASE")
	var out map[string]any
	_ = json.Unmarshal([]byte(s), &out)
	if meta, ok := out["meta"].(map[string]any); ok {
		for _, f := range []string{"created", "lastModified"} {
			if v, ok := meta[f].(string); ok {
				if tm, err := time.Parse(time.RFC3339Nano, v); err == nil {
					meta[f] = tm.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
				}
			}
		}
	}
	return out
}

// TestMigrateEmbeddedToMongo builds a store with the embedded default
// through the real commands and SCIM, migrates it to the MongoDB-wire
// server, starts the server on the target and reads everything back with
// the same tokens: same accounts, members, groups, ids, versions, ETags
// and meta timestamps.
func TestMigrateEmbeddedToMongo(t *testing.T) {
	target := testMongoURI(t)
	bin := cluster.Build(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "roster.db")
	source := "sqlite:" + dbPath

	srv := cluster.Start(t, cluster.Options{Binary: bin, Store: source, Instances: 1, Args: []string{"--scim-rate-limit", "0"}})
	acme := srv.CreateAccount(t, "Acme", 5)
	globex := srv.CreateAccount(t, "Globex", 3)
	base := srv.URL(0)
	var acmeUsers []string
	for i := range 6 {
		code, body := send(t, http.MethodPost, base+"/scim/v2/Users", acme.SCIMToken, scimUser(fmt.Sprintf("user%d@acme.example", i)))
		if code != http.StatusCreated {
			t.Fatalf("create user: %d %v", code, body)
		}
		acmeUsers = append(acmeUsers, body["id"].(string))
	}
	code, body := send(t, http.MethodPatch, base+"/scim/v2/Users/"+acmeUsers[0], acme.SCIMToken, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Lead"}},
	})
	if code != http.StatusOK {
		t.Fatalf("patch user: %d %v", code, body)
	}
	for i, members := range [][]string{acmeUsers[:3], acmeUsers[2:]} {
		var ms []any
		for _, id := range members {
			ms = append(ms, map[string]any{"value": id})
		}
		code, body := send(t, http.MethodPost, base+"/scim/v2/Groups", acme.SCIMToken, map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": fmt.Sprintf("Team %d", i),
			"members":     ms,
		})
		if code != http.StatusCreated {
			t.Fatalf("create group: %d %v", code, body)
		}
	}
	for i := range 2 {
		if code, body := send(t, http.MethodPost, base+"/scim/v2/Users", globex.SCIMToken, scimUser(fmt.Sprintf("g%d@globex.example", i))); code != http.StatusCreated {
			t.Fatalf("create user: %d %v", code, body)
		}
	}
	before := map[string]scimSnapshot{"acme": snapshot(t, base, acme), "globex": snapshot(t, base, globex)}
	if a := before["acme"]; len(a.users) != 7 || len(a.groups) != 2 || len(before["globex"].users) != 3 {
		t.Fatalf("before migration: acme has %d users and %d groups, globex %d users; want 7, 2 and 3", len(a.users), len(a.groups), len(before["globex"].users))
	}
	for id, g := range before["acme"].groups {
		if ms, _ := g["members"].([]any); len(ms) < 3 {
			t.Fatalf("group %s has members %v, want 3 or 4", id, g["members"])
		}
	}
	if err := srv.Instances[0].Stop(); err != nil {
		t.Fatalf("stop server: %v", err)
	}

	r := runBinary(t, nil, "migrate", "--from", source, "--to", target, "--batch", "4")
	if r.code != 0 {
		t.Fatalf("migrate: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"copied members", "Every kind matches.", "secret.key"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("migrate output lacks %q:\n%s", want, r.stdout)
		}
	}
	t.Logf("migrate:\n%s", r.stdout)

	key, err := os.ReadFile(filepath.Join(dir, "data", "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	onMongo := cluster.Start(t, cluster.Options{
		Binary: bin, Store: target, Instances: 1, Args: []string{"--scim-rate-limit", "0"},
		Env: []string{"ROSTER_SSO_SECRET_KEY=" + strings.TrimSpace(string(key))},
	})
	mbase := onMongo.URL(0)
	for name, acct := range map[string]cluster.Account{"acme": acme, "globex": globex} {
		after := snapshot(t, mbase, acct)
		want := before[name]
		if len(after.users) != len(want.users) || len(after.groups) != len(want.groups) {
			t.Errorf("%s: %d users and %d groups after, want %d and %d", name, len(after.users), len(after.groups), len(want.users), len(want.groups))
		}
		for id, u := range want.users {
			if !reflect.DeepEqual(after.users[id], u) {
				t.Errorf("%s: user %s after migration:\n got  %v\n want %v", name, id, after.users[id], u)
			}
			if after.etags[id] != want.etags[id] || want.etags[id] == "" {
				t.Errorf("%s: user %s ETag %q, want %q", name, id, after.etags[id], want.etags[id])
			}
		}
		for id, g := range want.groups {
			if !reflect.DeepEqual(after.groups[id], g) {
				t.Errorf("%s: group %s after migration:\n got  %v\n want %v", name, id, after.groups[id], g)
			}
		}
		if after.apiStatus != want.apiStatus {
			t.Errorf("%s: admin API with the owner's token: %d, want %d", name, after.apiStatus, want.apiStatus)
		}
	}
	// The migrated store takes writes: the user patched before is at
	// version 2 and moves to 3.
	code, body = send(t, http.MethodPatch, mbase+"/scim/v2/Users/"+acmeUsers[0], acme.SCIMToken, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Head"}},
	})
	if code != http.StatusOK {
		t.Fatalf("patch after migration: %d %v", code, body)
	}
	if v := body["meta"].(map[string]any)["version"]; v != `W/"3"` {
		t.Errorf("version after one more patch: %v, want W/\"3\"", v)
	}
}

// seedStore fills a store through its API: accounts with members,
// groups, seats and tokens.
func seedStore(t testing.TB, s repository.Store, accounts, members int) {
	t.Helper()
	ctx := context.Background()
	for a := range accounts {
		acct, err := s.CreateAccount(ctx, repository.Account{
			ID: repository.NewID(), Name: fmt.Sprintf("Account %d %s", a, repository.NewID()), Status: repository.AccountActive,
			Seats: repository.SeatSettings{Policy: repository.SeatPolicyNamed, Total: members, Exhaustion: repository.SeatExhaustionQueue},
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range members {
			m, err := s.CreateMember(ctx, repository.Member{
				AccountID: acct.ID, UserName: fmt.Sprintf("m%d@a%d.example", i, a), DisplayName: fmt.Sprintf("Member %d", i),
				Active: true, Status: repository.StatusActive, Source: repository.SourceSCIM,
				Emails: []repository.Email{{Value: fmt.Sprintf("m%d@a%d.example", i, a), Type: "work", Primary: true}},
				Roles:  []string{"agent"}, SeatStatus: repository.SeatAssigned,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ReserveSeat(ctx, acct.ID, m.ID); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		g, err := s.CreateGroup(ctx, repository.Group{AccountID: acct.ID, ID: repository.NewID(), DisplayName: "All", Source: repository.SourceSCIM})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddGroupMembers(ctx, acct.ID, g.ID, ids); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateToken(ctx, repository.Token{AccountID: acct.ID, ID: repository.NewID(), Kind: repository.TokenSCIM, Name: "Okta", Hash: repository.NewID(), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// migrateTargets returns the targets to migrate into: a fresh SQLite
// file always, and a fresh MongoDB-wire database when one is configured
// (required in CI).
func migrateTargets(t *testing.T) map[string]string {
	targets := map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "target.db")}
	if os.Getenv("ROSTER_TEST_MONGODB_URI") != "" || os.Getenv("CI") == "true" {
		targets["mongodb"] = testMongoURI(t)
	}
	return targets
}

var copiedRE = regexp.MustCompile(`Copied (\d+) records`)

// TestMigrateResumeAndVerify interrupts migrations (a record limit, a
// cancelled context), resumes them, and has the verification catch
// tampered and extra records.
func TestMigrateResumeAndVerify(t *testing.T) {
	source := "sqlite:" + filepath.Join(t.TempDir(), "source.db")
	src := openTestStore(t, source)
	seedStore(t, src, 2, 15)
	total := 0
	for _, k := range repository.TransferKinds() {
		n, err := src.(repository.Exporter).Count(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	ctx := context.Background()

	for name, target := range migrateTargets(t) {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCmd(ctx, "migrate", "--from", source, "--to", target, "--batch", "7", "--stop-after", "20")
			if code != 0 || !strings.Contains(out, "Stopped after 20 records") {
				t.Fatalf("staged migration: exit %d\n%s%s", code, out, errOut)
			}
			code, _, errOut = runCmd(ctx, "migrate", "--from", source, "--to", target)
			if code != 1 || !strings.Contains(errOut, "--resume") {
				t.Fatalf("migration into a half-copied target without --resume: exit %d, stderr %q", code, errOut)
			}
			code, out, errOut = runCmd(ctx, "migrate", "--from", source, "--to", target, "--batch", "7", "--resume")
			if code != 0 || !strings.Contains(out, "Resuming") || !strings.Contains(out, "Every kind matches.") {
				t.Fatalf("resumed migration: exit %d\n%s%s", code, out, errOut)
			}
			if m := copiedRE.FindStringSubmatch(out); m == nil || m[1] != fmt.Sprint(total-20) {
				t.Errorf("resumed migration copied %v records, want the %d left of %d", m, total-20, total)
			}
			code, _, errOut = runCmd(ctx, "migrate", "--from", source, "--to", target)
			if code != 1 || !strings.Contains(errOut, "already holds a finished migration") {
				t.Errorf("migrating again: exit %d, stderr %q", code, errOut)
			}

			// Tamper with one member in the target: the verification names it.
			dst := openTestStore(t, target)
			page, err := dst.ListMembers(ctx, firstAccount(t, dst), repository.Query{Count: 1})
			if err != nil || len(page.Items) == 0 {
				t.Fatalf("list target members: %v", err)
			}
			victim := page.Items[0]
			if _, err := dst.UpdateMember(ctx, victim.AccountID, victim.ID, func(m repository.Member) (repository.Member, error) {
				m.DisplayName = "Tampered"
				return m, nil
			}); err != nil {
				t.Fatal(err)
			}
			code, out, errOut = runCmd(ctx, "migrate", "--from", source, "--to", target, "--verify-only")
			want := "MISMATCH: differs: " + victim.AccountID + "/" + victim.ID
			if code != 1 || !strings.Contains(out, want) || !strings.Contains(errOut, "verification failed: members") {
				t.Errorf("verification of a tampered target: exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
			}
			// An extra record only in the target is named too.
			if _, err := dst.CreateToken(ctx, repository.Token{AccountID: victim.AccountID, ID: "zzzz-extra", Kind: repository.TokenSCIM, Hash: repository.NewID(), CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			code, out, _ = runCmd(ctx, "migrate", "--from", source, "--to", target, "--verify-only")
			if code != 1 || !strings.Contains(out, "only in target: "+victim.AccountID+"/zzzz-extra") {
				t.Errorf("verification of a target with an extra token: exit %d\n%s", code, out)
			}
			// --force copies over it again and repairs the tampered member;
			// the extra token stays and is still reported.
			code, out, _ = runCmd(ctx, "migrate", "--from", source, "--to", target, "--force")
			if code != 1 || !regexp.MustCompile(`(?m)^members\s+30\s+30\s+\S+\s+ok$`).MatchString(out) {
				t.Errorf("forced migration: exit %d\n%s", code, out)
			}
			if !strings.Contains(out, "tokens") || strings.Contains(out, "MISMATCH: differs") {
				t.Errorf("forced migration did not repair the member:\n%s", out)
			}
		})
	}
}

// firstAccount returns the id of an account of the store.
func firstAccount(t *testing.T, s repository.Store) string {
	t.Helper()
	recs, err := s.(repository.Exporter).Export(context.Background(), repository.KindAccounts, "", 1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("no account: %v", err)
	}
	return recs[0].Key
}

// cancellingExporter cancels a context once it has served n pages.
type cancellingExporter struct {
	repository.Exporter
	n      int
	cancel context.CancelFunc
}

func (e *cancellingExporter) Export(ctx context.Context, kind repository.RecordKind, after string, limit int) ([]repository.Record, error) {
	recs, err := e.Exporter.Export(ctx, kind, after, limit)
	e.n--
	if e.n == 0 {
		e.cancel()
	}
	return recs, err
}

// TestMigrateCancelledResumes: a migration whose context is cancelled
// midway (Ctrl-C) stops after the batch in hand, checkpoint saved, and a
// resumed run copies the rest and verifies.
func TestMigrateCancelledResumes(t *testing.T) {
	src := openTestStore(t, "sqlite:"+filepath.Join(t.TempDir(), "source.db"))
	seedStore(t, src, 3, 10)
	for name, target := range migrateTargets(t) {
		t.Run(name, func(t *testing.T) {
			dst := openTestStore(t, target)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			m, err := newMigrator(src, dst, "source", "target")
			if err != nil {
				t.Fatal(err)
			}
			m.batch = 5
			m.src = &cancellingExporter{Exporter: m.src, n: 4, cancel: cancel}
			_, err = m.copy(ctx, false, false)
			if err == nil || !strings.Contains(err.Error(), "interrupted") {
				t.Fatalf("cancelled copy: %v", err)
			}
			cp, err := dst.(repository.Checkpointer).LoadCheckpoint(context.Background())
			if err != nil || cp.Done || cp.Kind == "" {
				t.Fatalf("checkpoint after the interruption: %+v, %v", cp, err)
			}
			m2, err := newMigrator(src, dst, "source", "target")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			m2.out = &out
			if _, err := m2.copy(context.Background(), true, false); err != nil {
				t.Fatalf("resumed copy: %v\n%s", err, out.String())
			}
			if err := m2.verify(context.Background()); err != nil {
				t.Fatalf("verify: %v\n%s", err, out.String())
			}
		})
	}
}

// TestMigrateRefusesNonEmptyTarget: a target holding other data is
// refused unless forced.
func TestMigrateRefusesNonEmptyTarget(t *testing.T) {
	dir := t.TempDir()
	source, target := "sqlite:"+filepath.Join(dir, "a.db"), "sqlite:"+filepath.Join(dir, "b.db")
	seedStore(t, openTestStore(t, source), 1, 2)
	seedStore(t, openTestStore(t, target), 1, 2)
	code, _, errOut := runCmd(context.Background(), "migrate", "--from", source, "--to", target)
	if code != 1 || !strings.Contains(errOut, "already holds data") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCmd(context.Background(), "migrate", "--from", source, "--to", source)
	if code != 2 || !strings.Contains(errOut, "same store") {
		t.Errorf("same store: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut := runCmd(context.Background(), "migrate", "--from", source, "--to", target, "--force")
	// Forced: the source's records are copied; the target's own remain,
	// so the verification reports them.
	if code != 1 || !strings.Contains(out, "only in target") {
		t.Errorf("forced into a non-empty target: exit %d\n%s%s", code, out, errOut)
	}
}

// BenchmarkMigrate copies a store of 2 accounts × 1,000 members (with
// their seats, edges and tokens: about 4,000 records) into an empty
// target, verification included, and reports records per second.
func BenchmarkMigrate(b *testing.B) {
	ctx := context.Background()
	src := "sqlite:" + filepath.Join(b.TempDir(), "source.db")
	s := openBenchStore(b, src)
	seedStore(b, s, 2, 1000)
	records := 0
	for _, k := range repository.TransferKinds() {
		n, _ := s.(repository.Exporter).Count(ctx, k)
		records += n
	}
	targets := map[string]func(i int) string{
		"sqlite": func(i int) string { return "sqlite:" + filepath.Join(b.TempDir(), fmt.Sprintf("t%d.db", i)) },
	}
	if base := os.Getenv("ROSTER_TEST_MONGODB_URI"); base != "" {
		targets["mongodb"] = func(i int) string {
			u, _ := url.Parse(base)
			db := fmt.Sprintf("roster_bench_%d_%d", time.Now().UnixNano(), i)
			u.Path = "/" + db
			b.Cleanup(func() { dropBenchDatabase(b, base, db) })
			return u.String()
		}
	}
	for name, target := range targets {
		b.Run(name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				dst := openBenchStore(b, target(i))
				m, err := newMigrator(s, dst, "source", "target")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.copy(ctx, false, false); err != nil {
					b.Fatal(err)
				}
				if err := m.verify(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(records), "records")
		})
	}
}

func openBenchStore(b *testing.B, storeURL string) repository.Store {
	b.Helper()
	u, err := config.ParseStoreURL(storeURL)
	if err != nil {
		b.Fatal(err)
	}
	s, err := openStore(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// dropBenchDatabase drops a benchmark's database.
func dropBenchDatabase(b *testing.B, uri, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongodrv.Connect(mongoopts.Client().ApplyURI(uri))
	if err != nil {
		b.Logf("drop %s: %v", db, err)
		return
	}
	defer c.Disconnect(ctx)
	if err := c.Database(db).Drop(ctx); err != nil {
		b.Logf("drop %s: %v", db, err)
	}
}
