// Package sqlite is Roster's embedded default store: one SQLite file, read
// and written through modernc.org/sqlite (pure Go, no cgo).
//
// Several processes may share the file (two `roster serve` instances on one
// host): every write runs in a BEGIN IMMEDIATE transaction, so writers queue
// on SQLite's file lock (waiting up to the busy timeout) and a
// read-check-write such as ReserveSeat is atomic across processes, not just
// goroutines. Readers use WAL snapshots and never block the writer.
//
// Each Store keeps two connection pools on the file: a writer pool of
// exactly one connection, and a pool of read-only connections; a third
// connection checkpoints the WAL in the background (checkpoint.go). A
// transaction started by InTx travels in the context; every method called
// with that context joins it. Write transactions of concurrent callers
// are committed together, each in its own savepoint (batch.go).
//
// What a request costs is mostly statements and commits, so the hot paths
// keep both few: a member and all its multi-valued attributes are read
// from one row of one B-tree (the row carries them packed, see packSides;
// the side tables serve filters), with one statement that returns the row
// packed into one column (packedSelect), an eq
// on a unique attribute answers page and total with one statement and no
// read transaction, roles are served from memory while the account's
// roles_version is unchanged (rolecache.go), and statements a transaction
// had to prepare are prepared on the pool afterwards.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rosterhq/roster/repository"
)

// ErrNotDatabase means the file given to Open is not an SQLite database,
// is corrupt, or belongs to another application.
var ErrNotDatabase = errors.New("not a Roster SQLite database, or corrupt")

// busyTimeout is how long a connection waits for another connection or
// process holding the write lock before giving up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// updateAttempts bounds the compare-and-swap retries of UpdateX.
const updateAttempts = 20

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the SQLite implementation of repository.Store. It is safe for
// concurrent use, and several Stores (in one or several processes) may open
// the same file.
type Store struct {
	path string
	w    *sql.DB // exactly one connection; transactions BEGIN IMMEDIATE
	r    *sql.DB // read-only connections
	ck   *checkpointer
	wc   *stmtCache
	rc   *stmtCache
	// roles keeps accounts' roles while their roles_version is unchanged.
	roles *roleCache
	// batch runs write transactions, committing concurrent ones together.
	batch *batcher
	now   func() time.Time
}

var _ repository.Store = (*Store)(nil)

// Open opens (creating when missing, along with its directory) the store
// file at path and brings its schema up to date. A file that is not an
// SQLite database fails with an error naming it and wrapping
// ErrNotDatabase.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: create directory: %w", abs, err)
	}

	common := []string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
		"foreign_keys(1)",
		"temp_store(MEMORY)",
		"cache_size(-16000)",
	}
	// journal_mode is set by migrate once the file is known to be ours: it is
	// persistent, and must not convert another program's database.
	// The writer does not checkpoint the WAL in the commit of the
	// request that crosses the threshold (holding the write lock, and an
	// fsync, while every other write waits): the checkpointer does, in
	// the background. The writer's own automatic checkpoint stays as a
	// backstop, far above what the checkpointer lets the WAL grow to.
	writerPragmas := []string{"synchronous(NORMAL)", fmt.Sprintf("wal_autocheckpoint(%d)", backstopCheckpointPages)}
	w, err := sql.Open("sqlite", dsn(abs, slices.Concat(common, writerPragmas), "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		_ = w.Close()
		return nil, openError(abs, err)
	}

	r, err := sql.Open("sqlite", dsn(abs, slices.Concat(common, []string{"query_only(1)"})))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)

	ck, err := sql.Open("sqlite", dsn(abs, slices.Concat(common, []string{"synchronous(NORMAL)"})))
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxLifetime(0)
	ck.SetConnMaxIdleTime(0)

	s := &Store{
		path:  abs,
		ck:    newCheckpointer(ck, checkpointInterval),
		w:     w,
		r:     r,
		wc:    newStmtCache(w),
		rc:    newStmtCache(r),
		roles: newRoleCache(),
		now:   func() time.Time { return time.Now().UTC() },
	}
	s.batch = newBatcher(s)
	// A transaction finds its statements prepared only in the pool's cache:
	// preparing on the pool would need a second connection while the
	// transaction holds one (the only one, for the writer). So prepare the
	// static statements now; others are prepared on the transaction's
	// connection, once per transaction.
	for _, q := range writeQueries {
		if _, err := s.wc.prepare(ctx, q); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("open sqlite store %s: prepare %q: %w", abs, firstLine(q), err)
		}
	}
	for _, q := range readQueries {
		if _, err := s.wc.prepare(ctx, q); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("open sqlite store %s: prepare %q: %w", abs, firstLine(q), err)
		}
		if _, err := s.rc.prepare(ctx, q); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("open sqlite store %s: prepare %q: %w", abs, firstLine(q), err)
		}
	}
	return s, nil
}

