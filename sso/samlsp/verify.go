package samlsp

import (
	"bytes"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/rosterhq/roster/sso/connector"
)

// Signature and digest algorithms accepted on IdP signatures. SHA-1 and
// MD5 are refused: collisions make a signed document stand for another.
var (
	allowedSignatureMethods = map[string]bool{
		dsig.RSASHA256SignatureMethod:   true,
		dsig.RSASHA384SignatureMethod:   true,
		dsig.RSASHA512SignatureMethod:   true,
		dsig.ECDSASHA256SignatureMethod: true,
		dsig.ECDSASHA384SignatureMethod: true,
		dsig.ECDSASHA512SignatureMethod: true,
	}
	allowedDigestMethods = map[string]bool{
		"http://www.w3.org/2001/04/xmlenc#sha256":       true,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": true,
		"http://www.w3.org/2001/04/xmlenc#sha512":       true,
	}
	// Encryption of assertions: AES (GCM or CBC) content keys carried by
	// RSA-OAEP. PKCS#1 v1.5 key transport (Bleichenbacher) and 3DES are
	// refused although crewjam/saml would decrypt them.
	allowedEncryptionMethods = map[string]bool{
		"http://www.w3.org/2009/xmlenc11#aes128-gcm":      true,
		"http://www.w3.org/2001/04/xmlenc#aes128-cbc":     true,
		"http://www.w3.org/2001/04/xmlenc#aes192-cbc":     true,
		"http://www.w3.org/2001/04/xmlenc#aes256-cbc":     true,
		"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p": true,
	}
	weakEncryptionMethods = map[string]bool{
		"http://www.w3.org/2001/04/xmlenc#rsa-1_5":       true,
		"http://www.w3.org/2001/04/xmlenc#tripledes-cbc": true,
	}
)

func isWeakHash(alg string) bool {
	a := strings.ToLower(alg)
	return strings.Contains(a, "sha1") || strings.Contains(a, "md5")
}

const (
	maxElements = 5000
	maxDepth    = 48
)

// responseShape is what scanResponse learned about a response document.
type responseShape struct {
	assertions int // direct-child Assertion and EncryptedAssertion elements
}

// scanResponse reads the whole document once, before crewjam/saml parses
// it, and refuses shapes a genuine IdP response never has but signature
// wrapping needs: more than one assertion, or a Signature anywhere but on
// the Response or on one of its direct-child Assertions (a signed
// assertion hidden in Extensions, in another assertion, in a Signature's
// Object…). It also refuses DTDs, very deep or very large documents and
// weak encryption algorithms. Local names are compared whatever their
// namespace, which is stricter than the library.
func scanResponse(data []byte) (responseShape, error) {
	var shape responseShape
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	elements := 0
	inEncrypted := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return shape, connector.Fail("malformed", publicMalformed, fmt.Errorf("read response XML: %w", err))
		}
		switch t := tok.(type) {
		case xml.Directive:
			return shape, connector.Fail("malformed", publicMalformed, errors.New("response carries a DTD or directive"))
		case xml.StartElement:
			elements++
			if elements > maxElements || len(stack) >= maxDepth {
				return shape, connector.Fail("malformed", publicMalformed, errors.New("response too large or too deep"))
			}
			name := t.Name.Local
			depth := len(stack)
			switch {
			case depth == 0:
				if name != "Response" || t.Name.Space != "urn:oasis:names:tc:SAML:2.0:protocol" {
					return shape, connector.Fail("malformed", publicMalformed, fmt.Errorf("root element is %s %s, not a SAML Response", t.Name.Space, name))
				}
			case depth == 1 && (name == "Assertion" || name == "EncryptedAssertion"):
				shape.assertions++
				if shape.assertions > 1 {
					return shape, connector.Fail("malformed", publicMalformed, errors.New("response carries more than one assertion"))
				}
				inEncrypted = name == "EncryptedAssertion"
			case depth == 1:
				inEncrypted = false
			}
			if name == "Assertion" && depth != 1 {
				return shape, connector.Fail("signature", publicInvalid, fmt.Errorf("Assertion inside %s: signature wrapping refused", strings.Join(stack, "/")))
			}
			if name == "Signature" {
				onResponse := depth == 1
				onAssertion := depth == 2 && stack[1] == "Assertion"
				if !onResponse && !onAssertion {
					return shape, connector.Fail("signature", publicInvalid, fmt.Errorf("Signature inside %s: signature wrapping refused", strings.Join(stack, "/")))
				}
			}
			if inEncrypted && name == "EncryptionMethod" {
				alg := attr(t, "Algorithm")
				if weakEncryptionMethods[alg] {
					return shape, connector.Fail("weak_algorithm", publicInvalid, fmt.Errorf("assertion encrypted with %s", alg))
				}
				if !allowedEncryptionMethods[alg] {
					return shape, connector.Fail("decrypt", publicInvalid, fmt.Errorf("assertion encrypted with unsupported %q", alg))
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if elements == 0 {
		return shape, connector.Fail("malformed", publicMalformed, errors.New("empty response"))
	}
	return shape, nil
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// signedElement records one element whose signature verified.
type signedElement struct {
	tag, id string
}

// verifier is the crewjam SignatureVerifier of one ACS call. It replaces
// the library's check so that it can refuse weak algorithms, pin the
// reference to the signed element, try each IdP certificate when the
// signature names none (key rotation), use the SP's clock, and remember
// which elements were signed.
type verifier struct {
	certs  []*x509.Certificate
	clock  *dsig.Clock
	signed []signedElement
}

// VerifySignature implements saml.SignatureVerifier. el is a detached copy
// of a Response or Assertion that carries a direct-child Signature.
func (v *verifier) VerifySignature(_ *dsig.ValidationContext, el *etree.Element) error {
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return connector.Fail("signature", publicInvalid, fmt.Errorf("signed %s has no ID", el.Tag))
	}
	sig, err := checkSignatureShape(el, id)
	if err != nil {
		return err
	}
	var lastErr error
	for _, roots := range v.candidateRoots(sig) {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: roots})
		ctx.IdAttribute = "ID"
		ctx.Clock = v.clock
		if _, err := ctx.Validate(el); err != nil {
			lastErr = err
			continue
		}
		v.signed = append(v.signed, signedElement{tag: el.Tag, id: id})
		return nil
	}
	return connector.Fail("signature", publicInvalid, fmt.Errorf("signature on %s %s: %w", el.Tag, id, lastErr))
}

