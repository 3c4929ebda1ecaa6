package samlsp

import (
	"context"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
)

// Public messages: what the person on the login page may read.
const (
	publicMalformed   = "The sign-in response from your identity provider could not be read. Please try again."
	publicInvalid     = "The sign-in response from your identity provider could not be verified. Please try again or ask your administrator to check the SSO connection."
	publicExpired     = "The sign-in took too long or your identity provider's clock is off. Please try again."
	publicReplayed    = "This sign-in response was already used. Please sign in again."
	publicStart       = "This sign-in was not started here or has expired. Please start the sign-in again from the login page."
	publicIdPInitated = "Sign-in from the identity provider's portal is not enabled for this connection. Please start the sign-in from the login page."
	publicRefused     = "Your identity provider did not sign you in."
	publicUnavailable = "Sign-in is temporarily unavailable. Please try again."
)

const (
	bearerMethod       = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	entityFormat       = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
	emailAddressFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
)

// ACS consumes a SAML response posted (HTTP-POST binding) to the assertion
// consumer service and returns the asserted identity. browserID identifies
// the browser (a cookie the bridge sets before StartLogin); an SP-initiated
// login is only redeemed in the browser that started it.
//
// Every failure is a *connector.LoginError with a stable Reason.
func (sp *SP) ACS(ctx context.Context, r *http.Request, browserID string) (connector.Identity, error) {
	raw, relayState, err := readForm(r)
	if err != nil {
		return connector.Identity{}, err
	}
	now := sp.opts.Now()
	xmlBytes, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(raw), ""))
	if err != nil {
		return connector.Identity{}, connector.Fail("malformed", publicMalformed, fmt.Errorf("SAMLResponse is not base64: %w", err))
	}
	resp, assertion, err := sp.parse(xmlBytes, now)
	if err != nil {
		return connector.Identity{}, err
	}
	requestID, err := inResponseTo(resp, assertion)
	if err != nil {
		return connector.Identity{}, err
	}

	// Replay: one use per assertion id across every instance, kept as long
	// as the assertion could still pass the time checks.
	replayKey := "saml-assertion:" + sp.conn.ID + ":" + assertion.ID
	if err := sp.opts.Store.UseOnce(ctx, replayKey, sp.replayExpiry(assertion, now)); err != nil {
		if errors.Is(err, repository.ErrReplayed) {
			return connector.Identity{}, connector.Fail("replayed", publicReplayed, fmt.Errorf("assertion %s already used", assertion.ID))
		}
		return connector.Identity{}, connector.Fail("store", publicUnavailable, fmt.Errorf("replay cache: %w", err))
	}

	var returnTo string
	if requestID == "" {
		if !sp.cfg.AllowIdPInitiated {
			return connector.Identity{}, connector.Fail("idp_initiated", publicIdPInitated, errors.New("unsolicited response (no InResponseTo) and IdP-initiated login is off"))
		}
		// RelayState of an unsolicited response is only ever a path of
		// ours on the allow-list; anything else is dropped.
		returnTo = sp.opts.ReturnPaths.Or(relayState)
	} else {
		value, err := sp.opts.Store.TakeOneTime(ctx, requestKey(sp.conn.ID, requestID), now)
		if err != nil {
			if errors.Is(err, repository.ErrNotFound) {
				return connector.Identity{}, connector.Fail("in_response_to", publicStart, fmt.Errorf("InResponseTo %q is not a pending request of this connection", requestID))
			}
			return connector.Identity{}, connector.Fail("store", publicUnavailable, fmt.Errorf("take request id: %w", err))
		}
		var pending pendingRequest
		if err := json.Unmarshal(value, &pending); err != nil {
			return connector.Identity{}, connector.Fail("store", publicUnavailable, fmt.Errorf("decode pending request: %w", err))
		}
		if pending.Browser != "" && subtle.ConstantTimeCompare([]byte(pending.Browser), []byte(browserHash(browserID))) != 1 {
			return connector.Identity{}, connector.Fail("browser_mismatch", publicStart, errors.New("response redeemed in another browser than the one that started the login"))
		}
		returnTo = sp.opts.ReturnPaths.Or(pending.ReturnTo)
	}

	id, err := sp.identity(assertion)
	if err != nil {
		return connector.Identity{}, err
	}
	id.ReturnTo = returnTo
	return id, nil
}