// Path returns the absolute path of the store file.
func (s *Store) Path() string { return s.path }

// dsn builds a modernc.org/sqlite data source name. The path is escaped as
// a URI so that any file name works.
func dsn(path string, pragmas []string, extra ...string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	params := make([]string, 0, len(pragmas)+len(extra))
	for _, p := range pragmas {
		params = append(params, "_pragma="+url.QueryEscape(p))
	}
	params = append(params, extra...)
	return u.String() + "?" + strings.Join(params, "&")
}

// openError names the file, and says plainly when it is not a database.
func openError(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("open sqlite store %s: %w: %v", path, ErrNotDatabase, err)
		}
	}
	return fmt.Errorf("open sqlite store %s: %w", path, err)
}

// migrate applies the embedded migrations above the file's user_version in
// one IMMEDIATE transaction, so processes opening the file together apply
// each migration once.
func migrate(ctx context.Context, w *sql.DB) error {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	type migration struct {
		version int
		name    string
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return fmt.Errorf("migration %s: name must start with a positive number", e.Name())
		}
		ms = append(ms, migration{v, e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}

	// Check, without writing anything, that the file is ours (or empty).
	var current, tables int
	if err := w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return err
	}
	if err := w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return err
	}
	if current == 0 && tables > 0 {
		return fmt.Errorf("%w: the database has tables but no Roster schema version", ErrNotDatabase)
	}
	if current > latest {
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", current, latest)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("set WAL journal: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("set WAL journal: journal mode is %q", mode)
	}
	if current == latest {
		return nil
	}

	// Another process may migrate at the same time: read the version again
	// under the write lock.
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return err
	}
	if current > latest {
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		body, err := migrationFiles.ReadFile("migrations/" + m.name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Load the planner statistics a migration may have written.
	if _, err := w.ExecContext(ctx, "ANALYZE sqlite_schema"); err != nil {
		return fmt.Errorf("load planner statistics: %w", err)
	}
	return nil
}

// Ping checks that the file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite store %s: %w", s.path, err)
	}
	return nil
}

// Close releases the prepared statements and connections.
func (s *Store) Close() error {
	ckErr := s.ck.close()
	s.wc.close()
	s.rc.close()
	return errors.Join(ckErr, s.r.Close(), s.w.Close())
}

// Transactional is true: InTx is atomic.
func (s *Store) Transactional() bool { return true }

// InTx runs fn in one IMMEDIATE transaction carried by the context it is
// given; store calls made with that context (or one derived from it) join
// the transaction, nested InTx calls included. While fn runs, this Store's
// only writer connection is held: writes made with another context from
// inside fn wait for fn to finish, so always pass fn's context on.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.txFrom(ctx) != nil {
		return fn(ctx)
	}
	return s.write(ctx, func(h handle) error {
		return fn(context.WithValue(ctx, txKey{}, h.tx))
	})
}

// txKey carries a *txState in a context.
type txKey struct{}

// txState is one open transaction and the statements prepared in it.
type txState struct {
	s     *Store
	tx    *sql.Tx
	cache *stmtCache // the pool's cache, for statements prepared there

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	// missed are the statements this transaction prepared because the
	// pool's cache had none; they are prepared on the pool once it ends.
	missed []string

	// rolesWritten is set by a write to roles: ListRoles in this
	// transaction then bypasses the role cache, which is emptied once the
	// transaction ends.
	rolesWritten atomic.Bool
	// detached: the transaction is shared by several callers (see
	// batch.go), so its statements ignore their caller's cancellation.
	detached bool
}

// txFrom returns the transaction of this store carried by ctx, if any.
func (s *Store) txFrom(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{}).(*txState)
	if st != nil && st.s == s {
		return st
	}
	return nil
}

// write runs fn in the context's transaction, or in a new IMMEDIATE one.
func (s *Store) write(ctx context.Context, fn func(h handle) error) error {
	if st := s.txFrom(ctx); st != nil {
		return fn(handle{tx: st})
	}
	return s.batch.run(ctx, fn)
}

// read runs fn in the context's transaction, or in a read transaction on a
// reader connection, so that its queries see one snapshot.
func (s *Store) read(ctx context.Context, fn func(h handle) error) error {
	if st := s.txFrom(ctx); st != nil {
		return fn(handle{tx: st})
	}
	return s.begin(ctx, s.r, s.rc, fn)
}

