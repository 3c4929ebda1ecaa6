package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/rosterhq/roster/repository"
)

var (
	qInsertAccount    = accountTable.insertSQL()
	qGetAccount       = "SELECT " + accountTable.selectList("") + " FROM accounts WHERE id = ?"
	qGetAccountByName = "SELECT " + accountTable.selectList("") + " FROM accounts WHERE name_lc = ?"
	qUpdateAccount    = accountTable.updateSQL("id = ? AND version = ?")

	qInsertAccountDeletion = `INSERT INTO account_deletions (account_id, name, deleted_at, reason) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, deleted_at = excluded.deleted_at, reason = excluded.reason`
	qGetAccountDeletion = "SELECT account_id, name, deleted_at, reason FROM account_deletions WHERE account_id = ?"
)

// accountTables lists every table holding account data, children first;
// DeleteAccount empties them of the account.
var accountTables = []string{
	"member_emails", "member_phones", "member_addresses", "member_roles",
	"member_optional_permissions", "member_expertise", "member_channels",
	"group_members", "groups", "seats", "members",
	"role_permissions", "roles", "invitations", "tokens", "sessions",
	"identity_links", "sso_domains", "sso_connections", "audit_events", "outbox",
}

var qDeleteAccountRows = func() []string {
	out := make([]string, 0, len(accountTables)+1)
	for _, t := range accountTables {
		out = append(out, "DELETE FROM "+t+" WHERE account_id = ?")
	}
	return append(out, "DELETE FROM accounts WHERE id = ?")
}()

// CreateAccount stores a new account; a name equal in any case to another
// account's is a conflict on "name".
func (s *Store) CreateAccount(ctx context.Context, a repository.Account) (repository.Account, error) {
	if a.ID == "" {
		a.ID = repository.NewID()
	}
	now := s.now()
	a.Version, a.CreatedAt, a.UpdatedAt = 1, now, now
	if _, err := s.writer(ctx).exec(ctx, qInsertAccount, accountTable.args(&a)...); err != nil {
		return repository.Account{}, mapErr("create account", err)
	}
	return a, nil
}

// GetAccount returns the account.
func (s *Store) GetAccount(ctx context.Context, id string) (repository.Account, error) {
	a, err := s.getAccount(ctx, s.reader(ctx), id)
	return a, wrap("get account", err)
}

// GetAccountByName finds an account by name, ignoring case.
func (s *Store) GetAccountByName(ctx context.Context, name string) (repository.Account, error) {
	var a repository.Account
	err := s.reader(ctx).queryRow(ctx, accountTable.dests(&a), qGetAccountByName, strings.ToLower(name))
	if errors.Is(err, sql.ErrNoRows) {
		err = repository.ErrNotFound
	}
	return a, wrap("get account by name", err)
}

func (s *Store) getAccount(ctx context.Context, h handle, id string) (repository.Account, error) {
	var a repository.Account
	err := h.queryRow(ctx, accountTable.dests(&a), qGetAccount, id)
	if errors.Is(err, sql.ErrNoRows) {
		return a, repository.ErrNotFound
	}
	return a, err
}

// UpdateAccount applies fn with a compare-and-swap on Version.
func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(repository.Account) (repository.Account, error)) (repository.Account, error) {
	var out repository.Account
	err := s.update(ctx, "update account", func(ctx context.Context) (bool, error) {
		old, err := s.getAccount(ctx, s.reader(ctx), id)
		if err != nil {
			return false, wrap("update account", err)
		}
		next, err := fn(old)
		if err != nil {
			return false, err
		}
		next.ID, next.CreatedAt = old.ID, old.CreatedAt
		next.Version, next.UpdatedAt = old.Version+1, s.nextUpdate(old.UpdatedAt)
		n, err := affected(s.writer(ctx).exec(ctx, qUpdateAccount, accountTable.updateArgs(&next, id, old.Version)...))
		if err != nil {
			return false, mapErr("update account", err)
		}
		out = next
		return n == 1, nil
	})
	if err != nil {
		return repository.Account{}, err
	}
	return out, nil
}

// DeleteAccount removes every row of the account in one transaction and
// keeps an AccountDeletion.
func (s *Store) DeleteAccount(ctx context.Context, id string, reason string) error {
	err := s.write(ctx, func(h handle) error {
		a, err := s.getAccount(ctx, h, id)
		if err != nil {
			return err
		}
		h.tx.rolesWritten.Store(true)
		for _, q := range qDeleteAccountRows {
			if _, err := h.exec(ctx, q, id); err != nil {
				return err
			}
		}
		_, err = h.exec(ctx, qInsertAccountDeletion, id, a.Name, toNanos(s.now()), reason)
		return err
	})
	return wrap("delete account", err)
}

// GetAccountDeletion returns what remains of a deleted account.
func (s *Store) GetAccountDeletion(ctx context.Context, id string) (repository.AccountDeletion, error) {
	var d repository.AccountDeletion
	err := s.reader(ctx).queryRow(ctx, []any{&d.AccountID, &d.Name, timeDest{&d.DeletedAt}, &d.Reason}, qGetAccountDeletion, id)
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound("get account deletion")
	}
	return d, wrap("get account deletion", err)
}
