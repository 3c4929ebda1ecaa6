package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(
		testCase{"SSOConnectionCRUD", testSSOConnectionCRUD},
		testCase{"ReplayCache", testReplayCache},
	)
}

func testSSOConnectionCRUD(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acme := newAccount(t, s)
	other := newAccount(t, s)

	want := repository.SSOConnection{
		AccountID: acme.ID,
		ID:        repository.NewID(),
		Kind:      repository.SSOSAML,
		Name:      "Okta",
		Domains:   []string{"acme.test", "acme-eu.test"},
		Enabled:   true,
		Config:    []byte(`{"entityId":"http://www.okta.com/exk1","certificates":["MIIC…"]}`),
	}
	created, err := s.CreateSSOConnection(ctx, want)
	must(t, err, "create SSO connection")
	expect(t, created.Version, int64(1), "version of a new connection")
	want.Meta = created.Meta
	expectSame(t, created, want, "CreateSSOConnection result")

	t.Run("Get", func(t *testing.T) {
		got, err := s.GetSSOConnection(ctx, acme.ID, created.ID)
		must(t, err, "get SSO connection")
		expectSame(t, got, want, "GetSSOConnection")
		_, err = s.GetSSOConnection(ctx, acme.ID, repository.NewID())
		mustIs(t, err, repository.ErrNotFound, "get unknown SSO connection")
		_, err = s.GetSSOConnection(ctx, other.ID, created.ID)
		mustIs(t, err, repository.ErrNotFound, "get another account's SSO connection")
	})

	t.Run("ByID", func(t *testing.T) {
		got, err := s.GetSSOConnectionByID(ctx, created.ID)
		must(t, err, "get SSO connection by id")
		expectSame(t, got, want, "GetSSOConnectionByID")
		_, err = s.GetSSOConnectionByID(ctx, repository.NewID())
		mustIs(t, err, repository.ErrNotFound, "get unknown SSO connection by id")
	})

	t.Run("DomainRouting", func(t *testing.T) {
		for _, d := range want.Domains {
			got, err := s.GetSSOConnectionByDomain(ctx, d)
			must(t, err, "route domain %s", d)
			expect(t, got.ID, created.ID, "connection routed from %s", d)
			expect(t, got.AccountID, acme.ID, "account of the connection routed from %s", d)
		}
		_, err := s.GetSSOConnectionByDomain(ctx, "unknown.test")
		mustIs(t, err, repository.ErrNotFound, "route an unknown domain")
	})

	t.Run("DuplicateDomain", func(t *testing.T) {
		for _, acct := range []repository.Account{acme, other} {
			_, err := s.CreateSSOConnection(ctx, repository.SSOConnection{
				AccountID: acct.ID, ID: repository.NewID(), Kind: repository.SSOOIDC, Name: "Entra",
				Domains: []string{"new.test", "acme-eu.test"},
			})
			mustConflict(t, err, "domain", "create a connection claiming a routed domain")
		}
		_, err := s.GetSSOConnectionByDomain(ctx, "new.test")
		mustIs(t, err, repository.ErrNotFound, "route the other domain of a refused connection")

		second, err := s.CreateSSOConnection(ctx, repository.SSOConnection{
			AccountID: other.ID, ID: repository.NewID(), Kind: repository.SSOOIDC, Name: "Google", Domains: []string{"other.test"},
		})
		must(t, err, "create a connection with a free domain")
		_, err = s.UpdateSSOConnection(ctx, other.ID, second.ID, func(c repository.SSOConnection) (repository.SSOConnection, error) {
			c.Domains = append(c.Domains, "acme.test")
			return c, nil
		})
		mustConflict(t, err, "domain", "update a connection to claim a routed domain")
		got, err := s.GetSSOConnectionByDomain(ctx, "acme.test")
		must(t, err, "route acme.test")
		expect(t, got.ID, created.ID, "acme.test still routes to its first connection")
	})

	t.Run("Update", func(t *testing.T) {
		updated, err := s.UpdateSSOConnection(ctx, acme.ID, created.ID, func(c repository.SSOConnection) (repository.SSOConnection, error) {
			c.Domains = []string{"acme.test", "acme-us.test"}
			c.Enabled = false
			c.Config = []byte(`{"entityId":"http://www.okta.com/exk2"}`)
			return c, nil
		})
		must(t, err, "update SSO connection")
		expect(t, updated.Version, int64(2), "connection version after one update")
		got, err := s.GetSSOConnectionByDomain(ctx, "acme-us.test")
		must(t, err, "route a domain added by an update")
		expect(t, got.Enabled, false, "Enabled after update")
		expect(t, string(got.Config), `{"entityId":"http://www.okta.com/exk2"}`, "Config after update")
		_, err = s.GetSSOConnectionByDomain(ctx, "acme-eu.test")
		mustIs(t, err, repository.ErrNotFound, "route a domain removed by an update")

		stop := errors.New("invalid metadata")
		_, err = s.UpdateSSOConnection(ctx, acme.ID, created.ID, func(c repository.SSOConnection) (repository.SSOConnection, error) {
			c.Name = "never stored"
			return c, stop
		})
		mustIs(t, err, stop, "update connection whose function fails")
		again, err := s.GetSSOConnection(ctx, acme.ID, created.ID)
		must(t, err, "get SSO connection")
		expect(t, again.Name, "Okta", "name after an aborted update")
	})

	t.Run("List", func(t *testing.T) {
		extra, err := s.CreateSSOConnection(ctx, repository.SSOConnection{
			AccountID: acme.ID, ID: repository.NewID(), Kind: repository.SSOOIDC, Name: "Google", Domains: []string{"acme-eu.test"},
		})
		must(t, err, "create a connection with a domain freed by an update")
		list, err := s.ListSSOConnections(ctx, acme.ID)
		must(t, err, "list SSO connections")
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		expectSet(t, ids, []string{created.ID, extra.ID}, "connections of the account")
	})

	t.Run("Delete", func(t *testing.T) {
		must(t, s.DeleteSSOConnection(ctx, acme.ID, created.ID), "delete SSO connection")
		_, err := s.GetSSOConnection(ctx, acme.ID, created.ID)
		mustIs(t, err, repository.ErrNotFound, "get deleted connection")
		_, err = s.GetSSOConnectionByDomain(ctx, "acme.test")
		mustIs(t, err, repository.ErrNotFound, "route a domain of a deleted connection")
		mustIs(t, s.DeleteSSOConnection(ctx, acme.ID, created.ID), repository.ErrNotFound, "delete connection twice")
		_, err = s.CreateSSOConnection(ctx, repository.SSOConnection{
			AccountID: other.ID, ID: repository.NewID(), Kind: repository.SSOSAML, Name: "Okta", Domains: []string{"acme.test"},
		})
		must(t, err, "claim a domain of a deleted connection")
	})
}

