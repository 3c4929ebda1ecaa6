package samlsp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/sso/seal"
)

// spCertValidity is how long an SP certificate is valid. IdPs pin the
// certificate from our metadata, so it outlives the connection in practice;
// rotation is a new key pair through the connections service.
const spCertValidity = 10 * 365 * 24 * time.Hour

// GenerateSPKeyPair makes a connection's SP key pair: an RSA-2048 key,
// sealed (PKCS#8 DER, purpose KeyPurpose, base64) for
// connector.SAML.SPPrivateKey, and a self-signed certificate in PEM for
// connector.SAML.SPCertificate.
func GenerateSPKeyPair(connID string, sealer *seal.Sealer, now time.Time) (sealedKey, certPEM string, err error) {
	if sealer == nil {
		return "", "", errors.New("samlsp: generate SP key: no sealer")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", fmt.Errorf("samlsp: generate SP key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", fmt.Errorf("samlsp: generate SP key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Roster SAML SP " + connID},
		NotBefore:             now.Add(-time.Hour).UTC(),
		NotAfter:              now.Add(spCertValidity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("samlsp: generate SP certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("samlsp: marshal SP key: %w", err)
	}
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return sealer.SealString(KeyPurpose, string(pkcs8)), certPEM, nil
}

const (
	maxMetadataBytes = 1 << 20
	metadataTimeout  = 10 * time.Second
)

// FetchMetadata downloads an IdP metadata document from url: https only
// (plain http only to a loopback host, for tests and local IdPs), at most
// 1 MiB, within 10 s, redirects held to the same rules.
func FetchMetadata(ctx context.Context, client *http.Client, rawURL string) ([]byte, error) {
	if err := checkMetadataURL(rawURL); err != nil {
		return nil, fmt.Errorf("samlsp: fetch metadata: %w", err)
	}
	c := http.Client{Timeout: metadataTimeout}
	if client != nil {
		c = *client
		if c.Timeout == 0 || c.Timeout > metadataTimeout {
			c.Timeout = metadataTimeout
		}
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return checkMetadataURL(req.URL.String())
	}
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("samlsp: fetch metadata: %w", err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("samlsp: fetch metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("samlsp: fetch metadata: %s answered %s", req.URL.Host, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("samlsp: fetch metadata: read: %w", err)
	}
	if len(body) > maxMetadataBytes {
		return nil, fmt.Errorf("samlsp: fetch metadata: document larger than %d bytes", maxMetadataBytes)
	}
	if _, err := ParseIdPMetadata(body); err != nil {
		return nil, fmt.Errorf("samlsp: fetch metadata: %w", err)
	}
	return body, nil
}

func checkMetadataURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL: %w", err)
	}
	if u.User != nil {
		return errors.New("URL must not carry credentials")
	}
	switch u.Scheme {
	case "https":
		if u.Hostname() == "" {
			return errors.New("URL has no host")
		}
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("metadata URL must use https (http only for a loopback host)")
	default:
		return fmt.Errorf("metadata URL scheme %q is not https", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
