package mongo

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/repository"
)

// An email domain routes to one connection across the deployment. The
// routing lives in sso_domains, one document per lowered domain as _id, so
// the _id index both enforces that and answers GetSSOConnectionByDomain.
// The connection keeps its Domains as given.

// domainSet returns the lowered, de-duplicated domains.
func domainSet(domains []string) []string {
	return uniq(foldAll(domains))
}

// claimDomains inserts the routing of each domain to connection id. A
// domain already routed to the same connection is fine; one routed
// elsewhere is a conflict on "domain", and what this call inserted is
// removed again.
func (s *Store) claimDomains(ctx context.Context, accountID, id string, domains []string) error {
	var claimed []string
	for _, d := range domains {
		_, err := s.ssoDomains.InsertOne(ctx, ssoDomainDoc{Domain: d, AccountID: accountID, ConnectionID: id})
		if err == nil {
			claimed = append(claimed, d)
			continue
		}
		if isDup(err) {
			var owner ssoDomainDoc
			ferr := s.ssoDomains.FindOne(ctx, bson.D{{Key: "_id", Value: d}}).Decode(&owner)
			if ferr == nil && owner.AccountID == accountID && owner.ConnectionID == id {
				continue
			}
			err = repository.NewConflict("ssoConnection", "domain")
		}
		if !inTransaction(ctx) {
			s.releaseDomains(ctx, accountID, id, claimed)
		}
		return err
	}
	return nil
}

// releaseDomains removes the routing of domains owned by connection id.
func (s *Store) releaseDomains(ctx context.Context, accountID, id string, domains []string) {
	if len(domains) == 0 {
		return
	}
	_, _ = s.ssoDomains.DeleteMany(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: domains}}},
		{Key: "accountId", Value: accountID},
		{Key: "connectionId", Value: id},
	})
}

// CreateSSOConnection stores c and claims its domains.
func (s *Store) CreateSSOConnection(ctx context.Context, c repository.SSOConnection) (repository.SSOConnection, error) {
	if c.ID == "" {
		c.ID = repository.NewID()
	}
	t := now()
	c.Meta = repository.Meta{Version: 1, CreatedAt: t, UpdatedAt: t}
	doc := ssoToDoc(c)
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.claimDomains(ctx, c.AccountID, c.ID, domainSet(c.Domains)); err != nil {
			return err
		}
		if _, err := s.sso.InsertOne(ctx, doc); err != nil {
			if !inTransaction(ctx) {
				s.releaseDomains(ctx, c.AccountID, c.ID, domainSet(c.Domains))
			}
			if isDup(err) {
				return repository.NewConflict("ssoConnection", "id")
			}
			return err
		}
		return nil
	})
	if err != nil {
		return repository.SSOConnection{}, fmt.Errorf("create SSO connection: %w", err)
	}
	return doc.record(), nil
}

// GetSSOConnection returns one connection of the account.
func (s *Store) GetSSOConnection(ctx context.Context, accountID, id string) (repository.SSOConnection, error) {
	var d ssoDoc
	ok, err := s.findOwned(ctx, s.sso, accountID, id, &d)
	if err != nil {
		return repository.SSOConnection{}, fmt.Errorf("get SSO connection: %w", err)
	}
	if !ok {
		return repository.SSOConnection{}, notFound("SSO connection", id)
	}
	return d.record(), nil
}

// GetSSOConnectionByID finds a connection of any account by its id (the
// _id, unique across the deployment).
func (s *Store) GetSSOConnectionByID(ctx context.Context, id string) (repository.SSOConnection, error) {
	var d ssoDoc
	if err := s.sso.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		if isNoDocs(err) {
			return repository.SSOConnection{}, notFound("SSO connection", id)
		}
		return repository.SSOConnection{}, fmt.Errorf("get SSO connection by id: %w", err)
	}
	return d.record(), nil
}

