package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/rosterhq/roster/repository"
)

var (
	qInsertSSO        = ssoTable.insertSQL()
	qSSOCols          = ssoTable.selectList("c")
	qGetSSO           = "SELECT " + qSSOCols + " FROM sso_connections c WHERE c.account_id = ? AND c.id = ?"
	qGetSSOByID       = "SELECT " + qSSOCols + " FROM sso_connections c WHERE c.id = ?"
	qGetSSOByDomain   = "SELECT " + qSSOCols + " FROM sso_domains d JOIN sso_connections c ON c.account_id = d.account_id AND c.id = d.connection_id WHERE d.domain_lc = ?"
	qListSSO          = "SELECT " + qSSOCols + " FROM sso_connections c WHERE c.account_id = ? ORDER BY c.created_at, c.id"
	qUpdateSSO        = ssoTable.updateSQL("account_id = ? AND id = ? AND version = ?")
	qDeleteSSO        = "DELETE FROM sso_connections WHERE account_id = ? AND id = ?"
	qInsertSSODomain  = "INSERT INTO sso_domains (domain_lc, domain, account_id, connection_id, pos) VALUES (?, ?, ?, ?, ?)"
	qDeleteSSODomains = "DELETE FROM sso_domains WHERE account_id = ? AND connection_id = ?"
	qSSODomains       = "SELECT connection_id, domain FROM sso_domains WHERE account_id = ? AND connection_id = ? ORDER BY pos"
	qAllSSODomains    = "SELECT connection_id, domain FROM sso_domains WHERE account_id = ? ORDER BY connection_id, pos"
)

// CreateSSOConnection stores c; a domain already routed to a connection
// (of any account, in any case) is a conflict on "domain".
func (s *Store) CreateSSOConnection(ctx context.Context, c repository.SSOConnection) (repository.SSOConnection, error) {
	if c.ID == "" {
		c.ID = repository.NewID()
	}
	now := s.now()
	c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
	c = normalizeSSO(c)
	err := s.write(ctx, func(h handle) error {
		if _, err := h.exec(ctx, qInsertSSO, ssoTable.args(&c)...); err != nil {
			return err
		}
		return writeDomains(ctx, h, &c)
	})
	if err != nil {
		return repository.SSOConnection{}, mapErr("create sso connection", err)
	}
	return c, nil
}

func writeDomains(ctx context.Context, h handle, c *repository.SSOConnection) error {
	for i, d := range c.Domains {
		if _, err := h.exec(ctx, qInsertSSODomain, strings.ToLower(d), d, c.AccountID, c.ID, i); err != nil {
			return err
		}
	}
	return nil
}

// GetSSOConnection returns the connection.
func (s *Store) GetSSOConnection(ctx context.Context, accountID, id string) (repository.SSOConnection, error) {
	var c repository.SSOConnection
	err := s.read(ctx, func(h handle) error {
		var err error
		c, err = getSSO(ctx, h, qGetSSO, accountID, id)
		return err
	})
	return c, wrap("get sso connection", err)
}

// GetSSOConnectionByID finds a connection of any account by its id.
func (s *Store) GetSSOConnectionByID(ctx context.Context, id string) (repository.SSOConnection, error) {
	var c repository.SSOConnection
	err := s.read(ctx, func(h handle) error {
		var err error
		c, err = getSSO(ctx, h, qGetSSOByID, id)
		return err
	})
	return c, wrap("get sso connection by id", err)
}

// GetSSOConnectionByDomain finds the connection an email domain routes to,
// ignoring case.
func (s *Store) GetSSOConnectionByDomain(ctx context.Context, domain string) (repository.SSOConnection, error) {
	var c repository.SSOConnection
	err := s.read(ctx, func(h handle) error {
		var err error
		c, err = getSSO(ctx, h, qGetSSOByDomain, strings.ToLower(domain))
		return err
	})
	return c, wrap("get sso connection by domain", err)
}

