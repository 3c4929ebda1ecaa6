// Package connector holds what the SAML and OIDC halves of the SSO bridge
// share: the normalised Identity a login produces, the per-connection
// configuration stored (as JSON) in repository.SSOConnection.Config, and
// the typed login error carrying a public message and a private cause.
//
// Each protocol lives in its own package (sso/samlsp, sso/oidcrp) and turns
// a login into one Identity; provisioning alone decides which member that
// identity is.
package connector

import (
	"errors"
	"time"
)

// Identity is what an IdP asserted about the person logging in.
type Identity struct {
	ConnectionID string
	// Subject is the SAML NameID or the OIDC "sub": stable per IdP.
	Subject       string
	Email         string
	EmailVerified bool // the IdP vouches for Email (OIDC email_verified; SAML per connection)
	GivenName     string
	FamilyName    string
	DisplayName   string
	Groups        []string
	// SessionNotOnOrAfter caps the platform session when the IdP limits it
	// (SAML SessionNotOnOrAfter); zero when it does not.
	SessionNotOnOrAfter time.Time
	// ReturnTo is the path of our own origin the person asked for before
	// the login, already checked against the allow-list.
	ReturnTo string
}

// Provisioning is what a connection allows for people without a member.
type Provisioning struct {
	// JIT creates a member at the first login of an unknown person, with
	// the account's default role; seat rules apply.
	JIT bool `json:"jit,omitempty"`
	// EmailVerified tells, for SAML, whether the IdP's email attribute is
	// verified by the IdP (corporate directories are); OIDC uses the
	// email_verified claim instead.
	EmailVerified bool `json:"emailVerified,omitempty"`
}

// AttributeMapping names the SAML attributes or OIDC claims carrying each
// profile field. Empty names take the protocol's usual defaults.
type AttributeMapping struct {
	Email       string `json:"email,omitempty"`
	GivenName   string `json:"givenName,omitempty"`
	FamilyName  string `json:"familyName,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Groups      string `json:"groups,omitempty"`
}

// SAML is the configuration of a SAML connection.
type SAML struct {
	// IdPMetadataXML is the IdP's metadata document; IdPMetadataURL, when
	// set, is where it is fetched from and refreshed.
	IdPMetadataXML      string    `json:"idpMetadataXml,omitempty"`
	IdPMetadataURL      string    `json:"idpMetadataUrl,omitempty"`
	MetadataRefreshedAt time.Time `json:"metadataRefreshedAt,omitzero"`

	// SPPrivateKey (PKCS#8 DER, sealed with purpose "saml-sp-key", base64)
	// and SPCertificate (PEM) are the connection's own SP key pair: it
	// signs AuthnRequests and decrypts encrypted assertions. The
	// connections service makes them when the connection is created.
	SPPrivateKey  string `json:"spPrivateKey,omitempty"`
	SPCertificate string `json:"spCertificate,omitempty"`

	// AllowIdPInitiated accepts responses no AuthnRequest of ours asked
	// for. Off by default: they cannot be bound to a browser.
	AllowIdPInitiated bool `json:"allowIdpInitiated,omitempty"`
	// SignAuthnRequests signs our AuthnRequests with the SP key.
	SignAuthnRequests bool `json:"signAuthnRequests,omitempty"`
	// ClockSkew tolerated on NotBefore/NotOnOrAfter; 0 means 90 s.
	ClockSkew Duration `json:"clockSkew,omitempty"`

	Attributes   AttributeMapping `json:"attributes,omitzero"`
	Provisioning Provisioning     `json:"provisioning,omitzero"`
}

// OIDC is the configuration of an OpenID Connect connection.
type OIDC struct {
	// Issuer is discovered at Issuer + "/.well-known/openid-configuration".
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	// ClientSecret is sealed (encrypted) with the deployment's secret key
	// before it reaches the store, and never returned by the admin API.
	ClientSecret string   `json:"clientSecret,omitempty"`
	Scopes       []string `json:"scopes,omitempty"` // default: openid email profile
	// UserInfo fetches the userinfo endpoint too (its "sub" must match).
	UserInfo bool `json:"userInfo,omitempty"`

	Claims       AttributeMapping `json:"claims,omitzero"`
	Provisioning Provisioning     `json:"provisioning,omitzero"`
}

// Duration is a time.Duration written in JSON as a Go duration string.
type Duration time.Duration

// MarshalText writes d as "90s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// LoginError is a failed login: Public is safe to show the person on the
// login page, Reason is a short stable label for metrics ("replayed",
// "audience", "expired", …) and Cause the private detail for the logs.
type LoginError struct {
	Reason string
	Public string
	Cause  error
}

func (e *LoginError) Error() string {
	if e.Cause != nil {
		return e.Reason + ": " + e.Cause.Error()
	}
	return e.Reason
}

func (e *LoginError) Unwrap() error { return e.Cause }

// Fail returns a *LoginError.
func Fail(reason, public string, cause error) error {
	return &LoginError{Reason: reason, Public: public, Cause: cause}
}

// ReasonOf returns the Reason of a *LoginError in err's chain, or "error".
func ReasonOf(err error) string {
	var le *LoginError
	if errors.As(err, &le) {
		return le.Reason
	}
	return "error"
}
