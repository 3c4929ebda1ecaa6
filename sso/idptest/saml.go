package idptest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"testing"
	"time"
)

// SAML attribute names the test IdP uses for the SAMLUser fields: the
// short names many IdPs (Okta, OneLogin, JumpCloud) are set up with. A
// test wanting other names (Entra's claim URIs, say) sets
// SAMLUser.Attributes.
const (
	AttrEmail       = "email"
	AttrGivenName   = "givenName"
	AttrFamilyName  = "familyName"
	AttrDisplayName = "displayName"
	AttrGroups      = "groups"
)

// NameID formats.
const (
	NameIDEmail      = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDPersistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
)

// SAMLUser is a person the test IdP knows.
type SAMLUser struct {
	// NameID is the subject; its format is NameIDFormat, by default
	// NameIDEmail.
	NameID       string
	NameIDFormat string
	Email        string
	GivenName    string
	FamilyName   string
	DisplayName  string
	Groups       []string
	// Attributes are sent as they are, in addition to the fields above
	// (which are sent under the Attr* names when not empty).
	Attributes map[string][]string
	// Session, when not zero, sets the AuthnStatement's
	// SessionNotOnOrAfter to now + Session.
	Session time.Duration
}

// DefaultSAMLUsers are the users of a SAMLConfig that names none.
var DefaultSAMLUsers = []SAMLUser{
	{NameID: "alice@example.com", Email: "alice@example.com", GivenName: "Alice", FamilyName: "Archer", Groups: []string{"agents"}},
	{NameID: "bob@example.com", Email: "bob@example.com", GivenName: "Bob", FamilyName: "Baker", Groups: []string{"agents", "supervisors"}},
}

// SAMLConfig configures StartSAML. The zero value is usable: an IdP with a
// fresh signing key and DefaultSAMLUsers, which knows no SP yet.
type SAMLConfig struct {
	// EntityID defaults to the metadata URL.
	EntityID string
	Users    []SAMLUser
	// DefaultUser is the NameID logged in when neither the SSO URL's
	// "user" query parameter nor LoginAs says who; default: the first user.
	DefaultUser string
	// SPMetadata are SP metadata documents known from the start; more can
	// be added with RegisterSP.
	SPMetadata [][]byte
	// WantAuthnRequestsSigned refuses unsigned AuthnRequests and says so
	// in the IdP metadata.
	WantAuthnRequestsSigned bool
	// EncryptAssertions encrypts assertions (AES-256-CBC, RSA-OAEP) for the
	// encryption key of the SP metadata.
	EncryptAssertions bool
	// Sign is what the IdP signs (RSA-SHA256): SignAssertion (default),
	// SignResponse or SignBoth.
	Sign SignWhat
	// Key and Certificate sign; a fresh 2048-bit key and a self-signed
	// certificate when nil.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
}

// SignWhat says which element of a SAML response carries the signature.
type SignWhat string

// What the IdP signs.
const (
	SignAssertion SignWhat = "assertion"
	SignResponse  SignWhat = "response"
	SignBoth      SignWhat = "both"
)

// SAMLIdP is a running samlify identity provider (tools/idp/saml.js).
type SAMLIdP struct {
	EntityID    string
	MetadataURL string
	// SSOURL takes AuthnRequests by HTTP-Redirect (GET) and HTTP-POST.
	SSOURL string
	// Key and Certificate are the IdP's signing pair.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate

	base string
	proc *process
}

type samlNodeUser struct {
	NameID         string              `json:"nameID"`
	NameIDFormat   string              `json:"nameIDFormat,omitempty"`
	Attributes     map[string][]string `json:"attributes"`
	SessionSeconds int64               `json:"sessionSeconds,omitempty"`
}

func (u SAMLUser) node() samlNodeUser {
	attrs := map[string][]string{}
	for k, v := range u.Attributes {
		attrs[k] = v
	}
	for name, v := range map[string]string{AttrEmail: u.Email, AttrGivenName: u.GivenName, AttrFamilyName: u.FamilyName, AttrDisplayName: u.DisplayName} {
		if v != "" {
			attrs[name] = []string{v}
		}
	}
	if len(u.Groups) > 0 {
		attrs[AttrGroups] = u.Groups
	}
	return samlNodeUser{NameID: u.NameID, NameIDFormat: u.NameIDFormat, Attributes: attrs, SessionSeconds: int64(u.Session / time.Second)}
}

// StartSAML starts a SAML IdP for the test and stops it when the test ends.
// Without node or tools/idp/node_modules it skips the test, or fails it
// when CI=true.
func StartSAML(t testing.TB, cfg SAMLConfig) *SAMLIdP {
	t.Helper()
	if cfg.Key == nil || cfg.Certificate == nil {
		cfg.Key, cfg.Certificate = NewCertificate(t, "roster test saml idp")
	}
	if len(cfg.Users) == 0 {
		cfg.Users = DefaultSAMLUsers
	}
	users := make([]samlNodeUser, 0, len(cfg.Users))
	for _, u := range cfg.Users {
		users = append(users, u.node())
	}
	sps := make([]string, 0, len(cfg.SPMetadata))
	for _, m := range cfg.SPMetadata {
		sps = append(sps, string(m))
	}
	certPEM, keyPEM := encodePair(t, cfg.Key, cfg.Certificate)
	node := map[string]any{
		"port":                    0,
		"entityID":                cfg.EntityID,
		"certificate":             certPEM,
		"privateKey":              keyPEM,
		"users":                   users,
		"defaultUser":             cfg.DefaultUser,
		"spMetadata":              sps,
		"wantAuthnRequestsSigned": cfg.WantAuthnRequestsSigned,
		"encryptAssertions":       cfg.EncryptAssertions,
		"sign":                    cfg.Sign,
	}
	var ready struct {
		EntityID    string `json:"entityID"`
		MetadataURL string `json:"metadataURL"`
		SSOURL      string `json:"ssoURL"`
	}
	proc := startNode(t, "saml.js", node, &ready)
	u, err := url.Parse(ready.MetadataURL)
	if err != nil {
		t.Fatalf("idptest: SAML IdP metadata URL %q: %v", ready.MetadataURL, err)
	}
	proc.base = u.Scheme + "://" + u.Host
	return &SAMLIdP{
		EntityID:    ready.EntityID,
		MetadataURL: ready.MetadataURL,
		SSOURL:      ready.SSOURL,
		Key:         cfg.Key,
		Certificate: cfg.Certificate,
		base:        proc.base,
		proc:        proc,
	}
}