func getSSO(ctx context.Context, h handle, query string, args ...any) (repository.SSOConnection, error) {
	var c repository.SSOConnection
	err := h.queryRow(ctx, ssoTable.dests(&c), query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return c, repository.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	rows, err := h.query(ctx, qSSODomains, c.AccountID, c.ID)
	if err != nil {
		return c, err
	}
	err = scanDomains(rows, map[string]*repository.SSOConnection{c.ID: &c})
	return c, err
}

func scanDomains(rows *sql.Rows, byID map[string]*repository.SSOConnection) error {
	defer rows.Close()
	for rows.Next() {
		var id, d string
		if err := rows.Scan(&id, &d); err != nil {
			return err
		}
		if c := byID[id]; c != nil {
			c.Domains = append(c.Domains, d)
		}
	}
	return rows.Err()
}

// UpdateSSOConnection applies fn with a compare-and-swap on Version.
func (s *Store) UpdateSSOConnection(ctx context.Context, accountID, id string, fn func(repository.SSOConnection) (repository.SSOConnection, error)) (repository.SSOConnection, error) {
	var out repository.SSOConnection
	err := s.update(ctx, "update sso connection", func(ctx context.Context) (bool, error) {
		var old repository.SSOConnection
		err := s.read(ctx, func(h handle) error {
			var err error
			old, err = getSSO(ctx, h, qGetSSO, accountID, id)
			return err
		})
		if err != nil {
			return false, wrap("update sso connection", err)
		}
		cp := old
		cp.Domains, cp.Config = slices.Clone(old.Domains), slices.Clone(old.Config)
		next, err := fn(cp)
		if err != nil {
			return false, err
		}
		next.AccountID, next.ID, next.CreatedAt = old.AccountID, old.ID, old.CreatedAt
		next.Version, next.UpdatedAt = old.Version+1, s.nextUpdate(old.UpdatedAt)
		next = normalizeSSO(next)
		won := false
		err = s.write(ctx, func(h handle) error {
			n, err := affected(h.exec(ctx, qUpdateSSO, ssoTable.updateArgs(&next, accountID, id, old.Version)...))
			if err != nil || n == 0 {
				return err
			}
			won = true
			if slices.Equal(next.Domains, old.Domains) {
				return nil
			}
			if _, err := h.exec(ctx, qDeleteSSODomains, accountID, id); err != nil {
				return err
			}
			return writeDomains(ctx, h, &next)
		})
		if err != nil {
			return false, mapErr("update sso connection", err)
		}
		out = next
		return won, nil
	})
	if err != nil {
		return repository.SSOConnection{}, err
	}
	return out, nil
}

// DeleteSSOConnection removes the connection, its domains and its
// identity links.
func (s *Store) DeleteSSOConnection(ctx context.Context, accountID, id string) error {
	err := s.write(ctx, func(h handle) error {
		n, err := affected(h.exec(ctx, qDeleteSSO, accountID, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return repository.ErrNotFound
		}
		if _, err := h.exec(ctx, qDeleteSSODomains, accountID, id); err != nil {
			return err
		}
		_, err = h.exec(ctx, qDeleteConnLinks, accountID, id)
		return err
	})
	return wrap("delete sso connection", err)
}

// ListSSOConnections lists the account's connections, oldest first.
func (s *Store) ListSSOConnections(ctx context.Context, accountID string) ([]repository.SSOConnection, error) {
	var out []repository.SSOConnection
	err := s.read(ctx, func(h handle) error {
		rows, err := h.query(ctx, qListSSO, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c repository.SSOConnection
			if err := rows.Scan(ssoTable.dests(&c)...); err != nil {
				return err
			}
			out = append(out, c)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		byID := make(map[string]*repository.SSOConnection, len(out))
		for i := range out {
			byID[out[i].ID] = &out[i]
		}
		domains, err := h.query(ctx, qAllSSODomains, accountID)
		if err != nil {
			return err
		}
		return scanDomains(domains, byID)
	})
	return out, wrap("list sso connections", err)
}

func normalizeSSO(c repository.SSOConnection) repository.SSOConnection {
	c.Domains = nilIfEmpty(c.Domains)
	c.Config = nilIfEmpty(c.Config)
	return c
}
