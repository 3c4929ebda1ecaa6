package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso"
)

// migrateSynopsis is the usage line of "migrate".
const migrateSynopsis = "roster migrate --from URL --to URL [--batch N] [--resume] [--force] [--verify-only] [--stop-after N]"

// defaultMigrateBatch is how many records one export page and one import
// carry.
const defaultMigrateBatch = 500

// progressEvery is how often a migration without a terminal prints a
// progress line.
const progressEvery = 5 * time.Second

// runMigrate is "roster migrate": copy every record of one store into
// another, kind by kind in dependency order, checkpointing in the target
// after every batch, then verify both sides (count and SHA-256 per kind).
// It fails (exit 1) when the verification finds a difference.
func runMigrate(ctx context.Context, c cli, args []string) (err error) {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	from := fs.String("from", "", "source store `URL`: sqlite:PATH or mongodb://… (required)")
	to := fs.String("to", "", "target store `URL`: mongodb://… or sqlite:PATH (required)")
	batch := fs.Int("batch", defaultMigrateBatch, "records per export page and import write (`N`)")
	resume := fs.Bool("resume", false, "continue a migration into the target from its checkpoint")
	force := fs.Bool("force", false, "copy into a target that already holds other data (records with the same key are replaced)")
	verifyOnly := fs.Bool("verify-only", false, "copy nothing: only compare the two stores")
	stopAfter := fs.Int("stop-after", 0, "stop after copying `N` records, checkpoint saved (a staged migration; continue with --resume)")
	if err := parseFlags(c, fs, args, migrateSynopsis); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(*from) == "":
		return &usageError{"migrate: --from is required"}
	case strings.TrimSpace(*to) == "":
		return &usageError{"migrate: --to is required"}
	case *batch < 1 || *batch > 10000:
		return &usageError{fmt.Sprintf("migrate: --batch %d is not from 1 to 10000", *batch)}
	case *stopAfter < 0:
		return &usageError{"migrate: --stop-after must not be negative"}
	}
	src, err := config.ParseStoreURL(*from)
	if err != nil {
		return &usageError{fmt.Sprintf("migrate: --from: %v", err)}
	}
	dst, err := config.ParseStoreURL(*to)
	if err != nil {
		return &usageError{fmt.Sprintf("migrate: --to: %v", err)}
	}
	if sameStore(src, dst) {
		return &usageError{"migrate: --from and --to name the same store"}
	}
	if src.Kind == config.StoreSQLite {
		// Opening would create an empty store: say what is wrong instead.
		if _, err := os.Stat(src.Path); os.IsNotExist(err) {
			return fmt.Errorf("migrate: --from: no store at %s", src.Path)
		} else if err != nil {
			return fmt.Errorf("migrate: --from: %w", err)
		}
	}

	// A first signal stops after the batch being written, checkpoint
	// saved; stop() restores the default handling for a second one.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	source, err := openStore(ctx, src)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := source.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	target, err := openStore(ctx, dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := target.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	m, err := newMigrator(source, target, storeName(src), storeName(dst))
	if err != nil {
		return err
	}
	m.batch = *batch
	m.stopAfter = *stopAfter
	m.out = c.stdout
	m.bar = newMigrateBar(c.stderr)

	if !*verifyOnly {
		finished, err := m.copy(ctx, *resume, *force)
		if err != nil {
			return err
		}
		if !finished {
			return nil
		}
		if src.Kind == config.StoreSQLite {
			keyNote(c.stdout, src.Path)
		}
	}
	return m.verify(ctx)
}

// sameStore reports whether two store URLs name the same store.
func sameStore(a, b config.StoreURL) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == config.StoreSQLite {
		pa, errA := filepath.Abs(a.Path)
		pb, errB := filepath.Abs(b.Path)
		return errA == nil && errB == nil && pa == pb
	}
	return strings.TrimRight(a.URI, "/") == strings.TrimRight(b.URI, "/")
}

// storeName names a store in messages and in the checkpoint: credentials
// masked, an SQLite path made absolute so that a resumed run finds its
// checkpoint from any working directory.
func storeName(u config.StoreURL) string {
	if u.Kind == config.StoreSQLite {
		if abs, err := filepath.Abs(u.Path); err == nil {
			return "sqlite:" + abs
		}
	}
	return u.Redacted()
}

