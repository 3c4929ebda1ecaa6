package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// checkpointInterval is how often the checkpointer copies the WAL back
// into the database file. At a few hundred writes a second the WAL then
// holds some thousands of pages, and a page written by many transactions
// meanwhile is copied (and the file synced) once.
const checkpointInterval = 500 * time.Millisecond

// backstopCheckpointPages is the writer's automatic checkpoint threshold
// (SQLite's default is 1000 pages), reached only when the checkpointer
// cannot keep up or is not running; it bounds the WAL at about 64 MiB.
const backstopCheckpointPages = 16000

// checkpointer runs passive WAL checkpoints on its own connection, off the
// request path: a passive checkpoint never blocks the writer or readers,
// and the writer restarts the WAL from its beginning once everything is
// copied. Several processes sharing the file each run one; the checkpoint
// lock lets one at a time work, and the others' attempts do nothing.
type checkpointer struct {
	db   *sql.DB
	stop context.CancelFunc
	done chan struct{}
}

func newCheckpointer(db *sql.DB, every time.Duration) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, stop: cancel, done: make(chan struct{})}
	go c.run(ctx, every)
	return c
}

func (c *checkpointer) run(ctx context.Context, every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A failure (the file busy or gone) is retried at the next
			// tick; the writer's backstop bounds the WAL meanwhile.
			_, _, _ = c.checkpoint(ctx)
		}
	}
}

// checkpoint copies what it can of the WAL into the database file and
// returns how many frames the WAL holds and how many are copied.
func (c *checkpointer) checkpoint(ctx context.Context) (walFrames, copied int, err error) {
	var busy int
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &walFrames, &copied)
	return walFrames, copied, err
}

// close stops the checkpointer and closes its connection. (SQLite
// checkpoints the WAL itself when the file's last connection closes.)
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.db.Close()
}
