package mongo

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/storetest"
)

// testURI returns the MongoDB-wire server of the test run. Without one the
// tests skip locally but fail in CI, where .ci/run must start it.
func testURI(t testing.TB) string {
	t.Helper()
	uri := os.Getenv("ROSTER_TEST_MONGODB_URI")
	if uri == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ROSTER_TEST_MONGODB_URI not set: .ci/run must start the MongoDB-wire server")
		}
		t.Skip("ROSTER_TEST_MONGODB_URI not set; start a server with `eval \"$(bash .ci/mongo-wire.sh start)\"` to run the MongoDB store tests")
	}
	return uri
}

// withDatabase returns uri naming database name.
func withDatabase(t testing.TB, uri, name string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatalf("parse ROSTER_TEST_MONGODB_URI: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// newTestDB returns a URI naming a fresh database, dropped when the test
// ends.
func newTestDB(t testing.TB) string {
	t.Helper()
	name := "roster_test_" + strings.ReplaceAll(repository.NewID(), "-", "")[16:]
	uri := withDatabase(t, testURI(t), name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := Open(ctx, uri)
		if err != nil {
			t.Errorf("open store to drop %s: %v", name, err)
			return
		}
		defer s.Close()
		if err := s.Database().Drop(ctx); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return uri
}

// openStore opens a store on uri and closes it when the test ends.
func openStore(t testing.TB, uri string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, uri)
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

// newStore opens a store on a fresh database.
func newStore(t testing.TB) *Store {
	t.Helper()
	return openStore(t, newTestDB(t))
}

// lacks lists what the server under test cannot do. Only FerretDB, which
// says so in buildInfo, may lack anything.
func lacks(s *Store) map[storetest.Feature]string {
	if !s.IsFerretDB() {
		return nil
	}
	return map[storetest.Feature]string{
		storetest.Transactions:  "FerretDB has no transactions",
		storetest.ElemMatch:     "FerretDB's $elemMatch rejects conditions",
		storetest.AtomicUpdates: "FerretDB can lose concurrent updates of one document",
	}
}

// contractConfig is the storetest configuration for the server under test.
// FerretDB scans every non-_id filter, so the big group and the benchmark
// account are smaller there; a real MongoDB runs the suite's full sizes.
func contractConfig(t testing.TB) storetest.Config {
	probe := newStore(t)
	c := storetest.Config{
		New:   func(t testing.TB) repository.Store { return newStore(t) },
		Lacks: lacks(probe),
	}
	if probe.IsFerretDB() {
		c.BigGroupSize = 5000
		c.BenchMembers = 10000
	}
	return c
}

// TestContract runs the shared repository contract against the store.
func TestContract(t *testing.T) {
	storetest.Run(t, contractConfig(t))
}

// TestOpenDetectsServer checks the server detection agrees with what the
// server is: FerretDB is never transactional.
func TestOpenDetectsServer(t *testing.T) {
	s := newStore(t)
	if s.IsFerretDB() && s.Transactional() {
		t.Errorf("FerretDB reported as transactional")
	}
	t.Logf("FerretDB: %v, transactional: %v", s.IsFerretDB(), s.Transactional())
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("ping: %v", err)
	}
}

// TestOpenIsIdempotent opens a second store on the same database: index
// creation must accept the existing indexes.
func TestOpenIsIdempotent(t *testing.T) {
	uri := newTestDB(t)
	openStore(t, uri)
	openStore(t, uri)
}

// TestOpenUnreachable checks an unreachable server fails within the server
// selection timeout with one error naming the host.
func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(t.Context(), "mongodb://127.0.0.1:1/roster?serverSelectionTimeoutMS=500&connectTimeoutMS=500")
	if err == nil {
		t.Fatal("open on a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error does not name the host: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("open took %s, want about the 500ms server selection timeout", d)
	}
}

func TestClientOptionsDefaults(t *testing.T) {
	tests := []struct {
		name      string
		uri       string
		timeout   time.Duration
		w         any
		readLevel string
	}{
		{"defaults", "mongodb://db.example:27017/", DefaultServerSelectionTimeout, "majority", "majority"},
		{"uri overrides", "mongodb://db.example:27017/?w=1&readConcernLevel=local&serverSelectionTimeoutMS=2000", 2 * time.Second, 1, "local"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := clientOptions(tc.uri)
			if err := o.Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if *o.ServerSelectionTimeout != tc.timeout {
				t.Errorf("server selection timeout %s, want %s", *o.ServerSelectionTimeout, tc.timeout)
			}
			if o.WriteConcern.W != tc.w {
				t.Errorf("write concern w=%v, want %v", o.WriteConcern.W, tc.w)
			}
			if o.ReadConcern.Level != tc.readLevel {
				t.Errorf("read concern %q, want %q", o.ReadConcern.Level, tc.readLevel)
			}
			if o.ReadPreference.Mode().String() != "primary" {
				t.Errorf("read preference %s, want primary", o.ReadPreference.Mode())
			}
		})
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"mongodb://127.0.0.1:27017/", DefaultDatabase},
		{"mongodb://127.0.0.1:27017", DefaultDatabase},
		{"mongodb://127.0.0.1:27017/tenantdb", "tenantdb"},
		{"mongodb://u:p%2Fw@h1:1,h2:2/prod?replicaSet=rs0", "prod"},
		{"mongodb+srv://cluster.example.net/roster_eu?retryWrites=true", "roster_eu"},
		{"mongodb://h/?authSource=admin", DefaultDatabase},
	}
	for _, tc := range tests {
		if got := databaseName(tc.uri); got != tc.want {
			t.Errorf("databaseName(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}