// candidateRoots lists the certificate sets to try: all of them when the
// signature carries its certificate (goxmldsig then requires it to be one
// of ours), else one at a time (goxmldsig refuses several roots without a
// KeyInfo certificate).
func (v *verifier) candidateRoots(sig *etree.Element) [][]*x509.Certificate {
	if sig.FindElement("./KeyInfo/X509Data/X509Certificate") != nil || len(v.certs) == 1 {
		return [][]*x509.Certificate{v.certs}
	}
	out := make([][]*x509.Certificate, len(v.certs))
	for i, c := range v.certs {
		out[i] = []*x509.Certificate{c}
	}
	return out
}

// checkSignatureShape returns el's one direct-child Signature after
// checking that it references el itself with strong algorithms and that
// every other Signature in el sits directly on a child Assertion.
func checkSignatureShape(el *etree.Element, id string) (*etree.Element, error) {
	var direct *etree.Element
	var bad error
	var walk func(e *etree.Element, depth int)
	walk = func(e *etree.Element, depth int) {
		for _, c := range e.ChildElements() {
			if bad != nil {
				return
			}
			if c.Tag == "Signature" {
				switch {
				case depth == 0:
					if direct != nil {
						bad = errors.New("two signatures on one element")
						return
					}
					direct = c
				case depth == 1 && el.Tag == "Response" && e.Tag == "Assertion":
					// A signed assertion inside a signed response. Its
					// references must name that assertion only, so that
					// goxmldsig (which takes the first Signature anywhere
					// referencing the element it checks) can never pick it
					// for the Response.
					aid := e.SelectAttrValue("ID", "")
					if aid == "" || aid == id || !referencesOnly(c, aid) {
						bad = errors.New("assertion signature does not reference its assertion")
						return
					}
				default:
					bad = fmt.Errorf("Signature nested in %s: signature wrapping refused", e.Tag)
					return
				}
				continue
			}
			walk(c, depth+1)
		}
	}
	walk(el, 0)
	if bad != nil {
		return nil, connector.Fail("signature", publicInvalid, bad)
	}
	if direct == nil {
		return nil, connector.Fail("unsigned", publicInvalid, fmt.Errorf("%s is not signed", el.Tag))
	}
	for _, c := range direct.ChildElements() {
		switch c.Tag {
		case "SignedInfo", "SignatureValue", "KeyInfo":
		default:
			// ds:Object and friends are where decoy content hides.
			return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("Signature carries %s", c.Tag))
		}
	}
	si := direct.SelectElement("SignedInfo")
	if si == nil {
		return nil, connector.Fail("signature", publicInvalid, errors.New("Signature has no SignedInfo"))
	}
	if sm := si.SelectElement("SignatureMethod"); sm != nil {
		alg := sm.SelectAttrValue("Algorithm", "")
		if isWeakHash(alg) {
			return nil, connector.Fail("weak_algorithm", publicInvalid, fmt.Errorf("signature method %s", alg))
		}
		if !allowedSignatureMethods[alg] {
			return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("unsupported signature method %q", alg))
		}
	} else {
		return nil, connector.Fail("signature", publicInvalid, errors.New("SignedInfo has no SignatureMethod"))
	}
	refs := si.SelectElements("Reference")
	if len(refs) != 1 {
		return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("signature has %d references, want 1", len(refs)))
	}
	if uri := refs[0].SelectAttrValue("URI", ""); uri != "#"+id {
		return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("signature references %q, not the signed element #%s", uri, id))
	}
	dm := refs[0].SelectElement("DigestMethod")
	if dm == nil {
		return nil, connector.Fail("signature", publicInvalid, errors.New("reference has no DigestMethod"))
	}
	alg := dm.SelectAttrValue("Algorithm", "")
	if isWeakHash(alg) {
		return nil, connector.Fail("weak_algorithm", publicInvalid, fmt.Errorf("digest method %s", alg))
	}
	if !allowedDigestMethods[alg] {
		return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("unsupported digest method %q", alg))
	}
	return direct, nil
}

// referencesOnly tells whether every Reference of sig points at #id.
func referencesOnly(sig *etree.Element, id string) bool {
	si := sig.SelectElement("SignedInfo")
	if si == nil {
		return false
	}
	refs := si.SelectElements("Reference")
	for _, r := range refs {
		if r.SelectAttrValue("URI", "") != "#"+id {
			return false
		}
	}
	return len(refs) > 0
}

// dsigClock is the clock goxmldsig checks certificate validity with:
// its own real clock, or ours frozen at now when Options.Now was given.
func (sp *SP) dsigClock(now time.Time) *dsig.Clock {
	if sp.realClock {
		return nil
	}
	return dsig.NewFakeClockAt(now)
}