func testReplayCache(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	now := time.Now()

	t.Run("SecondUseRefused", func(t *testing.T) {
		key := unique("saml-assertion")
		must(t, s.UseOnce(ctx, key, now.Add(5*time.Minute)), "first use")
		mustIs(t, s.UseOnce(ctx, key, now.Add(5*time.Minute)), repository.ErrReplayed, "second use")
		mustIs(t, s.UseOnce(ctx, key, now.Add(time.Hour)), repository.ErrReplayed, "third use with a later expiry")
		must(t, s.UseOnce(ctx, unique("saml-assertion"), now.Add(5*time.Minute)), "use of another key")
	})

	t.Run("ExpiredKeyReusable", func(t *testing.T) {
		key := unique("oidc-state")
		must(t, s.UseOnce(ctx, key, now.Add(-time.Second)), "use with an expiry in the past")
		must(t, s.UseOnce(ctx, key, now.Add(5*time.Minute)), "reuse an expired key")
		mustIs(t, s.UseOnce(ctx, key, now.Add(5*time.Minute)), repository.ErrReplayed, "reuse a key recorded again")
	})

	t.Run("Concurrent", func(t *testing.T) {
		// The same assertion posted to several instances at once: one wins.
		key := unique("saml-assertion")
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { errs[i] = s.UseOnce(ctx, key, now.Add(5*time.Minute)) })
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, repository.ErrReplayed):
				t.Errorf("concurrent use %d: %v, want nil or ErrReplayed", i, err)
			}
		}
		expect(t, won, 1, "concurrent first uses that succeeded")
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		fresh := ms(time.Now())
		for range 3 {
			must(t, s.UseOnce(ctx, unique("old"), fresh.Add(-time.Minute)), "record an expired key")
		}
		live := unique("live")
		must(t, s.UseOnce(ctx, live, fresh.Add(time.Hour)), "record a live key")
		// The earlier sub-tests left only live keys (the expired one of
		// ExpiredKeyReusable was recorded again with a later expiry).
		n, err := s.DeleteExpiredReplays(ctx, fresh)
		must(t, err, "delete expired replays")
		expect(t, n, 3, "expired keys deleted")
		mustIs(t, s.UseOnce(ctx, live, fresh.Add(time.Hour)), repository.ErrReplayed, "a live key after DeleteExpiredReplays")
	})
}
