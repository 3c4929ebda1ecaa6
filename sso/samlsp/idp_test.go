package samlsp

// A small test-only IdP: it writes SAML responses as text (independently
// of crewjam/saml's marshalling), signs them with goxmldsig using the keys
// in testdata/saml and optionally encrypts the assertion for the SP.

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/seal"
)

const (
	testBaseURL  = "https://roster.example"
	testConnID   = "conn_saml_1"
	testIdPID    = "https://idp.example.test/saml/metadata"
	testIdPSSO   = "https://idp.example.test/saml/sso"
	testEntityID = testBaseURL + "/sso/saml/" + testConnID + "/metadata"
	testACS      = testBaseURL + "/sso/saml/" + testConnID + "/acs"
	testBrowser  = "browser-cookie-1"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "saml", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type keyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	der  []byte // PKCS#8
	pem  string // certificate PEM
}

func loadKeyPair(t testing.TB, name string) keyPair {
	t.Helper()
	kb, _ := pem.Decode(testdata(t, name+".key.pem"))
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := testdata(t, name+".crt.pem")
	cb, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{key: k.(*rsa.PrivateKey), cert: c, der: kb.Bytes, pem: string(certPEM)}
}

// metadataFor writes IdP metadata listing the given signing certificates.
func metadataFor(certs ...*x509.Certificate) string {
	var kd strings.Builder
	for _, c := range certs {
		fmt.Fprintf(&kd, `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
			base64.StdEncoding.EncodeToString(c.Raw))
	}
	return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + testIdPID + `">` +
		`<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + kd.String() +
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + testIdPSSO + `"/>` +
		`</md:IDPSSODescriptor></md:EntityDescriptor>`
}

// samlAttr is one SAML attribute of a test response.
type samlAttr struct {
	name   string
	values []string
}

// respSpec describes a response; zero fields take valid defaults from
// (*fixture).spec.
type respSpec struct {
	responseID, assertionID string
	inResponseTo            string
	scInResponseTo          *string // confirmation InResponseTo when it differs
	destination, recipient  string
	audiences               []string // one AudienceRestriction each
	noAudience              bool
	noConditions            bool
	issuer                  string
	issueInstant            time.Time
	notBefore, notOnOrAfter time.Time
	nameID, nameIDFormat    string
	attrs                   []samlAttr
	sessionNotOnOrAfter     time.Time
	status                  string

	signResponse, signAssertion bool
	sigMethod                   string  // default RSA-SHA256
	signer                      keyPair // default IdP key A
	stripKeyInfo                bool
	encryptFor                  *x509.Certificate
	encryptAlg                  string                    // data encryption algorithm URI; default AES-128-GCM
	mutate                      func(doc *etree.Document) // after signing and encryption
	editAssertion               func(a *etree.Element)    // before signing: a genuine IdP wrote it
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// build writes, signs and encrypts the response and returns its XML.
func build(t testing.TB, s respSpec) []byte {
	t.Helper()
	var a strings.Builder
	fmt.Fprintf(&a, `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="%s" Version="2.0" IssueInstant="%s">`, s.assertionID, ts(s.issueInstant))
	fmt.Fprintf(&a, `<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%s</saml:Issuer>`, esc(s.issuer))
	fmt.Fprintf(&a, `<saml:Subject><saml:NameID Format="%s">%s</saml:NameID>`, s.nameIDFormat, esc(s.nameID))
	scIRT := s.inResponseTo
	if s.scInResponseTo != nil {
		scIRT = *s.scInResponseTo
	}
	irt := ""
	if scIRT != "" {
		irt = fmt.Sprintf(` InResponseTo="%s"`, esc(scIRT))
	}
	fmt.Fprintf(&a, `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="%s" Recipient="%s"%s/></saml:SubjectConfirmation></saml:Subject>`,
		ts(s.notOnOrAfter), esc(s.recipient), irt)
	if !s.noConditions {
		fmt.Fprintf(&a, `<saml:Conditions NotBefore="%s" NotOnOrAfter="%s">`, ts(s.notBefore), ts(s.notOnOrAfter))
		if !s.noAudience {
			for _, au := range s.audiences {
				fmt.Fprintf(&a, `<saml:AudienceRestriction><saml:Audience>%s</saml:Audience></saml:AudienceRestriction>`, esc(au))
			}
		}
		a.WriteString(`</saml:Conditions>`)
	}
	sess := ""
	if !s.sessionNotOnOrAfter.IsZero() {
		sess = fmt.Sprintf(` SessionNotOnOrAfter="%s"`, ts(s.sessionNotOnOrAfter))
	}
	fmt.Fprintf(&a, `<saml:AuthnStatement AuthnInstant="%s" SessionIndex="_sess1"%s><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
		ts(s.issueInstant), sess)
	if len(s.attrs) > 0 {
		a.WriteString(`<saml:AttributeStatement>`)
		for _, at := range s.attrs {
			fmt.Fprintf(&a, `<saml:Attribute Name="%s" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">`, esc(at.name))
			for _, v := range at.values {
				fmt.Fprintf(&a, `<saml:AttributeValue xsi:type="xs:string">%s</saml:AttributeValue>`, esc(v))
			}
			a.WriteString(`</saml:Attribute>`)
		}
		a.WriteString(`</saml:AttributeStatement>`)
	}
	a.WriteString(`</saml:Assertion>`)

	adoc := etree.NewDocument()
	if err := adoc.ReadFromString(a.String()); err != nil {
		t.Fatalf("test assertion XML: %v", err)
	}
	assertion := adoc.Root()
	if s.editAssertion != nil {
		s.editAssertion(assertion)
	}
	if s.signAssertion {
		sign(t, assertion, s)
	}
	if s.encryptFor != nil {
		plain, err := adoc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		encData, err := encryptFor(s.encryptFor, s.encryptAlg, plain)
		if err != nil {
			t.Fatalf("encrypt: %v", err)
		}
		ea := etree.NewElement("saml:EncryptedAssertion")
		ea.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
		ea.AddChild(encData)
		assertion = ea
	}

	status := s.status
	if status == "" {
		status = "urn:oasis:names:tc:SAML:2.0:status:Success"
	}
	rirt := ""
	if s.inResponseTo != "" {
		rirt = fmt.Sprintf(` InResponseTo="%s"`, esc(s.inResponseTo))
	}
	dest := ""
	if s.destination != "-" {
		dest = fmt.Sprintf(` Destination="%s"`, esc(s.destination))
	}
	rx := fmt.Sprintf(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="%s"%s%s>`+
		`<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%s</saml:Issuer>`+
		`<samlp:Status><samlp:StatusCode Value="%s"/></samlp:Status></samlp:Response>`,
		s.responseID, ts(s.issueInstant), dest, rirt, esc(s.issuer), status)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(rx); err != nil {
		t.Fatalf("test response XML: %v", err)
	}
	doc.Root().AddChild(assertion)
	if s.signResponse {
		sign(t, doc.Root(), s)
	}
	if s.mutate != nil {
		s.mutate(doc)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// encryptFor encrypts plaintext for cert the way IdPs do: an EncryptedData
// (AES-GCM or AES-CBC) whose KeyInfo carries the RSA-OAEP EncryptedKey.
// Written here rather than with crewjam's xmlenc, whose GCM encrypter is
// broken in v0.5.1 (it seals zeros with a nil nonce).
func encryptFor(cert *x509.Certificate, alg string, plain []byte) (*etree.Element, error) {
	if alg == "" {
		alg = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	}
	keySize := 16
	if strings.HasSuffix(alg, "aes256-cbc") {
		keySize = 32
	}
	key := make([]byte, keySize)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	var ct []byte
	switch {
	case strings.HasSuffix(alg, "-gcm"):
		g, _ := cipher.NewGCM(block)
		nonce := make([]byte, g.NonceSize())
		rand.Read(nonce)
		ct = g.Seal(nonce, nonce, plain, nil)
	default: // CBC, with XML Encryption padding
		pad := aes.BlockSize - len(plain)%aes.BlockSize
		buf := append(append([]byte{}, plain...), make([]byte, pad)...)
		buf[len(buf)-1] = byte(pad)
		iv := make([]byte, aes.BlockSize)
		rand.Read(iv)
		ct = make([]byte, aes.BlockSize+len(buf))
		copy(ct, iv)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct[aes.BlockSize:], buf)
	}
	ek, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, cert.PublicKey.(*rsa.PublicKey), key, nil)
	if err != nil {
		return nil, err
	}
	x := fmt.Sprintf(`<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Element">`+
		`<xenc:EncryptionMethod Algorithm="%s"/>`+
		`<ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>`+
		`<xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>`+
		`<xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`,
		alg, base64.StdEncoding.EncodeToString(ek), base64.StdEncoding.EncodeToString(ct))
	doc := etree.NewDocument()
	if err := doc.ReadFromString(x); err != nil {
		return nil, err
	}
	return doc.Root(), nil
}

// sign puts an enveloped signature right after el's Issuer.
func sign(t testing.TB, el *etree.Element, s respSpec) {
	t.Helper()
	ctx, err := dsig.NewSigningContext(s.signer.key, [][]byte{s.signer.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	method := s.sigMethod
	if method == "" {
		method = dsig.RSASHA256SignatureMethod
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		t.Fatal(err)
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.stripKeyInfo {
		if ki := sig.SelectElement("KeyInfo"); ki != nil {
			sig.RemoveChild(ki)
		}
	}
	issuer := el.SelectElement("Issuer")
	el.InsertChildAt(issuer.Index()+1, sig)
}

// fixture is one SAML connection on a real SQLite store.
type fixture struct {
	t      testing.TB
	store  Store
	sealer *seal.Sealer
	conn   repository.SSOConnection
	cfg    connector.SAML
	opts   Options
	sp     *SP
	idpA   keyPair
	idpB   keyPair
	evil   keyPair
	spKeys keyPair
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newFixture makes a connection on a fresh SQLite store.
func newFixture(t testing.TB, edit func(*connector.SAML)) *fixture {
	t.Helper()
	return newFixtureOn(t, openStore(t), edit)
}

func newFixtureOn(t testing.TB, store Store, edit func(*connector.SAML)) *fixture {
	t.Helper()
	f := &fixture{
		t:      t,
		idpA:   loadKeyPair(t, "idp-a"),
		idpB:   loadKeyPair(t, "idp-b"),
		evil:   loadKeyPair(t, "attacker"),
		spKeys: loadKeyPair(t, "sp"),
		store:  store,
	}
	var err error
	f.sealer, err = seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	f.conn = repository.SSOConnection{AccountID: "acc_1", ID: testConnID, Kind: repository.SSOSAML, Name: "Test IdP", Enabled: true}
	f.cfg = connector.SAML{
		IdPMetadataXML: string(testdata(t, "idp-metadata.xml")), // certs A and B
		SPPrivateKey:   f.sealer.SealString(KeyPurpose, string(f.spKeys.der)),
		SPCertificate:  f.spKeys.pem,
		Provisioning:   connector.Provisioning{EmailVerified: true},
	}
	if edit != nil {
		edit(&f.cfg)
	}
	f.opts = Options{
		BaseURL:     testBaseURL,
		Store:       f.store,
		Sealer:      f.sealer,
		ReturnPaths: connector.ReturnPaths{Default: "/app"},
	}
	f.sp = f.newSP()
	return f
}

// newSP builds another SP instance on the same store (a second server).
func (f *fixture) newSP() *SP {
	f.t.Helper()
	sp, err := New(f.conn, f.cfg, f.opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return sp
}

var idSeq int

func nextID(prefix string) string {
	idSeq++
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano(), idSeq)
}

// spec returns a valid response answering requestID.
func (f *fixture) spec(requestID string) respSpec {
	now := time.Now()
	return respSpec{
		responseID:    nextID("_r"),
		assertionID:   nextID("_a"),
		inResponseTo:  requestID,
		destination:   testACS,
		recipient:     testACS,
		audiences:     []string{testEntityID},
		issuer:        testIdPID,
		issueInstant:  now,
		notBefore:     now.Add(-30 * time.Second),
		notOnOrAfter:  now.Add(5 * time.Minute),
		nameID:        "ada@example.com",
		nameIDFormat:  emailAddressFormat,
		signAssertion: true,
		signer:        f.idpA,
		attrs: []samlAttr{
			{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", []string{"Ada"}},
			{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", []string{"Lovelace"}},
			{"http://schemas.microsoft.com/identity/claims/displayname", []string{"Ada Lovelace"}},
			{"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", []string{"support", "admins"}},
		},
	}
}

// start runs StartLogin and returns the AuthnRequest id the IdP sees.
func (f *fixture) start(sp *SP, returnTo, browser string) string {
	f.t.Helper()
	u, err := sp.StartLogin(context.Background(), returnTo, browser)
	if err != nil {
		f.t.Fatalf("StartLogin: %v", err)
	}
	req := decodeRedirect(f.t, u)
	return req.SelectAttrValue("ID", "")
}

// decodeRedirect inflates the SAMLRequest of an HTTP-Redirect URL.
func decodeRedirect(t testing.TB, raw string) *etree.Element {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	deflated, err := base64.StdEncoding.DecodeString(u.Query().Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflated)))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(plain); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

// post makes the browser's POST to the ACS.
func post(xmlDoc []byte, relayState string) *http.Request {
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(xmlDoc)}}
	if relayState != "" {
		form.Set("RelayState", relayState)
	}
	r := httptest.NewRequest(http.MethodPost, testACS, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func (f *fixture) acs(sp *SP, xmlDoc []byte, relayState, browser string) (connector.Identity, error) {
	return sp.ACS(context.Background(), post(xmlDoc, relayState), browser)
}
