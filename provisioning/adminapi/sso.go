package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// ConnectionService manages an account's SSO connections behind
// /sso-connections. The SSO bridge implements it (sso/connections); the
// admin API only translates HTTP. Its errors are provisioning errors
// (provisioning.AsError maps them: invalid_value with the attribute at
// fault, not_found, version_mismatch, a conflict on "domain").
type ConnectionService interface {
	ListConnections(ctx context.Context, accountID string) ([]SSOConnection, error)
	GetConnection(ctx context.Context, accountID, id string) (SSOConnection, error)
	CreateConnection(ctx context.Context, actor provisioning.Actor, accountID string, in SSOConnectionInput) (SSOConnection, error)
	// UpdateConnection applies p (fields left out stay) when the
	// connection is at one of ifVersion (any version when empty).
	UpdateConnection(ctx context.Context, actor provisioning.Actor, accountID, id string, ifVersion provisioning.IfVersion, p SSOConnectionPatch) (SSOConnection, error)
	DeleteConnection(ctx context.Context, actor provisioning.Actor, accountID, id string, ifVersion provisioning.IfVersion) error
}

// AccessTokens issues and verifies the short-lived signed access tokens
// (JWT) of the SSO bridge (sso/accesstoken implements it).
type AccessTokens interface {
	// IssueViewAs signs a read-only token acting as memberID on behalf of
	// actorID (RFC 8693 "act"), valid for at most ttl.
	IssueViewAs(ctx context.Context, accountID, memberID, actorID string, roles []string, agent bool, ttl time.Duration) (token string, expiresAt time.Time, err error)
	// VerifyAccess checks a token. A token at fault is an error that
	// provisioning.AsError maps to unauthenticated; any other error is a
	// failure to check (503).
	VerifyAccess(ctx context.Context, token string) (accountID, memberID, tokenID string, readOnly bool, err error)
}

// MaxViewAsTTL caps the lifetime of a "view as" token.
const MaxViewAsTTL = 15 * time.Minute

// CodeMemberInactive refuses to view the app as a member who is not
// active (invited or deactivated): they have no session to look at.
const CodeMemberInactive = "member_inactive"

// Permission sets of the SSO routes.
var permSSO = []string{provisioning.PermSSOManage}

// SSOConnection is an account's SAML or OpenID Connect identity provider.
// Secrets and private keys are never shown.
type SSOConnection struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind" enum:"saml,oidc"`
	Name    string   `json:"name"`
	Domains []string `json:"domains" doc:"email domains routed to this connection (lowercase); a domain belongs to one connection in the whole deployment"`
	Enabled bool     `json:"enabled"`
	// SAML is set for SAML connections, OIDC for OpenID Connect ones.
	SAML      *SAMLSettings `json:"saml,omitempty"`
	OIDC      *OIDCSettings `json:"oidc,omitempty"`
	Version   int64         `json:"version"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

// SAMLSettings is the SAML side of a connection: what the IdP's metadata
// says, and what to paste into the IdP.
type SAMLSettings struct {
	IdPMetadataURL      string           `json:"idpMetadataUrl,omitempty" doc:"where the IdP metadata is fetched and refreshed from; absent when it was pasted"`
	MetadataRefreshedAt *time.Time       `json:"metadataRefreshedAt,omitempty"`
	IdPEntityID         string           `json:"idpEntityId"`
	IdPSSOURL           string           `json:"idpSsoUrl" doc:"the IdP's single sign-on URL (HTTP-Redirect binding)"`
	IdPCertificates     []IdPCertificate `json:"idpCertificates" doc:"the IdP's signing certificates; several during a rotation"`
	AllowIdPInitiated   bool             `json:"allowIdpInitiated"`
	SignAuthnRequests   bool             `json:"signAuthnRequests"`
	Attributes          AttributeMapping `json:"attributes"`
	Provisioning        SSOProvisioning  `json:"provisioning"`
	// What the admin registers at the IdP.
	SPEntityID     string     `json:"spEntityId" doc:"our entity id (audience) to register at the IdP"`
	SPMetadataURL  string     `json:"spMetadataUrl" doc:"our SP metadata, for IdPs that import it"`
	ACSURL         string     `json:"acsUrl" doc:"assertion consumer service URL (HTTP-POST binding) to register at the IdP"`
	SPCertificate  string     `json:"spCertificate" doc:"our SP certificate (PEM): verifies signed AuthnRequests, encrypts assertions"`
	SPCertNotAfter *time.Time `json:"spCertificateNotAfter,omitempty"`
}

// IdPCertificate summarises one IdP signing certificate.
type IdPCertificate struct {
	Subject           string    `json:"subject"`
	NotAfter          time.Time `json:"notAfter"`
	SHA256Fingerprint string    `json:"sha256Fingerprint" doc:"hex SHA-256 of the DER certificate, to compare with the IdP's console"`
}

// OIDCSettings is the OpenID Connect side of a connection.
type OIDCSettings struct {
	Issuer          string           `json:"issuer"`
	ClientID        string           `json:"clientId"`
	ClientSecretSet bool             `json:"clientSecretSet" doc:"a client secret is stored; it is never shown"`
	Scopes          []string         `json:"scopes"`
	UserInfo        bool             `json:"userInfo" doc:"the userinfo endpoint is read too"`
	Claims          AttributeMapping `json:"claims"`
	Provisioning    SSOProvisioning  `json:"provisioning"`
	RedirectURI     string           `json:"redirectUri" doc:"the redirect (callback) URI to register at the IdP"`
}

// AttributeMapping names the SAML attributes or OIDC claims carrying each
// profile field; empty names take the protocol's usual defaults.
type AttributeMapping struct {
	Email       string `json:"email,omitempty"`
	GivenName   string `json:"givenName,omitempty"`
	FamilyName  string `json:"familyName,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Groups      string `json:"groups,omitempty"`
}