// keyNote tells the operator to carry the embedded store's generated
// secret key over: SSO client secrets and signing keys are sealed with it.
func keyNote(w io.Writer, dbPath string) {
	path := filepath.Join(filepath.Dir(dbPath), sso.SecretKeyFile)
	if _, err := os.Stat(path); err != nil {
		return
	}
	fmt.Fprintf(w, "\nSSO secrets and signing keys are sealed with the key in %s: start every\n"+
		"instance on the new store with the same key, e.g. ROSTER_SSO_SECRET_KEY=\"$(cat %s)\".\n", path, path)
}

// migrator copies and verifies one source into one target.
type migrator struct {
	src       repository.Exporter
	dst       repository.Importer
	dstExport repository.Exporter
	ckpt      repository.Checkpointer
	srcName   string
	dstName   string
	batch     int
	stopAfter int
	out       io.Writer
	bar       *migrateBar
	now       func() time.Time
}

func newMigrator(source, target repository.Store, srcName, dstName string) (*migrator, error) {
	src, ok := source.(repository.Exporter)
	if !ok {
		return nil, fmt.Errorf("migrate: the store %s cannot export records", srcName)
	}
	dst, ok := target.(repository.Importer)
	if !ok {
		return nil, fmt.Errorf("migrate: the store %s cannot import records", dstName)
	}
	dstExport, ok := target.(repository.Exporter)
	if !ok {
		return nil, fmt.Errorf("migrate: the store %s cannot export records", dstName)
	}
	ckpt, ok := target.(repository.Checkpointer)
	if !ok {
		return nil, fmt.Errorf("migrate: the store %s cannot keep a checkpoint", dstName)
	}
	return &migrator{
		src: src, dst: dst, dstExport: dstExport, ckpt: ckpt, srcName: srcName, dstName: dstName,
		batch: defaultMigrateBatch, out: io.Discard, bar: &migrateBar{w: io.Discard},
		now: func() time.Time { return time.Now().UTC() },
	}, nil
}

// start decides where copying begins: the target's checkpoint when
// resuming, the beginning otherwise. It refuses a target holding other
// data unless forced.
func (m *migrator) start(ctx context.Context, resume, force bool) (repository.Checkpoint, error) {
	cp, err := m.ckpt.LoadCheckpoint(ctx)
	hasCkpt := err == nil
	if err != nil && !errors.Is(err, repository.ErrNotFound) {
		return cp, fmt.Errorf("migrate: %w", err)
	}
	fresh := repository.Checkpoint{Source: m.srcName, StartedAt: m.now()}
	if hasCkpt {
		switch {
		case cp.Source != m.srcName && !force:
			return cp, fmt.Errorf("migrate: %s holds a migration from %s, not from %s: use --force to copy into it anyway", m.dstName, cp.Source, m.srcName)
		case resume && cp.Source == m.srcName:
			return cp, nil
		case force:
			return fresh, nil
		case cp.Done:
			return cp, fmt.Errorf("migrate: %s already holds a finished migration from %s: use --verify-only to compare, or --force to copy again", m.dstName, cp.Source)
		}
		return cp, fmt.Errorf("migrate: %s holds a migration from %s stopped in %s: run again with --resume", m.dstName, cp.Source, cp.Kind)
	}
	if force {
		return fresh, nil
	}
	for _, k := range repository.TransferKinds() {
		recs, err := m.dstExport.Export(ctx, k, "", 1)
		if err != nil {
			return cp, fmt.Errorf("migrate: look into %s: %w", m.dstName, err)
		}
		if len(recs) > 0 {
			return cp, fmt.Errorf("migrate: %s already holds data (%s): migrate into an empty store, or use --force", m.dstName, k)
		}
	}
	return fresh, nil
}

