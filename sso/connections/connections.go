// Package connections is the service behind the admin API's
// /sso-connections: it creates, reads, changes and deletes an account's
// SAML and OpenID Connect connections, validating them once so the SSO
// bridge can trust what it loads.
//
// It seals secrets before they reach the store (the OIDC client secret,
// the SAML SP private key it makes at creation), never returns them, and
// audits every change. It implements adminapi.ConnectionService.
package connections

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/adminapi"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/oidcrp"
	"github.com/rosterhq/roster/sso/samlsp"
	"github.com/rosterhq/roster/sso/seal"
)

// Store is what the service needs of the store.
type Store interface {
	repository.SSOConnectionStore
	repository.AuditLog
}

// Options configures a Service.
type Options struct {
	// BaseURL is the deployment's public origin (and path prefix), from
	// which the URLs to register at an IdP are made.
	BaseURL string
	// Sealer seals client secrets and SP private keys.
	Sealer *seal.Sealer
	// HTTPClient fetches SAML metadata URLs; nil means a client with a
	// 10 s timeout. Fetches are always bounded in time and size.
	HTTPClient *http.Client
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Service manages SSO connections. It is safe for concurrent use.
type Service struct {
	store Store
	opts  Options
	base  string
}

// maxRetries bounds the retries of an update without If-Match that lost a
// race with another writer.
const maxRetries = 3

// New returns a Service over store.
func New(store Store, opts Options) (*Service, error) {
	if store == nil {
		return nil, errors.New("connections: no store")
	}
	if opts.Sealer == nil {
		return nil, errors.New("connections: no sealer")
	}
	base := strings.TrimSuffix(opts.BaseURL, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("connections: base URL %q is not an absolute http(s) URL", opts.BaseURL)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, opts: opts, base: base}, nil
}

// The URLs an admin registers at the IdP; the SSO bridge serves them
// (sso/samlsp and sso/oidcrp make the same ones).

// SAMLMetadataURL is the SP metadata URL, also the SP entity id.
func SAMLMetadataURL(base, connID string) string {
	return strings.TrimSuffix(base, "/") + "/sso/saml/" + url.PathEscape(connID) + "/metadata"
}

// SAMLACSURL is the assertion consumer service URL.
func SAMLACSURL(base, connID string) string {
	return strings.TrimSuffix(base, "/") + "/sso/saml/" + url.PathEscape(connID) + "/acs"
}

// OIDCRedirectURI is the OIDC redirect (callback) URI.
func OIDCRedirectURI(base, connID string) string {
	return strings.TrimSuffix(base, "/") + "/sso/oidc/" + url.PathEscape(connID) + "/callback"
}

// ListConnections lists the account's connections, oldest first.
func (s *Service) ListConnections(ctx context.Context, accountID string) ([]adminapi.SSOConnection, error) {
	conns, err := s.store.ListSSOConnections(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list sso connections: %w", err)
	}
	out := make([]adminapi.SSOConnection, 0, len(conns))
	for _, c := range conns {
		v, err := s.view(c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// GetConnection returns one connection.
func (s *Service) GetConnection(ctx context.Context, accountID, id string) (adminapi.SSOConnection, error) {
	c, err := s.store.GetSSOConnection(ctx, accountID, id)
	if err != nil {
		return adminapi.SSOConnection{}, fmt.Errorf("get sso connection: %w", err)
	}
	return s.view(c)
}

// CreateConnection validates in and stores a new connection. A SAML
// connection gets its SP key pair here; a metadata URL is fetched now.
func (s *Service) CreateConnection(ctx context.Context, actor provisioning.Actor, accountID string, in adminapi.SSOConnectionInput) (adminapi.SSOConnection, error) {
	name, err := checkName(in.Name)
	if err != nil {
		return adminapi.SSOConnection{}, err
	}
	domains, err := checkDomains(in.Domains)
	if err != nil {
		return adminapi.SSOConnection{}, err
	}
	c := repository.SSOConnection{
		AccountID: accountID, ID: repository.NewID(), Kind: strings.TrimSpace(in.Kind), Name: name,
		Domains: domains, Enabled: in.Enabled == nil || *in.Enabled,
	}
	now := s.opts.Now()
	switch c.Kind {
	case repository.SSOSAML:
		if in.OIDC != nil {
			return adminapi.SSOConnection{}, invalid("oidc", "a SAML connection takes saml settings, not oidc")
		}
		if in.SAML == nil {
			return adminapi.SSOConnection{}, invalid("saml", "a SAML connection needs saml settings with idpMetadataXml or idpMetadataUrl")
		}
		var cfg connector.SAML
		if err := s.applySAML(ctx, &cfg, *in.SAML, true); err != nil {
			return adminapi.SSOConnection{}, err
		}
		cfg.SPPrivateKey, cfg.SPCertificate, err = samlsp.GenerateSPKeyPair(c.ID, s.opts.Sealer, now)
		if err != nil {
			return adminapi.SSOConnection{}, fmt.Errorf("create sso connection: %w", err)
		}
		if c.Config, err = json.Marshal(cfg); err != nil {
			return adminapi.SSOConnection{}, fmt.Errorf("create sso connection: %w", err)
		}
	case repository.SSOOIDC:
		if in.SAML != nil {
			return adminapi.SSOConnection{}, invalid("saml", "an OIDC connection takes oidc settings, not saml")
		}
		if in.OIDC == nil {
			return adminapi.SSOConnection{}, invalid("oidc", "an OIDC connection needs oidc settings with issuer and clientId")
		}
		var cfg connector.OIDC
		if err := s.applyOIDC(&cfg, *in.OIDC, true); err != nil {
			return adminapi.SSOConnection{}, err
		}
		if c.Config, err = json.Marshal(cfg); err != nil {
			return adminapi.SSOConnection{}, fmt.Errorf("create sso connection: %w", err)
		}
	default:
		return adminapi.SSOConnection{}, invalid("kind", "kind must be saml or oidc")
	}
	if err := s.checkDomainsFree(ctx, c, nil); err != nil {
		return adminapi.SSOConnection{}, err
	}
	created, err := s.store.CreateSSOConnection(ctx, c)
	if err != nil {
		return adminapi.SSOConnection{}, domainConflict(fmt.Errorf("create sso connection: %w", err), "")
	}
	if err := s.audit(ctx, actor, created.AccountID, "sso_connection.create", created.ID, nil, auditView(created)); err != nil {
		return adminapi.SSOConnection{}, err
	}
	return s.view(created)
}

// UpdateConnection applies p to the connection when it is at one of
// ifVersion (any version when empty).
func (s *Service) UpdateConnection(ctx context.Context, actor provisioning.Actor, accountID, id string, ifVersion provisioning.IfVersion, p adminapi.SSOConnectionPatch) (adminapi.SSOConnection, error) {
	for attempt := 0; ; attempt++ {
		before, err := s.store.GetSSOConnection(ctx, accountID, id)
		if err != nil {
			return adminapi.SSOConnection{}, fmt.Errorf("update sso connection: %w", err)
		}
		if len(ifVersion) > 0 && !slices.Contains(ifVersion, before.Version) {
			return adminapi.SSOConnection{}, versionMismatch(before.Version)
		}
		// The change is planned outside the store's update: it may fetch
		// metadata, which must not run inside a retried write.
		after, err := s.plan(ctx, before, p)
		if err != nil {
			return adminapi.SSOConnection{}, err
		}
		if reflect.DeepEqual(auditView(before), auditView(after)) && string(before.Config) == string(after.Config) {
			return s.view(before)
		}
		if err := s.checkDomainsFree(ctx, after, before.Domains); err != nil {
			return adminapi.SSOConnection{}, err
		}
		updated, err := s.store.UpdateSSOConnection(ctx, accountID, id, func(cur repository.SSOConnection) (repository.SSOConnection, error) {
			if cur.Version != before.Version {
				return cur, repository.ErrVersionMismatch
			}
			after.Meta = cur.Meta
			return after, nil
		})
		if errors.Is(err, repository.ErrVersionMismatch) && len(ifVersion) == 0 && attempt < maxRetries {
			continue
		}
		if errors.Is(err, repository.ErrVersionMismatch) {
			return adminapi.SSOConnection{}, versionMismatch(0)
		}
		if err != nil {
			return adminapi.SSOConnection{}, domainConflict(fmt.Errorf("update sso connection: %w", err), "")
		}
		if err := s.audit(ctx, actor, accountID, "sso_connection.update", id, auditView(before), auditView(updated)); err != nil {
			return adminapi.SSOConnection{}, err
		}
		return s.view(updated)
	}
}

// plan applies a patch to a copy of c.
func (s *Service) plan(ctx context.Context, c repository.SSOConnection, p adminapi.SSOConnectionPatch) (repository.SSOConnection, error) {
	c.Domains = slices.Clone(c.Domains)
	var err error
	if p.Name != nil {
		if c.Name, err = checkName(*p.Name); err != nil {
			return c, err
		}
	}
	if p.Domains != nil {
		if c.Domains, err = checkDomains(*p.Domains); err != nil {
			return c, err
		}
	}
	if p.Enabled != nil {
		c.Enabled = *p.Enabled
	}
	switch c.Kind {
	case repository.SSOSAML:
		if p.OIDC != nil {
			return c, invalid("oidc", "this is a SAML connection: it takes saml settings, not oidc")
		}
		if p.SAML != nil {
			var cfg connector.SAML
			if err := json.Unmarshal(c.Config, &cfg); err != nil {
				return c, fmt.Errorf("update sso connection %s: read config: %w", c.ID, err)
			}
			if err := s.applySAML(ctx, &cfg, *p.SAML, false); err != nil {
				return c, err
			}
			if c.Config, err = json.Marshal(cfg); err != nil {
				return c, fmt.Errorf("update sso connection: %w", err)
			}
		}
	case repository.SSOOIDC:
		if p.SAML != nil {
			return c, invalid("saml", "this is an OIDC connection: it takes oidc settings, not saml")
		}
		if p.OIDC != nil {
			var cfg connector.OIDC
			if err := json.Unmarshal(c.Config, &cfg); err != nil {
				return c, fmt.Errorf("update sso connection %s: read config: %w", c.ID, err)
			}
			if err := s.applyOIDC(&cfg, *p.OIDC, false); err != nil {
				return c, err
			}
			if c.Config, err = json.Marshal(cfg); err != nil {
				return c, fmt.Errorf("update sso connection: %w", err)
			}
		}
	}
	return c, nil
}

// DeleteConnection removes a connection (its domains and identity links
// go with it; members stay).
func (s *Service) DeleteConnection(ctx context.Context, actor provisioning.Actor, accountID, id string, ifVersion provisioning.IfVersion) error {
	before, err := s.store.GetSSOConnection(ctx, accountID, id)
	if err != nil {
		return fmt.Errorf("delete sso connection: %w", err)
	}
	if len(ifVersion) > 0 && !slices.Contains(ifVersion, before.Version) {
		return versionMismatch(before.Version)
	}
	if err := s.store.DeleteSSOConnection(ctx, accountID, id); err != nil {
		return fmt.Errorf("delete sso connection: %w", err)
	}
	return s.audit(ctx, actor, accountID, "sso_connection.delete", id, auditView(before), nil)
}

// RefreshMetadata fetches a SAML connection's metadata again from its URL
// and stores it when it is valid; the SSO bridge calls it when the
// metadata is stale. A document that fails validation leaves the stored
// one in place (a broken IdP page must not break logins).
func (s *Service) RefreshMetadata(ctx context.Context, accountID, id string) (repository.SSOConnection, error) {
	c, err := s.store.GetSSOConnection(ctx, accountID, id)
	if err != nil {
		return c, fmt.Errorf("refresh metadata: %w", err)
	}
	if c.Kind != repository.SSOSAML {
		return c, fmt.Errorf("refresh metadata: connection %s is not SAML", id)
	}
	var cfg connector.SAML
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return c, fmt.Errorf("refresh metadata: read config: %w", err)
	}
	if cfg.IdPMetadataURL == "" {
		return c, fmt.Errorf("refresh metadata: connection %s has no metadata URL", id)
	}
	doc, err := s.fetch(ctx, cfg.IdPMetadataURL)
	if err != nil {
		return c, fmt.Errorf("refresh metadata of %s: %w", id, err)
	}
	if _, err := parseIdPMetadata(doc); err != nil {
		return c, fmt.Errorf("refresh metadata of %s: %w", id, err)
	}
	now := s.opts.Now().UTC()
	changed := string(doc) != cfg.IdPMetadataXML
	updated, err := s.store.UpdateSSOConnection(ctx, accountID, id, func(cur repository.SSOConnection) (repository.SSOConnection, error) {
		var cc connector.SAML
		if err := json.Unmarshal(cur.Config, &cc); err != nil {
			return cur, err
		}
		if cc.IdPMetadataURL != cfg.IdPMetadataURL {
			// An admin changed the URL meanwhile; their document wins.
			return cur, errURLChanged
		}
		cc.IdPMetadataXML, cc.MetadataRefreshedAt = string(doc), now
		b, err := json.Marshal(cc)
		if err != nil {
			return cur, err
		}
		cur.Config = b
		return cur, nil
	})
	if errors.Is(err, errURLChanged) {
		return s.store.GetSSOConnection(ctx, accountID, id)
	}
	if err != nil {
		return c, fmt.Errorf("refresh metadata of %s: %w", id, err)
	}
	if changed {
		if err := s.audit(ctx, provisioning.Actor{Kind: repository.ActorSystem}, accountID, "sso_connection.metadata_refresh", id,
			map[string]any{"idpMetadata": "previous"}, map[string]any{"idpMetadata": "refreshed from " + cfg.IdPMetadataURL}); err != nil {
			return updated, err
		}
	}
	return updated, nil
}

var errURLChanged = errors.New("metadata URL changed during refresh")

// fetch downloads a metadata document within the deployment's bounds.
func (s *Service) fetch(ctx context.Context, rawURL string) ([]byte, error) {
	return samlsp.FetchMetadata(ctx, s.opts.HTTPClient, rawURL)
}

// applySAML applies SAML input to cfg; create requires metadata.
func (s *Service) applySAML(ctx context.Context, cfg *connector.SAML, in adminapi.SAMLInput, create bool) error {
	xmlGiven := in.IdPMetadataXML != nil && strings.TrimSpace(*in.IdPMetadataXML) != ""
	urlGiven := in.IdPMetadataURL != nil && strings.TrimSpace(*in.IdPMetadataURL) != ""
	switch {
	case xmlGiven && urlGiven:
		return invalid("saml.idpMetadataUrl", "give idpMetadataXml or idpMetadataUrl, not both")
	case urlGiven:
		u, err := checkMetadataURL(*in.IdPMetadataURL)
		if err != nil {
			return err
		}
		doc, err := s.fetch(ctx, u)
		if err != nil {
			return invalid("saml.idpMetadataUrl", "the IdP metadata could not be fetched from %s: %v", u, trimPrefix(err))
		}
		if _, err := parseIdPMetadata(doc); err != nil {
			return invalid("saml.idpMetadataUrl", "the document at %s is not usable: %v", u, err)
		}
		cfg.IdPMetadataURL, cfg.IdPMetadataXML, cfg.MetadataRefreshedAt = u, string(doc), s.opts.Now().UTC()
	case xmlGiven:
		if _, err := parseIdPMetadata([]byte(*in.IdPMetadataXML)); err != nil {
			return invalid("saml.idpMetadataXml", "%v", err)
		}
		// Pasted metadata replaces any URL: refreshing would overwrite it.
		cfg.IdPMetadataXML, cfg.IdPMetadataURL, cfg.MetadataRefreshedAt = strings.TrimSpace(*in.IdPMetadataXML), "", time.Time{}
	case in.IdPMetadataURL != nil && !create:
		// An empty URL stops refreshing and keeps the current document.
		cfg.IdPMetadataURL = ""
	case create:
		return invalid("saml.idpMetadataXml", "a SAML connection needs the IdP metadata: idpMetadataXml or idpMetadataUrl")
	}
	if in.AllowIdPInitiated != nil {
		cfg.AllowIdPInitiated = *in.AllowIdPInitiated
	}
	if in.SignAuthnRequests != nil {
		cfg.SignAuthnRequests = *in.SignAuthnRequests
	}
	if in.Attributes != nil {
		m, err := mapping("saml.attributes", *in.Attributes)
		if err != nil {
			return err
		}
		cfg.Attributes = m
	}
	if in.Provisioning != nil {
		cfg.Provisioning = connector.Provisioning{JIT: in.Provisioning.JIT, EmailVerified: in.Provisioning.EmailVerified}
	}
	return nil
}

// trimPrefix drops samlsp's package prefix from a fetch error, which is
// shown to the admin.
func trimPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "samlsp: fetch metadata: ")
}

// applyOIDC applies OIDC input to cfg; create requires issuer and client.
func (s *Service) applyOIDC(cfg *connector.OIDC, in adminapi.OIDCInput, create bool) error {
	if in.Issuer != nil || create {
		iss, err := checkIssuer(deref(in.Issuer))
		if err != nil {
			return err
		}
		cfg.Issuer = iss
	}
	if in.ClientID != nil || create {
		id := strings.TrimSpace(deref(in.ClientID))
		if id == "" || len(id) > maxClientID || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return invalid("oidc.clientId", "clientId must be 1 to %d printable characters", maxClientID)
		}
		cfg.ClientID = id
	}
	if in.ClientSecret != nil {
		secret := *in.ClientSecret
		if len(secret) > maxSecretLen {
			return invalid("oidc.clientSecret", "clientSecret is longer than %d bytes", maxSecretLen)
		}
		if secret == "" {
			cfg.ClientSecret = "" // a public client (PKCE only)
		} else {
			cfg.ClientSecret = s.opts.Sealer.SealString(oidcrp.SecretPurpose, secret)
		}
	}
	if in.Scopes != nil {
		scopes, err := checkScopes(*in.Scopes)
		if err != nil {
			return err
		}
		cfg.Scopes = scopes
	}
	if in.UserInfo != nil {
		cfg.UserInfo = *in.UserInfo
	}
	if in.Claims != nil {
		m, err := mapping("oidc.claims", *in.Claims)
		if err != nil {
			return err
		}
		cfg.Claims = m
	}
	if in.Provisioning != nil {
		cfg.Provisioning = connector.Provisioning{JIT: in.Provisioning.JIT, EmailVerified: in.Provisioning.EmailVerified}
	}
	return nil
}