// SSOProvisioning is what a connection allows for people without a member.
type SSOProvisioning struct {
	JIT           bool `json:"jit,omitempty" doc:"create a member (default role, seat rules apply) at the first login of an unknown person"`
	EmailVerified bool `json:"emailVerified,omitempty" doc:"SAML only: the IdP's email attribute is verified, so a login may link to a member by email when the account allows it"`
}

// SSOConnectionInput creates a connection.
type SSOConnectionInput struct {
	Kind    string     `json:"kind" api:"required" enum:"saml,oidc"`
	Name    string     `json:"name" api:"required" doc:"1 to 100 characters"`
	Domains []string   `json:"domains,omitempty" doc:"email domains to route here; public mail providers (gmail.com, outlook.com, ...) are refused"`
	Enabled *bool      `json:"enabled,omitempty" doc:"default true"`
	SAML    *SAMLInput `json:"saml,omitempty" doc:"required for kind saml"`
	OIDC    *OIDCInput `json:"oidc,omitempty" doc:"required for kind oidc"`
}

// SSOConnectionPatch changes a connection; fields left out (or null) stay.
type SSOConnectionPatch struct {
	Name    *string    `json:"name,omitempty"`
	Domains *[]string  `json:"domains,omitempty" doc:"replaces the list"`
	Enabled *bool      `json:"enabled,omitempty"`
	SAML    *SAMLInput `json:"saml,omitempty" doc:"only on a SAML connection; fields left out stay"`
	OIDC    *OIDCInput `json:"oidc,omitempty" doc:"only on an OIDC connection; fields left out stay"`
}

// SAMLInput sets the SAML side of a connection.
type SAMLInput struct {
	IdPMetadataXML    *string           `json:"idpMetadataXml,omitempty" doc:"the IdP metadata document; this or idpMetadataUrl"`
	IdPMetadataURL    *string           `json:"idpMetadataUrl,omitempty" doc:"https URL the IdP metadata is fetched (and refreshed) from; an empty string stops refreshing"`
	AllowIdPInitiated *bool             `json:"allowIdpInitiated,omitempty" doc:"accept logins started at the IdP (off by default)"`
	SignAuthnRequests *bool             `json:"signAuthnRequests,omitempty"`
	Attributes        *AttributeMapping `json:"attributes,omitempty"`
	Provisioning      *SSOProvisioning  `json:"provisioning,omitempty"`
}

// OIDCInput sets the OpenID Connect side of a connection.
type OIDCInput struct {
	Issuer       *string           `json:"issuer,omitempty" doc:"https issuer URL (http only on a loopback host); discovery reads issuer/.well-known/openid-configuration"`
	ClientID     *string           `json:"clientId,omitempty"`
	ClientSecret *string           `json:"clientSecret,omitempty" doc:"stored encrypted and never shown again"`
	Scopes       *[]string         `json:"scopes,omitempty" doc:"must include openid; default openid email profile"`
	UserInfo     *bool             `json:"userInfo,omitempty"`
	Claims       *AttributeMapping `json:"claims,omitempty"`
	Provisioning *SSOProvisioning  `json:"provisioning,omitempty"`
}

