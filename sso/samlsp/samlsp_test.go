package samlsp

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/seal"
)

func TestStartLogin(t *testing.T) {
	for _, signed := range []bool{false, true} {
		t.Run(map[bool]string{false: "unsigned", true: "signed"}[signed], func(t *testing.T) {
			f := newFixture(t, func(c *connector.SAML) { c.SignAuthnRequests = signed })
			raw, err := f.sp.StartLogin(context.Background(), "https://evil.example/", testBrowser)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(raw)
			if got := u.Scheme + "://" + u.Host + u.Path; got != testIdPSSO {
				t.Fatalf("redirect to %s, want the IdP SSO URL", got)
			}
			if u.Query().Has("RelayState") {
				t.Errorf("RelayState sent: the return path stays in our store")
			}
			req := decodeRedirect(t, raw)
			id := req.SelectAttrValue("ID", "")
			if !strings.HasPrefix(id, "id-") || len(id) < 40 {
				t.Errorf("request id %q", id)
			}
			if got := req.SelectAttrValue("AssertionConsumerServiceURL", ""); got != testACS {
				t.Errorf("ACS URL %q", got)
			}
			if got := req.SelectAttrValue("Destination", ""); got != testIdPSSO {
				t.Errorf("Destination %q", got)
			}
			if got := req.SelectElement("Issuer").Text(); got != testEntityID {
				t.Errorf("Issuer %q", got)
			}
			if got := req.SelectAttrValue("ProtocolBinding", ""); got != saml.HTTPPostBinding {
				t.Errorf("ProtocolBinding %q", got)
			}
			// The store holds the checked return path and the browser hash.
			v, err := f.store.TakeOneTime(context.Background(), requestKey(testConnID, id), time.Now())
			if err != nil {
				t.Fatalf("request id not stored: %v", err)
			}
			var p pendingRequest
			if err := json.Unmarshal(v, &p); err != nil {
				t.Fatal(err)
			}
			if p.ReturnTo != "/app" || p.Browser != browserHash(testBrowser) || p.Browser == testBrowser {
				t.Errorf("stored %+v", p)
			}
			// The redirect binding signs the query string (SAMLRequest,
			// RelayState, SigAlg) with the SP key.
			q := u.RawQuery
			i := strings.Index(q, "&Signature=")
			if !signed {
				if i >= 0 || u.Query().Has("SigAlg") {
					t.Fatalf("unsigned connection signed its request: %s", q)
				}
				return
			}
			if u.Query().Get("SigAlg") != dsig.RSASHA256SignatureMethod || i < 0 {
				t.Fatalf("signed request without SigAlg/Signature: %s", q)
			}
			sig, err := base64.StdEncoding.DecodeString(u.Query().Get("Signature"))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256([]byte(q[:i]))
			if err := rsa.VerifyPKCS1v15(f.spKeys.cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
				t.Fatalf("request signature does not verify with the SP certificate: %v", err)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	f := newFixture(t, func(c *connector.SAML) { c.SignAuthnRequests = true })
	out, err := f.sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(out, &ed); err != nil {
		t.Fatalf("metadata does not parse: %v\n%s", err, out)
	}
	if ed.EntityID != testEntityID || f.sp.EntityID() != testEntityID || f.sp.ACSURL() != testACS {
		t.Errorf("entity id %q", ed.EntityID)
	}
	d := ed.SPSSODescriptors[0]
	if len(d.AssertionConsumerServices) != 1 || d.AssertionConsumerServices[0].Location != testACS || d.AssertionConsumerServices[0].Binding != saml.HTTPPostBinding {
		t.Errorf("ACS endpoints %+v", d.AssertionConsumerServices)
	}
	if d.AuthnRequestsSigned == nil || !*d.AuthnRequestsSigned || d.WantAssertionsSigned == nil || !*d.WantAssertionsSigned {
		t.Errorf("AuthnRequestsSigned/WantAssertionsSigned not set")
	}
	uses := map[string]bool{}
	for _, kd := range d.KeyDescriptors {
		uses[kd.Use] = true
		if kd.KeyInfo.X509Data.X509Certificates[0].Data != base64.StdEncoding.EncodeToString(f.spKeys.cert.Raw) {
			t.Errorf("%s key is not the SP certificate", kd.Use)
		}
		for _, m := range kd.EncryptionMethods {
			if strings.Contains(m.Algorithm, "1_5") || strings.Contains(m.Algorithm, "tripledes") {
				t.Errorf("weak encryption method advertised: %s", m.Algorithm)
			}
		}
	}
	if !uses["encryption"] || !uses["signing"] {
		t.Errorf("key uses %v", uses)
	}
}

func TestNewRefuses(t *testing.T) {
	otherSealer, _ := seal.New([]byte(strings.Repeat("k", seal.KeySize)))
	tests := map[string]struct {
		conn func(*repository.SSOConnection)
		cfg  func(*connector.SAML)
		opts func(*Options)
	}{
		"oidc connection":                {conn: func(c *repository.SSOConnection) { c.Kind = repository.SSOOIDC }},
		"no metadata":                    {cfg: func(c *connector.SAML) { c.IdPMetadataXML = "" }},
		"garbage metadata":               {cfg: func(c *connector.SAML) { c.IdPMetadataXML = "<html>" }},
		"metadata without cert":          {cfg: func(c *connector.SAML) { c.IdPMetadataXML = metadataFor() }},
		"key sealed with another secret": {opts: func(o *Options) { o.Sealer = otherSealer }},
		"certificate of another key":     {cfg: func(c *connector.SAML) { c.SPCertificate = loadKeyPair(t, "idp-a").pem }},
		"signing without a key": {cfg: func(c *connector.SAML) {
			c.SPPrivateKey, c.SPCertificate, c.SignAuthnRequests = "", "", true
		}},
		"relative base URL": {opts: func(o *Options) { o.BaseURL = "/roster" }},
		"no store":          {opts: func(o *Options) { o.Store = nil }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			conn, cfg, opts := f.conn, f.cfg, f.opts
			if tc.conn != nil {
				tc.conn(&conn)
			}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			if _, err := New(conn, cfg, opts); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestNewReadsEntitiesDescriptor(t *testing.T) {
	f := newFixture(t, func(c *connector.SAML) {
		c.IdPMetadataXML = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` +
			strings.TrimPrefix(metadataFor(loadKeyPair(t, "idp-a").cert), "") + `</md:EntitiesDescriptor>`
	})
	if _, err := f.acs(f.sp, build(t, f.spec(f.start(f.sp, "/app", testBrowser))), "", testBrowser); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateSPKeyPair(t *testing.T) {
	f := newFixture(t, nil)
	now := time.Now()
	sealed, certPEM, err := GenerateSPKeyPair(testConnID, f.sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "PRIVATE") {
		t.Fatal("key is not sealed")
	}
	block, _ := pem.Decode([]byte(certPEM))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.PublicKey.(*rsa.PublicKey).N.BitLen() != 2048 || !cert.NotAfter.After(now.Add(5*365*24*time.Hour)) || cert.NotBefore.After(now) {
		t.Errorf("certificate %v – %v", cert.NotBefore, cert.NotAfter)
	}
	cfg := f.cfg
	cfg.SPPrivateKey, cfg.SPCertificate, cfg.SignAuthnRequests = sealed, certPEM, true
	sp, err := New(f.conn, cfg, f.opts)
	if err != nil {
		t.Fatalf("New with a generated key pair: %v", err)
	}
	// The generated key decrypts what an IdP encrypts for its certificate.
	s := f.spec(f.start(sp, "/app", testBrowser))
	s.encryptFor = cert
	if _, err := f.acs(sp, build(t, s), "", testBrowser); err != nil {
		t.Fatalf("encrypted login with the generated key: %v", err)
	}
	if _, _, err := GenerateSPKeyPair(testConnID, nil, now); err == nil {
		t.Error("no sealer accepted")
	}
}

func TestFetchMetadata(t *testing.T) {
	md := string(testdata(t, "idp-metadata.xml"))
	mux := http.NewServeMux()
	mux.HandleFunc("/md", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(md)) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat(" ", maxMetadataBytes+10)))
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html></html>")) })
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://idp.example.test/md", http.StatusFound)
	})
	plain := httptest.NewServer(mux)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()
	ctx := context.Background()

	if got, err := FetchMetadata(ctx, nil, plain.URL+"/md"); err != nil || string(got) != md {
		t.Fatalf("loopback http: %v", err)
	}
	if _, err := FetchMetadata(ctx, tlsSrv.Client(), tlsSrv.URL+"/md"); err != nil {
		t.Fatalf("https: %v", err)
	}
	for name, u := range map[string]string{
		"http to a public host":  "http://idp.example.test/md",
		"ftp":                    "ftp://127.0.0.1/md",
		"credentials in the URL": "https://user:pw@idp.example.test/md",
		"too large":              plain.URL + "/big",
		"not metadata":           plain.URL + "/html",
		"404":                    plain.URL + "/404",
		"redirect to plain http": plain.URL + "/away",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := FetchMetadata(ctx, nil, u); err == nil {
				t.Fatal("fetched")
			}
		})
	}
}
