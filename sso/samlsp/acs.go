package samlsp

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"

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
	if _, err := scanResponse(xmlBytes); err != nil {
		return connector.Identity{}, err
	}

	resp, assertion, signed, err := sp.parse(xmlBytes, now)
	if err != nil {
		return connector.Identity{}, err
	}
	if err := sp.checkResponse(resp, assertion, signed, now); err != nil {
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

// parse runs crewjam/saml's validation (signatures through our verifier,
// decryption, Destination, Recipient, Issuer, status, its own coarse time
// checks) on a per-request copy of the ServiceProvider, and returns the
// Response as the library read it, the verified assertion and the ids of
// the signed elements.
func (sp *SP) parse(xmlBytes []byte, now time.Time) (resp saml.Response, assertion *saml.Assertion, signed []signedElement, err error) {
	v := &verifier{certs: sp.idpCerts, clock: sp.dsigClock(now)}
	var captured bool
	lib := sp.base // per-request copy: the hooks below close over this call only
	lib.SignatureVerifier = v
	lib.ValidateRequestID = func(r saml.Response, _ []string) error {
		resp, captured = r, true
		return nil
	}
	lib.ValidateAudienceRestriction = func(*saml.Assertion) error { return nil } // checked below, strictly

	defer func() {
		// crewjam/saml dereferences optional elements (Subject, Conditions,
		// SubjectConfirmationData) of an assertion that verified; a
		// genuine but unusual IdP response must not take the process down.
		if p := recover(); p != nil {
			err = connector.Fail("malformed", publicMalformed, fmt.Errorf("crewjam/saml panicked on the response: %v", p))
		}
	}()
	acs, _ := url.Parse(sp.acsURL)
	a, perr := lib.ParseXMLResponse(xmlBytes, nil, *acs)
	if perr != nil {
		return resp, nil, nil, classify(perr)
	}
	if !captured {
		return resp, nil, nil, connector.Fail("malformed", publicMalformed, errors.New("response attributes were not read"))
	}
	return resp, a, v.signed, nil
}

// classify turns a crewjam/saml error into a LoginError. Our verifier's
// errors arrive intact; the library's own are strings.
func classify(err error) error {
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		err = ire.PrivateErr
	}
	var le *connector.LoginError
	if errors.As(err, &le) {
		return le
	}
	var bad saml.ErrBadStatus
	if errors.As(err, &bad) {
		return connector.Fail("status", publicRefused, fmt.Errorf("IdP answered status %s", bad.Status))
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "signature element not present"):
		return connector.Fail("unsigned", publicInvalid, err)
	case strings.Contains(msg, "cannot validate signature"):
		return connector.Fail("signature", publicInvalid, err)
	case strings.Contains(msg, "`Destination`"):
		return connector.Fail("destination", publicInvalid, err)
	case strings.Contains(msg, "Recipient"):
		return connector.Fail("recipient", publicInvalid, err)
	case strings.Contains(msg, "not yet valid"):
		return connector.Fail("not_yet_valid", publicExpired, err)
	case strings.Contains(msg, "expired"):
		return connector.Fail("expired", publicExpired, err)
	case strings.Contains(msg, "Issuer"), strings.Contains(msg, "issuer"):
		return connector.Fail("issuer", publicInvalid, err)
	case strings.Contains(msg, "decrypt"):
		return connector.Fail("decrypt", publicInvalid, err)
	case strings.Contains(msg, "AudienceRestriction"):
		return connector.Fail("audience", publicInvalid, err)
	default:
		return connector.Fail("malformed", publicMalformed, err)
	}
}