func (s *Store) begin(ctx context.Context, db *sql.DB, cache *stmtCache, fn func(h handle) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	st := &txState{s: s, tx: tx, cache: cache}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
		s.ended(st)
	}()
	if err := fn(handle{tx: st}); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ended is called once the transaction st has committed or rolled back,
// before its callers return: roles it wrote leave the role cache, and
// what it prepared for itself is prepared on its pool.
func (s *Store) ended(st *txState) {
	if st.rolesWritten.Load() {
		s.roles.clear()
	}
	s.promote(st)
}

// promote prepares on its pool, once the transaction st has ended and
// its connection is free again, what st had to prepare for itself (a
// dynamic filter run inside a write, such as provisioning's
// pending-manager lookup), so the next transaction finds it ready
// instead of parsing it again.
func (s *Store) promote(st *txState) {
	st.mu.Lock()
	missed := st.missed
	st.missed = nil
	st.mu.Unlock()
	for _, q := range missed {
		_, _ = st.cache.prepare(context.Background(), q)
	}
}

// warm prepares statements on the reader pool before a read transaction
// takes a connection, so that the transaction finds them prepared. Errors
// are left for the statement's execution to report.
func (s *Store) warm(ctx context.Context, queries ...string) {
	if s.txFrom(ctx) != nil {
		return
	}
	for _, q := range queries {
		if q != "" {
			_, _ = s.rc.prepare(ctx, q)
		}
	}
}

// reader returns a handle for a single read statement: the context's
// transaction, or the reader pool.
func (s *Store) reader(ctx context.Context) handle {
	if st := s.txFrom(ctx); st != nil {
		return handle{tx: st}
	}
	return handle{pool: s.rc}
}

// writer returns a handle for a single write statement: the context's
// transaction, or the writer connection in autocommit mode (a single
// statement is atomic on its own).
func (s *Store) writer(ctx context.Context) handle {
	if st := s.txFrom(ctx); st != nil {
		return handle{tx: st}
	}
	return handle{pool: s.wc}
}

// handle runs statements in a transaction (tx) or on a pool (pool).
type handle struct {
	tx   *txState
	pool *stmtCache
}

// stmt returns a prepared statement for query, or nil to run it unprepared.
func (h handle) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if h.tx == nil {
		return h.pool.prepare(ctx, query)
	}
	t := h.tx
	ctx = h.stmtContext(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.stmts[query]; st != nil {
		return st, nil
	}
	var st *sql.Stmt
	if ps := t.cache.lookup(query); ps != nil {
		st = t.tx.StmtContext(ctx, ps)
	} else {
		// Prepared on the transaction's own connection: it never waits
		// for another connection of the pool.
		var err error
		if st, err = t.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		t.cache.noteMiss(query)
		t.missed = append(t.missed, query)
	}
	if t.stmts == nil {
		t.stmts = make(map[string]*sql.Stmt)
	}
	t.stmts[query] = st
	return st, nil
}

// stmtContext is the context a statement of h runs with: in a shared
// write transaction, one its caller's cancellation does not interrupt.
func (h handle) stmtContext(ctx context.Context) context.Context {
	if h.tx != nil && h.tx.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (h handle) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = h.stmtContext(ctx)
	st, err := h.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return h.pool.db.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (h handle) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = h.stmtContext(ctx)
	st, err := h.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return h.pool.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs a query expected to return at most one row and scans it.
func (h handle) queryRow(ctx context.Context, dest []any, query string, args ...any) error {
	rows, err := h.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// affected returns the rows changed by a statement.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// maxCachedStatements bounds the statements a pool keeps prepared; filter
// shapes beyond it run unprepared.
const maxCachedStatements = 512

// stmtCache keeps statements prepared on one pool, by SQL text.
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	misses map[string]int // statements prepared inside a transaction
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: make(map[string]*sql.Stmt), misses: make(map[string]int)}
}

func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// prepare returns the cached statement for query, preparing it on the pool
// when missing. The caller must not hold a connection of the pool. It
// returns nil (run unprepared) when the cache is full.
func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st := c.stmts[query]
	full := len(c.stmts) >= maxCachedStatements
	c.mu.Unlock()
	if st != nil || full {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.stmts[query]; prev != nil {
		_ = st.Close()
		return prev, nil
	}
	c.stmts[query] = st
	return st, nil
}

