package samlsp

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"github.com/rosterhq/roster/sso/connector"
)

// XML namespaces of the elements ACS reads.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
)

// response is what ACS reads from a samlp:Response (signed or not: its
// own fields are only trusted when its signature verified, see ACS).
type response struct {
	ID, InResponseTo, Version, Destination string
	IssueInstant                           time.Time
	Issuer                                 *issuer // optional on a Response
	Status                                 string  // top-level StatusCode Value
}

type issuer struct{ Value, Format string }

// assertion is what ACS reads from a saml:Assertion, always from the
// element goxmldsig returns: the bytes the signature covers, parsed again.
type assertion struct {
	ID, Version   string
	IssueInstant  time.Time
	Issuer        issuer
	NameID        *nameID // nil when the assertion has no Subject/NameID
	Confirmations []confirmation
	Conditions    *conditions // nil when absent
	// AuthnStatements holds each AuthnStatement's SessionNotOnOrAfter
	// (zero when it has none); its length is the number of statements.
	AuthnStatements []time.Time
	Attributes      []attribute
}

type nameID struct{ Value, Format string }

type confirmation struct {
	Method string
	Data   *confirmationData // nil when absent
}

type confirmationData struct {
	NotBefore, NotOnOrAfter time.Time
	Recipient, InResponseTo string
}

type conditions struct {
	NotBefore, NotOnOrAfter time.Time
	// Audiences holds the Audience values of each AudienceRestriction.
	Audiences [][]string
}

type attribute struct {
	Name, FriendlyName string
	Values             []string
}

func malformed(format string, args ...any) error {
	return connector.Fail("malformed", publicMalformed, fmt.Errorf(format, args...))
}

// is tells whether el is the element local in namespace ns.
func is(el *etree.Element, ns, local string) bool {
	return el.Tag == local && el.NamespaceURI() == ns
}

// children returns el's child elements called local in namespace ns.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// optionalChild returns el's one child called local in ns, nil when there
// is none, and refuses two (a second Issuer, Subject… is never genuine and
// parsers disagree on which one wins).
func optionalChild(el *etree.Element, ns, local string) (*etree.Element, error) {
	var found *etree.Element
	for _, c := range el.ChildElements() {
		if !is(c, ns, local) {
			continue
		}
		if found != nil {
			return nil, malformed("%s holds two %s elements", el.Tag, local)
		}
		found = c
	}
	return found, nil
}

// attrValue returns the unprefixed attribute name of el.
func attrValue(el *etree.Element, name string) string {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == name {
			return a.Value
		}
	}
	return ""
}

// text is the element's character data, every piece of it concatenated as
// encoding/xml's ",chardata" does: etree's Text() stops at the first
// comment, which is how "victim@corp.example<!---->.evil.example" style
// tricks truncate a value.
func text(el *etree.Element) string {
	var parts []string
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok {
			parts = append(parts, cd.Data)
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts, "")
}

// timeAttr parses a SAML time attribute with crewjam/saml's parser (the
// one ParseXMLResponse used); an absent attribute is the zero time.
func timeAttr(el *etree.Element, name string) (time.Time, error) {
	v := attrValue(el, name)
	if v == "" {
		return time.Time{}, nil
	}
	var t saml.RelaxedTime
	if err := t.UnmarshalText([]byte(v)); err != nil {
		return time.Time{}, malformed("%s %s %q is not a time", el.Tag, name, v)
	}
	return time.Time(t), nil
}

// readResponse reads the Response element el (its own fields, not its
// assertion).
func readResponse(el *etree.Element) (response, error) {
	r := response{
		ID:           attrValue(el, "ID"),
		InResponseTo: attrValue(el, "InResponseTo"),
		Version:      attrValue(el, "Version"),
		Destination:  attrValue(el, "Destination"),
	}
	var err error
	if r.IssueInstant, err = timeAttr(el, "IssueInstant"); err != nil {
		return r, err
	}
	iss, err := optionalChild(el, nsAssertion, "Issuer")
	if err != nil {
		return r, err
	}
	if iss != nil {
		r.Issuer = &issuer{Value: text(iss), Format: attrValue(iss, "Format")}
	}
	status, err := optionalChild(el, nsProtocol, "Status")
	if err != nil || status == nil {
		return r, err // no Status: r.Status "" is not success
	}
	code, err := optionalChild(status, nsProtocol, "StatusCode")
	if err != nil || code == nil {
		return r, err
	}
	r.Status = attrValue(code, "Value")
	return r, nil
}

