package connections

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"

	"github.com/rosterhq/roster/sso/samlsp"
)

// parseIdPMetadata reads an IdP metadata document pasted or fetched by an
// admin (samlsp.ParseIdPMetadata, which SP logins use too) with the rules
// of a connection on top: bounded size, no DOCTYPE, and a single sign-on
// service with the HTTP-Redirect binding at an https URL. Errors are
// written for the admin who gave the document.
func parseIdPMetadata(data []byte) (samlsp.IdPMetadata, error) {
	data = bytes.TrimSpace(data)
	if len(data) > maxMetadataIn {
		return samlsp.IdPMetadata{}, fmt.Errorf("the IdP metadata is larger than %d bytes", maxMetadataIn)
	}
	// A DOCTYPE has no business in SAML metadata; refusing it keeps entity
	// tricks out whatever the parser would do with them.
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return samlsp.IdPMetadata{}, errors.New("the IdP metadata must not contain a DOCTYPE")
	}
	md, err := samlsp.ParseIdPMetadata(data)
	if err != nil {
		return md, err
	}
	if md.SSOURL == "" {
		return md, errors.New("the IdP metadata has no single sign-on service with the HTTP-Redirect binding")
	}
	if u, err := url.Parse(md.SSOURL); err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return md, fmt.Errorf("the IdP single sign-on URL %q is not an https URL", md.SSOURL)
	}
	return md, nil
}

// fingerprint is the hex SHA-256 of a certificate.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