// noteMiss records a statement prepared inside a transaction because the
// pool had none (the tests assert the static ones never are). Only the
// first statements are kept: dynamic filters beyond the cache are many.
func (c *stmtCache) noteMiss(query string) {
	c.mu.Lock()
	if _, ok := c.misses[query]; ok || len(c.misses) < maxCachedStatements {
		c.misses[query]++
	}
	c.mu.Unlock()
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
}

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		return q[:i] + " ..."
	}
	return q
}

// Times are stored as unix nanoseconds, UTC; 0 is the zero time. Times
// outside what int64 nanoseconds can hold are clamped.
var (
	minTime = time.Unix(0, -1<<63+1).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

func toNanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		return minTime.UnixNano()
	case t.After(maxTime):
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// uniqueAttrs maps the columns SQLite names in a UNIQUE violation to the
// record kind and attribute of the *repository.ConflictError.
var uniqueAttrs = map[string][2]string{
	"accounts.id":                                    {"account", "id"},
	"accounts.name_lc":                               {"account", "name"},
	"members.account_id, members.id":                 {"member", "id"},
	"members.account_id, members.user_name_lc":       {"member", "userName"},
	"members.account_id, members.external_id":        {"member", "externalId"},
	"groups.account_id, groups.id":                   {"group", "id"},
	"groups.account_id, groups.display_name_lc":      {"group", "displayName"},
	"groups.account_id, groups.external_id":          {"group", "externalId"},
	"roles.account_id, roles.role_key_lc":            {"role", "key"},
	"invitations.account_id, invitations.id":         {"invitation", "id"},
	"invitations.token_hash":                         {"invitation", "tokenHash"},
	"tokens.account_id, tokens.id":                   {"token", "id"},
	"tokens.hash":                                    {"token", "hash"},
	"sessions.account_id, sessions.id":               {"session", "id"},
	"sessions.hash":                                  {"session", "hash"},
	"sso_connections.account_id, sso_connections.id": {"sso connection", "id"},
	"sso_domains.domain_lc":                          {"sso connection", "domain"},
	"audit_events.account_id, audit_events.id":       {"audit event", "id"},
	"outbox.account_id, outbox.id":                   {"outbox message", "id"},
}

// mapErr turns a UNIQUE violation into a *repository.ConflictError naming
// the attribute, and wraps any other error with op.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		msg := se.Error()
		if _, cols, ok := strings.Cut(msg, "UNIQUE constraint failed: "); ok {
			if i := strings.Index(cols, " ("); i >= 0 {
				cols = cols[:i]
			}
			if ka, ok := uniqueAttrs[strings.TrimSpace(cols)]; ok {
				return fmt.Errorf("%s: %w", op, repository.NewConflict(ka[0], ka[1]))
			}
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// notFound wraps repository.ErrNotFound with the operation.
func notFound(op string) error {
	return fmt.Errorf("%s: %w", op, repository.ErrNotFound)
}

// wrap wraps err with op unless it is nil or already one of the store's
// sentinel errors reported by a helper.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

// update runs the read, fn and compare-and-swap write of an UpdateX inside
// one IMMEDIATE transaction (attempt's store calls join it through the
// context it is given). Holding the write lock, nobody can change the
// record between the read and the write, so the version check only fails
// on a bug or a record replaced meanwhile, and the attempt is then retried.
// Reading through the writer connection also hits its page cache, which
// every write empties on the reader connections.
//
// fn runs while the lock is held: it must be quick, and must not write
// through the store with a context other than the one of the transaction.
func (s *Store) update(ctx context.Context, op string, attempt func(ctx context.Context) (won bool, err error)) error {
	for range updateAttempts {
		won := false
		err := s.write(ctx, func(h handle) error {
			var err error
			won, err = attempt(context.WithValue(ctx, txKey{}, h.tx))
			return err
		})
		if err != nil || won {
			return err
		}
	}
	return fmt.Errorf("%s: %w", op, repository.ErrVersionMismatch)
}

// nextUpdate returns the UpdatedAt of a new version: now, but never at or
// before the previous one, so lastModified always moves forward.
func (s *Store) nextUpdate(prev time.Time) time.Time {
	now := s.now()
	if !now.After(prev) {
		now = prev.Add(time.Nanosecond)
	}
	return now
}

// jsonStrings encodes ids as a JSON array for json_each, which binds a whole
// list as one parameter (no statement per list length, no variable limit).
func jsonStrings(ids []string) string {
	if ids == nil {
		return "[]"
	}
	b, err := json.Marshal(ids)
	if err != nil { // cannot happen for strings
		return "[]"
	}
	return string(b)
}

// dedupe returns ids without repeats, in first-seen order.
func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; ok {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	return out
}