// ViewAsToken is a short-lived read-only access token acting as a member.
type ViewAsToken struct {
	AccessToken string    `json:"accessToken" doc:"send as Authorization: Bearer <accessToken>; shown once"`
	TokenType   string    `json:"tokenType" enum:"Bearer"`
	ExpiresAt   time.Time `json:"expiresAt"`
	ReadOnly    bool      `json:"readOnly" doc:"always true: every change is refused with forbidden"`
	MemberID    string    `json:"memberId" doc:"the member the token views the app as"`
	ActorID     string    `json:"actorId" doc:"who acts: the caller (the token's act claim)"`
}

// ssoRoutes lists the routes of SSO connections and "view as" tokens.
func (a *API) ssoRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/sso-connections", op: "listSSOConnections", tag: "SSO connections", perms: permSSO,
			sum: "List the account's SAML and OpenID Connect connections", status: http.StatusOK, resp: List[SSOConnection]{},
			errs: []int{http.StatusServiceUnavailable}, h: a.listConnections},
		{method: http.MethodPost, path: "/sso-connections", op: "createSSOConnection", tag: "SSO connections", perms: permSSO,
			sum: "Create a SAML or OpenID Connect connection",
			desc: "SAML: give the IdP metadata (idpMetadataXml, or idpMetadataUrl to fetch and refresh it); it must name a signing certificate and an HTTP-Redirect single sign-on URL. " +
				"The connection's SP key pair is made here; register spEntityId and acsUrl (or import spMetadataUrl) at the IdP. " +
				"OIDC: issuer, clientId and clientSecret (stored encrypted, never shown again); register redirectUri at the IdP. " +
				"A domain routed to another connection is a conflict on domain.",
			body: SSOConnectionInput{}, status: http.StatusCreated, resp: SSOConnection{}, etag: true,
			errs: []int{http.StatusConflict}, h: a.createConnection},
		{method: http.MethodGet, path: "/sso-connections/:id", op: "getSSOConnection", tag: "SSO connections", perms: permSSO,
			sum: "Get a connection", status: http.StatusOK, resp: SSOConnection{}, etag: true, h: a.getConnection},
		{method: http.MethodPatch, path: "/sso-connections/:id", op: "updateSSOConnection", tag: "SSO connections", perms: permSSO,
			sum: "Change a connection (JSON merge patch)", desc: "Fields left out stay. A new idpMetadataUrl is fetched at once; a clientSecret replaces the stored one.",
			body: SSOConnectionPatch{}, status: http.StatusOK, resp: SSOConnection{}, etag: true,
			errs: []int{http.StatusConflict}, h: a.patchConnection},
		{method: http.MethodDelete, path: "/sso-connections/:id", op: "deleteSSOConnection", tag: "SSO connections", perms: permSSO,
			sum: "Delete a connection", desc: "Its domains stop routing to it and the links of its identities to members are removed; members stay.",
			status: http.StatusNoContent, etag: true, h: a.deleteConnection},
		{method: http.MethodPost, path: "/members/:id/impersonation", op: "viewAsMember", tag: "Members", perms: permViewAs,
			sum: "Get a short-lived read-only token that views the app as a member",
			desc: "The token (a signed JWT, at most 15 minutes) acts as the member with the member's permissions, may read but never change anything, and records the caller as the actor. " +
				"The member must be active (member_inactive otherwise); only the owner may view the app as the owner (owner_protected). Audited as member.impersonate.",
			status: http.StatusOK, resp: ViewAsToken{}, errs: []int{http.StatusConflict}, h: a.viewAs},
	}
}

// errSSOUnavailable answers when the deployment runs without the SSO bridge.
var errSSOUnavailable = errorf(CodeUnavailable, "", "single sign-on is not configured on this deployment")

func (a *API) connections() (ConnectionService, error) {
	if a.opts.Connections == nil {
		return nil, errSSOUnavailable
	}
	return a.opts.Connections, nil
}

func (a *API) listConnections(c *gin.Context, cl *call) (*reply, error) {
	svc, err := a.connections()
	if err != nil {
		return nil, err
	}
	conns, err := svc.ListConnections(c.Request.Context(), cl.AccountID)
	if err != nil {
		return nil, err
	}
	return ok(List[SSOConnection]{Items: nonNil(conns)}), nil
}