// GetSSOConnectionByDomain finds the connection an email domain routes to,
// ignoring case.
func (s *Store) GetSSOConnectionByDomain(ctx context.Context, domain string) (repository.SSOConnection, error) {
	var route ssoDomainDoc
	if err := s.ssoDomains.FindOne(ctx, bson.D{{Key: "_id", Value: fold(domain)}}).Decode(&route); err != nil {
		if isNoDocs(err) {
			return repository.SSOConnection{}, notFound("SSO connection for domain", domain)
		}
		return repository.SSOConnection{}, fmt.Errorf("get SSO connection by domain: %w", err)
	}
	return s.GetSSOConnection(ctx, route.AccountID, route.ConnectionID)
}

// UpdateSSOConnection applies fn with a compare-and-swap on the version,
// claiming added domains before the write and releasing removed ones after
// it.
func (s *Store) UpdateSSOConnection(ctx context.Context, accountID, id string, fn func(repository.SSOConnection) (repository.SSOConnection, error)) (repository.SSOConnection, error) {
	load := func(ctx context.Context) (repository.SSOConnection, error) {
		return s.GetSSOConnection(ctx, accountID, id)
	}
	write := func(ctx context.Context, cur, c repository.SSOConnection) (repository.SSOConnection, bool, error) {
		c.AccountID, c.ID = accountID, id
		c.Meta = nextMeta(cur.Meta)
		oldDomains, newDomains := domainSet(cur.Domains), domainSet(c.Domains)
		var added, removed []string
		for _, d := range newDomains {
			if !slices.Contains(oldDomains, d) {
				added = append(added, d)
			}
		}
		for _, d := range oldDomains {
			if !slices.Contains(newDomains, d) {
				removed = append(removed, d)
			}
		}
		doc := ssoToDoc(c)
		var ok bool
		err := s.InTx(ctx, func(ctx context.Context) error {
			if err := s.claimDomains(ctx, accountID, id, added); err != nil {
				return err
			}
			res, err := s.sso.ReplaceOne(ctx, byVersion(accountID, id, cur.Version), doc)
			if err != nil {
				if !inTransaction(ctx) {
					s.releaseDomains(ctx, accountID, id, added)
				}
				return err
			}
			if res.MatchedCount == 0 {
				s.releaseDomains(ctx, accountID, id, added) // lost the race; casUpdate retries
				return nil
			}
			ok = true
			s.releaseDomains(ctx, accountID, id, removed)
			return nil
		})
		if err != nil {
			return c, false, fmt.Errorf("update SSO connection: %w", err)
		}
		return doc.record(), ok, nil
	}
	c, err := casUpdate(ctx, load, fn, write)
	if err != nil {
		return repository.SSOConnection{}, wrapUpdate("SSO connection", err)
	}
	return c, nil
}

// DeleteSSOConnection removes the connection, its domain routing and its
// identity links.
func (s *Store) DeleteSSOConnection(ctx context.Context, accountID, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		res, err := s.sso.DeleteOne(ctx, byID(accountID, id))
		if err != nil {
			return fmt.Errorf("delete SSO connection: %w", err)
		}
		if res.DeletedCount == 0 {
			return notFound("SSO connection", id)
		}
		owned := bson.D{{Key: "accountId", Value: accountID}, {Key: "connectionId", Value: id}}
		if _, err := s.ssoDomains.DeleteMany(ctx, owned); err != nil {
			return fmt.Errorf("delete SSO connection domains: %w", err)
		}
		if _, err := s.links.DeleteMany(ctx, owned); err != nil {
			return fmt.Errorf("delete SSO connection identity links: %w", err)
		}
		return nil
	})
}

// ListSSOConnections lists the account's connections, oldest first.
func (s *Store) ListSSOConnections(ctx context.Context, accountID string) ([]repository.SSOConnection, error) {
	cur, err := s.sso.Find(ctx, bson.D{{Key: "accountId", Value: accountID}},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list SSO connections: %w", err)
	}
	var docs []ssoDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list SSO connections: %w", err)
	}
	out := make([]repository.SSOConnection, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.record())
	}
	return out, nil
}
