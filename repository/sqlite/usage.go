package sqlite

import (
	"context"

	"github.com/rosterhq/roster/repository"
)

// qUsage counts per account in one statement (one read snapshot). Each
// subquery is a range of an account-leading index (members_seat_status,
// the seats primary key), so the cost grows with what is counted, never
// with a scan of another account's rows.
var qUsage = `SELECT a.id, a.seat_total,
	(SELECT count(*) FROM members m WHERE m.account_id = a.id),
	(SELECT count(*) FROM seats s WHERE s.account_id = a.id),
	(SELECT count(*) FROM members m WHERE m.account_id = a.id AND m.seat_status_lc = '` + repository.SeatQueued + `')
FROM accounts a ORDER BY a.id`

// UsageTotals counts accounts, members and seats across the deployment.
func (s *Store) UsageTotals(ctx context.Context, byAccount bool) (repository.Usage, error) {
	var u repository.Usage
	rows, err := s.reader(ctx).query(ctx, qUsage)
	if err != nil {
		return repository.Usage{}, wrap("usage totals", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a repository.AccountUsage
		if err := rows.Scan(&a.AccountID, &a.SeatsTotal, &a.Members, &a.SeatsInUse, &a.SeatsQueued); err != nil {
			return repository.Usage{}, wrap("usage totals", err)
		}
		u.Accounts++
		u.Members += a.Members
		u.SeatsTotal += a.SeatsTotal
		u.SeatsInUse += a.SeatsInUse
		u.SeatsQueued += a.SeatsQueued
		if byAccount {
			u.ByAccount = append(u.ByAccount, a)
		}
	}
	if err := rows.Err(); err != nil {
		return repository.Usage{}, wrap("usage totals", err)
	}
	return u, nil
}
