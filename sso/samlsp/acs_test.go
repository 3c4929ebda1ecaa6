package samlsp

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/rosterhq/roster/sso/connector"
)

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("ACS accepted the response, want failure %q", reason)
	}
	var le *connector.LoginError
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not a *connector.LoginError", err)
	}
	if le.Reason != reason {
		t.Fatalf("reason %q (%v), want %q", le.Reason, err, reason)
	}
	t.Logf("%s: %v", reason, err)
	if le.Public == "" {
		t.Fatalf("failure %q has no public message", reason)
	}
}

func TestLoginSPInitiated(t *testing.T) {
	f := newFixture(t, nil)
	reqID := f.start(f.sp, "/app/inbox?tab=mine", testBrowser)
	s := f.spec(reqID)
	session := time.Now().Add(8 * time.Hour).Truncate(time.Millisecond)
	s.sessionNotOnOrAfter = session
	id, err := f.acs(f.sp, build(t, s), "ignored-relay-state", testBrowser)
	if err != nil {
		t.Fatalf("ACS: %v", err)
	}
	want := connector.Identity{
		ConnectionID:        testConnID,
		Subject:             "ada@example.com",
		Email:               "ada@example.com",
		EmailVerified:       true,
		GivenName:           "Ada",
		FamilyName:          "Lovelace",
		DisplayName:         "Ada Lovelace",
		Groups:              []string{"support", "admins"},
		SessionNotOnOrAfter: session,
		ReturnTo:            "/app/inbox?tab=mine",
	}
	if !id.SessionNotOnOrAfter.Equal(want.SessionNotOnOrAfter) {
		t.Errorf("SessionNotOnOrAfter %v, want %v", id.SessionNotOnOrAfter, session)
	}
	id.SessionNotOnOrAfter, want.SessionNotOnOrAfter = time.Time{}, time.Time{}
	if strings.Join(id.Groups, ",") != strings.Join(want.Groups, ",") {
		t.Errorf("groups %v, want %v", id.Groups, want.Groups)
	}
	id.Groups, want.Groups = nil, nil
	if !reflect.DeepEqual(id, want) {
		t.Errorf("identity\n got %+v\nwant %+v", id, want)
	}

	// The request id is single use: the same IdP answering again (a new
	// assertion id) is refused.
	s2 := f.spec(reqID)
	_, err = f.acs(f.sp, build(t, s2), "", testBrowser)
	wantReason(t, err, "in_response_to")
}

