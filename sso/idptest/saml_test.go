package idptest

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"
)

// sp is a crewjam/saml service provider with an ACS that reports what it
// parsed as JSON: the checker of these tests (the IdP is samlify).
type sp struct {
	srv *httptest.Server
	sp  saml.ServiceProvider

	mu         sync.Mutex
	requestIDs []string
}

type acsResult struct {
	Error      string              `json:"error,omitempty"`
	NameID     string              `json:"nameId,omitempty"`
	Attributes map[string][]string `json:"attributes,omitempty"`
	RelayState string              `json:"relayState,omitempty"`
	Encrypted  bool                `json:"encrypted,omitempty"`
	Session    time.Time           `json:"session,omitzero"`
}

func newSP(t *testing.T, signRequests bool) *sp {
	t.Helper()
	s := &sp{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.acs))
	t.Cleanup(s.srv.Close)
	key, cert := NewCertificate(t, "roster test sp")
	base, _ := url.Parse(s.srv.URL)
	s.sp = saml.ServiceProvider{
		EntityID:    s.srv.URL + "/saml/metadata",
		Key:         key,
		Certificate: cert,
		MetadataURL: *base.JoinPath("/saml/metadata"),
		AcsURL:      *base.JoinPath("/saml/acs"),
	}
	if signRequests {
		s.sp.SignatureMethod = dsig.RSASHA256SignatureMethod
	}
	return s
}