// checkResponse adds what crewjam/saml leaves to the application, with the
// connection's clock skew.
func (sp *SP) checkResponse(resp saml.Response, a *saml.Assertion, signed []signedElement, now time.Time) error {
	// Signed Response or signed Assertion, and the assertion we got is the
	// one covered (the library guarantees this; it costs nothing to hold
	// it to it).
	responseSigned, assertionSigned := false, false
	for _, s := range signed {
		switch {
		case s.tag == "Response" && s.id == resp.ID:
			responseSigned = true
		case s.tag == "Assertion" && s.id == a.ID:
			assertionSigned = true
		}
	}
	if !responseSigned && !assertionSigned {
		return connector.Fail("unsigned", publicInvalid, errors.New("neither the response nor the assertion is signed"))
	}
	if resp.Version != "2.0" || a.Version != "2.0" {
		return connector.Fail("malformed", publicMalformed, fmt.Errorf("SAML version %q/%q, want 2.0", resp.Version, a.Version))
	}
	if a.ID == "" {
		return connector.Fail("malformed", publicMalformed, errors.New("assertion has no ID"))
	}
	if resp.Destination != sp.acsURL {
		return connector.Fail("destination", publicInvalid, fmt.Errorf("Destination %q is not %q", resp.Destination, sp.acsURL))
	}
	if resp.Issuer != nil && (resp.Issuer.Value != sp.idpEntity || !entityFormatOK(resp.Issuer.Format)) {
		return connector.Fail("issuer", publicInvalid, fmt.Errorf("response Issuer %q is not %q", resp.Issuer.Value, sp.idpEntity))
	}
	if a.Issuer.Value != sp.idpEntity || !entityFormatOK(a.Issuer.Format) {
		return connector.Fail("issuer", publicInvalid, fmt.Errorf("assertion Issuer %q is not %q", a.Issuer.Value, sp.idpEntity))
	}
	if err := sp.checkInstant("response", resp.IssueInstant, now); err != nil {
		return err
	}
	if err := sp.checkInstant("assertion", a.IssueInstant, now); err != nil {
		return err
	}

	if a.Subject == nil || a.Subject.NameID == nil || strings.TrimSpace(a.Subject.NameID.Value) == "" {
		return connector.Fail("malformed", publicMalformed, errors.New("assertion has no Subject NameID"))
	}
	bearer := false
	for _, sc := range a.Subject.SubjectConfirmations {
		d := sc.SubjectConfirmationData
		if sc.Method != bearerMethod || d == nil {
			continue
		}
		if d.Recipient != sp.acsURL {
			return connector.Fail("recipient", publicInvalid, fmt.Errorf("SubjectConfirmationData Recipient %q is not %q", d.Recipient, sp.acsURL))
		}
		if d.NotOnOrAfter.IsZero() {
			return connector.Fail("malformed", publicMalformed, errors.New("bearer SubjectConfirmationData has no NotOnOrAfter"))
		}
		if !now.Before(d.NotOnOrAfter.Add(sp.skew)) {
			return connector.Fail("expired", publicExpired, fmt.Errorf("SubjectConfirmationData expired at %s", d.NotOnOrAfter))
		}
		if !d.NotBefore.IsZero() && now.Before(d.NotBefore.Add(-sp.skew)) {
			return connector.Fail("not_yet_valid", publicExpired, fmt.Errorf("SubjectConfirmationData not valid before %s", d.NotBefore))
		}
		bearer = true
	}
	if !bearer {
		return connector.Fail("malformed", publicMalformed, errors.New("assertion has no bearer SubjectConfirmation"))
	}

	c := a.Conditions
	if c == nil {
		return connector.Fail("audience", publicInvalid, errors.New("assertion has no Conditions (and so no AudienceRestriction)"))
	}
	if !c.NotBefore.IsZero() && now.Before(c.NotBefore.Add(-sp.skew)) {
		return connector.Fail("not_yet_valid", publicExpired, fmt.Errorf("assertion not valid before %s", c.NotBefore))
	}
	if !c.NotOnOrAfter.IsZero() && !now.Before(c.NotOnOrAfter.Add(sp.skew)) {
		return connector.Fail("expired", publicExpired, fmt.Errorf("assertion expired at %s", c.NotOnOrAfter))
	}
	// Every AudienceRestriction must name us (restrictions are ANDed).
	// crewjam/saml reads one Audience per restriction (the last one), so a
	// restriction listing us before another audience is refused: strict,
	// never lax.
	if len(c.AudienceRestrictions) == 0 {
		return connector.Fail("audience", publicInvalid, errors.New("assertion has no AudienceRestriction"))
	}
	for _, ar := range c.AudienceRestrictions {
		if strings.TrimSpace(ar.Audience.Value) != sp.entityID {
			return connector.Fail("audience", publicInvalid, fmt.Errorf("audience %q is not %q", ar.Audience.Value, sp.entityID))
		}
	}

	if len(a.AuthnStatements) == 0 {
		return connector.Fail("malformed", publicMalformed, errors.New("assertion has no AuthnStatement"))
	}
	for _, st := range a.AuthnStatements {
		if st.SessionNotOnOrAfter != nil && !now.Before(st.SessionNotOnOrAfter.Add(sp.skew)) {
			return connector.Fail("expired", publicExpired, fmt.Errorf("IdP session ended at %s", st.SessionNotOnOrAfter))
		}
	}
	return nil
}

func entityFormatOK(format string) bool { return format == "" || format == entityFormat }

// checkInstant bounds an IssueInstant: not in the future beyond the skew,
// not older than maxIssueAge plus the skew.
func (sp *SP) checkInstant(what string, t, now time.Time) error {
	if t.IsZero() {
		return connector.Fail("malformed", publicMalformed, fmt.Errorf("%s has no IssueInstant", what))
	}
	if t.After(now.Add(sp.skew)) {
		return connector.Fail("not_yet_valid", publicExpired, fmt.Errorf("%s issued in the future (%s)", what, t))
	}
	if t.Add(maxIssueAge + sp.skew).Before(now) {
		return connector.Fail("expired", publicExpired, fmt.Errorf("%s issued at %s, too long ago", what, t))
	}
	return nil
}

// inResponseTo returns the request id the response answers ("" when
// unsolicited). The Response and every bearer confirmation must name the
// same id, or all none.
func inResponseTo(resp saml.Response, a *saml.Assertion) (string, error) {
	id := resp.InResponseTo
	for _, sc := range a.Subject.SubjectConfirmations {
		if sc.Method != bearerMethod || sc.SubjectConfirmationData == nil {
			continue
		}
		if v := sc.SubjectConfirmationData.InResponseTo; v != id {
			return "", connector.Fail("in_response_to", publicStart, fmt.Errorf("response InResponseTo %q and confirmation InResponseTo %q disagree", id, v))
		}
	}
	return id, nil
}

// replayExpiry is how long the assertion id stays in the replay cache: as
// long as any of its validity windows, plus the skew.
func (sp *SP) replayExpiry(a *saml.Assertion, now time.Time) time.Time {
	latest := a.IssueInstant.Add(maxIssueAge)
	if a.Conditions != nil && a.Conditions.NotOnOrAfter.After(latest) {
		latest = a.Conditions.NotOnOrAfter
	}
	for _, sc := range a.Subject.SubjectConfirmations {
		if d := sc.SubjectConfirmationData; d != nil && d.NotOnOrAfter.After(latest) {
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