func TestACSAccepts(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(*connector.SAML)
		edit  func(f *fixture, s *respSpec)
		check func(t *testing.T, id connector.Identity)
	}{
		{name: "signed assertion, key A"},
		{name: "signed response only", edit: func(f *fixture, s *respSpec) { s.signAssertion, s.signResponse = false, true }},
		{name: "signed response and assertion", edit: func(f *fixture, s *respSpec) { s.signResponse = true }},
		{name: "rotation: key B", edit: func(f *fixture, s *respSpec) { s.signer = f.idpB }},
		{name: "rotation: key B without KeyInfo", edit: func(f *fixture, s *respSpec) { s.signer, s.stripKeyInfo = f.idpB, true }},
		{name: "rotation: key A without KeyInfo", edit: func(f *fixture, s *respSpec) { s.stripKeyInfo = true }},
		{name: "RSA-SHA512", edit: func(f *fixture, s *respSpec) { s.sigMethod = dsig.RSASHA512SignatureMethod }},
		{name: "encrypted assertion AES-GCM, signed inside", edit: func(f *fixture, s *respSpec) { s.encryptFor = f.spKeys.cert }},
		{name: "encrypted assertion AES-256-CBC, signed inside", edit: func(f *fixture, s *respSpec) {
			s.encryptFor, s.encryptAlg = f.spKeys.cert, "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
		}},
		{name: "encrypted unsigned assertion in a signed response", edit: func(f *fixture, s *respSpec) {
			s.encryptFor, s.signAssertion, s.signResponse = f.spKeys.cert, false, true
		}},
		{name: "NotBefore 2 min ahead with a 150 s skew",
			cfg:  func(c *connector.SAML) { c.ClockSkew = connector.Duration(150 * time.Second) },
			edit: func(f *fixture, s *respSpec) { s.notBefore = time.Now().Add(2 * time.Minute) }},
		{name: "NotOnOrAfter 60 s ago within the default 90 s skew",
			edit: func(f *fixture, s *respSpec) { s.notOnOrAfter = time.Now().Add(-60 * time.Second) }},
		{name: "email attribute wins over NameID",
			edit: func(f *fixture, s *respSpec) {
				s.nameID, s.nameIDFormat = "00u1abcd", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
				s.attrs = []samlAttr{{"email", []string{"ada@corp.example"}}, {"firstName", []string{"Ada"}}, {"lastName", []string{"L"}}, {"groups", []string{"g1", "g2", "g1"}}}
			},
			check: func(t *testing.T, id connector.Identity) {
				if id.Subject != "00u1abcd" || id.Email != "ada@corp.example" || id.GivenName != "Ada" || id.FamilyName != "L" || strings.Join(id.Groups, ",") != "g1,g2" {
					t.Errorf("okta-style mapping: %+v", id)
				}
			}},
		{name: "persistent NameID without email attribute has no email",
			edit: func(f *fixture, s *respSpec) {
				s.nameID, s.nameIDFormat = "00u1abcd", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
			},
			check: func(t *testing.T, id connector.Identity) {
				if id.Email != "" {
					t.Errorf("email %q from a persistent NameID", id.Email)
				}
			}},
		{name: "configured mapping",
			cfg: func(c *connector.SAML) {
				c.Attributes = connector.AttributeMapping{Email: "upn", GivenName: "gn", Groups: "roles"}
				c.Provisioning.EmailVerified = false
			},
			edit: func(f *fixture, s *respSpec) {
				s.attrs = append(s.attrs, samlAttr{"upn", []string{"ada.l@corp.example"}}, samlAttr{"gn", []string{"Augusta"}}, samlAttr{"roles", []string{"agent"}})
			},
			check: func(t *testing.T, id connector.Identity) {
				if id.Email != "ada.l@corp.example" || id.GivenName != "Augusta" || strings.Join(id.Groups, ",") != "agent" || id.EmailVerified {
					t.Errorf("configured mapping: %+v", id)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.cfg)
			s := f.spec(f.start(f.sp, "/app", testBrowser))
			if tc.edit != nil {
				tc.edit(f, &s)
			}
			id, err := f.acs(f.sp, build(t, s), "", testBrowser)
			if err != nil {
				t.Fatalf("ACS: %v", err)
			}
			if id.Subject == "" || id.ReturnTo != "/app" {
				t.Errorf("identity %+v", id)
			}
			if tc.check != nil {
				tc.check(t, id)
			}
		})
	}
}

// forged returns a copy of the response's assertion without its signature
// and naming mallory.
func forged(doc *etree.Document) *etree.Element {
	a := doc.Root().SelectElement("Assertion").Copy()
	if sig := a.SelectElement("Signature"); sig != nil {
		a.RemoveChild(sig)
	}
	a.FindElement("./Subject/NameID").SetText("mallory@example.com")
	return a
}

