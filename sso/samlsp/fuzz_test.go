package samlsp

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"testing"

	"github.com/beevik/etree"

	"github.com/rosterhq/roster/sso/connector"
)

// FuzzACS posts arbitrary SAMLResponse values: ACS must never panic and
// never accept one (no input can carry a valid signature answering a
// request this SP issued). data is base64-encoded first unless raw.
func FuzzACS(f *testing.F) {
	fx := newFixture(f, nil)
	valid := fx.spec("id-never-issued")
	seeds := [][]byte{
		build(f, valid),
		build(f, func() respSpec {
			s := fx.spec("id-never-issued")
			s.signAssertion, s.signResponse = false, true
			return s
		}()),
		build(f, func() respSpec { s := fx.spec("id-never-issued"); s.encryptFor = fx.spKeys.cert; return s }()),
		build(f, func() respSpec {
			s := fx.spec("id-never-issued")
			s.mutate = func(doc *etree.Document) { doc.Root().AddChild(forged(doc)) }
			return s
		}()),
		build(f, func() respSpec { s := fx.spec(""); s.signAssertion = false; return s }()),
		[]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`),
		[]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`),
		[]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r" Version="2.0"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></saml:Assertion></samlp:Response>`),
		{},
	}
	for _, s := range seeds {
		f.Add(s, false)
	}
	f.Add([]byte("%%%"), true)
	f.Add([]byte("PHNhbWxwOlJlc3BvbnNl"), true)

	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		value := string(data)
		if !raw {
			value = base64.StdEncoding.EncodeToString(data)
		}
		r := formPost(url.Values{"SAMLResponse": {value}, "RelayState": {"https://evil.example/"}})
		id, err := fx.sp.ACS(context.Background(), r, testBrowser)
		if err == nil {
			t.Fatalf("accepted %+v", id)
		}
		var le *connector.LoginError
		if !errors.As(err, &le) || le.Reason == "" || le.Public == "" {
			t.Fatalf("error %v is not a complete LoginError", err)
		}
	})
}
