package sso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	// A request still holding an older version of the connection (read
	// before a metadata refresh) must not replace a newer SP.
	if c, ok := b.saml[conn.ID]; !ok || c.version <= conn.Version {
		b.saml[conn.ID] = cachedSAML{version: conn.Version, sp: sp}
	}
	b.mu.Unlock()
	return sp, cfg, nil
}

// SAML metadata refresh.
//
// A SAML connection set up by metadata URL keeps the document fetched
// then (sso/connections stores it, with MetadataRefreshedAt); the bridge
// fetches it again, through connections.Service.RefreshMetadata, which
// validates the new document and keeps the stored one when it is not
// usable:
//
//   - by age: a login (start or ACS) finding the document older than
//     Options.MetadataRefreshInterval refreshes it before building the SP.
//     A failed fetch is logged and the stored document used: an IdP's
//     broken metadata page must not stop logins its stored keys verify.
//   - on a signature failure: an IdP that rolled its signing key over
//     before the interval ran out signs with a certificate the stored
//     document lacks. The ACS then refreshes at once and, only when the
//     document changed, validates the same response once more.
//
// Both are rate-limited per connection (Options.MetadataRetryInterval):
// forged responses or a dead metadata URL cost one fetch per interval,
// not one per request. Every instance stores what it fetched, so the
// others pick the new version up at their next login.
//
// Validating the same response again after a refresh is a choice, made
// because it is safe and because refusing would defeat rotation:
//
//   - the new keys come from the metadata URL the administrator set
//     (https, or http on loopback only), the same trust anchor the stored
//     keys came from; nothing in the posted response chooses them;
//   - the failed attempt consumed nothing: samlsp verifies signatures
//     before it takes the request id or records the assertion id, so the
//     second attempt is a complete validation (replay, InResponseTo,
//     browser binding, audience, times) and a forged response fails it
//     as it failed the first;
//   - it is what the person would get by starting again a second later,
//     minus the failed first login after every rotation. OIDC relying
//     parties do the same with an unknown key id (go-oidc fetches the
//     JWKS again and verifies once more).
//
// A response is validated at most twice, the second time only against a
// document that really changed.

// metadataRefreshTimeout bounds a refresh made while a person waits.
const metadataRefreshTimeout = 5 * time.Second

// samlSP returns the SP of conn, refreshing the IdP metadata first when
// it comes from a URL and is older than the refresh interval. It returns
// the connection and configuration the SP was built from.
func (b *Bridge) samlSP(ctx context.Context, conn repository.SSOConnection) (*samlsp.SP, connector.SAML, repository.SSOConnection, error) {
	cfg, err := samlConfig(conn)
	if err != nil {
		return nil, cfg, conn, err
	}
	if cfg.IdPMetadataURL != "" && b.opts.MetadataRefreshInterval > 0 &&
		!b.opts.Now().Before(cfg.MetadataRefreshedAt.Add(b.opts.MetadataRefreshInterval)) {
		if fresh, ok := b.refreshMetadata(ctx, conn, "stale"); ok {
			conn = fresh
		}
	}
	sp, cfg, err := b.sp(conn)
	return sp, cfg, conn, err
}

// samlRetrySP refreshes the metadata of conn after a signature failure
// and returns the SP of the refreshed connection when its IdP metadata
// differs from cfg's; ok is false when there is nothing new to try.
func (b *Bridge) samlRetrySP(ctx context.Context, conn repository.SSOConnection, cfg connector.SAML) (*samlsp.SP, connector.SAML, repository.SSOConnection, bool) {
	if cfg.IdPMetadataURL == "" {
		return nil, cfg, conn, false
	}
	fresh, ok := b.refreshMetadata(ctx, conn, "signature")
	if !ok {
		return nil, cfg, conn, false
	}
	fcfg, err := samlConfig(fresh)
	if err != nil || fcfg.IdPMetadataXML == cfg.IdPMetadataXML {
		return nil, cfg, conn, false
	}
	sp, fcfg, err := b.sp(fresh)
	if err != nil {
		b.log.WarnContext(ctx, "sso: SP of refreshed SAML metadata", "connection", conn.ID, "error", err)
		return nil, cfg, conn, false
	}
	return sp, fcfg, fresh, true
}

// refreshMetadata fetches conn's IdP metadata again unless the last
// attempt for it is more recent than the retry interval. ok is false
// when nothing was fetched or the fetch failed (logged).
func (b *Bridge) refreshMetadata(ctx context.Context, conn repository.SSOConnection, why string) (repository.SSOConnection, bool) {
	now := b.opts.Now()
	b.mu.Lock()
	last, tried := b.refreshTried[conn.ID]
	if tried && now.Before(last.Add(b.opts.MetadataRetryInterval)) {
		b.mu.Unlock()
		return conn, false
	}
	// Marked before the fetch: concurrent logins of the connection do not
	// all fetch; they use the stored document meanwhile.
	b.refreshTried[conn.ID] = now
	b.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, metadataRefreshTimeout)
	defer cancel()
	fresh, err := b.conns.RefreshMetadata(ctx, conn.AccountID, conn.ID)
	if err != nil {
		b.log.WarnContext(ctx, "sso: refresh SAML metadata failed; using the stored metadata",
			"connection", conn.ID, "why", why, "error", err)
		return conn, false
	}
	b.log.InfoContext(ctx, "sso: refreshed SAML metadata", "connection", conn.ID, "why", why, "version", fresh.Version)
	return fresh, true
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