func TestACSRefuses(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		cfg     func(*connector.SAML)
		edit    func(f *fixture, s *respSpec)
		browser *string // default testBrowser
		reason  string
	}{
		{name: "wrong audience", reason: "audience",
			edit: func(f *fixture, s *respSpec) { s.audiences = []string{"https://other.example/sp"} }},
		{name: "no audience restriction", reason: "audience",
			edit: func(f *fixture, s *respSpec) { s.noAudience = true }},
		{name: "second audience restriction for someone else", reason: "audience",
			edit: func(f *fixture, s *respSpec) { s.audiences = []string{testEntityID, "https://other.example/sp"} }},
		{name: "no Conditions", reason: "malformed",
			edit: func(f *fixture, s *respSpec) { s.noConditions = true }},
		{name: "expired long ago", reason: "expired",
			edit: func(f *fixture, s *respSpec) {
				old := time.Now().Add(-time.Hour)
				s.issueInstant, s.notBefore, s.notOnOrAfter = old, old, old.Add(5*time.Minute)
			}},
		{name: "expired beyond the connection skew", reason: "expired",
			edit: func(f *fixture, s *respSpec) { s.notOnOrAfter = time.Now().Add(-100 * time.Second) }},
		{name: "expired beyond a 30 s skew", reason: "expired",
			cfg:  func(c *connector.SAML) { c.ClockSkew = connector.Duration(30 * time.Second) },
			edit: func(f *fixture, s *respSpec) { s.notOnOrAfter = time.Now().Add(-40 * time.Second) }},
		{name: "not yet valid", reason: "not_yet_valid",
			edit: func(f *fixture, s *respSpec) { s.notBefore = time.Now().Add(10 * time.Minute) }},
		{name: "not yet valid beyond the connection skew", reason: "not_yet_valid",
			edit: func(f *fixture, s *respSpec) { s.notBefore = time.Now().Add(2 * time.Minute) }},
		{name: "issued in the future", reason: "not_yet_valid",
			edit: func(f *fixture, s *respSpec) { s.issueInstant = time.Now().Add(2 * time.Minute) }},
		{name: "unsigned", reason: "unsigned",
			edit: func(f *fixture, s *respSpec) { s.signAssertion = false }},
		{name: "signed by an unknown key", reason: "signature",
			edit: func(f *fixture, s *respSpec) { s.signer = f.evil }},
		{name: "signed by an unknown key, no KeyInfo", reason: "signature",
			edit: func(f *fixture, s *respSpec) { s.signer, s.stripKeyInfo = f.evil, true }},
		{name: "response signed by an unknown key", reason: "signature",
			edit: func(f *fixture, s *respSpec) { s.signAssertion, s.signResponse, s.signer = false, true, f.evil }},
		{name: "unknown key presenting a trusted certificate", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.signer = keyPair{key: f.evil.key, cert: f.idpA.cert}
			}},
		{name: "tampered after signing", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) {
					doc.FindElement("//NameID").SetText("mallory@example.com")
				}
			}},
		{name: "SHA-1 signature", reason: "weak_algorithm",
			edit: func(f *fixture, s *respSpec) { s.sigMethod = dsig.RSASHA1SignatureMethod }},
		{name: "SHA-1 signature on the response", reason: "weak_algorithm",
			edit: func(f *fixture, s *respSpec) {
				s.signAssertion, s.signResponse, s.sigMethod = false, true, dsig.RSASHA1SignatureMethod
			}},
		{name: "wrong Destination", reason: "destination",
			edit: func(f *fixture, s *respSpec) { s.destination = "https://roster.example/sso/saml/other/acs" }},
		{name: "no Destination", reason: "destination",
			edit: func(f *fixture, s *respSpec) { s.destination = "-" }},
		{name: "wrong Recipient", reason: "recipient",
			edit: func(f *fixture, s *respSpec) { s.recipient = "https://evil.example/acs" }},
		{name: "wrong Issuer", reason: "issuer",
			edit: func(f *fixture, s *respSpec) { s.issuer = "https://idp.other.example/" }},
		{name: "unknown InResponseTo", reason: "in_response_to",
			edit: func(f *fixture, s *respSpec) { s.inResponseTo = "id-never-issued" }},
		{name: "InResponseTo of the response and the confirmation disagree", reason: "in_response_to",
			edit: func(f *fixture, s *respSpec) { s.scInResponseTo = str("id-other") }},
		{name: "IdP-initiated when not allowed", reason: "idp_initiated",
			edit: func(f *fixture, s *respSpec) { s.inResponseTo = "" }},
		{name: "redeemed in another browser", reason: "browser_mismatch", browser: str("browser-of-the-attacker")},
		{name: "redeemed without a browser id", reason: "browser_mismatch", browser: str("")},
		{name: "IdP refused", reason: "status",
			edit: func(f *fixture, s *respSpec) { s.status = "urn:oasis:names:tc:SAML:2.0:status:Requester" }},

		// Signature wrapping.
		{name: "XSW: extra unsigned assertion after the signed one", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) { doc.Root().AddChild(forged(doc)) }
			}},
		{name: "XSW: extra unsigned assertion before the signed one", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) {
					root := doc.Root()
					root.InsertChildAt(root.SelectElement("Assertion").Index(), forged(doc))
				}
			}},
		{name: "XSW: signed assertion moved into Extensions", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) {
					root := doc.Root()
					orig := root.SelectElement("Assertion")
					fake := forged(doc)
					root.RemoveChild(orig)
					ext := etree.NewElement("samlp:Extensions")
					ext.AddChild(orig)
					root.InsertChildAt(root.SelectElement("Issuer").Index()+1, ext)
					root.AddChild(fake)
				}
			}},
		{name: "XSW: signed assertion moved inside the forged one", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) {
					root := doc.Root()
					orig := root.SelectElement("Assertion")
					fake := forged(doc)
					root.RemoveChild(orig)
					fake.AddChild(orig)
					root.AddChild(fake)
				}
			}},
		{name: "XSW: forged assertion keeping the genuine signature", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) {
					doc.FindElement("//Assertion/Subject/NameID").SetText("mallory@example.com")
				}
			}},
		{name: "XSW: signed response wrapped into a forged one", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.signAssertion, s.signResponse = false, true
				s.mutate = func(doc *etree.Document) {
					orig := doc.Root()
					fake := orig.Copy()
					fake.RemoveChild(fake.SelectElement("Signature"))
					fake.FindElement("./Assertion/Subject/NameID").SetText("mallory@example.com")
					ext := etree.NewElement("samlp:Extensions")
					ext.AddChild(orig)
					fake.InsertChildAt(fake.SelectElement("Issuer").Index()+1, ext)
					doc.SetRoot(fake)
				}
			}},
		{name: "XSW: decoy signature with the forged assertion in ds:Object", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.signAssertion, s.signResponse = false, true
				s.mutate = func(doc *etree.Document) {
					root := doc.Root()
					sig := root.SelectElement("Signature")
					obj := sig.CreateElement("ds:Object")
					obj.AddChild(forged(doc))
				}
			}},
		{name: "XSW: signature referencing another element", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) {
					doc.FindElement("//Assertion/Signature/SignedInfo/Reference").CreateAttr("URI", "#elsewhere")
				}
			}},

		// Encryption.
		{name: "encrypted for another SP key", reason: "decrypt",
			edit: func(f *fixture, s *respSpec) { s.encryptFor = f.evil.cert }},
		{name: "encrypted with RSA PKCS#1 v1.5 key transport", reason: "weak_algorithm",
			edit: func(f *fixture, s *respSpec) {
				s.encryptFor = f.spKeys.cert
				s.mutate = func(doc *etree.Document) {
					doc.FindElement("//EncryptedKey/EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#rsa-1_5")
				}
			}},
		{name: "encrypted with 3DES", reason: "weak_algorithm",
			edit: func(f *fixture, s *respSpec) {
				s.encryptFor = f.spKeys.cert
				s.mutate = func(doc *etree.Document) {
					doc.FindElement("//EncryptedData/EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#tripledes-cbc")
				}
			}},
		{name: "encrypted, truncated GCM ciphertext (crewjam would panic)", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.encryptFor = f.spKeys.cert
				s.mutate = func(doc *etree.Document) {
					doc.FindElement("//EncryptedData/CipherData/CipherValue").SetText(base64.StdEncoding.EncodeToString([]byte("short")))
				}
			}},
		{name: "encrypted, CBC ciphertext not a block multiple (crewjam would panic)", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.encryptFor, s.encryptAlg = f.spKeys.cert, "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
				s.mutate = func(doc *etree.Document) {
					doc.FindElement("//EncryptedData/CipherData/CipherValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 37)))
				}
			}},
		{name: "unsigned assertion inside encryption", reason: "unsigned",
			edit: func(f *fixture, s *respSpec) { s.encryptFor, s.signAssertion = f.spKeys.cert, false }},

		// Shape.
		{name: "DTD", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) {
					doc.InsertChildAt(0, etree.NewDirective(`DOCTYPE r [<!ENTITY x "y">]`))
				}
			}},
		{name: "not a Response", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.mutate = func(doc *etree.Document) { doc.Root().Tag = "LogoutResponse" }
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.cfg)
			s := f.spec(f.start(f.sp, "/app", testBrowser))
			if tc.edit != nil {
				tc.edit(f, &s)
			}
			browser := testBrowser
			if tc.browser != nil {
				browser = *tc.browser
			}
			_, err := f.acs(f.sp, build(t, s), "", browser)
			wantReason(t, err, tc.reason)
		})
	}
}