func (s *sp) metadata(t *testing.T) []byte {
	t.Helper()
	b, err := xml.Marshal(s.sp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trust reads the IdP's metadata as the SP would.
func (s *sp) trust(t *testing.T, idp *SAMLIdP) {
	t.Helper()
	md, err := samlsp.ParseMetadata(idp.Metadata(t))
	if err != nil {
		t.Fatalf("parse IdP metadata: %v", err)
	}
	s.mu.Lock()
	s.sp.IDPMetadata = md
	s.mu.Unlock()
}

// loginURL makes an AuthnRequest for the HTTP-Redirect binding.
func (s *sp) loginURL(t *testing.T, relayState string) string {
	t.Helper()
	req, err := s.sp.MakeAuthenticationRequest(s.sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.requestIDs = append(s.requestIDs, req.ID)
	s.mu.Unlock()
	u, err := req.Redirect(relayState, &s.sp)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

func (s *sp) acs(w http.ResponseWriter, r *http.Request) {
	res := acsResult{}
	if err := r.ParseForm(); err != nil {
		res.Error = err.Error()
	} else {
		res.RelayState = r.PostForm.Get("RelayState")
		raw, _ := decodeBase64(r.PostForm.Get("SAMLResponse"))
		res.Encrypted = strings.Contains(string(raw), "EncryptedAssertion")
		s.mu.Lock()
		ids := slices.Clone(s.requestIDs)
		checker := s.sp
		s.mu.Unlock()
		a, err := checker.ParseResponse(r, ids)
		var ire *saml.InvalidResponseError
		switch {
		case errors.As(err, &ire):
			res.Error = ire.PrivateErr.Error()
		case err != nil:
			res.Error = err.Error()
		default:
			res.NameID = a.Subject.NameID.Value
			res.Attributes = map[string][]string{}
			for _, st := range a.AttributeStatements {
				for _, at := range st.Attributes {
					for _, v := range at.Values {
						res.Attributes[at.Name] = append(res.Attributes[at.Name], v.Value)
					}
				}
			}
			for _, st := range a.AuthnStatements {
				if st.SessionNotOnOrAfter != nil {
					res.Session = *st.SessionNotOnOrAfter
				}
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// visit runs the browser to the ACS and decodes its report.
func (s *sp) visit(t *testing.T, b *Browser, u string) acsResult {
	t.Helper()
	page := b.Visit(u)
	if page.URL.Path != "/saml/acs" {
		t.Fatalf("login ended at %s (%d), not the ACS:\n%s", page.URL, page.StatusCode, page.Body)
	}
	var res acsResult
	if err := json.Unmarshal(page.Body, &res); err != nil {
		t.Fatalf("ACS answer %q: %v", page.Body, err)
	}
	return res
}

func TestSAMLMetadata(t *testing.T) {
	idp := StartSAML(t, SAMLConfig{WantAuthnRequestsSigned: true})
	md, err := samlsp.ParseMetadata(idp.Metadata(t))
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != idp.EntityID || idp.EntityID != idp.MetadataURL {
		t.Errorf("entityID %q, IdP says %q (metadata URL %q)", md.EntityID, idp.EntityID, idp.MetadataURL)
	}
	if len(md.IDPSSODescriptors) != 1 {
		t.Fatalf("%d IDPSSODescriptors", len(md.IDPSSODescriptors))
	}
	d := md.IDPSSODescriptors[0]
	if d.WantAuthnRequestsSigned == nil || !*d.WantAuthnRequestsSigned {
		t.Errorf("WantAuthnRequestsSigned not set")
	}
	bindings := map[string]string{}
	for _, e := range d.SingleSignOnServices {
		bindings[e.Binding] = e.Location
	}
	if bindings[saml.HTTPRedirectBinding] != idp.SSOURL || bindings[saml.HTTPPostBinding] != idp.SSOURL {
		t.Errorf("SSO services %v, want both bindings at %s", bindings, idp.SSOURL)
	}
	found := false
	for _, kd := range d.KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			der, _ := decodeBase64(c.Data)
			found = found || (kd.Use == "signing" || kd.Use == "") && string(der) == string(idp.Certificate.Raw)
		}
	}
	if !found {
		t.Errorf("signing certificate not in the metadata: %+v", d.KeyDescriptors)
	}
}

func TestSAMLLogin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     SAMLConfig
		signReq bool
	}{
		{name: "assertion signed", cfg: SAMLConfig{}},
		{name: "response signed", cfg: SAMLConfig{Sign: SignResponse}},
		{name: "both signed", cfg: SAMLConfig{Sign: SignBoth}},
		{name: "signed AuthnRequest", cfg: SAMLConfig{WantAuthnRequestsSigned: true}, signReq: true},
		{name: "encrypted assertion", cfg: SAMLConfig{EncryptAssertions: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSP(t, tc.signReq)
			tc.cfg.SPMetadata = [][]byte{s.metadata(t)}
			idp := StartSAML(t, tc.cfg)
			s.trust(t, idp)
			res := s.visit(t, NewBrowser(t), s.loginURL(t, "/app/inbox"))
			if res.Error != "" {
				t.Fatalf("crewjam refused the response: %s\n%s", res.Error, idp.Stderr())
			}
			if res.NameID != "alice@example.com" || res.RelayState != "/app/inbox" {
				t.Errorf("nameID %q relayState %q", res.NameID, res.RelayState)
			}
			want := map[string][]string{
				AttrEmail: {"alice@example.com"}, AttrGivenName: {"Alice"}, AttrFamilyName: {"Archer"}, AttrGroups: {"agents"},
			}
			for k, v := range want {
				if !slices.Equal(res.Attributes[k], v) {
					t.Errorf("attribute %s = %v, want %v", k, res.Attributes[k], v)
				}
			}
			if res.Encrypted != tc.cfg.EncryptAssertions {
				t.Errorf("encrypted = %v, want %v", res.Encrypted, tc.cfg.EncryptAssertions)
			}
		})
	}
}

func TestSAMLUnsignedRequestRefused(t *testing.T) {
	s := newSP(t, false)
	idp := StartSAML(t, SAMLConfig{WantAuthnRequestsSigned: true, SPMetadata: [][]byte{s.metadata(t)}})
	s.trust(t, idp)
	page := NewBrowser(t).Visit(s.loginURL(t, ""))
	if page.StatusCode != http.StatusBadRequest || !strings.Contains(page.String(), "SIG") {
		t.Errorf("unsigned AuthnRequest: %d at %s: %s; want 400 about the missing signature", page.StatusCode, page.URL, page.Body)
	}
}

func TestSAMLControls(t *testing.T) {
	s := newSP(t, false)
	idp := StartSAML(t, SAMLConfig{})
	idp.RegisterSP(t, s.metadata(t))
	s.trust(t, idp)
	login := func(t *testing.T) acsResult {
		t.Helper()
		return s.visit(t, NewBrowser(t), s.loginURL(t, ""))
	}

	t.Run("LoginAs", func(t *testing.T) {
		idp.LoginAs(t, "bob@example.com")
		defer idp.LoginAs(t, "")
		if res := login(t); res.NameID != "bob@example.com" || !slices.Equal(res.Attributes[AttrGroups], []string{"agents", "supervisors"}) {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("user query parameter", func(t *testing.T) {
		res := s.visit(t, NewBrowser(t), s.loginURL(t, "")+"&user=bob%40example.com")
		if res.NameID != "bob@example.com" {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("PutUser", func(t *testing.T) {
		idp.PutUser(t, SAMLUser{
			NameID: "c-123", NameIDFormat: NameIDPersistent, Email: "carol@example.com",
			Attributes: map[string][]string{"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups": {"g1", "g2"}},
			Session:    time.Hour,
		})
		idp.LoginAs(t, "c-123")
		defer idp.LoginAs(t, "")
		res := login(t)
		if res.Error != "" || res.NameID != "c-123" || len(res.Attributes["http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"]) != 2 {
			t.Errorf("got %+v", res)
		}
		if d := time.Until(res.Session); d < 50*time.Minute || d > 70*time.Minute {
			t.Errorf("SessionNotOnOrAfter %v, want in about an hour", res.Session)
		}
	})
	for _, tc := range []struct {
		name  string
		set   func(t *testing.T)
		reset func(t *testing.T)
		want  string // in crewjam's private error
	}{
		{"failed status", func(t *testing.T) { idp.FailLogins(t, "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed") },
			func(t *testing.T) { idp.FailLogins(t, "") }, "status"},
		{"wrong audience", func(t *testing.T) { idp.Misdirect(t, "https://other.example/sp") },
			func(t *testing.T) { idp.Misdirect(t, "") }, "audience"},
		{"expired", func(t *testing.T) { idp.SetValidity(t, -10*time.Minute) },
			func(t *testing.T) { idp.SetValidity(t, 5*time.Minute) }, "expired"},
		{"unknown user", func(t *testing.T) { idp.LoginAs(t, "nobody@example.com") },
			func(t *testing.T) { idp.LoginAs(t, "") }, "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.set(t)
			defer tc.reset(t)
			res := login(t)
			if !strings.Contains(strings.ToLower(res.Error), tc.want) {
				t.Errorf("error %q, want one about %q", res.Error, tc.want)
			}
		})
	}
	t.Run("encryption switched on", func(t *testing.T) {
		idp.SetEncryptAssertions(t, true)
		defer idp.SetEncryptAssertions(t, false)
		if res := login(t); res.Error != "" || !res.Encrypted {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("replay", func(t *testing.T) {
		// The Browser exposes the IdP's form, so a test can post it twice.
		b := NewBrowser(t)
		page := b.Get(s.loginURL(t, ""))
		f, err := page.Form()
		if err != nil || !f.Auto || f.Values.Get("SAMLResponse") == "" {
			t.Fatalf("IdP page form = %+v, %v", f, err)
		}
		for i := range 2 {
			var res acsResult
			if err := json.Unmarshal(b.Submit(f).Body, &res); err != nil || res.Error != "" {
				t.Fatalf("post %d: %+v %v", i, res, err)
			}
		}
	})
}

func TestSAMLIdPInitiated(t *testing.T) {
	s := newSP(t, false)
	idp := StartSAML(t, SAMLConfig{})
	idp.RegisterSP(t, s.metadata(t))
	s.trust(t, idp)

	u := idp.IdPInitiatedURL(s.sp.EntityID, "bob@example.com", "/app")
	if res := s.visit(t, NewBrowser(t), u); !strings.Contains(res.Error, "InResponseTo") && res.Error == "" {
		t.Errorf("unsolicited response accepted without AllowIDPInitiated: %+v", res)
	}
	s.mu.Lock()
	s.sp.AllowIDPInitiated = true
	s.mu.Unlock()
	res := s.visit(t, NewBrowser(t), u)
	if res.Error != "" || res.NameID != "bob@example.com" || res.RelayState != "/app" {
		t.Errorf("got %+v", res)
	}
}

func TestSAMLKeyRotation(t *testing.T) {
	s := newSP(t, false)
	idp := StartSAML(t, SAMLConfig{SPMetadata: [][]byte{s.metadata(t)}})
	s.trust(t, idp)
	first := idp.Certificate
	if res := s.visit(t, NewBrowser(t), s.loginURL(t, "")); res.Error != "" {
		t.Fatalf("before rotation: %s", res.Error)
	}

	idp.RotateKeys(t)
	if idp.Certificate.Equal(first) {
		t.Fatal("RotateKeys kept the certificate")
	}
	// An SP still trusting only the old certificate refuses the new
	// signature; one that re-read the metadata (both certificates) accepts.
	if res := s.visit(t, NewBrowser(t), s.loginURL(t, "")); res.Error == "" {
		t.Error("response signed with the new key accepted by an SP knowing only the old certificate")
	}
	s.trust(t, idp)
	if n := signingCerts(t, idp); n != 2 {
		t.Errorf("metadata lists %d signing certificates after RotateKeys, want 2", n)
	}
	if res := s.visit(t, NewBrowser(t), s.loginURL(t, "")); res.Error != "" {
		t.Errorf("after rotation and metadata refresh: %s", res.Error)
	}

	idp.ReplaceKeys(t)
	s.trust(t, idp)
	if n := signingCerts(t, idp); n != 1 {
		t.Errorf("metadata lists %d signing certificates after ReplaceKeys, want 1", n)
	}
	if res := s.visit(t, NewBrowser(t), s.loginURL(t, "")); res.Error != "" {
		t.Errorf("after ReplaceKeys: %s", res.Error)
	}
}

func signingCerts(t *testing.T, idp *SAMLIdP) int {
	t.Helper()
	md, err := samlsp.ParseMetadata(idp.Metadata(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, kd := range md.IDPSSODescriptors[0].KeyDescriptors {
		if kd.Use == "signing" || kd.Use == "" {
			n += len(kd.KeyInfo.X509Data.X509Certificates)
		}
	}
	return n
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}