// copy copies every kind from the checkpoint on. It returns false when it
// stopped early on purpose (--stop-after).
func (m *migrator) copy(ctx context.Context, resume, force bool) (bool, error) {
	cp, err := m.start(ctx, resume, force)
	if err != nil {
		return false, err
	}
	if cp.Done {
		fmt.Fprintf(m.out, "Migration from %s into %s already finished; verifying.\n", m.srcName, m.dstName)
		return true, nil
	}
	kinds := repository.TransferKinds()
	first := 0
	if cp.Kind != "" {
		for i, k := range kinds {
			if k == cp.Kind {
				first = i
			}
		}
		fmt.Fprintf(m.out, "Resuming the migration from %s in %s after %s.\n", m.srcName, cp.Kind, displayKey(cp.After))
	}
	started := time.Now()
	copied := 0
	for i := first; i < len(kinds); i++ {
		kind := kinds[i]
		after := ""
		if kind == cp.Kind {
			after = cp.After
		}
		total, err := m.src.Count(ctx, kind)
		if err != nil {
			return false, fmt.Errorf("migrate: %w", err)
		}
		done := 0
		kindStart := time.Now()
		m.bar.start(m.out, kind, total)
		for {
			if err := ctx.Err(); err != nil {
				m.bar.finish()
				return false, fmt.Errorf("migrate: interrupted in %s after %d records: run again with --resume", kind, copied)
			}
			limit := m.batch
			if m.stopAfter > 0 {
				limit = min(limit, m.stopAfter-copied)
			}
			recs, err := m.src.Export(ctx, kind, after, limit)
			if err != nil {
				m.bar.finish()
				if ctx.Err() != nil {
					return false, fmt.Errorf("migrate: interrupted in %s after %d records: run again with --resume", kind, copied)
				}
				return false, fmt.Errorf("migrate: %w", err)
			}
			if len(recs) > 0 {
				// The import outlives an interruption: a batch is written
				// whole and its checkpoint saved.
				wctx := context.WithoutCancel(ctx)
				if err := m.dst.Import(wctx, kind, recs); err != nil {
					m.bar.finish()
					return false, fmt.Errorf("migrate: %w", err)
				}
				after = recs[len(recs)-1].Key
				cp.Kind, cp.After, cp.UpdatedAt = kind, after, m.now()
				if err := m.ckpt.SaveCheckpoint(wctx, cp); err != nil {
					m.bar.finish()
					return false, fmt.Errorf("migrate: %w", err)
				}
				copied += len(recs)
				done += len(recs)
				m.bar.update(done, total)
			}
			if m.stopAfter > 0 && copied >= m.stopAfter {
				m.bar.finish()
				fmt.Fprintf(m.out, "Stopped after %d records, in %s after %s; the checkpoint is saved in %s: run again with --resume.\n",
					copied, kind, displayKey(after), m.dstName)
				return false, nil
			}
			if len(recs) < limit {
				break
			}
		}
		m.bar.finish()
		fmt.Fprintf(m.out, "copied %-18s %7d in %s\n", kind, done, time.Since(kindStart).Round(time.Millisecond))
	}
	cp.Done, cp.UpdatedAt = true, m.now()
	if err := m.ckpt.SaveCheckpoint(context.WithoutCancel(ctx), cp); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(m.out, "Copied %d records from %s into %s in %s.\n", copied, m.srcName, m.dstName, time.Since(started).Round(time.Millisecond))
	return true, nil
}

// kindResult is one line of the verification table.
type kindResult struct {
	kind             repository.RecordKind
	srcCount, dstCnt int
	srcSum, dstSum   string
	firstDiff        string
}

func (r kindResult) ok() bool { return r.srcCount == r.dstCnt && r.srcSum == r.dstSum }