// readForm returns the SAMLResponse and RelayState of a POST, reading at
// most maxResponseBytes of body.
func readForm(r *http.Request) (string, string, error) {
	if r.Method != http.MethodPost {
		return "", "", connector.Fail("malformed", publicMalformed, fmt.Errorf("ACS called with %s, want POST", r.Method))
	}
	if r.PostForm == nil && r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, maxResponseBytes+64<<10)
	}
	if err := r.ParseForm(); err != nil {
		return "", "", connector.Fail("malformed", publicMalformed, fmt.Errorf("read form: %w", err))
	}
	if r.Form.Get("SAMLart") != "" {
		return "", "", connector.Fail("malformed", publicMalformed, errors.New("artifact binding is not supported"))
	}
	raw := r.PostForm.Get("SAMLResponse")
	if raw == "" {
		return "", "", connector.Fail("malformed", publicMalformed, errors.New("no SAMLResponse in the form"))
	}
	if len(raw) > maxResponseBytes {
		return "", "", connector.Fail("malformed", publicMalformed, fmt.Errorf("SAMLResponse of %d bytes is too large", len(raw)))
	}
	return raw, r.PostForm.Get("RelayState"), nil
}

// parse runs every check of the posted document that needs no shared
// state, in this order, and returns the response and its one assertion:
//
//  1. scanXML: strict well-formedness, the encoding/xml round-trip check,
//     size limits, signature-wrapping shapes, encryption algorithms;
//  2. one etree parse of the document, reused for everything below;
//  3. the Response signature when it has one (verify), then the Response
//     fields read from the verified copy (checkResponse, status);
//  4. the assertion: decrypted (and scanned again) when encrypted, its own
//     signature verified unless the Response's covers it, then read from
//     the verified copy (checkAssertion).
//
// Whichever is signed, the fields ACS trusts come from the element
// goxmldsig re-read from the digested bytes.
func (sp *SP) parse(xmlBytes []byte, now time.Time) (response, *assertion, error) {
	if err := scanXML(xmlBytes, "Response"); err != nil {
		return response{}, nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xmlBytes); err != nil {
		return response{}, nil, malformed("parse response XML: %w", err)
	}
	root := doc.Root()
	if root == nil || !is(root, nsProtocol, "Response") {
		return response{}, nil, malformed("document is not a SAML Response")
	}
	responseSigned := hasSignature(root)
	if responseSigned {
		var err error
		if root, err = sp.verify(root, now); err != nil {
			return response{}, nil, err
		}
	}
	resp, err := readResponse(root)
	if err != nil {
		return response{}, nil, err
	}
	if err := sp.checkResponse(resp, now); err != nil {
		return response{}, nil, err
	}

	el, err := sp.assertionElement(root, responseSigned, now)
	if err != nil {
		return response{}, nil, err
	}
	a, err := readAssertion(el)
	if err != nil {
		return response{}, nil, err
	}
	if err := sp.checkAssertion(a, now); err != nil {
		return response{}, nil, err
	}
	return resp, a, nil
}

// hasSignature tells whether el carries a Signature as a direct child.
func hasSignature(el *etree.Element) bool {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" {
			return true
		}
	}
	return false
}