// readAssertion reads the Assertion element el.
func readAssertion(el *etree.Element) (*assertion, error) {
	a := &assertion{ID: attrValue(el, "ID"), Version: attrValue(el, "Version")}
	var err error
	if a.IssueInstant, err = timeAttr(el, "IssueInstant"); err != nil {
		return nil, err
	}
	iss, err := optionalChild(el, nsAssertion, "Issuer")
	if err != nil {
		return nil, err
	}
	if iss != nil {
		a.Issuer = issuer{Value: text(iss), Format: attrValue(iss, "Format")}
	}
	if err := a.readSubject(el); err != nil {
		return nil, err
	}
	if err := a.readConditions(el); err != nil {
		return nil, err
	}
	for _, st := range children(el, nsAssertion, "AuthnStatement") {
		if _, err := timeAttr(st, "AuthnInstant"); err != nil {
			return nil, err
		}
		session, err := timeAttr(st, "SessionNotOnOrAfter")
		if err != nil {
			return nil, err
		}
		a.AuthnStatements = append(a.AuthnStatements, session)
	}
	for _, st := range children(el, nsAssertion, "AttributeStatement") {
		for _, at := range children(st, nsAssertion, "Attribute") {
			attr := attribute{Name: attrValue(at, "Name"), FriendlyName: attrValue(at, "FriendlyName")}
			for _, v := range children(at, nsAssertion, "AttributeValue") {
				attr.Values = append(attr.Values, text(v))
			}
			a.Attributes = append(a.Attributes, attr)
		}
	}
	return a, nil
}

func (a *assertion) readSubject(el *etree.Element) error {
	subject, err := optionalChild(el, nsAssertion, "Subject")
	if err != nil || subject == nil {
		return err
	}
	id, err := optionalChild(subject, nsAssertion, "NameID")
	if err != nil {
		return err
	}
	if id != nil {
		a.NameID = &nameID{Value: text(id), Format: attrValue(id, "Format")}
	}
	for _, sc := range children(subject, nsAssertion, "SubjectConfirmation") {
		c := confirmation{Method: attrValue(sc, "Method")}
		d, err := optionalChild(sc, nsAssertion, "SubjectConfirmationData")
		if err != nil {
			return err
		}
		if d != nil {
			c.Data = &confirmationData{Recipient: attrValue(d, "Recipient"), InResponseTo: attrValue(d, "InResponseTo")}
			if c.Data.NotBefore, err = timeAttr(d, "NotBefore"); err != nil {
				return err
			}
			if c.Data.NotOnOrAfter, err = timeAttr(d, "NotOnOrAfter"); err != nil {
				return err
			}
		}
		a.Confirmations = append(a.Confirmations, c)
	}
	return nil
}

func (a *assertion) readConditions(el *etree.Element) error {
	c, err := optionalChild(el, nsAssertion, "Conditions")
	if err != nil || c == nil {
		return err
	}
	a.Conditions = &conditions{}
	if a.Conditions.NotBefore, err = timeAttr(c, "NotBefore"); err != nil {
		return err
	}
	if a.Conditions.NotOnOrAfter, err = timeAttr(c, "NotOnOrAfter"); err != nil {
		return err
	}
	for _, ar := range children(c, nsAssertion, "AudienceRestriction") {
		var auds []string
		for _, au := range children(ar, nsAssertion, "Audience") {
			auds = append(auds, strings.TrimSpace(text(au)))
		}
		a.Conditions.Audiences = append(a.Conditions.Audiences, auds)
	}
	return nil
}

var errNoAssertion = errors.New("response carries no assertion")
