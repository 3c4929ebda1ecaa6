// Package samlsp is the SAML 2.0 service provider of one SSO connection:
// its metadata, SP-initiated login (HTTP-Redirect binding) and the
// assertion consumer service (HTTP-POST binding), which turns a signed IdP
// response into one connector.Identity.
//
// What crewjam/saml is still used for: its metadata types and parser (IdP
// metadata, this SP's metadata), the AuthnRequest and its HTTP-Redirect
// binding (StartLogin), its xmlenc package (decrypting assertions) and its
// time parser (RelaxedTime). Not for its samlsp middleware, whose
// RelayState handling redirects off-site.
//
// ACS does not call crewjam's ParseXMLResponse: it parsed and
// re-serialised each document several times (round-trip check, etree,
// encoding/xml unmarshalling of the Response and of the Assertion) and
// left most checks to the application anyway. ACS parses the document
// once with etree, verifies signatures with goxmldsig on that tree and
// reads every trusted field from the element goxmldsig re-read from the
// digested bytes. It owns every check ParseXMLResponse made, and more:
//
//	check (reason)                                   where             test (acs_test.go)
//	encoding/xml round trip (xrv), DTD, shape (mal.) scanXML           "DTD", "not a Response", TestScanXML
//	signature wrapping (signature / malformed)       scanXML, verify   the seven "XSW: …" cases
//	signed Response or signed Assertion (unsigned)   verify            "unsigned", "unsigned assertion inside encryption"
//	signature value, trusted key, rotation (sig.)    verify            "signed by an unknown key…", "rotation: …"
//	one Reference, to the signed element (sig.)      checkSignatureShape "XSW: signature referencing another element"
//	SHA-1/MD5 signatures and digests (weak_alg.)     checkSignatureShape "SHA-1 signature…"
//	status Success (status)                          checkResponse     "IdP refused"
//	Destination = ACS URL (destination)              checkResponse     "wrong Destination", "no Destination"
//	Issuer of Response and Assertion (issuer)        check*            "wrong Issuer"
//	IssueInstant age and future (expired, n_y_v)     checkInstant      "expired long ago", "issued in the future"
//	Recipient of every confirmation (recipient)      checkAssertion    "wrong Recipient"
//	bearer confirmation, NotOnOrAfter (malformed…)   checkAssertion    "NotOnOrAfter 60 s ago…", TestACSRefusesMore
//	Conditions present, NotBefore/NotOnOrAfter       checkAssertion    "no Conditions", "not yet valid…", "expired beyond…"
//	audience (audience)                              checkAssertion    "wrong audience", "no audience restriction", …
//	InResponseTo, taken once, same browser           ACS, inResponseTo "unknown InResponseTo", "…disagree", "redeemed in…"
//	decryption, RSA-OAEP + AES only (decrypt, weak)  decrypt, scanXML  "encrypted for another SP key", "…PKCS#1 v1.5…", "…3DES"
//	replay across instances (replayed)               ACS (store)       TestReplay
//
// On top of the library it adds what that leaves to the application: a
// required audience, request ids bound to the browser and taken once from
// the shared store, an assertion replay cache shared by every instance, a
// per-connection clock skew, SHA-1/MD5 refusal, strict
// Destination/Recipient/Issuer checks and a structural guard against
// signature wrapping.
package samlsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/seal"
)

// KeyPurpose is the seal purpose of a connection's SP private key.
const KeyPurpose = "saml-sp-key"

const (
	// DefaultClockSkew is tolerated on every SAML time when a connection
	// sets none.
	DefaultClockSkew = 90 * time.Second
	// MaxClockSkew caps a connection's skew at the 180 s crewjam/saml's
	// ParseXMLResponse allowed (saml.MaxClockSkew), which ACS used to
	// call, so no connection is laxer than it was.
	MaxClockSkew = 180 * time.Second
	// maxIssueAge is how old (IssueInstant) a response may be, without
	// skew: crewjam/saml's saml.MaxIssueDelay.
	maxIssueAge = 90 * time.Second
	// requestTTL is how long an AuthnRequest id stays redeemable.
	requestTTL = 10 * time.Minute
	// maxResponseBytes bounds the base64 SAMLResponse form value.
	maxResponseBytes = 512 << 10
)