// assertionElement returns the response's one assertion, decrypted when
// encrypted and verified unless the response signature covers it. An
// assertion in an unsigned response must carry its own signature.
func (sp *SP) assertionElement(root *etree.Element, responseSigned bool, now time.Time) (*etree.Element, error) {
	plain := children(root, nsAssertion, "Assertion")
	encrypted := children(root, nsAssertion, "EncryptedAssertion")
	if len(plain)+len(encrypted) != 1 {
		return nil, malformed("response carries %d assertions, want 1", len(plain)+len(encrypted))
	}
	var el *etree.Element
	if len(plain) == 1 {
		el = plain[0]
	} else {
		data, err := sp.decrypt(encrypted[0])
		if err != nil {
			return nil, err
		}
		if err := scanXML(data, "Assertion"); err != nil {
			return nil, err
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil {
			return nil, malformed("parse decrypted assertion: %w", err)
		}
		el = doc.Root()
	}
	if responseSigned {
		return el, nil
	}
	return sp.verify(el, now)
}

// decrypt returns the plaintext of an EncryptedAssertion (xmlenc of
// crewjam/saml; the algorithms were checked by scanXML).
func (sp *SP) decrypt(ea *etree.Element) (plain []byte, err error) {
	defer func() {
		// crewjam/saml's xmlenc slices ciphertexts without checking
		// their length; a short one must not take the process down.
		if p := recover(); p != nil {
			plain, err = nil, malformed("decrypting the assertion panicked: %v", p)
		}
	}()
	fail := func(err error) error {
		return connector.Fail("decrypt", publicInvalid, fmt.Errorf("decrypt assertion: %w", err))
	}
	key, ok := sp.base.Key.(*rsa.PrivateKey)
	if !ok {
		return nil, fail(errors.New("the connection has no SP key"))
	}
	data, err := optionalChild(ea, nsXMLEnc, "EncryptedData")
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, fail(errors.New("EncryptedAssertion has no EncryptedData"))
	}
	var contentKey any = key
	if ek := ea.FindElement("./EncryptedKey"); ek != nil {
		if contentKey, err = xmlenc.Decrypt(key, ek); err != nil {
			return nil, fail(err)
		}
	}
	if plain, err = xmlenc.Decrypt(contentKey, data); err != nil {
		return nil, fail(err)
	}
	return plain, nil
}

// checkResponse checks the Response's own fields, with the connection's
// clock skew. A failure status is reported before the assertion is looked
// at: an IdP refusing a login sends none.
func (sp *SP) checkResponse(resp response, now time.Time) error {
	if resp.Version != "2.0" {
		return malformed("SAML version %q, want 2.0", resp.Version)
	}
	if resp.Destination != sp.acsURL {
		return connector.Fail("destination", publicInvalid, fmt.Errorf("Destination %q is not %q", resp.Destination, sp.acsURL))
	}
	if resp.Issuer != nil && (resp.Issuer.Value != sp.idpEntity || !entityFormatOK(resp.Issuer.Format)) {
		return connector.Fail("issuer", publicInvalid, fmt.Errorf("response Issuer %q is not %q", resp.Issuer.Value, sp.idpEntity))
	}
	if err := sp.checkInstant("response", resp.IssueInstant, now); err != nil {
		return err
	}
	if resp.Status != saml.StatusSuccess {
		return connector.Fail("status", publicRefused, fmt.Errorf("IdP answered status %q", resp.Status))
	}
	return nil
}

