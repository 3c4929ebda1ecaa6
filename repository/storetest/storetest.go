// Package storetest is the contract every repository.Store backend must
// pass, in the manner of Dex's storage/conformance: one suite, run
// unchanged against the embedded SQLite store and the MongoDB store.
package storetest

import (
	"testing"

	"github.com/rosterhq/roster/repository"
)

// Feature names a server capability some contract cases need.
type Feature string

// Features a MongoDB-wire stand-in may lack.
const (
	// Transactions: multi-document atomic InTx.
	Transactions Feature = "transactions"
	// ElemMatch: $elemMatch with several conditions on one element.
	ElemMatch Feature = "elemMatch"
	// AtomicUpdates: a conditional update of one document is atomic
	// against concurrent updates of the same document (compare-and-swap).
	AtomicUpdates Feature = "atomicUpdates"
)

// Config tells the suite how to make stores of one backend.
type Config struct {
	// New returns a new, empty store for one test; it registers its own
	// cleanup with t.Cleanup.
	New func(t testing.TB) repository.Store
	// Lacks lists features the server under test does not have, with the
	// reason. Cases needing them skip with "needs real MongoDB: <reason>".
	// Only a backend whose server identifies itself as a stand-in (FerretDB)
	// may set it.
	Lacks map[Feature]string

	// BigGroupSize is the number of member edges of the group in the
	// BigGroup case (default 100,000; at least 10). Seeding that many
	// members one CreateMember at a time takes tens of seconds on a slow
	// machine, so a backend may lower it for its everyday test run (and
	// FerretDB, which scans, must); the full size is what DESIGN.md
	// promises.
	BigGroupSize int
	// BenchMembers is the number of members RunBenchmarks seeds (default
	// 100,000). Same rule as BigGroupSize.
	BenchMembers int
}

// Sizes used when Config leaves them zero: the scale DESIGN.md promises
// (a 100,000-member group costs what a 2-member group costs).
const (
	defaultBigGroupSize = 100000
	defaultBenchMembers = 100000
)

func (c Config) bigGroupSize() int {
	if c.BigGroupSize > 0 {
		return max(c.BigGroupSize, 10) // the case spot-checks ten members
	}
	return defaultBigGroupSize
}

func (c Config) benchMembers() int {
	if c.BenchMembers > 0 {
		return c.BenchMembers
	}
	return defaultBenchMembers
}

// needs skips t when the backend lacks f.
func (c Config) needs(t *testing.T, f Feature) {
	t.Helper()
	if reason, ok := c.Lacks[f]; ok {
		t.Skipf("needs real MongoDB: %s", reason)
	}
}

// Run runs the whole contract against the backend.
func Run(t *testing.T, c Config) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, c)
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, c Config)
}

// cases is the list of contract cases; each file of the suite appends its
// own in an init function.
var cases []testCase