func TestACSFormErrors(t *testing.T) {
	f := newFixture(t, nil)
	for name, r := range map[string]*http.Request{
		"GET":              httptest.NewRequest(http.MethodGet, testACS+"?SAMLResponse=x", nil),
		"no SAMLResponse":  post(nil, ""),
		"not base64":       formPost(url.Values{"SAMLResponse": {"%%%not base64"}}),
		"not XML":          formPost(url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte("hello"))}}),
		"artifact binding": formPost(url.Values{"SAMLart": {"AAQAA"}}),
		"too large":        formPost(url.Values{"SAMLResponse": {strings.Repeat("A", maxResponseBytes+4)}}),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "no SAMLResponse" {
				r = formPost(url.Values{"RelayState": {"/app"}})
			}
			_, err := f.sp.ACS(context.Background(), r, testBrowser)
			wantReason(t, err, "malformed")
		})
	}
}

func formPost(v url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, testACS, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestReplay(t *testing.T) {
	t.Run("same instance", func(t *testing.T) {
		f := newFixture(t, nil)
		doc := build(t, f.spec(f.start(f.sp, "/app", testBrowser)))
		if _, err := f.acs(f.sp, doc, "", testBrowser); err != nil {
			t.Fatalf("first ACS: %v", err)
		}
		_, err := f.acs(f.sp, doc, "", testBrowser)
		wantReason(t, err, "replayed")
	})
	t.Run("second instance on the same store", func(t *testing.T) {
		f := newFixture(t, nil)
		other := f.newSP()
		doc := build(t, f.spec(f.start(f.sp, "/app", testBrowser)))
		if _, err := f.acs(f.sp, doc, "", testBrowser); err != nil {
			t.Fatalf("first ACS: %v", err)
		}
		_, err := f.acs(other, doc, "", testBrowser)
		wantReason(t, err, "replayed")
	})
	t.Run("request started on one instance, consumed on another", func(t *testing.T) {
		f := newFixture(t, nil)
		other := f.newSP()
		doc := build(t, f.spec(f.start(f.sp, "/app/x", testBrowser)))
		id, err := f.acs(other, doc, "", testBrowser)
		if err != nil || id.ReturnTo != "/app/x" {
			t.Fatalf("cross-instance login: %+v, %v", id, err)
		}
	})
	t.Run("IdP-initiated", func(t *testing.T) {
		f := newFixture(t, func(c *connector.SAML) { c.AllowIdPInitiated = true })
		doc := build(t, f.spec(""))
		if _, err := f.acs(f.sp, doc, "", ""); err != nil {
			t.Fatalf("first ACS: %v", err)
		}
		_, err := f.acs(f.newSP(), doc, "", "")
		wantReason(t, err, "replayed")
	})
	t.Run("concurrent replays: exactly one wins", func(t *testing.T) {
		f := newFixture(t, nil)
		doc := build(t, f.spec(f.start(f.sp, "/app", testBrowser)))
		sps := []*SP{f.sp, f.newSP()}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, replayed := 0, 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.acs(sps[i%2], doc, "", testBrowser)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case connector.ReasonOf(err) == "replayed":
					replayed++
				default:
					t.Errorf("unexpected failure %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || replayed != 7 {
			t.Fatalf("%d accepted, %d replayed; want 1 and 7", ok, replayed)
		}
	})
}

func TestIdPInitiated(t *testing.T) {
	tests := []struct {
		relayState, want string
	}{
		{"/app/reports?range=7d", "/app/reports?range=7d"},
		{"", "/app"},
		{"https://evil.example/phish", "/app"},
		{"//evil.example/phish", "/app"},
		{"/\\evil.example", "/app"},
		{"javascript:alert(1)", "/app"},
		{"/admin/../app", "/app"},
	}
	f := newFixture(t, func(c *connector.SAML) { c.AllowIdPInitiated = true })
	for _, tc := range tests {
		t.Run(tc.relayState, func(t *testing.T) {
			id, err := f.acs(f.sp, build(t, f.spec("")), tc.relayState, "")
			if err != nil {
				t.Fatalf("ACS: %v", err)
			}
			if id.ReturnTo != tc.want {
				t.Fatalf("ReturnTo %q, want %q", id.ReturnTo, tc.want)
			}
		})
	}
	t.Run("solicited responses still need their request", func(t *testing.T) {
		_, err := f.acs(f.sp, build(t, f.spec("id-never-issued")), "/app", "")
		wantReason(t, err, "in_response_to")
	})
}

func TestRotationNeedsTheCertificateInMetadata(t *testing.T) {
	f := newFixture(t, func(c *connector.SAML) { c.IdPMetadataXML = metadataFor(loadKeyPair(t, "idp-a").cert) })
	for _, strip := range []bool{false, true} {
		s := f.spec(f.start(f.sp, "/app", testBrowser))
		s.signer, s.stripKeyInfo = f.idpB, strip
		_, err := f.acs(f.sp, build(t, s), "", testBrowser)
		wantReason(t, err, "signature")
	}
}

// TestConcurrentLogins runs many logins at once on two instances (run with
// -race: per-request hooks must not share state).
func TestConcurrentLogins(t *testing.T) {
	f := newFixture(t, nil)
	sps := []*SP{f.sp, f.newSP()}
	docs := make([][]byte, 16)
	for i := range docs {
		s := f.spec(f.start(sps[i%2], "/app", testBrowser))
		if i%3 == 0 {
			s.signer = f.idpB
		}
		docs[i] = build(t, s)
	}
	var wg sync.WaitGroup
	for i, doc := range docs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.acs(sps[(i+1)%2], doc, "", testBrowser); err != nil {
				t.Errorf("login %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
}