// checkAssertion checks the verified assertion, with the connection's
// clock skew.
func (sp *SP) checkAssertion(a *assertion, now time.Time) error {
	if a.Version != "2.0" {
		return malformed("assertion SAML version %q, want 2.0", a.Version)
	}
	if a.ID == "" {
		return malformed("assertion has no ID")
	}
	if a.Issuer.Value != sp.idpEntity || !entityFormatOK(a.Issuer.Format) {
		return connector.Fail("issuer", publicInvalid, fmt.Errorf("assertion Issuer %q is not %q", a.Issuer.Value, sp.idpEntity))
	}
	if err := sp.checkInstant("assertion", a.IssueInstant, now); err != nil {
		return err
	}

	if a.NameID == nil || strings.TrimSpace(a.NameID.Value) == "" {
		return malformed("assertion has no Subject NameID")
	}
	// Every confirmation (bearer or not, as crewjam/saml required) names
	// this ACS and is within its time window; at least one is bearer.
	bearer := false
	for _, sc := range a.Confirmations {
		d := sc.Data
		if d == nil {
			return malformed("SubjectConfirmation without SubjectConfirmationData")
		}
		if d.Recipient != sp.acsURL {
			return connector.Fail("recipient", publicInvalid, fmt.Errorf("SubjectConfirmationData Recipient %q is not %q", d.Recipient, sp.acsURL))
		}
		if d.NotOnOrAfter.IsZero() {
			return malformed("SubjectConfirmationData has no NotOnOrAfter")
		}
		if !now.Before(d.NotOnOrAfter.Add(sp.skew)) {
			return connector.Fail("expired", publicExpired, fmt.Errorf("SubjectConfirmationData expired at %s", d.NotOnOrAfter))
		}
		if !d.NotBefore.IsZero() && now.Before(d.NotBefore.Add(-sp.skew)) {
			return connector.Fail("not_yet_valid", publicExpired, fmt.Errorf("SubjectConfirmationData not valid before %s", d.NotBefore))
		}
		bearer = bearer || sc.Method == bearerMethod
	}
	if !bearer {
		return malformed("assertion has no bearer SubjectConfirmation")
	}

	c := a.Conditions
	if c == nil {
		return malformed("assertion has no Conditions (and so no AudienceRestriction)")
	}
	if !c.NotBefore.IsZero() && now.Before(c.NotBefore.Add(-sp.skew)) {
		return connector.Fail("not_yet_valid", publicExpired, fmt.Errorf("assertion not valid before %s", c.NotBefore))
	}
	if !c.NotOnOrAfter.IsZero() && !now.Before(c.NotOnOrAfter.Add(sp.skew)) {
		return connector.Fail("expired", publicExpired, fmt.Errorf("assertion expired at %s", c.NotOnOrAfter))
	}
	// Every AudienceRestriction must name us (restrictions are ANDed), and
	// name only us: strict, never lax.
	if len(c.Audiences) == 0 {
		return connector.Fail("audience", publicInvalid, errors.New("assertion has no AudienceRestriction"))
	}
	for _, auds := range c.Audiences {
		if len(auds) == 0 {
			return connector.Fail("audience", publicInvalid, errors.New("AudienceRestriction without Audience"))
		}
		for _, au := range auds {
			if au != sp.entityID {
				return connector.Fail("audience", publicInvalid, fmt.Errorf("audience %q is not %q", au, sp.entityID))
			}
		}
	}

	if len(a.AuthnStatements) == 0 {
		return malformed("assertion has no AuthnStatement")
	}
	for _, session := range a.AuthnStatements {
		if !session.IsZero() && !now.Before(session.Add(sp.skew)) {
			return connector.Fail("expired", publicExpired, fmt.Errorf("IdP session ended at %s", session))
		}
	}
	return nil
}

func entityFormatOK(format string) bool { return format == "" || format == entityFormat }

// checkInstant bounds an IssueInstant: not in the future beyond the skew,
// not older than maxIssueAge (without skew, as crewjam/saml's
// MaxIssueDelay was).
func (sp *SP) checkInstant(what string, t, now time.Time) error {
	if t.IsZero() {
		return malformed("%s has no IssueInstant", what)
	}
	if t.After(now.Add(sp.skew)) {
		return connector.Fail("not_yet_valid", publicExpired, fmt.Errorf("%s issued in the future (%s)", what, t))
	}
	if t.Add(maxIssueAge).Before(now) {
		return connector.Fail("expired", publicExpired, fmt.Errorf("%s issued at %s, too long ago", what, t))
	}
	return nil
}

// inResponseTo returns the request id the response answers ("" when
// unsolicited). The Response and every bearer confirmation must name the
// same id, or all none.
func inResponseTo(resp response, a *assertion) (string, error) {
	id := resp.InResponseTo
	for _, sc := range a.Confirmations {
		if sc.Method != bearerMethod || sc.Data == nil {
			continue
		}
		if v := sc.Data.InResponseTo; v != id {
			return "", connector.Fail("in_response_to", publicStart, fmt.Errorf("response InResponseTo %q and confirmation InResponseTo %q disagree", id, v))
		}
	}
	return id, nil
}

// replayExpiry is how long the assertion id stays in the replay cache: as
// long as any of its validity windows, plus the skew.
func (sp *SP) replayExpiry(a *assertion, now time.Time) time.Time {
	latest := a.IssueInstant.Add(maxIssueAge)
	if a.Conditions != nil && a.Conditions.NotOnOrAfter.After(latest) {
		latest = a.Conditions.NotOnOrAfter
	}
	for _, sc := range a.Confirmations {
		if d := sc.Data; d != nil && d.NotOnOrAfter.After(latest) {
			latest = d.NotOnOrAfter
		}
	}
	exp := latest.Add(sp.skew)
	// An IdP stating validity for years would keep the key as long; a day
	// is beyond any sane SAML window and the time checks still apply.
	if max := now.Add(24 * time.Hour); exp.After(max) {
		exp = max
	}
	return exp
}