// mapping checks an attribute mapping.
func mapping(attribute string, in adminapi.AttributeMapping) (connector.AttributeMapping, error) {
	var out connector.AttributeMapping
	var err error
	for _, f := range []struct {
		name string
		src  string
		dst  *string
	}{
		{"email", in.Email, &out.Email}, {"givenName", in.GivenName, &out.GivenName},
		{"familyName", in.FamilyName, &out.FamilyName}, {"displayName", in.DisplayName, &out.DisplayName},
		{"groups", in.Groups, &out.Groups},
	} {
		if *f.dst, err = checkAttr(attribute+"."+f.name, f.src); err != nil {
			return out, err
		}
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// checkDomainsFree names the first domain of c another connection routes,
// so the admin reads which one; the store's unique index still decides
// under concurrent writes. own are c's current domains.
func (s *Service) checkDomainsFree(ctx context.Context, c repository.SSOConnection, own []string) error {
	for _, d := range c.Domains {
		if slices.Contains(own, d) {
			continue
		}
		other, err := s.store.GetSSOConnectionByDomain(ctx, d)
		if errors.Is(err, repository.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check domain %s: %w", d, err)
		}
		if other.AccountID == c.AccountID && other.ID == c.ID {
			continue
		}
		return domainConflict(repository.NewConflict("sso connection", "domain"), d)
	}
	return nil
}

// domainConflict turns the store's conflict on "domain" into one naming
// the admin API's field and, when known, the domain. Other errors pass.
func domainConflict(err error, domain string) error {
	var ce *repository.ConflictError
	if !errors.As(err, &ce) || ce.Attribute != "domain" {
		return err
	}
	msg := "a domain of this connection is already routed to another SSO connection"
	if domain != "" {
		msg = domain + " is already routed to another SSO connection; remove it there first"
	}
	return &provisioning.Error{Code: provisioning.CodeConflict, Attribute: "domains", Message: msg, Err: err}
}

// versionMismatch is the If-Match failure.
func versionMismatch(version int64) error {
	msg := "the connection was changed by someone else; fetch it again"
	if version > 0 {
		msg = fmt.Sprintf("the connection is at version %d, not the one given in If-Match; fetch it again", version)
	}
	return &provisioning.Error{Code: provisioning.CodeVersionMismatch, Message: msg, Err: repository.ErrVersionMismatch}
}

// audit appends one audit event with the fields that differ between the
// two views (nil for a side that does not exist).
func (s *Service) audit(ctx context.Context, actor provisioning.Actor, accountID, action, id string, before, after map[string]any) error {
	type change struct {
		Before any `json:"before,omitempty"`
		After  any `json:"after,omitempty"`
	}
	diff := map[string]change{}
	for k, v := range after {
		if b, ok := before[k]; !ok || !reflect.DeepEqual(b, v) {
			diff[k] = change{Before: before[k], After: v}
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok {
			diff[k] = change{Before: v}
		}
	}
	b, err := json.Marshal(diff)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if _, err := s.store.AppendAudit(ctx, repository.AuditEvent{
		AccountID: accountID, ID: repository.NewID(), Time: s.opts.Now().UTC(),
		ActorKind: actor.Kind, ActorID: actor.ID, Action: action,
		TargetKind: "sso_connection", TargetID: id, Diff: b, RequestID: actor.RequestID,
	}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// auditView is what an audit diff records of a connection: no secret, no
// key, and the metadata by its identity rather than its text.
func auditView(c repository.SSOConnection) map[string]any {
	v := map[string]any{"kind": c.Kind, "name": c.Name, "domains": slices.Clone(c.Domains), "enabled": c.Enabled}
	switch c.Kind {
	case repository.SSOSAML:
		var cfg connector.SAML
		if json.Unmarshal(c.Config, &cfg) == nil {
			v["saml.idpMetadataUrl"] = cfg.IdPMetadataURL
			if md, err := parseIdPMetadata([]byte(cfg.IdPMetadataXML)); err == nil {
				v["saml.idpEntityId"] = md.EntityID
				v["saml.idpSsoUrl"] = md.SSOURL
				fps := make([]string, 0, len(md.Certs))
				for _, c := range md.Certs {
					fps = append(fps, fingerprint(c))
				}
				v["saml.idpCertificates"] = fps
			}
			v["saml.allowIdpInitiated"] = cfg.AllowIdPInitiated
			v["saml.signAuthnRequests"] = cfg.SignAuthnRequests
			v["saml.attributes"] = cfg.Attributes
			v["saml.provisioning"] = cfg.Provisioning
		}
	case repository.SSOOIDC:
		var cfg connector.OIDC
		if json.Unmarshal(c.Config, &cfg) == nil {
			v["oidc.issuer"] = cfg.Issuer
			v["oidc.clientId"] = cfg.ClientID
			// The sealed value changes with every write of the secret, so
			// its change is recorded without revealing anything.
			v["oidc.clientSecret"] = secretMarker(cfg.ClientSecret)
			v["oidc.scopes"] = slices.Clone(cfg.Scopes)
			v["oidc.userInfo"] = cfg.UserInfo
			v["oidc.claims"] = cfg.Claims
			v["oidc.provisioning"] = cfg.Provisioning
		}
	}
	return v
}

// secretMarker stands for a sealed secret in an audit diff: the same
// sealed value gives the same marker, a new one another.
func secretMarker(sealed string) string {
	if sealed == "" {
		return "(none)"
	}
	if len(sealed) > 8 {
		sealed = sealed[len(sealed)-8:] // part of the GCM tag: reveals nothing
	}
	return "(set, " + sealed + ")"
}

// view renders a connection for the admin API.
func (s *Service) view(c repository.SSOConnection) (adminapi.SSOConnection, error) {
	v := adminapi.SSOConnection{
		ID: c.ID, Kind: c.Kind, Name: c.Name, Domains: nonNil(c.Domains), Enabled: c.Enabled,
		Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	switch c.Kind {
	case repository.SSOSAML:
		var cfg connector.SAML
		if err := json.Unmarshal(c.Config, &cfg); err != nil {
			return v, fmt.Errorf("sso connection %s: read config: %w", c.ID, err)
		}
		sv := &adminapi.SAMLSettings{
			IdPMetadataURL: cfg.IdPMetadataURL, AllowIdPInitiated: cfg.AllowIdPInitiated,
			SignAuthnRequests: cfg.SignAuthnRequests,
			Attributes:        adminapi.AttributeMapping(cfg.Attributes),
			Provisioning:      adminapi.SSOProvisioning{JIT: cfg.Provisioning.JIT, EmailVerified: cfg.Provisioning.EmailVerified},
			SPEntityID:        SAMLMetadataURL(s.base, c.ID), SPMetadataURL: SAMLMetadataURL(s.base, c.ID),
			ACSURL: SAMLACSURL(s.base, c.ID), SPCertificate: cfg.SPCertificate,
			IdPCertificates: []adminapi.IdPCertificate{},
		}
		if !cfg.MetadataRefreshedAt.IsZero() {
			t := cfg.MetadataRefreshedAt
			sv.MetadataRefreshedAt = &t
		}
		if md, err := parseIdPMetadata([]byte(cfg.IdPMetadataXML)); err == nil {
			sv.IdPEntityID, sv.IdPSSOURL = md.EntityID, md.SSOURL
			for _, cert := range md.Certs {
				sv.IdPCertificates = append(sv.IdPCertificates, adminapi.IdPCertificate{
					Subject: cert.Subject.String(), NotAfter: cert.NotAfter.UTC(), SHA256Fingerprint: fingerprint(cert)})
			}
		}
		if b, _ := pem.Decode([]byte(cfg.SPCertificate)); b != nil {
			if cert, err := x509.ParseCertificate(b.Bytes); err == nil {
				t := cert.NotAfter.UTC()
				sv.SPCertNotAfter = &t
			}
		}
		v.SAML = sv
	case repository.SSOOIDC:
		var cfg connector.OIDC
		if err := json.Unmarshal(c.Config, &cfg); err != nil {
			return v, fmt.Errorf("sso connection %s: read config: %w", c.ID, err)
		}
		scopes := cfg.Scopes
		if len(scopes) == 0 {
			scopes = []string{"openid", "email", "profile"} // what the RP asks for
		}
		v.OIDC = &adminapi.OIDCSettings{
			Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecretSet: cfg.ClientSecret != "",
			Scopes: slices.Clone(scopes), UserInfo: cfg.UserInfo,
			Claims:       adminapi.AttributeMapping(cfg.Claims),
			Provisioning: adminapi.SSOProvisioning{JIT: cfg.Provisioning.JIT, EmailVerified: cfg.Provisioning.EmailVerified},
			RedirectURI:  OIDCRedirectURI(s.base, c.ID),
		}
	}
	return v, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// Interface check: the admin API's contract.
var _ adminapi.ConnectionService = (*Service)(nil)
