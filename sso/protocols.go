package sso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/oidcrp"
	"github.com/rosterhq/roster/sso/samlsp"
)

// The SAML SP and OIDC RP of a connection are built once per connection
// version and reused: building parses metadata and keys (SAML) or runs
// discovery (OIDC). A changed connection (a new Version) builds anew; a
// connection never used again stays cached until the process ends, which
// is bounded by the deployment's connections.

type cachedSAML struct {
	version int64
	sp      *samlsp.SP
}

type cachedOIDC struct {
	version int64
	rp      *oidcrp.RP
}

// publicUnknownConnection is the page message of a URL naming no
// (enabled) connection of that kind.
const publicUnknownConnection = "This single sign-on link is not valid or the sign-in method was turned off. Start again from the sign-in page, or ask your administrator."

// errUnknownConnection reports a connection id that names nothing usable.
var errUnknownConnection = errors.New("unknown or disabled connection")

// connection finds the enabled connection id of kind.
func (b *Bridge) connection(ctx context.Context, id, kind string) (repository.SSOConnection, error) {
	if id == "" || len(id) > 128 {
		return repository.SSOConnection{}, connector.Fail("connection", publicUnknownConnection, errUnknownConnection)
	}
	conn, err := b.store.GetSSOConnectionByID(ctx, id)
	if errors.Is(err, repository.ErrNotFound) {
		return conn, connector.Fail("connection", publicUnknownConnection, fmt.Errorf("connection %s: %w", id, errUnknownConnection))
	}
	if err != nil {
		return conn, fmt.Errorf("find connection %s: %w", id, err)
	}
	if conn.Kind != kind || !conn.Enabled {
		return conn, connector.Fail("connection", publicUnknownConnection,
			fmt.Errorf("connection %s is %s, enabled %v: %w", id, conn.Kind, conn.Enabled, errUnknownConnection))
	}
	return conn, nil
}

// samlConfig decodes a SAML connection's configuration.
func samlConfig(conn repository.SSOConnection) (connector.SAML, error) {
	var cfg connector.SAML
	if err := json.Unmarshal(conn.Config, &cfg); err != nil {
		return cfg, connector.Fail("config", "This sign-in method is not set up correctly. Ask your administrator.",
			fmt.Errorf("connection %s: SAML config: %w", conn.ID, err))
	}
	return cfg, nil
}

// oidcConfig decodes an OIDC connection's configuration.
func oidcConfig(conn repository.SSOConnection) (connector.OIDC, error) {
	var cfg connector.OIDC
	if err := json.Unmarshal(conn.Config, &cfg); err != nil {
		return cfg, connector.Fail("config", "This sign-in method is not set up correctly. Ask your administrator.",
			fmt.Errorf("connection %s: OIDC config: %w", conn.ID, err))
	}
	return cfg, nil
}

// sp returns the SAML service provider of conn.
func (b *Bridge) sp(conn repository.SSOConnection) (*samlsp.SP, connector.SAML, error) {
	cfg, err := samlConfig(conn)
	if err != nil {
		return nil, cfg, err
	}
	b.mu.Lock()
	c, ok := b.saml[conn.ID]
	b.mu.Unlock()
	if ok && c.version == conn.Version {
		return c.sp, cfg, nil
	}
	sp, err := samlsp.New(conn, cfg, samlsp.Options{
		BaseURL: b.opts.BaseURL, Store: b.store, Sealer: b.sealer,
		ReturnPaths: b.opts.ReturnPaths, Now: b.opts.Now, HTTPClient: b.client,
	})
	if err != nil {
		return nil, cfg, asLoginError("config", err)
	}
	b.mu.Lock()
	b.saml[conn.ID] = cachedSAML{version: conn.Version, sp: sp}
	b.mu.Unlock()
	return sp, cfg, nil
}

// rp returns the OIDC relying party of conn.
func (b *Bridge) rp(ctx context.Context, conn repository.SSOConnection) (*oidcrp.RP, connector.OIDC, error) {
	cfg, err := oidcConfig(conn)
	if err != nil {
		return nil, cfg, err
	}
	b.mu.Lock()
	c, ok := b.rps[conn.ID]
	b.mu.Unlock()
	if ok && c.version == conn.Version {
		return c.rp, cfg, nil
	}
	rp, err := oidcrp.New(ctx, conn, cfg, oidcrp.Options{
		BaseURL: b.opts.BaseURL, Store: b.store, Sealer: b.sealer,
		HTTPClient: b.client, Providers: b.oidc, Now: b.opts.Now,
	})
	if err != nil {
		return nil, cfg, asLoginError("config", err)
	}
	b.mu.Lock()
	b.rps[conn.ID] = cachedOIDC{version: conn.Version, rp: rp}
	b.mu.Unlock()
	return rp, cfg, nil
}

// asLoginError keeps a *connector.LoginError and wraps anything else as
// one with reason.
func asLoginError(reason string, err error) error {
	var le *connector.LoginError
	if errors.As(err, &le) {
		return err
	}
	return connector.Fail(reason, "This sign-in method is not set up correctly. Ask your administrator.", err)
}