func (a *API) getConnection(c *gin.Context, cl *call) (*reply, error) {
	svc, err := a.connections()
	if err != nil {
		return nil, err
	}
	id := c.Param("id")
	conn, err := svc.GetConnection(c.Request.Context(), cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "SSO connection", id)
	}
	return &reply{status: http.StatusOK, body: conn, etag: etag(conn.Version)}, nil
}

func (a *API) createConnection(c *gin.Context, cl *call) (*reply, error) {
	svc, err := a.connections()
	if err != nil {
		return nil, err
	}
	var in SSOConnectionInput
	if _, err := a.decode(c, &in, SSOConnection{}); err != nil {
		return nil, err
	}
	conn, err := svc.CreateConnection(c.Request.Context(), cl.actor(), cl.AccountID, in)
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusCreated, body: conn, etag: etag(conn.Version),
		location: c.Request.URL.Path + "/" + conn.ID}, nil
}

func (a *API) patchConnection(c *gin.Context, cl *call) (*reply, error) {
	svc, err := a.connections()
	if err != nil {
		return nil, err
	}
	id := c.Param("id")
	var p SSOConnectionPatch
	if _, err := a.decode(c, &p, SSOConnection{}); err != nil {
		return nil, err
	}
	conn, err := svc.UpdateConnection(c.Request.Context(), cl.actor(), cl.AccountID, id, ifMatch(c), p)
	if err != nil {
		return nil, notFound(err, "SSO connection", id)
	}
	return &reply{status: http.StatusOK, body: conn, etag: etag(conn.Version)}, nil
}

func (a *API) deleteConnection(c *gin.Context, cl *call) (*reply, error) {
	svc, err := a.connections()
	if err != nil {
		return nil, err
	}
	id := c.Param("id")
	if err := svc.DeleteConnection(c.Request.Context(), cl.actor(), cl.AccountID, id, ifMatch(c)); err != nil {
		return nil, notFound(err, "SSO connection", id)
	}
	return noContent(), nil
}

// viewAs mints a "view as" token for a member of the caller's account.
func (a *API) viewAs(c *gin.Context, cl *call) (*reply, error) {
	if a.opts.AccessTokens == nil {
		return nil, errSSOUnavailable
	}
	ctx := c.Request.Context()
	id := c.Param("id")
	target, err := a.store().GetMember(ctx, cl.AccountID, id)
	if err != nil {
		return nil, notFound(err, "member", id)
	}
	owner, err := a.ownerID(c, cl.AccountID)
	if err != nil {
		return nil, err
	}
	if target.ID == owner && cl.MemberID != owner {
		return nil, &provisioning.Error{Code: provisioning.CodeOwnerProtected,
			Message: "only the account owner may view the app as the owner"}
	}
	if !target.Active {
		return nil, errorf(CodeMemberInactive, "", "member %s is not active; only active members can be viewed as", quote(id))
	}
	ep, err := a.svc.EffectivePermissions(ctx, cl.AccountID, target.ID)
	if err != nil {
		return nil, notFound(err, "member", id)
	}
	tok, exp, err := a.opts.AccessTokens.IssueViewAs(ctx, cl.AccountID, target.ID, cl.MemberID, ep.Roles, ep.Agent, MaxViewAsTTL)
	if err != nil {
		return nil, err
	}
	// The token is handed out only once the audit event is kept: a view
	// nobody can trace must not exist.
	if err := a.appendAudit(ctx, cl, "member.impersonate", "member", target.ID,
		map[string]any{"readOnly": map[string]any{"after": true}, "expiresAt": map[string]any{"after": exp.UTC()}}); err != nil {
		return nil, err
	}
	return &reply{status: http.StatusOK, noStore: true, body: ViewAsToken{
		AccessToken: tok, TokenType: "Bearer", ExpiresAt: exp.UTC(), ReadOnly: true,
		MemberID: target.ID, ActorID: cl.MemberID,
	}}, nil
}

// appendAudit records an event the admin API itself is the author of
// (provisioning records the changes it makes).
func (a *API) appendAudit(ctx context.Context, cl *call, action, targetKind, targetID string, diff any) error {
	b, err := json.Marshal(diff)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if _, err := a.store().AppendAudit(ctx, repository.AuditEvent{
		AccountID: cl.AccountID, ID: repository.NewID(), Time: a.opts.Now().UTC(),
		ActorKind: repository.ActorMember, ActorID: cl.MemberID,
		Action: action, TargetKind: targetKind, TargetID: targetID, Diff: b, RequestID: cl.requestID,
	}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}
