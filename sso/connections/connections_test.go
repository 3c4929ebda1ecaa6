package connections

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/adminapi"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
	"github.com/rosterhq/roster/sso/connector"
	"github.com/rosterhq/roster/sso/seal"
)

var (
	now   = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	admin = provisioning.Actor{Kind: repository.ActorMember, ID: "admin-1", RequestID: "req-1"}
)

const acctA, acctB = "acct-a", "acct-b"

type env struct {
	t      *testing.T
	ctx    context.Context
	store  repository.Store
	sealer *seal.Sealer
	svc    *Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New([]byte(strings.Repeat("s", seal.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(st, Options{BaseURL: "https://roster.example.com/", Sealer: sealer, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, store: st, sealer: sealer, svc: svc}
}

// testCert makes a self-signed certificate, base64 DER as metadata holds it.
func testCert(t *testing.T, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// idpMetadataXML is an IdP's metadata with the given signing certificates.
func idpMetadataXML(entityID, ssoURL string, binding string, certs ...string) string {
	var kds strings.Builder
	for _, c := range certs {
		fmt.Fprintf(&kds, `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`, c)
	}
	return fmt.Sprintf(`<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    %s
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="%s" Location="%s"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`, entityID, kds.String(), binding, ssoURL)
}

const redirectBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

func ptr[T any](v T) *T { return &v }

// wantCode checks err is a provisioning error with code and attribute.
func wantCode(t *testing.T, err error, code provisioning.Code, attribute string) *provisioning.Error {
	t.Helper()
	pe := provisioning.AsError(err)
	if pe == nil {
		t.Fatalf("error %v, want %s on %s", err, code, attribute)
	}
	if pe.Code != code || pe.Attribute != attribute {
		t.Fatalf("error %s on %q (%s), want %s on %q", pe.Code, pe.Attribute, pe.Message, code, attribute)
	}
	return pe
}

func (e *env) samlInput(name string, domains ...string) adminapi.SSOConnectionInput {
	return adminapi.SSOConnectionInput{Kind: "saml", Name: name, Domains: domains,
		SAML: &adminapi.SAMLInput{IdPMetadataXML: ptr(idpMetadataXML("https://idp.example/entity", "https://idp.example/sso", redirectBinding, testCert(e.t, "idp")))}}
}

func TestCreateSAML(t *testing.T) {
	e := newEnv(t)
	cert1, cert2 := testCert(t, "idp-old"), testCert(t, "idp-new")
	in := adminapi.SSOConnectionInput{Kind: "saml", Name: "  Okta  ", Domains: []string{"Acme.COM.", "acme.com", "eu.acme.com"},
		SAML: &adminapi.SAMLInput{
			IdPMetadataXML:    ptr(idpMetadataXML("http://www.okta.com/exk1", "https://acme.okta.com/app/sso/saml", redirectBinding, cert1, cert2)),
			SignAuthnRequests: ptr(true),
			Attributes:        &adminapi.AttributeMapping{Email: "mail", Groups: "memberOf"},
			Provisioning:      &adminapi.SSOProvisioning{JIT: true},
		}}
	v, err := e.svc.CreateConnection(e.ctx, admin, acctA, in)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "Okta" || strings.Join(v.Domains, ",") != "acme.com,eu.acme.com" || !v.Enabled || v.Kind != "saml" || v.Version != 1 || v.OIDC != nil {
		t.Errorf("view %+v", v)
	}
	s := v.SAML
	base := "https://roster.example.com/sso/saml/" + v.ID
	if s.SPEntityID != base+"/metadata" || s.SPMetadataURL != base+"/metadata" || s.ACSURL != base+"/acs" {
		t.Errorf("SP URLs %s %s %s", s.SPEntityID, s.SPMetadataURL, s.ACSURL)
	}
	if s.IdPEntityID != "http://www.okta.com/exk1" || s.IdPSSOURL != "https://acme.okta.com/app/sso/saml" || len(s.IdPCertificates) != 2 ||
		s.IdPCertificates[0].Subject != "CN=idp-old" || len(s.IdPCertificates[0].SHA256Fingerprint) != 64 {
		t.Errorf("IdP summary %+v", s)
	}
	if !strings.HasPrefix(s.SPCertificate, "-----BEGIN CERTIFICATE-----") || s.SPCertNotAfter == nil || !s.SignAuthnRequests ||
		s.Attributes.Email != "mail" || !s.Provisioning.JIT {
		t.Errorf("SAML settings %+v", s)
	}

	// The view never carries the private key; the store has it sealed.
	raw, _ := json.Marshal(v)
	stored, err := e.store.GetSSOConnection(e.ctx, acctA, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	var cfg connector.SAML
	if err := json.Unmarshal(stored.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.SPPrivateKey == "" || strings.Contains(string(raw), cfg.SPPrivateKey) || strings.Contains(string(raw), "PRIVATE") {
		t.Fatalf("private key leaks or is missing: %s", raw)
	}
	der, err := e.sealer.OpenString("saml-sp-key", cfg.SPPrivateKey)
	if err != nil {
		t.Fatalf("SP key is not sealed for saml-sp-key: %v", err)
	}
	key, err := x509.ParsePKCS8PrivateKey([]byte(der))
	if err != nil {
		t.Fatal(err)
	}
	if rk, isRSA := key.(*rsa.PrivateKey); !isRSA || rk.N.BitLen() != 2048 {
		t.Errorf("SP key %T", key)
	}

	// Audited with the actor and request id, without the key.
	page, err := e.store.ListAudit(e.ctx, acctA, repository.AuditQuery{Action: "sso_connection.create"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("audit %v %v", page.Items, err)
	}
	ev := page.Items[0]
	if ev.ActorID != "admin-1" || ev.RequestID != "req-1" || ev.TargetID != v.ID || strings.Contains(string(ev.Diff), cfg.SPPrivateKey) ||
		!strings.Contains(string(ev.Diff), "acme.com") {
		t.Errorf("audit event %+v %s", ev, ev.Diff)
	}

	// Another account sees nothing of it.
	if _, err := e.svc.GetConnection(e.ctx, acctB, v.ID); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("cross-account get: %v", err)
	}
	if list, err := e.svc.ListConnections(e.ctx, acctB); err != nil || len(list) != 0 {
		t.Errorf("cross-account list %v %v", list, err)
	}
	if _, err := e.svc.UpdateConnection(e.ctx, admin, acctB, v.ID, nil, adminapi.SSOConnectionPatch{Name: ptr("x")}); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("cross-account update: %v", err)
	}
	if err := e.svc.DeleteConnection(e.ctx, admin, acctB, v.ID, nil); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("cross-account delete: %v", err)
	}
}

func TestInvalidInput(t *testing.T) {
	e := newEnv(t)
	cert := testCert(t, "idp")
	good := idpMetadataXML("https://idp.example", "https://idp.example/sso", redirectBinding, cert)
	saml := func(xml string) adminapi.SSOConnectionInput {
		return adminapi.SSOConnectionInput{Kind: "saml", Name: "IdP", SAML: &adminapi.SAMLInput{IdPMetadataXML: &xml}}
	}
	oidc := func(o adminapi.OIDCInput) adminapi.SSOConnectionInput {
		return adminapi.SSOConnectionInput{Kind: "oidc", Name: "IdP", OIDC: &o}
	}
	withDomains := func(d ...string) adminapi.SSOConnectionInput {
		in := saml(good)
		in.Domains = d
		return in
	}
	for _, tc := range []struct {
		name, attr, msg string
		in              adminapi.SSOConnectionInput
	}{
		{"kind", "kind", "saml or oidc", adminapi.SSOConnectionInput{Kind: "ldap", Name: "x"}},
		{"name", "name", "1 to 100", adminapi.SSOConnectionInput{Kind: "saml", Name: "  "}},
		{"saml without settings", "saml", "", adminapi.SSOConnectionInput{Kind: "saml", Name: "x"}},
		{"saml with oidc", "oidc", "", adminapi.SSOConnectionInput{Kind: "saml", Name: "x", OIDC: &adminapi.OIDCInput{}}},
		{"no metadata", "saml.idpMetadataXml", "", adminapi.SSOConnectionInput{Kind: "saml", Name: "x", SAML: &adminapi.SAMLInput{}}},
		{"not xml", "saml.idpMetadataXml", "not XML", saml("hello")},
		{"doctype", "saml.idpMetadataXml", "DOCTYPE", saml(`<!DOCTYPE x [<!ENTITY a "b">]>` + good)},
		{"no signing cert", "saml.idpMetadataXml", "signing certificate", saml(idpMetadataXML("https://idp.example", "https://idp.example/sso", redirectBinding))},
		{"post binding only", "saml.idpMetadataXml", "HTTP-Redirect", saml(idpMetadataXML("https://idp.example", "https://idp.example/sso", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", cert))},
		{"bad cert", "saml.idpMetadataXml", "certificate", saml(idpMetadataXML("https://idp.example", "https://idp.example/sso", redirectBinding, "AAAA"))},
		{"sp metadata", "saml.idpMetadataXml", "IDPSSODescriptor", saml(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="sp"><md:SPSSODescriptor/></md:EntityDescriptor>`)},
		{"plain http metadata URL", "saml.idpMetadataUrl", "https", adminapi.SSOConnectionInput{Kind: "saml", Name: "x", SAML: &adminapi.SAMLInput{IdPMetadataURL: ptr("http://idp.example/metadata")}}},
		{"xml and url", "saml.idpMetadataUrl", "not both", adminapi.SSOConnectionInput{Kind: "saml", Name: "x", SAML: &adminapi.SAMLInput{IdPMetadataXML: &good, IdPMetadataURL: ptr("https://idp.example/m")}}},
		{"gmail", "domains", "public email provider", withDomains("acme.com", "GMail.com")},
		{"outlook", "domains", "public email provider", withDomains("outlook.com")},
		{"yahoo", "domains", "public email provider", withDomains("yahoo.com")},
		{"bad domain", "domains", "not a valid email domain", withDomains("acme")},
		{"bad label", "domains", "hyphen", withDomains("-acme.com")},
		{"underscore", "domains", "letters, digits", withDomains("ac_me.com")},
		{"unicode", "domains", "xn--", withDomains("bücher.de")},
		{"numeric tld", "domains", "numeric", withDomains("10.0.0.1")},
		{"oidc without settings", "oidc", "", adminapi.SSOConnectionInput{Kind: "oidc", Name: "x"}},
		{"oidc issuer http", "oidc.issuer", "https", oidc(adminapi.OIDCInput{Issuer: ptr("http://login.example.com"), ClientID: ptr("c")})},
		{"oidc issuer missing", "oidc.issuer", "", oidc(adminapi.OIDCInput{ClientID: ptr("c")})},
		{"oidc issuer query", "oidc.issuer", "query", oidc(adminapi.OIDCInput{Issuer: ptr("https://login.example.com/?x=1"), ClientID: ptr("c")})},
		{"oidc client missing", "oidc.clientId", "", oidc(adminapi.OIDCInput{Issuer: ptr("https://login.example.com")})},
		{"oidc scopes without openid", "oidc.scopes", "openid", oidc(adminapi.OIDCInput{Issuer: ptr("https://login.example.com"), ClientID: ptr("c"), Scopes: &[]string{"email"}})},
		{"oidc bad scope", "oidc.scopes", "scope token", oidc(adminapi.OIDCInput{Issuer: ptr("https://login.example.com"), ClientID: ptr("c"), Scopes: &[]string{"openid", "a b"}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateConnection(e.ctx, admin, acctA, tc.in)
			pe := wantCode(t, err, provisioning.CodeInvalidValue, tc.attr)
			if !strings.Contains(pe.Message, tc.msg) {
				t.Errorf("message %q lacks %q", pe.Message, tc.msg)
			}
		})
	}
	if list, _ := e.svc.ListConnections(e.ctx, acctA); len(list) != 0 {
		t.Errorf("refused input stored %d connections", len(list))
	}
}

func TestDomainConflicts(t *testing.T) {
	e := newEnv(t)
	a, err := e.svc.CreateConnection(e.ctx, admin, acctA, e.samlInput("A", "acme.com"))
	if err != nil {
		t.Fatal(err)
	}
	// Another account, another connection of the same account: refused.
	for _, acct := range []string{acctB, acctA} {
		_, err := e.svc.CreateConnection(e.ctx, admin, acct, e.samlInput("B", "other.com", "ACME.com"))
		pe := wantCode(t, err, provisioning.CodeConflict, "domains")
		var ce *repository.ConflictError
		if !errors.As(err, &ce) || ce.Attribute != "domain" || !strings.Contains(pe.Message, "acme.com") {
			t.Errorf("conflict %v (%+v)", err, ce)
		}
	}
	b, err := e.svc.CreateConnection(e.ctx, admin, acctB, e.samlInput("B", "globex.com"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.UpdateConnection(e.ctx, admin, acctB, b.ID, nil, adminapi.SSOConnectionPatch{Domains: &[]string{"globex.com", "acme.com"}})
	wantCode(t, err, provisioning.CodeConflict, "domains")
	// Keeping one's own domain is no conflict; releasing it frees it.
	if _, err := e.svc.UpdateConnection(e.ctx, admin, acctA, a.ID, nil, adminapi.SSOConnectionPatch{Domains: &[]string{"acme.com", "acme.org"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateConnection(e.ctx, admin, acctA, a.ID, nil, adminapi.SSOConnectionPatch{Domains: &[]string{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateConnection(e.ctx, admin, acctB, b.ID, nil, adminapi.SSOConnectionPatch{Domains: &[]string{"acme.com"}}); err != nil {
		t.Errorf("a released domain: %v", err)
	}
	if got, err := e.store.GetSSOConnectionByDomain(e.ctx, "acme.com"); err != nil || got.ID != b.ID {
		t.Errorf("acme.com routes to %v %v", got.ID, err)
	}

	// Concurrent creates claiming one domain: the store lets one through.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.CreateConnection(e.ctx, admin, fmt.Sprintf("acct-%d", i), e.samlInput("R", "race.example"))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			wantCode(t, err, provisioning.CodeConflict, "domains")
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent creates won", won)
	}
}

func TestOIDC(t *testing.T) {
	e := newEnv(t)
	v, err := e.svc.CreateConnection(e.ctx, admin, acctA, adminapi.SSOConnectionInput{Kind: "oidc", Name: "Entra", Domains: []string{"acme.com"},
		Enabled: ptr(false),
		OIDC: &adminapi.OIDCInput{Issuer: ptr("https://login.microsoftonline.com/tid/v2.0"), ClientID: ptr("client-1"),
			ClientSecret: ptr("s3cr3t-value"), Scopes: &[]string{"openid", "email", "openid"}, Claims: &adminapi.AttributeMapping{Groups: "groups"}}})
	if err != nil {
		t.Fatal(err)
	}
	o := v.OIDC
	if v.Enabled || v.SAML != nil || o.Issuer != "https://login.microsoftonline.com/tid/v2.0" || o.ClientID != "client-1" || !o.ClientSecretSet ||
		strings.Join(o.Scopes, " ") != "openid email" || o.Claims.Groups != "groups" ||
		o.RedirectURI != "https://roster.example.com/sso/oidc/"+v.ID+"/callback" {
		t.Errorf("view %+v %+v", v, o)
	}
	raw, _ := json.Marshal(v)
	if strings.Contains(string(raw), "s3cr3t") {
		t.Fatalf("secret in view: %s", raw)
	}
	stored, _ := e.store.GetSSOConnection(e.ctx, acctA, v.ID)
	if strings.Contains(string(stored.Config), "s3cr3t") {
		t.Fatal("secret stored in clear")
	}
	var cfg connector.OIDC
	if err := json.Unmarshal(stored.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if got, err := e.sealer.OpenString("oidc-client-secret", cfg.ClientSecret); err != nil || got != "s3cr3t-value" {
		t.Errorf("sealed secret opens to %q, %v", got, err)
	}

	// A loopback issuer may be plain http (local IdPs, tests).
	if _, err := e.svc.CreateConnection(e.ctx, admin, acctA, adminapi.SSOConnectionInput{Kind: "oidc", Name: "Local",
		OIDC: &adminapi.OIDCInput{Issuer: ptr("http://127.0.0.1:9999"), ClientID: ptr("c")}}); err != nil {
		t.Errorf("loopback issuer: %v", err)
	}

	// Changing the secret is audited without the secret; a SAML patch is
	// refused on an OIDC connection.
	u, err := e.svc.UpdateConnection(e.ctx, admin, acctA, v.ID, provisioning.IfVersion{1},
		adminapi.SSOConnectionPatch{Enabled: ptr(true), OIDC: &adminapi.OIDCInput{ClientSecret: ptr("n3w-s3cret")}})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Enabled || u.Version != 2 || u.OIDC.ClientID != "client-1" || !u.OIDC.ClientSecretSet {
		t.Errorf("updated %+v", u)
	}
	page, _ := e.store.ListAudit(e.ctx, acctA, repository.AuditQuery{Action: "sso_connection.update"})
	if len(page.Items) != 1 || strings.Contains(string(page.Items[0].Diff), "n3w") || !strings.Contains(string(page.Items[0].Diff), "oidc.clientSecret") ||
		!strings.Contains(string(page.Items[0].Diff), "enabled") {
		t.Errorf("update audit %s", page.Items[0].Diff)
	}
	_, err = e.svc.UpdateConnection(e.ctx, admin, acctA, v.ID, nil, adminapi.SSOConnectionPatch{SAML: &adminapi.SAMLInput{}})
	wantCode(t, err, provisioning.CodeInvalidValue, "saml")
	_, err = e.svc.UpdateConnection(e.ctx, admin, acctA, v.ID, nil, adminapi.SSOConnectionPatch{OIDC: &adminapi.OIDCInput{Scopes: &[]string{"profile"}}})
	wantCode(t, err, provisioning.CodeInvalidValue, "oidc.scopes")

	// If-Match: a stale version is refused, on update and delete.
	_, err = e.svc.UpdateConnection(e.ctx, admin, acctA, v.ID, provisioning.IfVersion{1}, adminapi.SSOConnectionPatch{Name: ptr("x")})
	wantCode(t, err, provisioning.CodeVersionMismatch, "")
	err = e.svc.DeleteConnection(e.ctx, admin, acctA, v.ID, provisioning.IfVersion{1})
	wantCode(t, err, provisioning.CodeVersionMismatch, "")

	// A patch that changes nothing writes nothing.
	same, err := e.svc.UpdateConnection(e.ctx, admin, acctA, v.ID, nil, adminapi.SSOConnectionPatch{Name: ptr("Entra")})
	if err != nil || same.Version != 2 {
		t.Errorf("no-op update: version %d, %v", same.Version, err)
	}

	if err := e.svc.DeleteConnection(e.ctx, admin, acctA, v.ID, provisioning.IfVersion{2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetConnection(e.ctx, acctA, v.ID); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("deleted connection: %v", err)
	}
	if _, err := e.store.GetSSOConnectionByDomain(e.ctx, "acme.com"); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("domain of a deleted connection still routes: %v", err)
	}
	page, _ = e.store.ListAudit(e.ctx, acctA, repository.AuditQuery{Action: "sso_connection.delete"})
	if len(page.Items) != 1 || page.Items[0].TargetID != v.ID {
		t.Errorf("delete audit %v", page.Items)
	}
}

// TestMetadataURL serves IdP metadata on a loopback server: created from
// the URL, refreshed after the IdP rotates its certificate, and a broken
// document leaves the stored one in place.
func TestMetadataURL(t *testing.T) {
	e := newEnv(t)
	oldCert, newCert := testCert(t, "old"), testCert(t, "new")
	var mu sync.Mutex
	doc, status := idpMetadataXML("https://idp.example", "https://idp.example/sso", redirectBinding, oldCert), http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/huge" {
			w.Write([]byte("<x>" + strings.Repeat("a", 2<<20) + "</x>"))
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(doc))
	}))
	defer srv.Close()
	set := func(d string, st int) {
		mu.Lock()
		defer mu.Unlock()
		doc, status = d, st
	}

	v, err := e.svc.CreateConnection(e.ctx, admin, acctA, adminapi.SSOConnectionInput{Kind: "saml", Name: "Remote",
		SAML: &adminapi.SAMLInput{IdPMetadataURL: ptr(srv.URL + "/metadata")}})
	if err != nil {
		t.Fatal(err)
	}
	if v.SAML.IdPMetadataURL != srv.URL+"/metadata" || v.SAML.MetadataRefreshedAt == nil || len(v.SAML.IdPCertificates) != 1 {
		t.Errorf("view %+v", v.SAML)
	}

	// The IdP publishes old and new certificates during a rotation.
	set(idpMetadataXML("https://idp.example", "https://idp.example/sso", redirectBinding, oldCert, newCert), http.StatusOK)
	if _, err := e.svc.RefreshMetadata(e.ctx, acctA, v.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.GetConnection(e.ctx, acctA, v.ID)
	if len(got.SAML.IdPCertificates) != 2 {
		t.Errorf("after refresh %d certificates", len(got.SAML.IdPCertificates))
	}
	page, _ := e.store.ListAudit(e.ctx, acctA, repository.AuditQuery{Action: "sso_connection.metadata_refresh"})
	if len(page.Items) != 1 || page.Items[0].ActorKind != repository.ActorSystem {
		t.Errorf("refresh audit %v", page.Items)
	}

	// A broken document or an error page is refused; the stored one stays.
	set("<html>maintenance</html>", http.StatusOK)
	if _, err := e.svc.RefreshMetadata(e.ctx, acctA, v.ID); err == nil {
		t.Error("a broken document was accepted")
	}
	set("", http.StatusInternalServerError)
	if _, err := e.svc.RefreshMetadata(e.ctx, acctA, v.ID); err == nil {
		t.Error("a 500 was accepted")
	}
	if got, _ := e.svc.GetConnection(e.ctx, acctA, v.ID); len(got.SAML.IdPCertificates) != 2 {
		t.Error("a failed refresh changed the metadata")
	}

	// At creation the failure is the admin's to fix: invalid_value naming why.
	_, err = e.svc.CreateConnection(e.ctx, admin, acctA, adminapi.SSOConnectionInput{Kind: "saml", Name: "Down",
		SAML: &adminapi.SAMLInput{IdPMetadataURL: ptr(srv.URL + "/metadata")}})
	pe := wantCode(t, err, provisioning.CodeInvalidValue, "saml.idpMetadataUrl")
	if !strings.Contains(pe.Message, "500") {
		t.Errorf("message %q", pe.Message)
	}
	_, err = e.svc.CreateConnection(e.ctx, admin, acctA, adminapi.SSOConnectionInput{Kind: "saml", Name: "Huge",
		SAML: &adminapi.SAMLInput{IdPMetadataURL: ptr(srv.URL + "/huge")}})
	wantCode(t, err, provisioning.CodeInvalidValue, "saml.idpMetadataUrl")

	// Pasting a document stops refreshing; a connection without URL cannot refresh.
	u, err := e.svc.UpdateConnection(e.ctx, admin, acctA, v.ID, nil, adminapi.SSOConnectionPatch{SAML: &adminapi.SAMLInput{
		IdPMetadataXML: ptr(idpMetadataXML("https://idp2.example", "https://idp2.example/sso", redirectBinding, newCert))}})
	if err != nil {
		t.Fatal(err)
	}
	if u.SAML.IdPMetadataURL != "" || u.SAML.IdPEntityID != "https://idp2.example" || u.SAML.MetadataRefreshedAt != nil {
		t.Errorf("after paste %+v", u.SAML)
	}
	if _, err := e.svc.RefreshMetadata(e.ctx, acctA, v.ID); err == nil {
		t.Error("refreshed a connection without URL")
	}
	// The SP key pair survives every update.
	if u.SAML.SPCertificate != v.SAML.SPCertificate {
		t.Error("an update replaced the SP certificate")
	}
}