// verify compares every kind of both stores: the count and the SHA-256 of
// the canonical records in key order. It prints a table and fails when a
// kind differs, naming the first differing record.
func (m *migrator) verify(ctx context.Context) error {
	var results []kindResult
	for _, kind := range repository.TransferKinds() {
		r := kindResult{kind: kind}
		var err error
		if r.srcCount, r.srcSum, err = m.checksum(ctx, m.src, kind); err != nil {
			return fmt.Errorf("migrate: verify %s in %s: %w", kind, m.srcName, err)
		}
		if r.dstCnt, r.dstSum, err = m.checksum(ctx, m.dstExport, kind); err != nil {
			return fmt.Errorf("migrate: verify %s in %s: %w", kind, m.dstName, err)
		}
		if !r.ok() {
			if r.firstDiff, err = m.firstDifference(ctx, kind); err != nil {
				return fmt.Errorf("migrate: verify %s: %w", kind, err)
			}
		}
		results = append(results, r)
	}
	fmt.Fprintf(m.out, "\nVerification (count and SHA-256 of the records in key order; times at %s):\n", repository.TransferPrecision)
	tw := tabwriter.NewWriter(m.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSOURCE\tTARGET\tSHA-256\tRESULT")
	var bad []string
	for _, r := range results {
		res := "ok"
		if !r.ok() {
			res = "MISMATCH: " + r.firstDiff
			bad = append(bad, string(r.kind))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", r.kind, r.srcCount, r.dstCnt, r.srcSum[:16], res)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("migrate: write output: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("migrate: verification failed: %s differ between %s and %s", strings.Join(bad, ", "), m.srcName, m.dstName)
	}
	fmt.Fprintf(m.out, "Every kind matches.\n")
	return nil
}

// checksum counts and hashes every record of kind in e.
func (m *migrator) checksum(ctx context.Context, e repository.Exporter, kind repository.RecordKind) (int, string, error) {
	var sum repository.Checksum
	p := &pager{e: e, kind: kind, batch: m.batch}
	for {
		r, ok, err := p.next(ctx)
		if err != nil {
			return 0, "", err
		}
		if !ok {
			return sum.Count, sum.Sum(), nil
		}
		if err := sum.Add(r); err != nil {
			return 0, "", err
		}
	}
}

// firstDifference walks both sides of kind in key order and describes the
// first record missing from one side or different between them.
func (m *migrator) firstDifference(ctx context.Context, kind repository.RecordKind) (string, error) {
	a := &pager{e: m.src, kind: kind, batch: m.batch}
	b := &pager{e: m.dstExport, kind: kind, batch: m.batch}
	ra, okA, err := a.next(ctx)
	if err != nil {
		return "", err
	}
	rb, okB, err := b.next(ctx)
	if err != nil {
		return "", err
	}
	for okA || okB {
		switch {
		case !okB || (okA && ra.Key < rb.Key):
			return "missing from target: " + displayKey(ra.Key), nil
		case !okA || rb.Key < ra.Key:
			return "only in target: " + displayKey(rb.Key), nil
		}
		ja, err := repository.CanonicalJSON(ra)
		if err != nil {
			return "", err
		}
		jb, err := repository.CanonicalJSON(rb)
		if err != nil {
			return "", err
		}
		if string(ja) != string(jb) {
			return "differs: " + displayKey(ra.Key), nil
		}
		if ra, okA, err = a.next(ctx); err != nil {
			return "", err
		}
		if rb, okB, err = b.next(ctx); err != nil {
			return "", err
		}
	}
	return "records equal, order differs", nil
}

// pager reads a kind one record at a time, a page at a time.
type pager struct {
	e     repository.Exporter
	kind  repository.RecordKind
	batch int
	buf   []repository.Record
	after string
	end   bool
}

func (p *pager) next(ctx context.Context) (repository.Record, bool, error) {
	if len(p.buf) == 0 && !p.end {
		recs, err := p.e.Export(ctx, p.kind, p.after, p.batch)
		if err != nil {
			return repository.Record{}, false, err
		}
		p.buf = recs
		p.end = len(recs) < p.batch
		if len(recs) > 0 {
			p.after = recs[len(recs)-1].Key
		}
	}
	if len(p.buf) == 0 {
		return repository.Record{}, false, nil
	}
	r := p.buf[0]
	p.buf = p.buf[1:]
	return r, true, nil
}

// displayKey shows a record key with its parts joined by "/".
func displayKey(key string) string {
	if key == "" {
		return "the start"
	}
	return strings.ReplaceAll(key, "\x00", "/")
}

// migrateBar shows a kind's progress: a bar redrawn in place on a
// terminal, a plain line every few seconds anywhere else.
type migrateBar struct {
	w     io.Writer // the terminal, when there is one
	tty   bool
	plain io.Writer
	kind  repository.RecordKind
	total int
	last  time.Time
}

// newMigrateBar returns a bar on w when it is a terminal; otherwise
// progress goes as plain lines to the output given to start.
func newMigrateBar(w io.Writer) *migrateBar {
	return &migrateBar{w: w, tty: isTerminal(w)}
}

func (b *migrateBar) start(plain io.Writer, kind repository.RecordKind, total int) {
	b.plain, b.kind, b.total, b.last = plain, kind, total, time.Now()
	b.update(0, total)
}

func (b *migrateBar) update(done, total int) {
	now := time.Now()
	if b.tty {
		if done > 0 && done < total && now.Sub(b.last) < 100*time.Millisecond {
			return
		}
		b.last = now
		filled := barWidth
		if total > 0 {
			filled = min(done, total) * barWidth / total
		}
		fmt.Fprintf(b.w, "\rcopying %-18s [%s%s] %d/%d", b.kind, strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), done, total)
		return
	}
	if done > 0 && now.Sub(b.last) >= progressEvery && b.plain != nil {
		b.last = now
		fmt.Fprintf(b.plain, "copying %s: %d/%d\n", b.kind, done, total)
	}
}

func (b *migrateBar) finish() {
	if b.tty {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", barWidth+50))
	}
}