// Metadata fetches the IdP's metadata document.
func (i *SAMLIdP) Metadata(t testing.TB) []byte {
	t.Helper()
	return i.proc.get(t, "/metadata")
}

// RegisterSP makes an SP known by its metadata (added, or replaced when
// its entityID is already known).
func (i *SAMLIdP) RegisterSP(t testing.TB, metadata []byte) {
	t.Helper()
	i.proc.post(t, "/admin/sp", "application/samlmetadata+xml", bytes.NewReader(metadata), nil)
}

// LoginAs makes the next logins log in the user with this NameID ("" goes
// back to the default). The SSO URL's "user" query parameter still wins.
func (i *SAMLIdP) LoginAs(t testing.TB, nameID string) {
	t.Helper()
	i.settings(t, map[string]any{"nextUser": nullIfEmpty(nameID)})
}

// FailLogins makes the next responses fail with this SAML status code
// (such as "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"), unsigned and
// without an assertion; "" makes them succeed again.
func (i *SAMLIdP) FailLogins(t testing.TB, status string) {
	t.Helper()
	i.settings(t, map[string]any{"error": nullIfEmpty(status)})
}

// SetEncryptAssertions turns assertion encryption on or off.
func (i *SAMLIdP) SetEncryptAssertions(t testing.TB, on bool) {
	t.Helper()
	i.settings(t, map[string]any{"encryptAssertions": on})
}

// SetSign chooses what the next responses sign.
func (i *SAMLIdP) SetSign(t testing.TB, what SignWhat) {
	t.Helper()
	i.settings(t, map[string]any{"sign": what})
}

// Misdirect makes the next assertions name audience instead of the SP's
// entityID ("" restores it), for audience-restriction tests.
func (i *SAMLIdP) Misdirect(t testing.TB, audience string) {
	t.Helper()
	i.settings(t, map[string]any{"audience": nullIfEmpty(audience)})
}

// SetValidity sets how long the next assertions are valid from now
// (Conditions and SubjectConfirmationData NotOnOrAfter); a negative d makes
// them already expired. The default is 5 minutes.
func (i *SAMLIdP) SetValidity(t testing.TB, d time.Duration) {
	t.Helper()
	i.settings(t, map[string]any{"validSeconds": d.Seconds()})
}

// RotateKeys makes a new signing key and certificate current (i.Key and
// i.Certificate): responses are signed with it from now on, and the
// metadata lists it along with the earlier certificates, as IdPs publish
// the next certificate before the switch.
func (i *SAMLIdP) RotateKeys(t testing.TB) {
	t.Helper()
	i.rotate(t, false)
}

// ReplaceKeys is RotateKeys that also drops every earlier certificate from
// the metadata.
func (i *SAMLIdP) ReplaceKeys(t testing.TB) {
	t.Helper()
	i.rotate(t, true)
}

func (i *SAMLIdP) rotate(t testing.TB, retire bool) {
	t.Helper()
	key, cert := NewCertificate(t, "roster test saml idp")
	certPEM, keyPEM := encodePair(t, key, cert)
	i.proc.admin(t, "/admin/keys", map[string]any{"certificate": certPEM, "privateKey": keyPEM, "retire": retire}, nil)
	i.Key, i.Certificate = key, cert
}

// PutUser adds a user or replaces the one with the same NameID.
func (i *SAMLIdP) PutUser(t testing.TB, u SAMLUser) {
	t.Helper()
	i.proc.admin(t, "/admin/users", u.node(), nil)
}

// IdPInitiatedURL is the URL that makes the IdP send spEntityID an
// unsolicited response (no InResponseTo) for user ("" for the default)
// with relayState (may be empty).
func (i *SAMLIdP) IdPInitiatedURL(spEntityID, user, relayState string) string {
	q := url.Values{"sp": {spEntityID}}
	if user != "" {
		q.Set("user", user)
	}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return i.base + "/idp-initiated?" + q.Encode()
}

// Stderr returns the IdP's diagnostics so far.
func (i *SAMLIdP) Stderr() string { return i.proc.Stderr() }

func (i *SAMLIdP) settings(t testing.TB, s map[string]any) {
	t.Helper()
	i.proc.admin(t, "/admin/settings", s, nil)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// encodePair returns the PEM of a certificate and of its key (PKCS #8).
func encodePair(t testing.TB, key *rsa.PrivateKey, cert *x509.Certificate) (certPEM, keyPEM string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("idptest: encode SAML IdP key: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// NewCertificate returns a fresh 2048-bit RSA key and a self-signed
// certificate for it, valid from an hour ago for a year: the kind of pair
// SAML entities sign and encrypt with.
func NewCertificate(t testing.TB, commonName string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("idptest: generate RSA key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("idptest: serial: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("idptest: self-sign certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("idptest: parse certificate: %v", err)
	}
	return key, cert
}
