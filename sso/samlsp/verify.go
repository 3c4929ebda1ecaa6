package samlsp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

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

// scanXML reads a whole document once, token by token, before anything
// else parses it. It refuses:
//
//   - anything encoding/xml does not read in strict mode, non-UTF-8
//     encodings, DTDs and other directives, mismatched end tags, two
//     attributes with one local name on an element (parsers disagree on
//     which one counts), very deep or very large documents;
//   - any token that does not survive an encoding/xml round trip
//     unchanged, checked with xml-roundtrip-validator's own CheckToken on
//     every token. This is the protection crewjam/saml's ParseXMLResponse
//     ran (xrv.Validate, which is this same loop with a byte-at-a-time
//     reader and line bookkeeping): documents exploiting encoding/xml's
//     namespace-prefix and directive mutations (CVE-2020-29509/10/11) are
//     refused before etree or goxmldsig read them;
//   - shapes a genuine response never has but signature wrapping needs:
//     more than one assertion, an Assertion anywhere but as a direct child
//     of the Response, a Signature anywhere but on the root or on that
//     Assertion (in Extensions, in another assertion, in a Signature's
//     Object…). Local names are compared whatever their namespace, which
//     is stricter than the namespace-aware reading that follows;
//   - weak or unknown encryption algorithms inside an EncryptedAssertion.
//
// wantRoot is "Response" for the posted document (in the protocol
// namespace) or "Assertion" for a decrypted one (assertion namespace).
func scanXML(data []byte, wantRoot string) error {
	wantNS, assertionDepth := nsProtocol, 1
	if wantRoot == "Assertion" {
		wantNS, assertionDepth = nsAssertion, 0
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []xml.Name
	elements, assertions := 0, 0
	inEncrypted := false
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return malformed("read XML: %w", err)
		}
		if _, ok := tok.(xml.Directive); ok {
			return malformed("document carries a DTD or directive")
		}
		if cd, ok := tok.(xml.CharData); ok && roundTripsAsText(cd) {
			// Skipping xrv for it is exact, see roundTripsAsText.
		} else if err := xrv.CheckToken(tok); err != nil {
			return malformed("XML does not survive an encoding/xml round trip: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			elements++
			if elements > maxElements || len(stack) >= maxDepth {
				return malformed("document too large or too deep")
			}
			if len(stack) == 0 && elements > 1 {
				return malformed("document has more than one root element")
			}
			if err := uniqueAttrs(t); err != nil {
				return err
			}
			name := t.Name.Local
			depth := len(stack)
			switch {
			case depth == 0:
				if name != wantRoot || rootNamespace(t) != wantNS {
					return malformed("root element is %s:%s, not a SAML %s", t.Name.Space, name, wantRoot)
				}
			case depth == 1:
				inEncrypted = name == "EncryptedAssertion"
			}
			if name == "Assertion" || name == "EncryptedAssertion" {
				if depth != assertionDepth {
					return connector.Fail("signature", publicInvalid, fmt.Errorf("%s inside %s: signature wrapping refused", name, path(stack)))
				}
				if assertions++; assertions > 1 {
					return malformed("document carries more than one assertion")
				}
			}
			if name == "Signature" {
				onRoot := depth == 1
				onAssertion := depth == assertionDepth+1 && stack[assertionDepth].Local == "Assertion"
				if !onRoot && !onAssertion {
					return connector.Fail("signature", publicInvalid, fmt.Errorf("Signature inside %s: signature wrapping refused", path(stack)))
				}
			}
			if inEncrypted && name == "EncryptionMethod" {
				alg := rawAttr(t, "Algorithm")
				if weakEncryptionMethods[alg] {
					return connector.Fail("weak_algorithm", publicInvalid, fmt.Errorf("assertion encrypted with %s", alg))
				}
				if !allowedEncryptionMethods[alg] {
					return connector.Fail("decrypt", publicInvalid, fmt.Errorf("assertion encrypted with unsupported %q", alg))
				}
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			// RawToken leaves matching end tags to the caller.
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return malformed("end tag %s:%s does not match its start tag", t.Name.Space, t.Name.Local)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if elements == 0 || len(stack) != 0 {
		return malformed("empty or unterminated document")
	}
	return nil
}

// roundTripsAsText tells whether character data certainly survives the
// encoding/xml round trip xrv.CheckToken performs: the encoder escapes
// only & < > ' " TAB LF CR, which the decoder turns back, and alters only
// invalid UTF-8, characters outside the XML range and CR; empty text and
// U+FFFD are left to xrv too (the decoder
// never returns CR in text; it is still sent to xrv here). Text of any
// other kind goes through xrv as before. TestRoundTripsAsText holds the
// claim against xrv itself. Text is most tokens of a signed response
// (base64 values, whitespace), and xrv costs a new encoder and decoder
// per token.
func roundTripsAsText(b []byte) bool {
	if len(b) == 0 {
		return false // xrv reads no token back from nothing
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError || r == '\r' || !(r == '\t' || r == '\n' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
		b = b[size:]
	}
	return true
}

// rootNamespace resolves the root element's prefix; RawToken leaves
// prefixes unresolved and a root can only use its own declarations.
func rootNamespace(t xml.StartElement) string {
	for _, a := range t.Attr {
		if (t.Name.Space == "" && a.Name.Space == "" && a.Name.Local == "xmlns") ||
			(t.Name.Space != "" && a.Name.Space == "xmlns" && a.Name.Local == t.Name.Space) {
			return a.Value
		}
	}
	return ""
}

// uniqueAttrs refuses two attributes with one local name (ID and x:ID,
// or ID twice): etree's SelectAttr, which goxmldsig uses to find the
// signed element's ID, takes the first whatever its prefix.
func uniqueAttrs(t xml.StartElement) error {
	for i, a := range t.Attr {
		if a.Name.Space == "xmlns" {
			continue
		}
		for _, b := range t.Attr[i+1:] {
			if b.Name.Space != "xmlns" && a.Name.Local == b.Name.Local {
				return malformed("%s carries attribute %s twice", t.Name.Local, a.Name.Local)
			}
		}
	}
	return nil
}

func path(stack []xml.Name) string {
	parts := make([]string, len(stack))
	for i, n := range stack {
		parts[i] = n.Local
	}
	return strings.Join(parts, "/")
}

func rawAttr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// verify checks the enveloped signature of el (a Response or Assertion
// that must carry one as a direct child) and returns the signed element as
// goxmldsig read it back from the bytes it digested: everything ACS reads
// from a signed element comes from there, never from the posted tree.
//
// On top of goxmldsig it refuses weak algorithms, pins the one reference
// to el itself (checkSignatureShape), tries each IdP certificate when the
// signature names none (key rotation) and uses the SP's clock.
func (sp *SP) verify(el *etree.Element, now time.Time) (*etree.Element, error) {
	var sig *etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" {
			sig = c // checkSignatureShape refuses a second one
		}
	}
	if sig == nil {
		return nil, connector.Fail("unsigned", publicInvalid, fmt.Errorf("%s is not signed", el.Tag))
	}
	if sig.NamespaceURI() != nsDSig {
		return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("Signature of %s is not an XML-DSig signature", el.Tag))
	}
	id := attrValue(el, "ID")
	if id == "" {
		return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("signed %s has no ID", el.Tag))
	}
	// A detached copy carrying the namespaces declared on its ancestors,
	// as exclusive canonicalisation needs them.
	ns, err := etreeutils.NSBuildParentContext(el)
	if err == nil {
		ns, err = ns.SubContext(el)
	}
	if err == nil {
		el, err = etreeutils.NSDetatch(ns, el)
	}
	if err != nil {
		return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("signature on %s: %w", el.Tag, err))
	}
	sig, err = checkSignatureShape(el, id)
	if err != nil {
		return nil, err
	}
	// As crewjam/saml does: a KeyInfo without a certificate (a bare
	// RSAKeyValue) proves nothing; drop it so the metadata keys decide.
	hasCert := sig.FindElement("./KeyInfo/X509Data/X509Certificate") != nil
	if ki := sig.SelectElement("KeyInfo"); ki != nil && !hasCert {
		sig.RemoveChild(ki)
	}
	stores := sp.allRoots
	if !hasCert {
		stores = sp.eachRoot
	}
	var clock *dsig.Clock
	if !sp.realClock {
		clock = dsig.NewFakeClockAt(now)
	}
	var lastErr error
	for _, store := range stores {
		ctx := dsig.NewDefaultValidationContext(store)
		ctx.IdAttribute = "ID"
		ctx.Clock = clock
		verified, err := ctx.Validate(el)
		if err != nil {
			lastErr = err
			continue
		}
		if verified.Tag != el.Tag || attrValue(verified, "ID") != id {
			return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("signature on %s %s verified another element", el.Tag, id))
		}
		return verified, nil
	}
	return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("signature on %s %s: %w", el.Tag, id, lastErr))
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
