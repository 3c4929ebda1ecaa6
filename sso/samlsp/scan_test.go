package samlsp

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	xrv "github.com/mattermost/xml-roundtrip-validator"

	"github.com/rosterhq/roster/sso/connector"
)

// TestScanXML covers the raw-document checks that replaced crewjam's
// xrv.Validate and the earlier pre-pass: each document is refused before
// etree or goxmldsig read it.
func TestScanXML(t *testing.T) {
	const open = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r">`
	tests := []struct {
		name, doc, reason string
	}{
		{"element name with two colons (round trip)", open + `<saml:Issuer:x>i</saml:Issuer:x></samlp:Response>`, "malformed"},
		{"attribute name with two colons (round trip)", open + `<saml:Issuer a:b:c="1">i</saml:Issuer></samlp:Response>`, "malformed"},
		{"directive inside an element", open + `<!ENTITY x "y"></samlp:Response>`, "malformed"},
		{"mismatched end tag", open + `<saml:Issuer>i</saml:Subject></samlp:Response>`, "malformed"},
		{"two roots", open + `</samlp:Response>` + open + `</samlp:Response>`, "malformed"},
		{"ID twice under two prefixes", `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:x="urn:x" x:ID="evil" ID="r"></samlp:Response>`, "malformed"},
		{"non-UTF-8 encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + open + `</samlp:Response>`, "malformed"},
		{"Response in the wrong namespace", `<samlp:Response xmlns:samlp="urn:evil"></samlp:Response>`, "malformed"},
		{"unterminated", open + `<saml:Issuer>i</saml:Issuer>`, "malformed"},
		{"EncryptedAssertion nested", open + `<samlp:Extensions><saml:EncryptedAssertion/></samlp:Extensions></samlp:Response>`, "signature"},
		{"too deep", open + strings.Repeat("<a>", maxDepth) + strings.Repeat("</a>", maxDepth) + `</samlp:Response>`, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := scanXML([]byte(tc.doc), "Response")
			if got := connector.ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.reason)
			}
		})
	}
	if err := scanXML([]byte(open+`<saml:Issuer>i</saml:Issuer></samlp:Response>`), "Response"); err != nil {
		t.Fatalf("plain response refused: %v", err)
	}
}

// TestACSRefusesMore covers the checks ParseXMLResponse made that the
// original table does not reach, each on content a genuine IdP signed.
func TestACSRefusesMore(t *testing.T) {
	sc := func(a *etree.Element) *etree.Element { return a.FindElement("./Subject/SubjectConfirmation") }
	tests := []struct {
		name   string
		edit   func(f *fixture, s *respSpec)
		reason string
	}{
		{name: "non-bearer confirmation for another recipient", reason: "recipient",
			edit: func(f *fixture, s *respSpec) {
				s.editAssertion = func(a *etree.Element) {
					c := sc(a).Copy()
					c.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
					c.SelectElement("SubjectConfirmationData").CreateAttr("Recipient", "https://evil.example/acs")
					a.SelectElement("Subject").AddChild(c)
				}
			}},
		{name: "confirmation without SubjectConfirmationData", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.editAssertion = func(a *etree.Element) { sc(a).RemoveChild(sc(a).SelectElement("SubjectConfirmationData")) }
			}},
		{name: "bearer confirmation without NotOnOrAfter", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.editAssertion = func(a *etree.Element) { sc(a).SelectElement("SubjectConfirmationData").RemoveAttr("NotOnOrAfter") }
			}},
		{name: "audience restriction naming us and another", reason: "audience",
			edit: func(f *fixture, s *respSpec) {
				s.editAssertion = func(a *etree.Element) {
					a.FindElement("./Conditions/AudienceRestriction").CreateElement("saml:Audience").SetText("https://other.example/sp")
				}
			}},
		{name: "two Issuers in the assertion", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.editAssertion = func(a *etree.Element) {
					a.InsertChildAt(1, etree.NewElement("saml:Issuer"))
				}
			}},
		{name: "assertion in the wrong namespace", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.editAssertion = func(a *etree.Element) { a.CreateAttr("xmlns:saml", "urn:evil") }
			}},
		{name: "issued 100 s ago (crewjam's 90 s MaxIssueDelay, no skew)", reason: "expired",
			edit: func(f *fixture, s *respSpec) { s.issueInstant = time.Now().Add(-100 * time.Second) }},
		{name: "bad time", reason: "malformed",
			edit: func(f *fixture, s *respSpec) {
				s.editAssertion = func(a *etree.Element) { a.SelectElement("Conditions").CreateAttr("NotBefore", "yesterday") }
			}},
		{name: "response signed, assertion unsigned but Signature of another element inside", reason: "signature",
			edit: func(f *fixture, s *respSpec) {
				s.signAssertion, s.signResponse = false, true
				s.mutate = func(doc *etree.Document) {
					doc.Root().SelectElement("Assertion").SelectElement("Subject").AddChild(etree.NewElement("ds:Signature"))
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			s := f.spec(f.start(f.sp, "/app", testBrowser))
			tc.edit(f, &s)
			_, err := f.acs(f.sp, build(t, s), "", testBrowser)
			wantReason(t, err, tc.reason)
		})
	}
}

// TestCommentDoesNotTruncate: a comment slipped into a signed NameID after
// signing (exclusive c14n drops comments, so the signature still holds)
// must not shorten the value ACS reads.
func TestCommentDoesNotTruncate(t *testing.T) {
	f := newFixture(t, nil)
	s := f.spec(f.start(f.sp, "/app", testBrowser))
	s.nameID = "ada@example.com.evil.example"
	s.mutate = func(doc *etree.Document) {
		n := doc.FindElement("//NameID")
		n.SetText("ada@example.com")
		n.CreateComment("")
		n.CreateText(".evil.example")
	}
	id, err := f.acs(f.sp, build(t, s), "", testBrowser)
	if err != nil {
		t.Fatalf("ACS: %v", err)
	}
	if id.Subject != "ada@example.com.evil.example" || id.Email != "ada@example.com.evil.example" {
		t.Fatalf("identity %+v: value truncated at the comment", id)
	}
}

// TestRoundTripsAsText holds roundTripsAsText to xrv: every text it lets
// skip the round-trip check passes that check.
func TestRoundTripsAsText(t *testing.T) {
	samples := []string{
		" ", "\n\t  \n", "ada@example.com", "a&b<c>d'e\"f", "Zoë Ölçer 日本 \U0001F600",
		"MIIC+zCCAeOgAwIBAgIJ/AbC=", "\u00a0\ue000", "]]>", "&amp;",
	}
	for _, s := range samples {
		if !roundTripsAsText([]byte(s)) {
			t.Errorf("%q not treated as plain text", s)
			continue
		}
		if err := xrv.CheckToken(xml.CharData(s)); err != nil {
			t.Errorf("%q: skipped but xrv refuses it: %v", s, err)
		}
	}
	for _, s := range []string{"\r", "a\x01b", "\xff\xfe", "\ufffe", "", "\ufffd"} {
		if roundTripsAsText([]byte(s)) {
			t.Errorf("%q treated as plain text", s)
		}
	}
}
