package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rosterhq/roster/repository"
)

// The SSO bridge's state: one-time values, identity links, signing keys
// and login-failure throttles (see migrations/0006_sso.sql).

// maxFailures is how many failures of one key the throttle keeps: counts
// saturate there, which bounds the rows an attacker hammering one key
// can make while staying far above any backoff threshold.
const maxFailures = 100

var (
	qPutOneTime = "INSERT INTO one_time_values (ot_key, value, expires_at) VALUES (?, ?, ?)"
	// Deleting and returning in one statement makes the take atomic: of
	// concurrent takers (in any process sharing the file) one deletes the
	// row, the others find nothing.
	qTakeOneTime           = "DELETE FROM one_time_values WHERE ot_key = ? AND expires_at > ? RETURNING value"
	qDeleteExpiredOneTimes = "DELETE FROM one_time_values WHERE expires_at < ?"

	qInsertLink       = "INSERT INTO identity_links (account_id, connection_id, subject, member_id, created_at) VALUES (?, ?, ?, ?, ?)"
	qGetLink          = "SELECT account_id, connection_id, subject, member_id, created_at FROM identity_links WHERE account_id = ? AND connection_id = ? AND subject = ?"
	qListMemberLinks  = "SELECT account_id, connection_id, subject, member_id, created_at FROM identity_links WHERE account_id = ? AND member_id = ? ORDER BY created_at, connection_id, subject"
	qDeleteLink       = "DELETE FROM identity_links WHERE account_id = ? AND connection_id = ? AND subject = ?"
	qDeleteMemberLink = "DELETE FROM identity_links WHERE account_id = ? AND member_id = ?"
	qDeleteConnLinks  = "DELETE FROM identity_links WHERE account_id = ? AND connection_id = ?"

	qInsertSigningKey = `INSERT INTO signing_keys (id, algorithm, private_key, public_key, created_at, retires_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	qListSigningKeys = `SELECT id, algorithm, private_key, public_key, created_at, retires_at, expires_at FROM signing_keys
		WHERE expires_at = 0 OR expires_at > ? ORDER BY created_at DESC, id DESC`
	qDeleteExpiredSigningKeys = "DELETE FROM signing_keys WHERE expires_at <> 0 AND expires_at < ?"

	qInsertFailure = "INSERT INTO throttle_failures (throttle_key, failed_at) VALUES (?, ?)"
	// Keep the key's newest maxFailures rows (by insertion, as MongoDB's
	// $slice does).
	qTrimFailures = `DELETE FROM throttle_failures WHERE throttle_key = ? AND pk <= (
		SELECT pk FROM throttle_failures WHERE throttle_key = ? ORDER BY pk DESC LIMIT 1 OFFSET ?)`
	qCountFailures = "SELECT count(*), coalesce(max(failed_at), 0) FROM throttle_failures WHERE throttle_key = ? AND failed_at > ?"
	qClearFailures = "DELETE FROM throttle_failures WHERE throttle_key = ?"
	// Rows older than the cut-off can count in no window the caller uses.
	qDeleteFailuresBefore = "DELETE FROM throttle_failures WHERE failed_at < ?"
)

// ssoUnique maps the UNIQUE violations of the SSO tables to the
// attribute a *repository.ConflictError names.
var ssoUnique = map[string][2]string{
	"one_time_values.ot_key": {"one-time value", "key"},
	"identity_links.account_id, identity_links.connection_id, identity_links.subject": {"identity link", "subject"},
	"signing_keys.id": {"signing key", "id"},
}

// ssoErr is mapErr for the SSO tables.
func ssoErr(op string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		if _, cols, ok := strings.Cut(se.Error(), "UNIQUE constraint failed: "); ok {
			if i := strings.Index(cols, " ("); i >= 0 {
				cols = cols[:i]
			}
			if ka, ok := ssoUnique[strings.TrimSpace(cols)]; ok {
				return fmt.Errorf("%s: %w", op, repository.NewConflict(ka[0], ka[1]))
			}
		}
	}
	return mapErr(op, err)
}

// PutOneTime stores value under key until expiresAt; a key already stored
// (expired or not, until swept) is a conflict on "key".
func (s *Store) PutOneTime(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	var v any
	if len(value) > 0 {
		v = value
	}
	_, err := s.writer(ctx).exec(ctx, qPutOneTime, key, v, toNanos(expiresAt))
	return ssoErr("put one-time value", err)
}

// TakeOneTime removes and returns the value of key if it is not expired at
// now; otherwise ErrNotFound.
func (s *Store) TakeOneTime(ctx context.Context, key string, now time.Time) ([]byte, error) {
	var value []byte
	err := s.writer(ctx).queryRow(ctx, []any{blobDest{&value}}, qTakeOneTime, key, toNanos(now))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("take one-time value")
	}
	if err != nil {
		return nil, wrap("take one-time value", err)
	}
	if value == nil {
		value = []byte{}
	}
	return value, nil
}

// DeleteExpiredOneTime removes values that expired before now.
func (s *Store) DeleteExpiredOneTime(ctx context.Context, now time.Time) (int, error) {
	n, err := affected(s.writer(ctx).exec(ctx, qDeleteExpiredOneTimes, toNanos(now)))
	return int(n), wrap("delete expired one-time values", err)
}

// CreateIdentityLink stores l, filling CreatedAt when zero; a (connection,
// subject) already linked in the account is a conflict on "subject".
func (s *Store) CreateIdentityLink(ctx context.Context, l repository.IdentityLink) (repository.IdentityLink, error) {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = s.now()
	}
	_, err := s.writer(ctx).exec(ctx, qInsertLink, l.AccountID, l.ConnectionID, l.Subject, l.MemberID, toNanos(l.CreatedAt))
	if err != nil {
		return repository.IdentityLink{}, ssoErr("create identity link", err)
	}
	return l, nil
}

// GetIdentityLink finds the link of (connection, subject) in the account.
func (s *Store) GetIdentityLink(ctx context.Context, accountID, connectionID, subject string) (repository.IdentityLink, error) {
	var l repository.IdentityLink
	err := s.reader(ctx).queryRow(ctx, linkDests(&l), qGetLink, accountID, connectionID, subject)
	if errors.Is(err, sql.ErrNoRows) {
		return l, notFound("get identity link")
	}
	return l, wrap("get identity link", err)
}

// ListMemberIdentityLinks lists a member's links, oldest first.
func (s *Store) ListMemberIdentityLinks(ctx context.Context, accountID, memberID string) ([]repository.IdentityLink, error) {
	rows, err := s.reader(ctx).query(ctx, qListMemberLinks, accountID, memberID)
	if err != nil {
		return nil, wrap("list identity links", err)
	}
	defer rows.Close()
	var out []repository.IdentityLink
	for rows.Next() {
		var l repository.IdentityLink
		if err := rows.Scan(linkDests(&l)...); err != nil {
			return nil, wrap("list identity links", err)
		}
		out = append(out, l)
	}
	return out, wrap("list identity links", rows.Err())
}

// DeleteIdentityLink removes the link of (connection, subject); ErrNotFound
// when the account has none.
func (s *Store) DeleteIdentityLink(ctx context.Context, accountID, connectionID, subject string) error {
	return s.changeOne(ctx, "delete identity link", qDeleteLink, accountID, connectionID, subject)
}

func linkDests(l *repository.IdentityLink) []any {
	return []any{&l.AccountID, &l.ConnectionID, &l.Subject, &l.MemberID, timeDest{&l.CreatedAt}}
}

// CreateSigningKey stores k; an ID already stored is a conflict on "id".
func (s *Store) CreateSigningKey(ctx context.Context, k repository.SigningKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	_, err := s.writer(ctx).exec(ctx, qInsertSigningKey, k.ID, k.Algorithm,
		colValue(cBlob, &k.PrivateKey), colValue(cBlob, &k.PublicKey),
		toNanos(k.CreatedAt), toNanos(k.RetiresAt), toNanos(k.ExpiresAt))
	return ssoErr("create signing key", err)
}

// ListSigningKeys returns the keys not expired at now (a zero ExpiresAt
// never expires), newest first.
func (s *Store) ListSigningKeys(ctx context.Context, now time.Time) ([]repository.SigningKey, error) {
	rows, err := s.reader(ctx).query(ctx, qListSigningKeys, toNanos(now))
	if err != nil {
		return nil, wrap("list signing keys", err)
	}
	defer rows.Close()
	var out []repository.SigningKey
	for rows.Next() {
		var k repository.SigningKey
		if err := rows.Scan(&k.ID, &k.Algorithm, blobDest{&k.PrivateKey}, blobDest{&k.PublicKey},
			timeDest{&k.CreatedAt}, timeDest{&k.RetiresAt}, timeDest{&k.ExpiresAt}); err != nil {
			return nil, wrap("list signing keys", err)
		}
		out = append(out, k)
	}
	return out, wrap("list signing keys", rows.Err())
}

// DeleteExpiredSigningKeys removes keys that expired before now.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	n, err := affected(s.writer(ctx).exec(ctx, qDeleteExpiredSigningKeys, toNanos(now)))
	return int(n), wrap("delete expired signing keys", err)
}

// RecordFailure adds one failure of key at at and returns how many of the
// key's failures are within window before at (after at too: a concurrent
// caller's). The insert, trim and count run in one write transaction, so
// concurrent callers each count their own failure once.
func (s *Store) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	var n int
	err := s.write(ctx, func(h handle) error {
		if _, err := h.exec(ctx, qInsertFailure, key, toNanos(at)); err != nil {
			return err
		}
		if _, err := h.exec(ctx, qTrimFailures, key, key, maxFailures); err != nil {
			return err
		}
		var latest int64
		return h.queryRow(ctx, []any{&n, &latest}, qCountFailures, key, toNanos(at.Add(-window)))
	})
	return n, wrap("record failure", err)
}

// Failures returns the count of key's failures within window before now
// and the time of the latest of them.
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, time.Time, error) {
	var n int
	var latest time.Time
	err := s.reader(ctx).queryRow(ctx, []any{&n, timeDest{&latest}}, qCountFailures, key, toNanos(now.Add(-window)))
	if err != nil {
		return 0, time.Time{}, wrap("failures", err)
	}
	return n, latest, nil
}

// ClearFailures forgets key's failures.
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	_, err := s.writer(ctx).exec(ctx, qClearFailures, key)
	return wrap("clear failures", err)
}

// DeleteFailuresBefore removes every failure recorded before the cut-off
// (through the throttle_failures_at index).
func (s *Store) DeleteFailuresBefore(ctx context.Context, before time.Time) (int, error) {
	n, err := affected(s.writer(ctx).exec(ctx, qDeleteFailuresBefore, toNanos(before)))
	return int(n), wrap("delete failures before", err)
}