// Store is what the service provider keeps in the shared store: issued
// request ids (taken once) and consumed assertion ids.
type Store interface {
	repository.OneTimeStore
	repository.ReplayCache
}

// Options are the deployment-wide settings every connection's SP shares.
type Options struct {
	// BaseURL is the public origin and path prefix, e.g.
	// https://roster.example (no trailing slash).
	BaseURL string
	// Store keeps request ids and the assertion replay cache; every
	// instance of the deployment must share it.
	Store Store
	// Sealer opens the connection's sealed SP private key.
	Sealer *seal.Sealer
	// ReturnPaths checks the RelayState of IdP-initiated logins.
	ReturnPaths connector.ReturnPaths
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient fetches metadata URLs (FetchMetadata); nil means a client
	// with a 10 s timeout.
	HTTPClient *http.Client
}

// SP is the service provider of one SAML connection. It is safe for
// concurrent use; it holds no per-login state (that lives in the store).
type SP struct {
	conn      repository.SSOConnection
	cfg       connector.SAML
	opts      Options
	skew      time.Duration
	realClock bool
	entityID  string
	acsURL    string
	idpEntity string
	// allRoots trusts every IdP signing certificate at once (a signature
	// carrying its certificate must carry one of them); eachRoot holds one
	// store per certificate, tried in turn for a signature carrying none
	// (goxmldsig refuses several roots then). Built once: they are
	// immutable and safe to share between requests.
	allRoots, eachRoot []dsig.X509CertificateStore
	// base is the crewjam ServiceProvider used for metadata and
	// AuthnRequests; methods copy it, never change it.
	base saml.ServiceProvider
}

