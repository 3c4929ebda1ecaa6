package connections

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/crewjam/saml"
)

// idpMetadata is what a connection needs from an IdP's metadata.
type idpMetadata struct {
	EntityID string
	SSOURL   string // HTTP-Redirect binding
	Certs    []*x509.Certificate
}

// parseIdPMetadata reads an IdP metadata document: an EntityDescriptor,
// or an EntitiesDescriptor holding exactly one IdP. It must have an
// IDPSSODescriptor with a signing certificate (several are kept, for
// rotation) and a single sign-on service with the HTTP-Redirect binding.
// Errors are written for the admin who pasted the document.
func parseIdPMetadata(data []byte) (idpMetadata, error) {
	var md idpMetadata
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return md, errors.New("the IdP metadata is empty")
	}
	if len(data) > maxMetadataIn {
		return md, fmt.Errorf("the IdP metadata is larger than %d bytes", maxMetadataIn)
	}
	// A DOCTYPE has no business in SAML metadata; refusing it keeps entity
	// tricks out whatever the parser would do with them.
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return md, errors.New("the IdP metadata must not contain a DOCTYPE")
	}
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &root); err != nil {
		return md, fmt.Errorf("the IdP metadata is not XML: %v", err)
	}
	var ed saml.EntityDescriptor
	switch root.XMLName.Local {
	case "EntityDescriptor":
		if err := xml.Unmarshal(data, &ed); err != nil {
			return md, fmt.Errorf("the IdP metadata cannot be read: %v", err)
		}
	case "EntitiesDescriptor":
		var eds saml.EntitiesDescriptor
		if err := xml.Unmarshal(data, &eds); err != nil {
			return md, fmt.Errorf("the IdP metadata cannot be read: %v", err)
		}
		var found []saml.EntityDescriptor
		var walk func(saml.EntitiesDescriptor)
		walk = func(e saml.EntitiesDescriptor) {
			for _, d := range e.EntityDescriptors {
				if len(d.IDPSSODescriptors) > 0 {
					found = append(found, d)
				}
			}
			for _, c := range e.EntitiesDescriptors {
				walk(c)
			}
		}
		walk(eds)
		if len(found) != 1 {
			return md, fmt.Errorf("the IdP metadata describes %d identity providers; give the metadata of exactly one", len(found))
		}
		ed = found[0]
	default:
		return md, fmt.Errorf("the IdP metadata is a %s, not an EntityDescriptor", root.XMLName.Local)
	}
	if ed.EntityID == "" {
		return md, errors.New("the IdP metadata has no entityID")
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return md, errors.New("the IdP metadata has no IDPSSODescriptor: is it an identity provider's metadata?")
	}
	md.EntityID = ed.EntityID
	seen := map[string]bool{}
	for _, d := range ed.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					return md, errors.New("an IdP signing certificate is not base64")
				}
				cert, err := x509.ParseCertificate(raw)
				if err != nil {
					return md, fmt.Errorf("an IdP signing certificate cannot be read: %v", err)
				}
				if fp := fingerprint(cert); !seen[fp] {
					seen[fp] = true
					md.Certs = append(md.Certs, cert)
				}
			}
		}
		for _, s := range d.SingleSignOnServices {
			if s.Binding == saml.HTTPRedirectBinding && md.SSOURL == "" {
				md.SSOURL = s.Location
			}
		}
	}
	if len(md.Certs) == 0 {
		return md, errors.New("the IdP metadata has no signing certificate")
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
