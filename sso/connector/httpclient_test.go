package connector

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheckPublic(t *testing.T) {
	for addr, public := range map[string]bool{
		"93.184.216.34:443":     true,
		"[2606:4700::1]:443":    true,
		"127.0.0.1:80":          false,
		"[::1]:443":             false,
		"10.1.2.3:443":          false,
		"172.16.0.1:443":        false,
		"192.168.1.1:443":       false,
		"169.254.169.254:80":    false, // cloud metadata service
		"100.64.0.1:443":        false,
		"0.0.0.0:443":           false,
		"[fd00::1]:443":         false,
		"[fe80::1]:443":         false,
		"[::ffff:10.0.0.1]:443": false,
		"224.0.0.1:443":         false,
		"not an address":        false,
	} {
		err := checkPublic(addr)
		if (err == nil) != public {
			t.Errorf("checkPublic(%s) = %v, want public %v", addr, err, public)
		}
	}
}

func TestHTTPClientRefusesPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if _, err := HTTPClient(false).Get(srv.URL); !errors.Is(err, ErrPrivateAddress) {
		t.Errorf("a loopback IdP URL was fetched, or failed otherwise: %v", err)
	}
	resp, err := HTTPClient(true).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowPrivate: %v", err)
	}
	resp.Body.Close()
}