// New builds the SP of conn from its SAML configuration: it opens the SP
// key, parses the IdP metadata and its signing certificates (several for
// rotation).
func New(conn repository.SSOConnection, cfg connector.SAML, opts Options) (*SP, error) {
	if conn.Kind != "" && conn.Kind != repository.SSOSAML {
		return nil, fmt.Errorf("samlsp: connection %s is %q, not saml", conn.ID, conn.Kind)
	}
	if conn.ID == "" {
		return nil, errors.New("samlsp: connection has no id")
	}
	if opts.Store == nil {
		return nil, errors.New("samlsp: no store")
	}
	base := strings.TrimSuffix(opts.BaseURL, "/")
	bu, err := url.Parse(base)
	if err != nil || (bu.Scheme != "https" && bu.Scheme != "http") || bu.Host == "" {
		return nil, fmt.Errorf("samlsp: base URL %q is not an absolute http(s) URL", opts.BaseURL)
	}
	realClock := opts.Now == nil
	if realClock {
		opts.Now = time.Now
	}
	skew := time.Duration(cfg.ClockSkew)
	switch {
	case skew <= 0:
		skew = DefaultClockSkew
	case skew > MaxClockSkew:
		skew = MaxClockSkew
	}

	md, err := ParseIdPMetadata([]byte(cfg.IdPMetadataXML))
	if err != nil {
		return nil, fmt.Errorf("samlsp: connection %s: %w", conn.ID, err)
	}
	idp, certs := md.Entity, md.Certs

	prefix := base + "/sso/saml/" + url.PathEscape(conn.ID)
	entityID := prefix + "/metadata"
	acs := prefix + "/acs"
	metaURL, _ := url.Parse(entityID)
	acsURL, _ := url.Parse(acs)

	sp := &SP{
		conn: conn, cfg: cfg, opts: opts, skew: skew, realClock: realClock,
		entityID: entityID, acsURL: acs,
		idpEntity: idp.EntityID,
		allRoots:  []dsig.X509CertificateStore{&dsig.MemoryX509CertificateStore{Roots: certs}},
	}
	for _, c := range certs {
		sp.eachRoot = append(sp.eachRoot, &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
	}
	sp.base = saml.ServiceProvider{
		EntityID:          entityID,
		MetadataURL:       *metaURL,
		AcsURL:            *acsURL,
		IDPMetadata:       idp,
		AuthnNameIDFormat: saml.UnspecifiedNameIDFormat,
		HTTPClient:        opts.HTTPClient,
	}
	if cfg.SPPrivateKey != "" {
		key, cert, err := openKeyPair(opts.Sealer, cfg.SPPrivateKey, cfg.SPCertificate)
		if err != nil {
			return nil, fmt.Errorf("samlsp: connection %s: %w", conn.ID, err)
		}
		sp.base.Key, sp.base.Certificate = key, cert
	}
	if cfg.SignAuthnRequests {
		if sp.base.Key == nil {
			return nil, fmt.Errorf("samlsp: connection %s signs AuthnRequests but has no SP key", conn.ID)
		}
		sp.base.SignatureMethod = dsig.RSASHA256SignatureMethod
	}
	return sp, nil
}

// EntityID is the SP entity id (also the metadata URL).
func (sp *SP) EntityID() string { return sp.entityID }

// ACSURL is the assertion consumer service URL.
func (sp *SP) ACSURL() string { return sp.acsURL }

// Metadata returns the SP metadata document.
func (sp *SP) Metadata() ([]byte, error) {
	base := sp.base
	ed := base.Metadata()
	for i := range ed.SPSSODescriptors {
		d := &ed.SPSSODescriptors[i]
		// Only HTTP-POST is served: artifact resolution would make this
		// server call out to the IdP on a browser's behalf.
		var acs []saml.IndexedEndpoint
		for _, e := range d.AssertionConsumerServices {
			if e.Binding == saml.HTTPPostBinding {
				acs = append(acs, e)
			}
		}
		d.AssertionConsumerServices = acs
		for j := range d.KeyDescriptors {
			if d.KeyDescriptors[j].Use == "encryption" {
				// Prefer AES-GCM, then CBC; key transport RSA-OAEP only.
				d.KeyDescriptors[j].EncryptionMethods = []saml.EncryptionMethod{
					{Algorithm: "http://www.w3.org/2009/xmlenc11#aes128-gcm"},
					{Algorithm: "http://www.w3.org/2001/04/xmlenc#aes256-cbc"},
					{Algorithm: "http://www.w3.org/2001/04/xmlenc#aes128-cbc"},
					{Algorithm: "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"},
				}
			}
		}
	}
	out, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("samlsp: marshal metadata: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

// pendingRequest is what StartLogin keeps under the request id.
type pendingRequest struct {
	ReturnTo string `json:"r,omitempty"`
	// Browser is the hex SHA-256 of the browser id the login started in,
	// so a response can only be redeemed in that browser (login CSRF).
	Browser string `json:"b,omitempty"`
}

func requestKey(connID, reqID string) string { return "saml-request:" + connID + ":" + reqID }

func browserHash(browserID string) string {
	if browserID == "" {
		return ""
	}
	h := sha256.Sum256([]byte(browserID))
	return hex.EncodeToString(h[:])
}

// StartLogin makes an AuthnRequest (HTTP-Redirect binding, signed when the
// connection says so), remembers its id with returnTo (checked against the
// allow-list) and the browser it was made for, and returns the IdP URL to
// redirect the browser to.
func (sp *SP) StartLogin(ctx context.Context, returnTo, browserID string) (string, error) {
	base := sp.base
	dest := base.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if dest == "" {
		return "", fmt.Errorf("samlsp: start login: IdP metadata of connection %s has no HTTP-Redirect SingleSignOnService", sp.conn.ID)
	}
	req, err := base.MakeAuthenticationRequest(dest, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", fmt.Errorf("samlsp: start login: %w", err)
	}
	// crewjam stamps its own clock; keep IssueInstant on ours.
	req.IssueInstant = sp.opts.Now().UTC()
	value, err := json.Marshal(pendingRequest{
		ReturnTo: sp.opts.ReturnPaths.Or(returnTo),
		Browser:  browserHash(browserID),
	})
	if err != nil {
		return "", fmt.Errorf("samlsp: start login: %w", err)
	}
	if err := sp.opts.Store.PutOneTime(ctx, requestKey(sp.conn.ID, req.ID), value, sp.opts.Now().Add(requestTTL)); err != nil {
		return "", fmt.Errorf("samlsp: start login: store request id: %w", err)
	}
	u, err := req.Redirect("", &base)
	if err != nil {
		return "", fmt.Errorf("samlsp: start login: %w", err)
	}
	return u.String(), nil
}

// IdPMetadata is what an SP takes from an IdP's metadata document.
type IdPMetadata struct {
	Entity   *saml.EntityDescriptor
	EntityID string
	// SSOURL is the single sign-on service of the HTTP-Redirect binding;
	// empty when the IdP has none.
	SSOURL string
	// Certs are the IdP's signing certificates (KeyDescriptors with use
	// "signing" or no use), duplicates removed: during a rotation the old
	// and the new key both verify.
	Certs []*x509.Certificate
}

// ParseIdPMetadata reads an EntityDescriptor, or the one IdP
// EntityDescriptor of an EntitiesDescriptor. It needs an IDPSSODescriptor
// with at least one signing certificate.
func ParseIdPMetadata(data []byte) (IdPMetadata, error) {
	var md IdPMetadata
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return md, errors.New("the IdP metadata is empty")
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(data, &ed); err != nil {
		var eds saml.EntitiesDescriptor
		if err2 := xml.Unmarshal(data, &eds); err2 != nil {
			return md, fmt.Errorf("the IdP metadata is not XML SAML metadata: %w", err)
		}
		var found []saml.EntityDescriptor
		var walk func(saml.EntitiesDescriptor)
		walk = func(e saml.EntitiesDescriptor) {
			for _, d := range e.EntityDescriptors {
				if len(d.IDPSSODescriptors) > 0 {
					found = append(found, d)
				}
			}
			for _, c := range e.EntitiesDescriptors {
				walk(c)
			}
		}
		walk(eds)
		if len(found) != 1 {
			return md, fmt.Errorf("the IdP metadata describes %d identity providers; give the metadata of exactly one", len(found))
		}
		ed = found[0]
	}
	if ed.EntityID == "" {
		return md, errors.New("the IdP metadata has no entityID")
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return md, errors.New("the IdP metadata has no IDPSSODescriptor: is it an identity provider's metadata?")
	}
	md.Entity, md.EntityID = &ed, ed.EntityID
	seen := map[string]bool{}
	for _, d := range ed.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					return md, errors.New("an IdP signing certificate is not base64")
				}
				cert, err := x509.ParseCertificate(raw)
				if err != nil {
					return md, fmt.Errorf("an IdP signing certificate cannot be read: %w", err)
				}
				if !seen[string(cert.Raw)] {
					seen[string(cert.Raw)] = true
					md.Certs = append(md.Certs, cert)
				}
			}
		}
		for _, sso := range d.SingleSignOnServices {
			if sso.Binding == saml.HTTPRedirectBinding && md.SSOURL == "" {
				md.SSOURL = sso.Location
			}
		}
	}
	if len(md.Certs) == 0 {
		return md, errors.New("the IdP metadata has no signing certificate")
	}
	return md, nil
}

// openKeyPair opens the sealed PKCS#8 SP key and checks it matches the
// certificate.
func openKeyPair(sealer *seal.Sealer, sealedKey, certPEM string) (crypto.Signer, *x509.Certificate, error) {
	if sealer == nil {
		return nil, nil, errors.New("SP key is sealed but no sealer is configured")
	}
	der, err := sealer.OpenString(KeyPurpose, sealedKey)
	if err != nil {
		return nil, nil, fmt.Errorf("open SP key: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey([]byte(der))
	if err != nil {
		return nil, nil, fmt.Errorf("parse SP key: %w", err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("SP key is %T, want RSA", k)
	}
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, errors.New("SP certificate is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse SP certificate: %w", err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("SP certificate does not match the SP key")
	}
	return key, cert, nil
}
